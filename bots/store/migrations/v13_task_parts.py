"""The parts of a split task (issue 17's divide and merge): what each part is, who does it,
who tried it before (a failed part is reassigned once), its try (answers for an older try
change nothing), and how it ended (`done` with its result, `missing` with why)."""

SQL = """
CREATE TABLE task_parts (
    task_id    INTEGER NOT NULL REFERENCES tasks (id),
    n          INTEGER NOT NULL,
    title      TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    commands   INTEGER NOT NULL DEFAULT 0,
    suggested  TEXT,
    agent      TEXT NOT NULL,
    tried      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tried)),
    try        INTEGER NOT NULL DEFAULT 1,
    status     TEXT NOT NULL CHECK (status IN ('asked', 'done', 'missing')),
    result     TEXT NOT NULL DEFAULT '',
    why        TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (task_id, n)
);
"""
