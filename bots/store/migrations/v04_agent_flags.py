"""Per-agent switches the master flips from the room (`!mute`), kept across restarts."""

SQL = """
CREATE TABLE agent_flags (
    agent       TEXT PRIMARY KEY,
    muted       INTEGER NOT NULL DEFAULT 0,
    changed_by  TEXT,
    updated_at  REAL NOT NULL
);
"""
