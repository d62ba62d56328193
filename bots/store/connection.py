"""What every connection to Chavion's database shares: how long a write waits for the lock.

Several connections write the same file (the bots' store, the executor's audit and plan
memory, other processes). A writer holds the lock for its whole transaction, and a
transaction spans event-loop turns; with many tasks at once on a busy loop that is seconds,
not milliseconds. A writer that gives up then loses what it was writing (a claim, a step's
result), so the wait is long: a late write costs latency, a lost one costs correctness.
"""

from __future__ import annotations

BUSY_TIMEOUT_MS = 30_000
