"""The spend ledger (issue 19): reservations before each model call, task caps, benched agents.

A reservation holds a call's worst case (prompt, max output, the model's price) while the call
runs; it becomes the call's `agent_usage` row when the vendor reports the real usage, and is
deleted when the call fails. `expires_at` is the end of the call's possible lifetime, so a
crash mid-call does not hold the money forever. `agent_usage.task` counts a council ask's
call against its task; `agent_usage.reservation` names the hold a row settled (a trigger
deletes it). `spend_alerts` makes an alert about a cap one message however many agents meet
it. The covering indexes keep the caps' sums (agent/day, day, task) off the table itself,
so a reservation stays fast with a year of rows.
"""

SQL = """
ALTER TABLE agent_usage ADD COLUMN task INTEGER;
ALTER TABLE agent_usage ADD COLUMN reservation INTEGER;
CREATE INDEX agent_usage_day_spend ON agent_usage
    (day, agent, cost_usd, input_tokens, output_tokens);
CREATE INDEX agent_usage_task_spend ON agent_usage (task, cost_usd) WHERE task IS NOT NULL;

CREATE TABLE spend_reservations (
    id          INTEGER PRIMARY KEY,
    agent       TEXT NOT NULL,
    model       TEXT NOT NULL,
    day         TEXT NOT NULL,
    task        INTEGER,
    tokens      INTEGER NOT NULL CHECK (tokens >= 0),
    cost_usd    REAL NOT NULL CHECK (cost_usd >= 0),
    at          REAL NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE INDEX spend_reservations_day ON spend_reservations (day, agent, expires_at);
CREATE INDEX spend_reservations_task ON spend_reservations (task) WHERE task IS NOT NULL;
CREATE INDEX spend_reservations_expiry ON spend_reservations (expires_at);

-- Settling is one INSERT: the usage row names its reservation, and this deletes the hold in
-- the same statement (one commit, one round trip per settled call).
CREATE TRIGGER agent_usage_settles AFTER INSERT ON agent_usage
WHEN NEW.reservation IS NOT NULL
BEGIN
    DELETE FROM spend_reservations WHERE id = NEW.reservation;
END;

CREATE TABLE task_spend_caps (
    task        INTEGER PRIMARY KEY,
    cap_usd     REAL NOT NULL CHECK (cap_usd >= 0),
    updated_at  REAL NOT NULL
);

CREATE TABLE spend_alerts (
    key         TEXT PRIMARY KEY,
    at          REAL NOT NULL
);

CREATE TABLE benched_agents (
    agent       TEXT PRIMARY KEY,
    reason      TEXT NOT NULL,
    at          REAL NOT NULL
);
"""
