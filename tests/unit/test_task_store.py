"""The task store: one task per intake key, state changes only by compare-and-set with their
history, every fact recorded once, figures from two queries, and a v5 store kept on upgrade."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bots.errors import StoreError, TaskError
from bots.ids import EventID, RequestID, RoomID, UserID
from bots.store import Store, statements
from bots.store.migrations import STEPS
from bots.store.tasks import AgentStats, Answer, StepRun, Task, TaskStore, Vote
from bots.store.usage import UsageTotals

MASTER = UserID("@master:hs")
COORDINATOR = "@chavion:hs"
ROOM = RoomID("!council:hs")
T0 = 1_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


async def new_task(
    tasks: TaskStore, key: str = "$intake", *, priority: str = "medium", now: float = T0
) -> Task:
    task, created = await tasks.create(
        intake_key=key,
        room_id=ROOM,
        thread_root=EventID(key),
        mission=f"mission of {key}",
        priority=priority,
        requester=MASTER,
        source="matrix",
        now=now,
    )
    assert created
    return task


async def walk(tasks: TaskStore, task_id: int, *states: str, now: float = T0) -> Task:
    """Moves the task through `states` from where it is; the last state's task."""
    task = await tasks.get(task_id)
    assert task is not None
    for state in states:
        moved = await tasks.move(
            task_id, task.state, state, actor=COORDINATOR, reason="test", now=now
        )
        assert moved is not None, f"{task.state} → {state}"
        task = moved
    return task


# --- intake ----------------------------------------------------------------------------


async def test_the_same_intake_key_is_the_same_task(store: Store) -> None:
    first = await new_task(store.tasks, "$a")
    again, created = await store.tasks.create(
        intake_key="$a",
        room_id=ROOM,
        thread_root=None,
        mission="something else",
        priority="high",
        requester=UserID("@other:hs"),
        source="http",
        now=T0 + 5,
    )
    other = await new_task(store.tasks, "$b")
    assert (created, again) == (False, first)
    assert other.id == first.id + 1
    assert (first.state, first.attempt, first.waiting_for) == ("pending", 0, "")
    assert first.task_id == str(first.id)
    [created_move] = await store.tasks.moves(first.id)
    assert (created_move.seq, created_move.from_state, created_move.to_state) == (
        1,
        None,
        "pending",
    )
    assert (created_move.actor, created_move.reason) == (MASTER, "from matrix")


async def test_store_tasks_is_one_store_with_one_lock(store: Store) -> None:
    assert store.tasks is store.tasks


# --- moves -----------------------------------------------------------------------------

HAPPY_PATH = (
    "discussing",
    "voting",
    "planning",
    "reviewing",
    "awaiting_approval",
    "running",
    "fixing",
    "reviewing",
    "awaiting_approval",
    "running",
    "completed",
)


async def test_every_move_is_recorded_in_order(store: Store) -> None:
    task = await new_task(store.tasks)
    done = await walk(store.tasks, task.id, *HAPPY_PATH, now=T0 + 60)
    moves = await store.tasks.moves(task.id)
    assert [m.seq for m in moves] == list(range(1, len(HAPPY_PATH) + 2))
    assert [(m.from_state, m.to_state) for m in moves[1:]] == list(
        zip(("pending", *HAPPY_PATH[:-1]), HAPPY_PATH, strict=True)
    )
    assert (done.state, done.finished_at, done.updated_at) == ("completed", T0 + 60, T0 + 60)


# (the moves made before, the state the caller read, where it asks to go, what comes back)
CAS = [
    ("the state read is the state", (), "pending", "discussing", "discussing"),
    ("another move got there first", ("discussing",), "pending", "planning", None),
    ("a stale read of a finished task", ("cancelled",), "pending", "cancelled", None),
]


@pytest.mark.parametrize(
    ("before", "claimed", "target", "expected"),
    [case[1:] for case in CAS],
    ids=[case[0] for case in CAS],
)
async def test_a_move_is_a_compare_and_set(
    store: Store, before: tuple[str, ...], claimed: str, target: str, expected: str | None
) -> None:
    task = await walk(store.tasks, (await new_task(store.tasks)).id, *before)
    history = await store.tasks.moves(task.id)
    moved = await store.tasks.move(task.id, claimed, target, actor=COORDINATOR, reason="r", now=T0)
    assert (moved.state if moved else None) == expected
    assert len(await store.tasks.moves(task.id)) == len(history) + (expected is not None)
    if expected is None:
        assert await store.tasks.get(task.id) == task


async def test_an_unknown_task_does_not_move(store: Store) -> None:
    assert await store.tasks.move(42, "pending", "discussing", actor="x", reason="", now=T0) is None


# Moves the workflow refuses: a TaskError naming both states, and nothing written.
REFUSED = [
    ("skipping ahead", (), "pending", "running", "a task cannot move from pending to running"),
    (
        "leaving a final state",
        ("cancelled",),
        "cancelled",
        "planning",
        "a task that is cancelled cannot move to planning: it has ended",
    ),
    (
        "a forbidden step does not re-plan",
        ("planning", "reviewing"),
        "reviewing",
        "fixing",
        "to fixing",
    ),
    ("an unknown state", (), "pending", "done", "unknown task state 'done'"),
    (
        "failing a finished task",
        ("planning", "completed"),
        "completed",
        "failed",
        "that is completed",
    ),
]


@pytest.mark.parametrize(
    ("path", "source", "target", "message"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
async def test_a_move_the_workflow_refuses_raises_and_writes_nothing(
    store: Store, path: tuple[str, ...], source: str, target: str, message: str
) -> None:
    task = await walk(store.tasks, (await new_task(store.tasks)).id, *path)
    before = await store.tasks.moves(task.id)
    with pytest.raises(TaskError, match=message):
        await store.tasks.move(task.id, source, target, actor="x", reason="", now=T0 + 1)
    assert await store.tasks.moves(task.id) == before
    assert await store.tasks.get(task.id) == task


async def test_of_two_racing_moves_one_wins(store: Store) -> None:
    """Two drives of one task read `voting` and move at once: one plans, the other is told
    it lost (None) and writes nothing."""
    task = await walk(store.tasks, (await new_task(store.tasks)).id, "discussing", "voting")
    results = await asyncio.gather(
        store.tasks.move(task.id, "voting", "planning", actor="tick", reason="vote over", now=T0),
        store.tasks.move(task.id, "voting", "cancelled", actor=MASTER, reason="!cancel", now=T0),
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    moves = await store.tasks.moves(task.id)
    assert [m.to_state for m in moves] == ["pending", "discussing", "voting", winners[0].state]


async def test_two_connections_racing_on_one_file_move_once(tmp_path: Path) -> None:
    """Two processes (here two connections) on one store: the write lock and the compare
    and set leave one move, whichever came first."""
    path = tmp_path / "s.db"
    async with await Store.open(path) as one, await Store.open(path) as two:
        task = await walk(one.tasks, (await new_task(one.tasks)).id, "discussing")
        results = await asyncio.gather(
            *(
                s.tasks.move(task.id, "discussing", target, actor="x", reason="", now=T0)
                for s, target in ((one, "voting"), (two, "planning")) * 5
            )
        )
        assert len([r for r in results if r is not None]) == 1
        assert len(await two.tasks.moves(task.id)) == 3


async def test_a_move_sets_fields_and_clears_the_old_wait(store: Store) -> None:
    task = await new_task(store.tasks)
    asking = await store.tasks.move(
        task.id,
        "pending",
        "discussing",
        actor=COORDINATOR,
        reason="asked 3 agents",
        now=T0 + 1,
        waiting_for="proposals from claude, gpt",
        deadline=T0 + 181,
    )
    assert asking is not None
    assert (asking.waiting_for, asking.deadline) == ("proposals from claude, gpt", T0 + 181)
    planning = await store.tasks.move(
        task.id,
        "discussing",
        "planning",
        actor="x",
        reason="one proposal",
        now=T0 + 2,
        winner="claude",
        attempt=1,
    )
    assert planning is not None
    assert (planning.waiting_for, planning.deadline) == ("", None)
    assert (planning.winner, planning.attempt, planning.finished_at) == ("claude", 1, None)


# --- pause -----------------------------------------------------------------------------


async def test_a_paused_task_resumes_only_where_it_was(store: Store) -> None:
    task = await walk(store.tasks, (await new_task(store.tasks)).id, "discussing", "voting")
    paused = await walk(store.tasks, task.id, "paused")
    assert (paused.state, paused.paused_from) == ("paused", "voting")
    with pytest.raises(TaskError, match="paused from voting can only resume to voting"):
        await store.tasks.move(task.id, "paused", "planning", actor=MASTER, reason="", now=T0)
    assert await store.tasks.get(task.id) == paused
    resumed = await walk(store.tasks, task.id, "voting")
    assert (resumed.state, resumed.paused_from) == ("voting", None)


async def test_a_paused_task_can_be_cancelled_but_waits_for_nothing(store: Store) -> None:
    task = await new_task(store.tasks)
    await store.tasks.move(
        task.id, "pending", "discussing", actor="x", reason="", now=T0, deadline=T0 + 10
    )
    await store.tasks.move(
        task.id, "discussing", "paused", actor=MASTER, reason="!pause", now=T0, deadline=T0 + 10
    )
    assert await store.tasks.due(T0 + 100) == []
    assert [t.id for t in await store.tasks.active()] == [task.id]
    cancelled = await walk(store.tasks, task.id, "cancelled")
    assert (cancelled.paused_from, cancelled.finished_at) == (None, T0)
    assert await store.tasks.active() == []


# --- update ----------------------------------------------------------------------------


async def test_an_update_holds_only_in_the_expected_state(store: Store) -> None:
    task = await new_task(store.tasks)
    updated = await store.tasks.update(
        task.id, expect_state="pending", now=T0 + 3, priority="high", note="first in line"
    )
    assert updated == replace(task, priority="high", note="first in line", updated_at=T0 + 3)
    stale = await store.tasks.update(task.id, expect_state="voting", now=T0 + 4, priority="low")
    assert stale is None
    assert await store.tasks.get(task.id) == updated


@pytest.mark.parametrize("field", ["state", "paused_from", "finished_at", "id", "mission"])
async def test_state_and_identity_are_not_fields_to_set(store: Store, field: str) -> None:
    task = await new_task(store.tasks)
    changes: dict[str, Any] = {field: "x"}
    with pytest.raises(ValueError, match=f"not a settable task field: {field}"):
        await store.tasks.update(task.id, expect_state="pending", now=T0, **changes)
    with pytest.raises(ValueError, match=f"not a settable task field: {field}"):
        await store.tasks.move(
            task.id, "pending", "discussing", actor="x", reason="", now=T0, **changes
        )
    assert await store.tasks.get(task.id) == task


async def test_a_plan_must_be_json(store: Store) -> None:
    task = await new_task(store.tasks)
    with pytest.raises(StoreError, match="CHECK constraint failed"):
        await store.tasks.update(task.id, expect_state="pending", now=T0, plan="{steps: [")
    plan = '{"steps": [{"host": "local", "command": "df -h"}]}'
    updated = await store.tasks.update(task.id, expect_state="pending", now=T0, plan=plan)
    assert updated is not None
    assert updated.plan == plan


# --- listing ---------------------------------------------------------------------------


async def test_listing_active_and_due(store: Store) -> None:
    low = await new_task(store.tasks, "$low", priority="low")
    high = await new_task(store.tasks, "$high", priority="high")
    medium = await new_task(store.tasks, "$medium")
    done = await walk(store.tasks, (await new_task(store.tasks, "$done")).id, "planning")
    await store.tasks.update(done.id, expect_state="planning", now=T0, deadline=T0)
    await walk(store.tasks, done.id, "completed")
    await store.tasks.move(
        low.id, "pending", "discussing", actor="x", reason="", now=T0, deadline=T0 + 5
    )
    await store.tasks.move(
        medium.id, "pending", "discussing", actor="x", reason="", now=T0, deadline=T0 + 1
    )

    assert [t.id for t in await store.tasks.active()] == [high.id, medium.id, low.id]
    assert [t.id for t in await store.tasks.due(T0)] == []
    assert [t.id for t in await store.tasks.due(T0 + 5)] == [medium.id, low.id]
    assert [t.id for t in await store.tasks.list()] == [done.id, medium.id, high.id, low.id]
    assert [t.id for t in await store.tasks.list(limit=2)] == [done.id, medium.id]
    assert [t.id for t in await store.tasks.list(["discussing"])] == [medium.id, low.id]
    assert await store.tasks.list([]) == []
    assert await store.tasks.get(9999) is None


# --- facts recorded once ---------------------------------------------------------------


async def test_an_action_is_recorded_once(store: Store) -> None:
    task = await new_task(store.tasks)
    assert await store.tasks.action_done(task.id, "ack") is None
    assert await store.tasks.record_action(task.id, "ack", EventID("$ack"), T0) is True
    assert await store.tasks.record_action(task.id, "ack", EventID("$again"), T0) is False
    assert await store.tasks.action_done(task.id, "ack") == "$ack"
    assert await store.tasks.record_action(404, "ack", EventID("$x"), T0) is False


def answer(task_id: int, agent: str = "claude", **changes: Any) -> Answer:
    base = Answer(
        task_id=task_id,
        ask=f"t{task_id}-propose-1",
        agent=agent,
        stage="propose",
        status="ok",
        text=f"{agent}'s proposal",
        event_id=EventID(f"${agent}"),
        at=T0,
    )
    return replace(base, **changes)


async def test_an_answer_counts_once_per_ask_and_agent(store: Store) -> None:
    task = await new_task(store.tasks)
    first = answer(task.id, tokens_in=10, tokens_out=5, cost=0.01)
    assert await store.tasks.add_answer(first) is True
    assert await store.tasks.add_answer(replace(first, text="changed my mind")) is False
    assert await store.tasks.add_answer(answer(task.id, "gpt", at=T0 + 1)) is True
    fix = answer(task.id, ask=f"t{task.id}-fix-2", stage="fix", at=T0 + 2)
    assert await store.tasks.add_answer(fix) is True
    assert await store.tasks.add_answer(answer(404)) is False
    assert await store.tasks.answers(task.id) == [first, answer(task.id, "gpt", at=T0 + 1), fix]
    assert await store.tasks.answers(task.id, fix.ask) == [fix]


def vote(task_id: int, voter: str, choice: str, at_ms: int, event: str | None = None) -> Vote:
    return Vote(
        task_id, EventID("$poll"), UserID(voter), choice, EventID(event or f"${at_ms}"), at_ms
    )


# Responses in arrival order → whether each is now the counted vote, and the vote kept.
VOTES = [
    ("one response", [("B", 10)], [True], "B"),
    ("the same response replayed", [("B", 10), ("B", 10)], [True, False], "B"),
    ("a later change wins", [("B", 10), ("A", 20)], [True, True], "A"),
    ("an older response arriving late loses", [("A", 20), ("B", 10)], [True, False], "A"),
    (
        "same time: the larger event id, in any order",
        [("A", 10, "$b"), ("B", 10, "$a")],
        [True, False],
        "A",
    ),
]


@pytest.mark.parametrize(
    ("responses", "counted", "kept"),
    [case[1:] for case in VOTES],
    ids=[case[0] for case in VOTES],
)
async def test_the_latest_vote_of_each_voter_counts(
    store: Store, responses: list[tuple[Any, ...]], counted: list[bool], kept: str
) -> None:
    task = await new_task(store.tasks)
    results = [await store.tasks.add_vote(vote(task.id, "@gpt:hs", *r)) for r in responses]
    assert results == counted
    assert [(v.voter, v.choice) for v in await store.tasks.votes(EventID("$poll"))] == [
        ("@gpt:hs", kept)
    ]


async def test_votes_are_per_voter_and_poll(store: Store) -> None:
    task = await new_task(store.tasks)
    await store.tasks.add_vote(vote(task.id, "@gpt:hs", "A", 20))
    await store.tasks.add_vote(vote(task.id, MASTER, "B", 10))
    await store.tasks.add_vote(replace(vote(task.id, MASTER, "C", 30), poll_event=EventID("$p2")))
    assert await store.tasks.add_vote(vote(404, MASTER, "A", 10)) is False
    assert [(v.voter, v.choice) for v in await store.tasks.votes(EventID("$poll"))] == [
        (MASTER, "B"),
        ("@gpt:hs", "A"),
    ]


def step_run(task_id: int, attempt: int, step: int, kind: str = "main") -> StepRun:
    suffix = {"main": "", "verify": "-v", "rollback": "-rb"}[kind]
    return StepRun(
        request_id=RequestID(f"t{task_id}-a{attempt}-s{step}{suffix}"),
        task_id=task_id,
        attempt=attempt,
        step=step,
        kind=kind,  # type: ignore[arg-type]
        host="local",
        command="df -h",
        sent_at=T0 + step,
    )


async def test_a_step_is_sent_once_and_finished_once(store: Store) -> None:
    task = await new_task(store.tasks)
    sent = step_run(task.id, 1, 1)
    assert await store.tasks.add_step(sent) is True
    assert await store.tasks.add_step(replace(sent, command="rm -rf /")) is False
    assert await store.tasks.add_step(step_run(404, 1, 1)) is False
    assert await store.tasks.step(sent.request_id) == sent

    finished = await store.tasks.finish_step(
        sent.request_id, "succeeded", 0, "Filesystem Size", EventID("$result"), T0 + 9
    )
    expected = replace(
        sent,
        status="succeeded",
        exit_status=0,
        output="Filesystem Size",
        result_event=EventID("$result"),
        finished_at=T0 + 9,
    )
    assert finished == expected
    again = await store.tasks.finish_step(sent.request_id, "failed", 1, "late", None, T0 + 10)
    assert again is None
    assert await store.tasks.step(sent.request_id) == expected
    assert await store.tasks.finish_step(RequestID("nope"), "failed", 1, "", None, T0) is None


async def test_steps_by_task_and_attempt(store: Store) -> None:
    task = await new_task(store.tasks)
    runs = [
        step_run(task.id, 2, 1),
        step_run(task.id, 1, 2),
        step_run(task.id, 1, 1, "verify"),
        step_run(task.id, 1, 1),
    ]
    for run in runs:
        await store.tasks.add_step(run)
    ids = [s.request_id for s in await store.tasks.steps(task.id)]
    t = task.id
    assert ids == [f"t{t}-a1-s1", f"t{t}-a1-s1-v", f"t{t}-a1-s2", f"t{t}-a2-s1"]
    assert [s.request_id for s in await store.tasks.steps(task.id, 2)] == [f"t{t}-a2-s1"]


async def test_a_step_kind_is_one_of_three(store: Store) -> None:
    task = await new_task(store.tasks)
    undo: Any = "undo"
    with pytest.raises(StoreError, match="CHECK constraint failed"):
        await store.tasks.add_step(replace(step_run(task.id, 1, 1), kind=undo))
    assert await store.tasks.steps(task.id) == []


# --- figures ---------------------------------------------------------------------------


async def seed(tasks: TaskStore) -> None:
    """Four tasks since T0 and one before:
    #1 completed in 120 s, 1 attempt, claude won; #2 completed in 300 s, 2 attempts, claude
    won; #3 failed, gpt won; #4 cancelled while discussing; #0 (before T0) completed."""
    old = await new_task(tasks, "$old", now=T0 - 100)
    await tasks.add_answer(answer(old.id, cost=9.0, at=T0 - 100))
    await walk(tasks, old.id, "planning")
    await tasks.update(old.id, expect_state="planning", now=T0 - 50, winner="claude")
    await walk(tasks, old.id, "completed", now=T0 - 50)
    outcomes = [
        ("$1", "claude", 1, ("planning", "completed"), 120),
        ("$2", "claude", 2, ("planning", "completed"), 300),
        ("$3", "gpt", 1, ("planning", "failed"), 60),
        ("$4", None, 0, ("discussing", "cancelled"), 10),
    ]
    for key, winner, attempt, path, seconds in outcomes:
        task = await new_task(tasks, key, now=T0)
        await walk(tasks, task.id, path[0])
        await tasks.update(task.id, expect_state=path[0], now=T0, winner=winner, attempt=attempt)
        await walk(tasks, task.id, path[1], now=T0 + seconds)
        for agent, status, tokens, cost in (
            ("claude", "ok", 100, 0.5),
            ("gpt", "ok", 200, 0.25),
            ("gemini", "failed", 0, 0.0),
        ):
            await tasks.add_answer(
                answer(
                    task.id,
                    agent,
                    status=status,
                    tokens_in=tokens,
                    tokens_out=tokens // 2,
                    cost=cost,
                )
            )
    await new_task(tasks, "$5", now=T0 + 1)  # still pending


async def test_stats_over_a_seeded_store(store: Store) -> None:
    await seed(store.tasks)
    stats = await store.tasks.stats(T0)
    assert (stats.count, stats.completed, stats.failed, stats.cancelled, stats.active) == (
        5,
        2,
        1,
        1,
        1,
    )
    assert stats.mean_seconds == pytest.approx(210.0)
    assert stats.mean_attempts == pytest.approx(1.5)
    assert stats.success_rate == pytest.approx(2 / 3)
    assert stats.agents == (
        AgentStats(
            "claude", answers=4, failed_answers=0, wins=2, wins_completed=2, tokens=600, cost=2.0
        ),
        AgentStats(
            "gemini", answers=4, failed_answers=4, wins=0, wins_completed=0, tokens=0, cost=0.0
        ),
        AgentStats(
            "gpt", answers=4, failed_answers=0, wins=1, wins_completed=0, tokens=1200, cost=1.0
        ),
    )
    assert (stats.tokens, stats.cost) == (1800, 3.0)  # sums of halves and quarters: exact


async def test_stats_of_an_empty_period(store: Store) -> None:
    await seed(store.tasks)
    stats = await store.tasks.stats(T0 + 10_000)
    assert (stats.count, stats.mean_seconds, stats.success_rate, stats.agents) == (
        0,
        None,
        None,
        (),
    )


async def test_stats_is_two_queries_whatever_the_number_of_tasks(store: Store) -> None:
    await seed(store.tasks)
    seen: list[str] = []
    await store._db.set_trace_callback(seen.append)
    try:
        await store.tasks.stats(T0)
    finally:
        await store._db.set_trace_callback(lambda statement: None)
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 2


async def test_costs_per_agent_of_one_task(store: Store) -> None:
    task = await new_task(store.tasks)
    await store.tasks.add_answer(answer(task.id, tokens_in=10, tokens_out=5, cost=0.25))
    await store.tasks.add_answer(
        answer(task.id, ask="t1-plan-1", stage="plan", tokens_in=1, tokens_out=1, cost=0.5)
    )
    await store.tasks.add_answer(answer(task.id, "gpt", tokens_in=7, cost=0.0))
    assert await store.tasks.costs(task.id) == {
        "claude": UsageTotals(17, 0.75),
        "gpt": UsageTotals(7, 0.0),
    }
    assert await store.tasks.costs(404) == {}


# --- the store itself ------------------------------------------------------------------


async def test_a_v5_store_migrates_to_the_latest_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        for version, sql in STEPS:
            if version <= 5:
                for statement in statements(sql):
                    await db.execute(statement)
        await db.execute("PRAGMA user_version=5")
        await db.execute("INSERT INTO sync_state VALUES ('chavion', 's42', 1.0)")
        await db.execute("INSERT INTO agent_flags VALUES ('gpt', 1, '@master:hs', 1.0)")
    async with await Store.open(path) as store:
        assert await store.schema_version() == STEPS[-1][0]
        assert await store.sync_token("chavion") == "s42"
        assert await store.agent_flags.is_muted("gpt") is True
        task = await new_task(store.tasks)
        assert task.id == 1


async def test_a_query_error_leaves_the_task_store_as_a_store_error(store: Store) -> None:
    await store._db.execute("DROP TABLE task_votes")
    with pytest.raises(StoreError, match="the task store failed: no such table"):
        await store.tasks.votes(EventID("$poll"))
