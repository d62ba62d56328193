"""Agent token usage per call, and which once-a-day notices were already said.

`day` is the local date in the budget time zone, so a day's totals are one indexed lookup.
"""

SQL = """
CREATE TABLE agent_usage (
    id             INTEGER PRIMARY KEY,
    agent          TEXT NOT NULL,
    model          TEXT NOT NULL,
    day            TEXT NOT NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cost_usd       REAL NOT NULL,
    event_id       TEXT,
    at             REAL NOT NULL
);
CREATE INDEX agent_usage_agent_day ON agent_usage (agent, day);

CREATE TABLE agent_notices (
    agent  TEXT NOT NULL,
    day    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    PRIMARY KEY (agent, day, kind)
);
"""
