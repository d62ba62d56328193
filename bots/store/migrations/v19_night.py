"""The night envelope (issue 19): what the master granted before he slept (a window, a
budget, hosts, an allowlist), and what the coordinator decided inside it per task.

`report_sent_at` is set once, by compare-and-set, after the morning report went out: a
restart never sends a second one; `queue_told_at` likewise marks the one urgent alert that
the queue stopped inside the window. `night_tasks` holds one row per (envelope, task): the
judge approved it (`judge`) or it waits for the master in the morning queue (`held`)."""

SQL = """
CREATE TABLE night_envelopes (
    id             INTEGER PRIMARY KEY,
    starts_at      REAL NOT NULL,
    ends_at        REAL NOT NULL CHECK (ends_at > starts_at),
    budget_usd     REAL NOT NULL CHECK (budget_usd >= 0),
    hosts          TEXT NOT NULL,
    allow_preset   TEXT,
    allow_globs    TEXT NOT NULL,
    granted_by     TEXT NOT NULL,
    revoked_at     REAL,
    revoked_by     TEXT,
    report_sent_at REAL,
    report_event   TEXT,
    queue_told_at  REAL
);
CREATE INDEX night_envelopes_open ON night_envelopes (ends_at) WHERE report_sent_at IS NULL;

CREATE TABLE night_tasks (
    envelope_id INTEGER NOT NULL REFERENCES night_envelopes (id),
    task_id     INTEGER NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('judge', 'held')),
    reason      TEXT NOT NULL,
    plan_event  TEXT,
    at          REAL NOT NULL,
    PRIMARY KEY (envelope_id, task_id)
);
"""
