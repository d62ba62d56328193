"""Health (issue 19): what each check last said, the disks' samples, the digests sent.

`health_states` holds one row per subject (`host:web`, `disk:web:/`, `provider:claude`,
`bot:gpt`): its state, how many bad readings in a row, since when, and `changes`, which
counts its changes of state. A change is written with a compare-and-set on the row as read,
so two watchers (or a check repeated after a restart) move it once; `alerted` is the change
the master has been told of, so a change written but not yet said is said after a restart.
`agent_calls` is each agent's run of failed model calls, written only when it changes.
`digests` holds one row per digest: the daily one claimed by its local day, once.
"""

SQL = """
CREATE TABLE health_states (
    subject     TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('ok', 'bad')),
    streak      INTEGER NOT NULL DEFAULT 0 CHECK (streak >= 0),
    since       REAL NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    changes     INTEGER NOT NULL DEFAULT 0 CHECK (changes >= 0),
    alerted     INTEGER NOT NULL DEFAULT 0,
    checked_at  REAL NOT NULL
);

CREATE TABLE disk_samples (
    host   TEXT NOT NULL,
    mount  TEXT NOT NULL,
    at     REAL NOT NULL,
    used   INTEGER NOT NULL CHECK (used >= 0),
    size   INTEGER NOT NULL CHECK (size >= 0),
    PRIMARY KEY (host, mount, at)
);
CREATE INDEX disk_samples_at ON disk_samples (at);

CREATE TABLE agent_calls (
    agent    TEXT PRIMARY KEY,
    failed   INTEGER NOT NULL CHECK (failed >= 0),
    at       REAL NOT NULL
);

CREATE TABLE digests (
    id       INTEGER PRIMARY KEY,
    day      TEXT,
    kind     TEXT NOT NULL CHECK (kind IN ('daily', 'asked')),
    at       REAL NOT NULL,
    sent_at  REAL
);
CREATE UNIQUE INDEX digests_daily ON digests (day) WHERE kind = 'daily';
"""
