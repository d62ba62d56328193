"""Sync positions and handled events: what makes a restarted bot handle each event once."""

SQL = """
CREATE TABLE sync_state (
    bot         TEXT PRIMARY KEY,
    next_batch  TEXT NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE handled_events (
    bot         TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    room_id     TEXT NOT NULL,
    handled_at  REAL NOT NULL,
    PRIMARY KEY (bot, event_id)
);
CREATE INDEX handled_events_age ON handled_events (handled_at);
"""
