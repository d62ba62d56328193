"""Answers an agent owes: a question claimed but not yet answered when the process died.

A row is written before the model is called and deleted once the answer is sent, so what
is left at start was interrupted and is answered again. It keeps the question itself
(`message`, JSON) because an encrypted event cannot be read back cheaply after a restart;
the row, text included, goes as soon as the answer is out.
"""

SQL = """
CREATE TABLE pending_answers (
    bot          TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    room_id      TEXT NOT NULL,
    message      TEXT NOT NULL,
    placeholder  TEXT,
    attempts     INTEGER NOT NULL DEFAULT 1,
    started_at   REAL NOT NULL,
    PRIMARY KEY (bot, event_id)
);
"""
