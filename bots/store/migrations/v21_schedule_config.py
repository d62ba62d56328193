"""Scheduler extras (issue 19): a schedule declared in the config carries its stable name.

The config's schedules are synced into the store at every start by that name: an edited
entry updates its row (keeping its id, its pause and its run in progress), an entry gone
from the config removes it. A schedule added from the room has no name (NULL)."""

SQL = """
ALTER TABLE schedules ADD COLUMN config_name TEXT;
CREATE UNIQUE INDEX schedules_config_name ON schedules (config_name)
    WHERE config_name IS NOT NULL AND removed_at IS NULL;
"""
