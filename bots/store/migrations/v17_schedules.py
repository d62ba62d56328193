"""Schedules (issue 19): recurring missions the coordinator turns into tasks when due.

Removal is soft (`removed_at`), so a report can still name the schedule a task came from.
`running_task` is the task a run created; while it is set the schedule is not due again,
so two runs of one schedule never overlap. No foreign key to `tasks`: a schedule outlives
the tasks it made, and claiming a run is one compare-and-set on this row alone."""

SQL = """
CREATE TABLE schedules (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('cron', 'interval')),
    cron         TEXT,
    seconds      REAL,
    zone         TEXT NOT NULL,
    text         TEXT NOT NULL,
    mission      TEXT NOT NULL CHECK (length(mission) > 0),
    priority     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   REAL NOT NULL,
    paused       INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    last_run_at  REAL,
    next_run_at  REAL,
    running_task INTEGER,
    removed_at   REAL,
    CHECK ((kind = 'cron' AND cron IS NOT NULL AND seconds IS NULL)
        OR (kind = 'interval' AND cron IS NULL AND seconds IS NOT NULL AND seconds >= 60))
);
CREATE INDEX schedules_due ON schedules (next_run_at)
    WHERE removed_at IS NULL AND paused = 0 AND running_task IS NULL;
"""
