"""When the night's queue has stopped: tasks wait for a slot and every slot is held by a
plan waiting for the master. Anything that can still move is not a stop."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.night.queue_watch import StoppedQueue, stopped_queue, stopped_text
from bots.store.tasks import Task

BASE = Task(
    id=0,
    intake_key="k",
    room_id=RoomID("!r:localhost"),
    thread_root=EventID("$t"),
    mission="m",
    priority="medium",
    state="pending",
    paused_from=None,
    requester=UserID("@master:localhost"),
    source="matrix",
    assigned=None,
    winner=None,
    attempt=1,
    plan=None,
    plan_digest=None,
    plan_author=None,
    plan_event=None,
    approved_by=None,
    approval_event=None,
    waiting_for="",
    deadline=None,
    note="",
    created_at=0.0,
    updated_at=0.0,
    finished_at=None,
)


def tasks(*states: str) -> list[Task]:
    return [replace(BASE, id=n, state=s, created_at=float(n)) for n, s in enumerate(states, 1)]


@pytest.mark.parametrize(
    ("states", "slots", "expected"),
    [
        pytest.param(
            ("awaiting_approval", "awaiting_approval", "pending"),
            2,
            StoppedQueue(holding=(1, 2), behind=(3,), slots=2),
            id="every-slot-held-one-behind",
        ),
        pytest.param(("awaiting_approval", "pending"), 2, None, id="a-slot-is-free"),
        pytest.param(("awaiting_approval", "running", "pending"), 2, None, id="one-still-runs"),
        pytest.param(("awaiting_approval", "awaiting_approval"), 2, None, id="nothing-behind"),
        pytest.param(
            ("awaiting_approval", "paused", "pending"),
            1,
            StoppedQueue(holding=(1,), behind=(3,), slots=1),
            id="a-paused-task-holds-no-slot",
        ),
        pytest.param(("discussing", "pending"), 1, None, id="the-council-is-working"),
        pytest.param(("completed", "pending"), 1, None, id="finished-tasks-hold-nothing"),
    ],
)
def test_when_the_queue_has_stopped(
    states: tuple[str, ...], slots: int, expected: StoppedQueue | None
) -> None:
    active = [t for t in tasks(*states) if t.state not in ("completed", "failed", "cancelled")]
    assert stopped_queue(active, slots) == expected


def test_the_stop_names_who_holds_the_slots_and_who_waits() -> None:
    text = stopped_text(StoppedQueue(holding=(4, 7), behind=(9, 8), slots=2))
    assert text.startswith("🚦 The queue has stopped: #4, #7 wait for your approval")
    assert "(2 of 2); 2 tasks wait behind them (#9, #8)" in text
    assert "`!approve N`" in text
