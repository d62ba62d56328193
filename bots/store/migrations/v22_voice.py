"""Voice (issue 20): who speaks aloud where, and which plan was read out to the master.

`voice_prefs`: `!voice on|off` per room, and per agent in a room (`agent` = '' is the room's
own setting). `voice_readouts`: the plans read out as voice messages, by task and the plan's
digest, so a spoken "승인" approves only the plan he heard."""

SQL = """
CREATE TABLE voice_prefs (
    room_id TEXT NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    speaks INTEGER NOT NULL CHECK (speaks IN (0, 1)),
    set_by TEXT NOT NULL,
    set_at REAL NOT NULL,
    PRIMARY KEY (room_id, agent)
);
CREATE TABLE voice_readouts (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL,
    plan_digest TEXT NOT NULL,
    room_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    read_at REAL NOT NULL,
    UNIQUE (task_id, plan_digest)
);
CREATE INDEX voice_readouts_task ON voice_readouts (task_id, read_at);
"""
