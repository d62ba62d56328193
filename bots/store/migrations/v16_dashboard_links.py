"""The dashboard's one-time links (issue 18): `!dashboard` issues one, valid 10 minutes,
used up by its first login; only its sha256 is kept, so a copy of the store lets nobody in.
The master's own dashboard token lives in `bridge_tokens` under the reserved name `:master`."""

SQL = """
CREATE TABLE dashboard_links (
    hash        TEXT PRIMARY KEY CHECK (length(hash) = 64),
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    used_at     REAL
);
"""
