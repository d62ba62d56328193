"""The master's own polls (`!poll`): the poll, the votes (latest per voter), the agents'
one-line reasons, and what was sent for it (each event once, even across a restart)."""

SQL = """
CREATE TABLE polls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    open_key    TEXT UNIQUE NOT NULL,
    room_id     TEXT NOT NULL,
    thread_root TEXT,
    question    TEXT NOT NULL,
    options     TEXT NOT NULL CHECK (json_valid(options)),
    agents      TEXT NOT NULL CHECK (json_valid(agents)),
    requester   TEXT NOT NULL,
    source      TEXT NOT NULL,
    poll_event  TEXT UNIQUE,
    state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    created_at  REAL NOT NULL,
    deadline    REAL NOT NULL,
    closed_at   REAL,
    closed_by   TEXT,
    result      TEXT
);
CREATE INDEX polls_open ON polls (state, deadline);

CREATE TABLE poll_votes (
    poll_id   INTEGER NOT NULL REFERENCES polls (id),
    voter     TEXT NOT NULL,
    choice    TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    PRIMARY KEY (poll_id, voter)
);

CREATE TABLE poll_reasons (
    poll_id   INTEGER NOT NULL REFERENCES polls (id),
    agent     TEXT NOT NULL,
    status    TEXT NOT NULL,
    choice    TEXT,
    text      TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (poll_id, agent)
);

CREATE TABLE poll_actions (
    poll_id   INTEGER NOT NULL REFERENCES polls (id),
    key       TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (poll_id, key)
);
"""
