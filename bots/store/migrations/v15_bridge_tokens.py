"""The HTTP bridge's tokens (issue 18): one per external agent, only its sha256 kept, so a
copy of the store lets nobody in; `chavion token <agent>` replaces the row."""

SQL = """
CREATE TABLE bridge_tokens (
    agent       TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    created_at  REAL NOT NULL
);
"""
