"""The executor's audit log (append-only, enforced by SQLite) and its requests' current state.

`audit_log` records every request, policy decision, approval, start and end; triggers make
any UPDATE or DELETE on it fail, so no code path can rewrite history (someone holding the
file can still drop the triggers: this guards against mistakes, not against the owner).
`exec_requests` holds one row per request id, the idempotency key: a request id is opened,
and so run, at most once.
"""

SQL = """
CREATE TABLE audit_log (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              REAL NOT NULL,
    request_id      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    actor           TEXT,
    event_id        TEXT,
    host            TEXT,
    command_digest  TEXT,
    detail          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX audit_log_request ON audit_log (request_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed');
END;

-- INSERT OR REPLACE on an existing seq would delete the old row without firing the delete
-- trigger (recursive triggers are off), so a row can only be added under a new seq.
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be replaced');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted');
END;

CREATE TABLE exec_requests (
    request_id  TEXT PRIMARY KEY,
    digest      TEXT NOT NULL,
    host        TEXT NOT NULL,
    command     TEXT NOT NULL,
    requester   TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    room_id     TEXT,
    event_id    TEXT
);
CREATE INDEX exec_requests_state ON exec_requests (state);
CREATE INDEX exec_requests_event ON exec_requests (event_id);
"""
