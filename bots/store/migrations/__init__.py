"""Ordered schema steps. Append a new module for each change; never edit a shipped one."""

from bots.store.migrations import (
    v01_initial,
    v02_usage,
    v03_audit,
    v04_agent_flags,
    v05_pending_answers,
    v06_tasks,
    v07_plan_approvals,
    v08_lessons,
    v09_polls,
    v10_minutes,
    v11_routines,
    v12_task_modes,
    v13_task_parts,
    v14_audit_event_index,
    v15_bridge_tokens,
    v16_dashboard_links,
)

STEPS: tuple[tuple[int, str], ...] = (
    (1, v01_initial.SQL),
    (2, v02_usage.SQL),
    (3, v03_audit.SQL),
    (4, v04_agent_flags.SQL),
    (5, v05_pending_answers.SQL),
    (6, v06_tasks.SQL),
    (7, v07_plan_approvals.SQL),
    (8, v08_lessons.SQL),
    (9, v09_polls.SQL),
    (10, v10_minutes.SQL),
    (11, v11_routines.SQL),
    (12, v12_task_modes.SQL),
    (13, v13_task_parts.SQL),
    (14, v14_audit_event_index.SQL),
    (15, v15_bridge_tokens.SQL),
    (16, v16_dashboard_links.SQL),
)
