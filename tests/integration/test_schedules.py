"""Schedules end to end (issue 19): a schedule the master adds with `!schedule add` fires and
creates a task whose ack and report name the schedule; it survives a restart of the
coordinator (still listed, still fires); a run missed inside the grace time runs once and
one missed beyond it is reported to the master; a run that comes due while the last one's
task is open is skipped and said once in that task's thread.

Real Synapse, the master's encrypted nio client, the coordinator (its real `TaskService`
and store) with the executor and the agents in this process on the fake LLM server. The
scheduler under test is a `SchedulerJob` on the running coordinator's context and task
engine, driven round by round with a controllable clock; the schedules are set hours away
from the real time, so the coordinator's own scheduler (on the wall clock) leaves them be.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bots.coordinator.scheduler import SchedulerJob
from bots.coordinator.tasks.service import TaskService
from bots.ids import UserID
from bots.store.schedules import Schedule
from bots.store.tasks import Task
from tests.fakes.llm_server import FakeLLMServer
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.council_script import CouncilScript
from tests.support.person import Person, Seen
from tests.support.tasks import (
    StartTaskBots,
    TaskBots,
    TaskMaster,
    answering,
    cancel_open_tasks,
    council_of,
    in_thread,
    scripted_council,
    task_master,
)

pytestmark = pytest.mark.integration

HOUR = 3600.0
DAY = 24 * HOUR


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots) -> AsyncIterator[TaskBots]:
    async with start_task_bots("schedules") as started:
        try:
            yield started
        finally:
            if started.coordinator is not None:
                await cancel_open_tasks(started.coordinator, started.settings)


@pytest.fixture
def script(llm: FakeLLMServer, bots: TaskBots) -> Iterator[CouncilScript]:
    yield from scripted_council(llm, bots)


@pytest.fixture
def boss(master: Person, council: ThrowawayCouncil, bots: TaskBots) -> TaskMaster:
    return task_master(master, council)


def engine(bots: TaskBots) -> TaskService:
    """The running coordinator's task engine (its context is the bot's own)."""
    assert bots.coordinator is not None
    [service] = [b.tasks for b in bots.coordinator.runner.bots if b.tasks is not None]
    return service


def scheduler(bots: TaskBots, clock: Clock) -> SchedulerJob:
    service = engine(bots)
    return SchedulerJob(service.ctx.bot, service, clock=clock)


def hours_away(settings_zone: str, hours: int) -> str:
    """ "daily HH:MM" that many hours from now in the configured zone (the real scheduler
    sees it as far from due)."""
    at = datetime.now(ZoneInfo(settings_zone)) + timedelta(hours=hours)
    return f"daily {at.hour:02d}:{at.minute:02d}"


def master_of(boss: TaskMaster) -> UserID:
    return UserID(boss.person.user_id)


async def said_back(boss: TaskMaster, root: str, needle: str, what: str) -> Seen:
    return await boss.wait(
        answering(root), lambda s: s.sender == boss.coordinator and needle in s.body, what=what
    )


async def add_schedule(
    boss: TaskMaster, bots: TaskBots, mission: str, *, hours: int = 12
) -> Schedule:
    when = hours_away(bots.settings.timezone, hours)
    asked = await boss.command(f"!schedule add {when} {mission}")
    added = await said_back(boss, asked, "⏰ Schedule #", "the schedule added")
    found = re.match(r"⏰ Schedule #(\d+) added: every day at", added.body)
    assert found is not None, added.body
    made = await engine(bots).ctx.bot.store.schedules.get(int(found.group(1)))
    assert made is not None
    assert made.next_run_at is not None
    assert (made.text, made.mission, made.created_by) == (when, mission, master_of(boss))
    return made


async def tasks_of(bots: TaskBots, schedule: Schedule) -> list[Task]:
    store = engine(bots).ctx.bot.store
    prefix = f"schedule/{schedule.id}/"
    return [t for t in await store.tasks.list(limit=500) if t.intake_key.startswith(prefix)]


async def ack_of(boss: TaskMaster, bots: TaskBots, schedule: Schedule) -> tuple[Task, Seen]:
    """The task the schedule's run made, and its ack as the master's client shows it."""
    [task] = await tasks_of(bots, schedule)
    ack = await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: s.body.startswith(f"#{task.id} 📋 Task #{task.id} registered"),
        what=f"the ack of #{task.id}",
    )
    return task, ack


async def test_an_added_schedule_fires_a_task_that_names_it_and_never_overlaps(
    boss: TaskMaster, bots: TaskBots, script: CouncilScript
) -> None:
    mission = f"report disk usage of local ({secrets.token_hex(3)})"
    made = await add_schedule(boss, bots, mission)
    clock = Clock()
    job = scheduler(bots, clock)
    await job.run_round()
    assert await tasks_of(bots, made) == []  # not due yet
    clock.now = (made.next_run_at or 0) + 5
    await job.run_round()
    await job.run_round()
    task, ack = await ack_of(boss, bots, made)
    source = f"schedule #{made.id}, {made.text}"
    assert task.source == source
    assert task.requester == boss.person.user_id  # the schedule's creator is accountable
    assert f", from {source}." in ack.body
    assert job.counts.fired == 1

    clock.now += DAY  # the next run comes due while this one is still open
    await job.run_round()
    await job.run_round()
    skipped = await boss.wait(
        in_thread(ack.event_id),
        lambda s: s.sender == boss.coordinator and "⏭️" in s.body,
        what="the overlap notice",
    )
    assert skipped.body.startswith(f"#{task.id} ⏭️ Schedule #{made.id} ({made.text}) came due")
    assert [t.id for t in await tasks_of(bots, made)] == [task.id]
    assert job.counts.overlapped == 1

    await engine(bots).cancel(task.id, master_of(boss))
    report = await boss.wait(
        in_thread(ack.event_id),
        lambda s: s.sender == boss.coordinator and council_of(s).get("kind") == "report",
        what="the report",
    )
    assert f"From {source}." in report.body
    await job.run_round()  # the run's task is final: the schedule is free again
    freed = await engine(bots).ctx.bot.store.schedules.get(made.id)
    assert freed is not None
    assert freed.running_task is None
    assert job.counts.finished == 1
    removed = await boss.command(f"!schedule rm {made.id}")
    await said_back(boss, removed, f"Removed schedule #{made.id}", "the schedule removed")


async def test_a_schedule_survives_a_restart_and_fires_after_it(
    boss: TaskMaster, bots: TaskBots, script: CouncilScript
) -> None:
    mission = f"report uptime of local ({secrets.token_hex(3)})"
    made = await add_schedule(boss, bots, mission)
    assert bots.coordinator is not None
    await bots.coordinator.stop()
    bots.coordinator = await InProcessBots.start(bots.settings, ["coordinator"])
    jobs = [j for b in bots.coordinator.runner.bots for j in b.jobs]
    assert [type(j) for j in jobs].count(SchedulerJob) == 1  # the coordinator runs one
    listed = await boss.command("!schedule list")
    shown = await said_back(boss, listed, "Schedules (", "the list after the restart")
    assert f"• #{made.id} {made.text} — {mission}" in shown.body

    clock = Clock()
    clock.now = (made.next_run_at or 0) + 5
    await scheduler(bots, clock).run_round()
    task, _ = await ack_of(boss, bots, made)
    await engine(bots).cancel(task.id, master_of(boss))
    await engine(bots).ctx.bot.store.schedules.remove(made.id, clock.now)


async def test_a_missed_run_inside_the_grace_runs_once_and_outside_it_is_reported(
    boss: TaskMaster, bots: TaskBots, script: CouncilScript
) -> None:
    inside = await add_schedule(boss, bots, f"report load of local ({secrets.token_hex(3)})")
    outside = await add_schedule(
        boss, bots, f"report memory of local ({secrets.token_hex(3)})", hours=15
    )
    store = engine(bots).ctx.bot.store.schedules
    assert inside.next_run_at is not None
    assert outside.next_run_at is not None
    # As if Chavion was down for days: `inside` last came due 30 minutes ago, `outside`
    # (three hours later in the day) 21.5 hours ago; the grace time is an hour by default.
    clock = Clock()
    clock.now = inside.next_run_at + 3 * DAY + 30 * 60
    outside_due = outside.next_run_at + 2 * DAY
    assert clock.now - outside_due == pytest.approx(21.5 * HOUR, abs=120)
    assert await store.skip_run(outside.id, outside.next_run_at, next_run_at=outside_due)
    job = scheduler(bots, clock)
    await job.run_round()
    await job.run_round()
    task, _ = await ack_of(boss, bots, inside)
    assert len(await tasks_of(bots, inside)) == 1
    assert await tasks_of(bots, outside) == []
    alert = await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: s.body.startswith(f"⏰ Schedule #{outside.id} ("),
        what="the missed-run alert",
    )
    assert "missed its run" in alert.body
    assert "60 min grace time" in alert.body
    assert boss.person.user_id in alert.content.get("m.mentions", {}).get("user_ids", [])
    assert (job.counts.fired, job.counts.missed) == (1, 1)
    await engine(bots).cancel(task.id, master_of(boss))
    for made in (inside, outside):
        await store.remove(made.id, clock.now)
