"""Routines (a mission that kept succeeding, saved with its plan to replay) and the models
the master switched agents to with `!model` (kept across restarts, read before each call)."""

SQL = """
CREATE TABLE routines (
    name        TEXT PRIMARY KEY,
    name_key    TEXT NOT NULL UNIQUE,
    mission     TEXT NOT NULL,
    normalised  TEXT NOT NULL,
    plan        TEXT NOT NULL,
    plan_digest TEXT NOT NULL,
    plan_author TEXT,
    from_task   INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  REAL NOT NULL,
    runs        INTEGER NOT NULL DEFAULT 0,
    last_run    REAL
);
CREATE INDEX routines_normalised ON routines (normalised);

CREATE TABLE agent_models (
    agent       TEXT PRIMARY KEY,
    model       TEXT NOT NULL CHECK (length(model) > 0),
    changed_by  TEXT NOT NULL,
    updated_at  REAL NOT NULL
);
"""
