"""The coordinator's tasks: each order, every state it went through, and the facts it waits on.

`tasks` holds one row per order (`intake_key` makes an intake that is delivered twice one
task); `task_moves` records every state change with who made it and why, written in the
same transaction as the change. The other tables are facts the engine reads back after a
restart instead of acting twice: `task_actions` (an event was sent, under a stable key),
`task_answers` (one per ask and agent), `task_votes` (the latest poll response per voter)
and `task_steps` (one row per execution request id, the executor's idempotency key).
"""

SQL = """
CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    intake_key      TEXT NOT NULL UNIQUE,
    room_id         TEXT NOT NULL,
    thread_root     TEXT,
    mission         TEXT NOT NULL,
    priority        TEXT NOT NULL,
    state           TEXT NOT NULL,
    paused_from     TEXT,
    requester       TEXT NOT NULL,
    source          TEXT NOT NULL,
    assigned        TEXT,
    winner          TEXT,
    attempt         INTEGER NOT NULL DEFAULT 0,
    plan            TEXT CHECK (plan IS NULL OR json_valid(plan)),
    plan_digest     TEXT,
    plan_author     TEXT,
    plan_event      TEXT,
    approved_by     TEXT,
    approval_event  TEXT,
    waiting_for     TEXT NOT NULL DEFAULT '',
    deadline        REAL,
    note            TEXT NOT NULL DEFAULT '',
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    finished_at     REAL
);
CREATE INDEX tasks_state ON tasks (state);
CREATE INDEX tasks_deadline ON tasks (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX tasks_created ON tasks (created_at);

CREATE TABLE task_moves (
    task_id     INTEGER NOT NULL REFERENCES tasks (id),
    seq         INTEGER NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    at          REAL NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE task_actions (
    task_id   INTEGER NOT NULL REFERENCES tasks (id),
    key       TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (task_id, key)
);

CREATE TABLE task_answers (
    task_id     INTEGER NOT NULL REFERENCES tasks (id),
    ask         TEXT NOT NULL,
    agent       TEXT NOT NULL,
    stage       TEXT NOT NULL,
    status      TEXT NOT NULL,
    text        TEXT NOT NULL,
    choice      TEXT,
    event_id    TEXT,
    tokens_in   INTEGER NOT NULL DEFAULT 0,
    tokens_out  INTEGER NOT NULL DEFAULT 0,
    cost        REAL NOT NULL DEFAULT 0,
    at          REAL NOT NULL,
    PRIMARY KEY (ask, agent)
);
CREATE INDEX task_answers_task ON task_answers (task_id, at);

CREATE TABLE task_votes (
    task_id     INTEGER NOT NULL REFERENCES tasks (id),
    poll_event  TEXT NOT NULL,
    voter       TEXT NOT NULL,
    choice      TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (poll_event, voter)
);

CREATE TABLE task_steps (
    request_id    TEXT PRIMARY KEY,
    task_id       INTEGER NOT NULL REFERENCES tasks (id),
    attempt       INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('main', 'verify', 'rollback')),
    host          TEXT NOT NULL,
    command       TEXT NOT NULL,
    status        TEXT NOT NULL,
    exit_status   INTEGER,
    output        TEXT,
    result_event  TEXT,
    sent_at       REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX task_steps_task ON task_steps (task_id, attempt, step);
"""
