"""The audit log looked up by event (issue 17), and the discussions' minutes asks kept.

`audit_log_event`: `approved_under` (the window between a plan's steps) and
`find_by_prompt` look audit rows up by `event_id`; without an index each lookup read the
whole append-only log, which only grows.

`minutes_asks`: a discussion's `!minutes` asks the scribe and the minutes follow its answer
(or its silence at `deadline`); the ask is a row before anything is sent, so a restart
between the ask and the answer finishes the minutes instead of forgetting them.
`ask_event` is set once the ask is sent, `answer` / `problem` once the scribe answered, and
`minutes_id` once the minutes are posted and stored: the row is done.
"""

SQL = """
CREATE INDEX audit_log_event ON audit_log (event_id);

CREATE TABLE minutes_asks (
    ask           TEXT PRIMARY KEY,
    command_event TEXT NOT NULL UNIQUE,
    room_id       TEXT NOT NULL,
    thread_root   TEXT,
    root          TEXT NOT NULL,
    scribe        TEXT NOT NULL,
    head          TEXT NOT NULL,
    facts         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(facts)),
    lines         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(lines)),
    deadline      REAL NOT NULL,
    ask_event     TEXT,
    answer        TEXT,
    problem       TEXT,
    minutes_id    INTEGER REFERENCES minutes (id),
    created_at    REAL NOT NULL
);
CREATE INDEX minutes_asks_open ON minutes_asks (deadline) WHERE minutes_id IS NULL;
"""
