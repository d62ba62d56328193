"""What the council learned from finished tasks, searchable by words (issue 17).

`lessons` holds one lesson per task (the mission, the outcome word and the lesson's text);
`lessons_fts` is its full-text index (SQLite FTS5, an external-content table over
`lessons`), kept in step by triggers, so an insert or a delete and its index entry are one
statement's work and commit together. The `unicode61` tokenizer splits on spaces and
punctuation but keeps `-` and `.` in a word, so a host (`web-1`, `db.example.com`) or a
command (`apt-get`) is one token; Korean particles glued to a word ("web-1의") are handled
by the query, which strips them and matches by prefix (bots/store/lesson_query.py, measured
there). `lessons_vocab` (fts5vocab) gives each token's document count, so a lookup can leave
out words most lessons share (see `LessonStore`).

`task_lessons` records which lessons were put in a task's prompts, for its report. A lesson
outlives anything else: no foreign key from `lessons`, and `!forget` leaves the record of
where it was used.
"""

SQL = """
CREATE TABLE lessons (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER NOT NULL UNIQUE,
    mission     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  REAL NOT NULL
);

CREATE VIRTUAL TABLE lessons_fts USING fts5 (
    mission, text,
    content = 'lessons', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '-.'"
);

CREATE VIRTUAL TABLE lessons_vocab USING fts5vocab (lessons_fts, 'row');

CREATE TRIGGER lessons_fts_insert AFTER INSERT ON lessons BEGIN
    INSERT INTO lessons_fts (rowid, mission, text) VALUES (new.id, new.mission, new.text);
END;

CREATE TRIGGER lessons_fts_delete AFTER DELETE ON lessons BEGIN
    INSERT INTO lessons_fts (lessons_fts, rowid, mission, text)
    VALUES ('delete', old.id, old.mission, old.text);
END;

CREATE TRIGGER lessons_fts_update AFTER UPDATE ON lessons BEGIN
    INSERT INTO lessons_fts (lessons_fts, rowid, mission, text)
    VALUES ('delete', old.id, old.mission, old.text);
    INSERT INTO lessons_fts (rowid, mission, text) VALUES (new.id, new.mission, new.text);
END;

CREATE TABLE task_lessons (
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    lesson_id  INTEGER NOT NULL,
    at         REAL NOT NULL,
    PRIMARY KEY (task_id, lesson_id)
);
"""
