"""The executor's memory of task plans and of who approved or denied them.

`exec_plans`: plan messages the executor saw from the configured coordinator, with the
digests of every command they show (steps, verify and rollback). `exec_plan_verdicts`: an
approver's ✅ / ❌ on a plan message (`plan_event` set) or `!approve N` / `!deny N` (`task_id`
set, `plan_event` NULL: it applies to the task's newest plan sent before it). The executor
approves a request by them only after checking them again (bots/execution/plan_approvals.py).
"""

SQL = """
CREATE TABLE exec_plans (
    plan_event    TEXT PRIMARY KEY,
    room_id       TEXT NOT NULL,
    sender        TEXT NOT NULL,
    task_id       TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    digest        TEXT NOT NULL,
    step_digests  TEXT NOT NULL CHECK (json_valid(step_digests)),
    at            REAL NOT NULL,
    seen_at       REAL NOT NULL
);
CREATE INDEX exec_plans_task ON exec_plans (task_id, at);

CREATE TABLE exec_plan_verdicts (
    event_id    TEXT PRIMARY KEY,
    room_id     TEXT NOT NULL,
    plan_event  TEXT,
    task_id     TEXT,
    actor       TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('approve', 'deny')),
    at          REAL NOT NULL,
    seen_at     REAL NOT NULL,
    CHECK (plan_event IS NOT NULL OR task_id IS NOT NULL)
);
CREATE INDEX exec_plan_verdicts_plan ON exec_plan_verdicts (plan_event);
CREATE INDEX exec_plan_verdicts_task ON exec_plan_verdicts (task_id);
"""
