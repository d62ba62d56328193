"""Minutes of tasks and of broadcast discussions, searchable.

`minutes`: one row per task (`task_id` UNIQUE; NULL for a discussion, of which a room has
many), with the text as posted, the fixed-format status report, the scribe and the event
that carried them. `minutes_fts`: an FTS5 index over text and status (external content),
kept in sync by triggers, so an insert and its index row are one transaction.
"""

SQL = """
CREATE TABLE minutes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER UNIQUE REFERENCES tasks (id) ON DELETE CASCADE,
    room_id     TEXT NOT NULL,
    thread_root TEXT,
    text        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT '',
    author      TEXT NOT NULL DEFAULT '',
    event_id    TEXT,
    created_at  REAL NOT NULL
);
CREATE INDEX minutes_room ON minutes (room_id, created_at);

CREATE VIRTUAL TABLE minutes_fts USING fts5(
    text, status, content='minutes', content_rowid='id', tokenize='unicode61', prefix='2 3'
);

CREATE TRIGGER minutes_fts_insert AFTER INSERT ON minutes BEGIN
    INSERT INTO minutes_fts (rowid, text, status) VALUES (new.id, new.text, new.status);
END;
CREATE TRIGGER minutes_fts_delete AFTER DELETE ON minutes BEGIN
    INSERT INTO minutes_fts (minutes_fts, rowid, text, status)
        VALUES ('delete', old.id, old.text, old.status);
END;
CREATE TRIGGER minutes_fts_update AFTER UPDATE ON minutes BEGIN
    INSERT INTO minutes_fts (minutes_fts, rowid, text, status)
        VALUES ('delete', old.id, old.text, old.status);
    INSERT INTO minutes_fts (rowid, text, status) VALUES (new.id, new.text, new.status);
END;
"""
