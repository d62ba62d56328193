"""The night envelope in the task engine (the in-memory bench, a controlled clock): the judge
approves a covered plan, an uncovered one waits for the morning without expiring, the
morning report goes out once, and the held plan, shown again after it, runs on one ✅."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.coordinator.tasks.night_approval import MORNING_WAIT
from bots.night.morning import MorningReport
from bots.store.night import Envelope
from tests.support.task_engine import (
    MASTER,
    READ_ONLY_PLAN,
    WRITING_PLAN,
    Bench,
    open_bench,
    use,
)

HOUR = 3600.0


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    opened = await open_bench(tmp_path)
    yield opened
    await opened.store.close()


async def grant(bench: Bench, globs: tuple[str, ...] = ("df *",), budget: float = 2.0) -> Envelope:
    envelope = await bench.store.night.grant(
        starts_at=bench.clock.now,
        ends_at=bench.clock.now + 8 * HOUR,
        budget_usd=budget,
        hosts=["local"],
        allow_preset=None,
        allow_globs=globs,
        granted_by=MASTER,
    )
    assert envelope is not None
    return envelope


async def to_review(bench: Bench, plan: str) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", f"Here it is:\n```json\n{plan}\n```")
    await bench.answer("gpt", "t1-review-1", "Low risk.\nVERDICT: approve", verdict="approve")


async def test_the_judge_approves_a_covered_plan_at_night(bench: Bench) -> None:
    envelope = await grant(bench)
    await to_review(bench, READ_ONLY_PLAN)
    task = await bench.task()
    assert task.state in ("running", "completed")
    assert task.approved_by == bench.user("gpt")
    moves = await bench.store.tasks.moves(1)
    approval = next(m for m in moves if m.to_state == "running")
    assert approval.actor == "gpt"
    assert f"under night envelope #{envelope.id}" in approval.reason
    [fact] = await bench.store.night.tasks(envelope.id)
    assert (fact.task_id, fact.verdict) == (1, "judge")


async def test_a_plan_the_judge_did_not_approve_waits_for_the_morning(bench: Bench) -> None:
    await grant(bench)
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", f"```json\n{READ_ONLY_PLAN}\n```")
    await bench.answer("gpt", "t1-review-1", "Fine, I suppose.")  # no verdict declared
    task = await bench.task()
    assert task.state == "awaiting_approval"
    assert task.waiting_for == MORNING_WAIT


async def test_an_uncovered_plan_waits_all_night_without_expiring(bench: Bench) -> None:
    envelope = await grant(bench)
    await to_review(bench, WRITING_PLAN)  # `touch`: the policy asks about it
    task = await bench.task()
    assert task.state == "awaiting_approval"
    assert task.waiting_for == MORNING_WAIT
    assert task.deadline == envelope.ends_at
    await bench.later(bench.settings.tasks.approval_seconds + 1)
    await bench.later(4 * HOUR)
    assert (await bench.task()).state == "awaiting_approval"
    [fact] = await bench.store.night.tasks(envelope.id)
    assert fact.verdict == "held"
    assert "needs an approval by the policy" in fact.reason


async def test_a_spent_budget_sends_covered_plans_to_the_morning(bench: Bench) -> None:
    await grant(bench, budget=0.0)
    await to_review(bench, READ_ONLY_PLAN)
    assert (await bench.task()).state == "awaiting_approval"


async def test_the_morning_report_goes_out_once_and_a_held_plan_runs_on_one_tap(
    bench: Bench,
) -> None:
    envelope = await grant(bench)
    await to_review(bench, WRITING_PLAN)
    watch = MorningReport(bench.bot, clock=bench.clock)
    assert await watch.check() == 0  # the window is open
    await bench.later(8 * HOUR)
    assert bench.matrix.sent_keys().count("plan-msg-1-morning") == 0  # the report first
    assert await watch.check() == 1
    assert await MorningReport(bench.bot, clock=bench.clock).check() == 0  # after a restart
    report = bench.matrix.by_key("morning")
    assert report.key == f"alert/night/{envelope.id}/morning"
    assert report.reply is not None
    assert report.reply.mention == (MASTER,)
    assert "⏳ Waiting for your approval" in report.body
    assert "    local: touch /tmp/x" in report.body
    await bench.later(1)
    morning = bench.matrix.by_key("plan-msg-1-morning")
    assert morning.reply is not None
    assert morning.reply.thread_root is None
    assert morning.body.startswith("🌅 #1 waited for you overnight")
    task = await bench.task()
    assert task.plan_event == morning.event_id
    assert task.waiting_for != MORNING_WAIT
    await bench.react(morning.event_id, "✅")
    task = await bench.task()
    assert task.state == "running"
    assert task.approved_by == MASTER


async def test_stopping_the_night_ends_it_at_once(bench: Bench) -> None:
    envelope = await grant(bench)
    assert await bench.store.night.revoke(envelope.id, MASTER, bench.clock.now + 60)
    bench.clock.now += 61
    await to_review(bench, READ_ONLY_PLAN)
    task = await bench.task()
    assert task.state == "awaiting_approval"  # by day: the master approves
    assert task.waiting_for == "the master's approval of the plan"


async def test_a_queue_stopped_by_held_plans_is_told_once_and_urgently(bench: Bench) -> None:
    use(bench, max_active=1)
    envelope = await grant(bench)
    await to_review(bench, WRITING_PLAN)  # held for the morning: it keeps the only slot
    watch = MorningReport(bench.bot, clock=bench.clock)
    await watch.check()
    assert not [s for s in bench.matrix.sent if "queue-stopped" in s.key]  # nothing behind
    second = await bench.order("report memory of local", key="$second")
    assert second.state == "pending"
    await watch.check()
    await watch.check()
    await MorningReport(bench.bot, clock=bench.clock).check()  # after a restart
    [told] = [s for s in bench.matrix.sent if "queue-stopped" in s.key]
    assert told.key == f"alert/night/{envelope.id}/queue-stopped"
    assert told.reply is not None
    assert told.reply.urgent
    assert told.reply.mention == (MASTER,)
    assert told.body.startswith("🚦 The queue has stopped: #1 waits for your approval")
    assert "(1 of 1); 1 task waits behind them (#2)" in told.body


async def test_a_full_queue_by_day_is_not_an_alert(bench: Bench) -> None:
    use(bench, max_active=1)
    await to_review(bench, WRITING_PLAN)  # by day: the master is awake to approve
    await bench.order("report memory of local", key="$second")
    await MorningReport(bench.bot, clock=bench.clock).check()
    assert not [s for s in bench.matrix.sent if "queue-stopped" in s.key]


async def test_a_stop_while_waiting_for_the_sync_ends_the_night_watch(bench: Bench) -> None:
    synced, stop = asyncio.Event(), asyncio.Event()
    report = MorningReport(bench.bot, clock=bench.clock)
    watch = asyncio.create_task(report.run_background(synced, stop))
    await asyncio.sleep(0)
    stop.set()  # the bot never synced: the watch must not wait for it forever
    await asyncio.wait_for(watch, timeout=5)
    assert watch.exception() is None
    assert bench.matrix.sent == []  # and it made no round
