"""What the master is told when a subject changes state: one line per kind of subject.

Pure. A subject is "<kind>:<name>[:<mount>]"; a host down is the only urgent one (it
notifies even at night). The end of a disk-trend episode is not said: the disk either
stopped growing (nothing to do) or crossed the threshold (said by its own alert).
"""

from __future__ import annotations

from dataclasses import dataclass

from bots.store.health import HealthState
from bots.text.durations import coarse


@dataclass(frozen=True)
class Said:
    body: str
    urgent: bool = False


def alert_for(standing: HealthState, bad_for: float | None = None) -> Said | None:
    """The message for the change `standing` records (its state is the new one);
    `bad_for`: how long it had been bad, on a recovery, when known."""
    kind, _, rest = standing.subject.partition(":")
    name, _, mount = rest.partition(":")
    why = f": {standing.detail}" if standing.detail else ""
    lasted = f" (after {coarse(bad_for)})" if bad_for is not None else ""
    down = standing.state == "bad"
    if kind == "host":
        if down:
            return Said(f"🔴 Host {name} is down{why}", urgent=True)
        return Said(f"🟢 Host {name} is back{lasted}.")
    if kind == "disk":
        if down:
            return Said(f"⚠️ Disk {mount} on {name} is over its threshold{why}")
        return Said(f"🟢 Disk {mount} on {name} is back under its threshold{why}")
    if kind in ("memory", "load"):
        if down:
            return Said(f"⚠️ {kind.capitalize()} on {name} is high{why}")
        return Said(f"🟢 {kind.capitalize()} on {name} is back to normal{why}")
    if kind == "full":
        return Said(f"⚠️ {standing.detail}") if down else None
    if kind == "provider":
        if down:
            return Said(f"⚠️ {name}'s model provider is failing{why}")
        return Said(f"🟢 {name}'s model provider answers again{lasted}.")
    if kind == "bot":
        if down:
            return Said(f"⚠️ {name} is offline{why}")
        return Said(f"🟢 {name} is back online{lasted}.")
    return Said(f"{standing.subject}: {standing.state}{why}")
