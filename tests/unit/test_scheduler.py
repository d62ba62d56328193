"""The scheduler on the real store and task engine with a controllable clock: a due schedule
becomes one task through the intake (keyed by its run), its ack and report name the
schedule, runs never overlap, a missed run inside the grace runs once and an older one is
reported once, a finished task frees the schedule; `!schedule` through the dispatcher;
config-declared schedules synced by name."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.coordinator.schedule_sync import sync_declared
from bots.coordinator.scheduler import SchedulerJob
from bots.ids import EventID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.settings.schedules import DeclaredSchedule, ScheduleSettings
from bots.store.schedules import Schedule
from bots.store.tasks import Task
from bots.tasks.intake import TaskOrder
from bots.tasks.schedule_runs import first_run
from bots.tasks.schedule_text import ScheduleSpec, parse_schedule
from tests.support.task_engine import MASTER, ROOM, Bench, open_bench

EVENTS = itertools.count()
HOUR = 3600.0


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    found = await open_bench(tmp_path)
    yield found
    await found.store.close()


IDLE = 24 * HOUR
"""The job's longest sleep here: a round's answer is then the time to the next run."""


def job_of(bench: Bench) -> SchedulerJob:
    return SchedulerJob(bench.bot, bench.service, clock=bench.clock, idle_seconds=IDLE)


def spec(text: str) -> ScheduleSpec:
    parsed = parse_schedule(text, "Asia/Seoul")
    assert isinstance(parsed, ScheduleSpec), parsed
    return parsed


async def add(
    bench: Bench, text: str = "every 15m", mission: str = "report disk usage of local"
) -> Schedule:
    found = spec(text)
    now = bench.clock()
    return await bench.store.schedules.add(
        kind=found.kind,
        cron=found.cron,
        seconds=found.seconds,
        zone=found.zone,
        text=found.text,
        mission=mission,
        priority="medium",
        created_by=MASTER,
        now=now,
        next_run_at=first_run(found, now),
    )


async def schedule(bench: Bench, n: int) -> Schedule:
    found = await bench.store.schedules.get(n)
    assert found is not None
    return found


async def test_a_due_schedule_becomes_one_task_whose_ack_names_the_schedule(bench: Bench) -> None:
    made = await add(bench)
    job = job_of(bench)
    assert await job.run_round() == pytest.approx(15 * 60)
    assert await bench.store.tasks.active() == []
    bench.clock.now += 15 * 60
    await job.run_round()
    await job.run_round()  # the same time again: nothing more
    [task] = await bench.store.tasks.active()
    assert (task.mission, task.requester, task.source, task.room_id, task.thread_root) == (
        "report disk usage of local",
        MASTER,
        f"schedule #{made.id}, every 15m",
        ROOM,
        bench.matrix.by_key("ack").event_id,  # the ack roots the run's thread
    )
    assert task.intake_key == f"schedule/{made.id}/{int(made.next_run_at or 0)}"
    assert f"from schedule #{made.id}, every 15m" in bench.matrix.by_key("ack").body
    after = await schedule(bench, made.id)
    assert (after.running_task, after.last_run_at) == (task.id, bench.clock.now)
    assert after.next_run_at == (made.next_run_at or 0) + 15 * 60
    assert job.counts.fired == 1


async def test_a_second_scheduler_gets_the_same_task(bench: Bench) -> None:
    await add(bench)
    bench.clock.now += 15 * 60
    first, second = job_of(bench), job_of(bench)
    await asyncio.gather(first.run_round(), second.run_round())
    assert len(await bench.store.tasks.active()) == 1
    assert first.counts.fired + second.counts.fired == 1
    assert first.counts.lost_claims + second.counts.lost_claims == 0


async def test_a_run_that_comes_due_while_the_last_one_runs_is_skipped_and_said_once(
    bench: Bench,
) -> None:
    made = await add(bench)
    job = job_of(bench)
    bench.clock.now += 15 * 60
    await job.run_round()
    [task] = await bench.store.tasks.active()
    bench.clock.now += 15 * 60
    await job.run_round()
    await job.run_round()
    assert [t.id for t in await bench.store.tasks.active()] == [task.id]
    said = [s for s in bench.matrix.sent if s.key.startswith("schedule-overlap/")]
    assert len(said) == 1
    assert said[0].body.startswith(f"#{task.id} ⏭️ Schedule #{made.id} (every 15m) came due")
    assert said[0].reply is not None
    assert said[0].reply.thread_root == task.thread_root
    after = await schedule(bench, made.id)
    assert after.running_task == task.id
    assert after.next_run_at == (made.next_run_at or 0) + 30 * 60
    assert job.counts.overlapped == 1


async def test_when_the_runs_task_ends_the_schedule_runs_again_and_the_report_names_it(
    bench: Bench,
) -> None:
    made = await add(bench)
    job = job_of(bench)
    bench.clock.now += 15 * 60
    await job.run_round()
    [task] = await bench.store.tasks.active()
    await bench.service.cancel(task.id, MASTER)
    report = bench.matrix.by_key("report")
    assert f"From schedule #{made.id}, every 15m." in report.body
    await job_of(bench).run_round()  # a restarted scheduler notices it from the store
    assert (await schedule(bench, made.id)).running_task is None
    bench.clock.now += 15 * 60
    await job.run_round()
    assert [t.id for t in await bench.store.tasks.active()] == [task.id + 1]


async def test_a_run_missed_inside_the_grace_runs_once_however_many_were_missed(
    bench: Bench,
) -> None:
    made = await add(bench)
    bench.clock.now += 10 * HOUR + 5 * 60  # down for ten hours: 40 runs missed
    job = job_of(bench)
    await job.run_round()
    assert len(await bench.store.tasks.active()) == 1
    assert [s for s in bench.matrix.sent if s.key.startswith("alert/")] == []
    after = await schedule(bench, made.id)
    assert after.next_run_at == (made.next_run_at or 0) + 40 * 15 * 60


async def test_a_run_missed_beyond_the_grace_is_reported_once_and_not_made(
    bench: Bench,
) -> None:
    made = await add(bench, "daily 07:00")
    due = made.next_run_at or 0
    bench.clock.now = due + 2 * HOUR  # the default grace is an hour
    job = job_of(bench)
    await job.run_round()
    await job_of(bench).run_round()
    assert await bench.store.tasks.active() == []
    [alert] = [s for s in bench.matrix.sent if s.key.startswith("alert/")]
    assert alert.key == f"alert/schedule-missed/{made.id}/{int(due)}"
    assert alert.body.startswith(f"⏰ Schedule #{made.id} (daily 07:00: report disk usage")
    assert "60 min grace time" in alert.body
    assert alert.reply is not None
    assert not alert.reply.urgent
    assert (await schedule(bench, made.id)).next_run_at == due + 24 * HOUR
    assert job.counts.missed == 1


async def test_the_grace_time_comes_from_the_config(bench: Bench) -> None:
    made = await add(bench, "daily 07:00")
    bench.settings = replace(bench.settings, schedules=ScheduleSettings(grace_minutes=180))
    bench.bot.settings = bench.settings
    bench.clock.now = (made.next_run_at or 0) + 2 * HOUR
    await job_of(bench).run_round()
    assert len(await bench.store.tasks.active()) == 1


async def test_a_paused_or_removed_schedule_does_not_run_and_resume_starts_from_now(
    bench: Bench,
) -> None:
    paused, removed = await add(bench), await add(bench, "every 20m")
    await bench.store.schedules.pause(paused.id)
    await bench.store.schedules.remove(removed.id, bench.clock())
    job = job_of(bench)
    bench.clock.now += 2 * HOUR
    assert await job.run_round() == IDLE  # nothing to wait for
    assert await bench.store.tasks.active() == []
    dispatcher = Dispatcher(bench.bot, coordinator_commands(bench.service, clock=bench.clock))
    [said] = await say(dispatcher, f"!schedule resume {paused.id}")
    assert said.startswith(f"▶️ Resumed schedule #{paused.id} (every 15m). Next run:")
    assert (await schedule(bench, paused.id)).next_run_at == bench.clock.now + 15 * 60
    assert await job.run_round() == pytest.approx(15 * 60)


@dataclass
class PausedMeanwhile:
    """The task engine, while the master pauses the schedule between intake and claim."""

    bench: Bench
    schedule_id: int

    async def intake(self, order: TaskOrder, **where: Any) -> Task:
        task = await self.bench.service.intake(order, **where)
        await self.bench.store.schedules.pause(self.schedule_id)
        return task

    async def cancel(self, n: int, by: UserID) -> str:
        return await self.bench.service.cancel(n, by)


async def test_a_claim_lost_to_a_pause_cancels_the_task_it_made(bench: Bench) -> None:
    made = await add(bench)
    bench.clock.now += 15 * 60
    job = SchedulerJob(bench.bot, PausedMeanwhile(bench, made.id), clock=bench.clock)
    await job.run_round()
    assert await bench.store.tasks.active() == []
    assert (await bench.task(1)).state == "cancelled"
    assert (await schedule(bench, made.id)).running_task is None
    assert job.counts.lost_claims == 1


async def say(dispatcher: Dispatcher, body: str, *, power: int = 100) -> list[str]:
    sender = MASTER if power == 100 else UserID("@guest:localhost")
    message = Message(ROOM, EventID(f"$s{next(EVENTS)}"), sender, body, sender_power=power)
    return [r.body for r in await dispatcher.handle(message)]


async def test_schedule_commands_add_list_pause_and_remove(bench: Bench) -> None:
    woken: list[bool] = []
    dispatcher = Dispatcher(
        bench.bot,
        coordinator_commands(
            bench.service, clock=bench.clock, wake_scheduler=lambda: woken.append(True)
        ),
    )
    [empty] = await say(dispatcher, "!schedule")
    assert empty.startswith("No schedules yet.")
    assert "Usage: !schedule add" in empty
    [added] = await say(dispatcher, "!schedule add daily 07:00 high: check disk usage")
    assert added.startswith("⏰ Schedule #1 added: every day at 07:00 (Asia/Seoul) — check disk")
    assert "(priority high)" in added
    assert woken == [True]
    stored = await schedule(bench, 1)
    assert (stored.cron, stored.priority, stored.created_by) == ("0 7 * * *", "high", MASTER)
    [listed] = await say(dispatcher, "!schedule list")
    assert listed.startswith("Schedules (1):\n• #1 daily 07:00 — check disk usage")
    [paused] = await say(dispatcher, "!schedule pause 1")
    assert paused.startswith("⏸️ Paused schedule #1")
    [again] = await say(dispatcher, "!schedule pause 1")
    assert "is paused already; !schedule resume 1" in again
    [listed] = await say(dispatcher, "!schedule list")
    assert "paused" in listed
    [removed] = await say(dispatcher, "!schedule rm 1")
    assert removed.startswith("🗑️ Removed schedule #1")
    [gone] = await say(dispatcher, "!schedule rm 1")
    assert "There is no schedule #1" in gone
    [bad] = await say(dispatcher, '!schedule add "0 25 * * *" check')
    assert "is not a valid cron" in bad
    assert "e.g. !schedule add daily 07:00" in bad
    [refused] = await say(dispatcher, "!schedule list", power=0)
    assert "!schedule" in refused
    assert "Schedules" not in refused
    assert [s.id for s in await bench.store.schedules.list()] == []


async def test_help_lists_schedule(bench: Bench) -> None:
    dispatcher = Dispatcher(bench.bot, coordinator_commands(bench.service, clock=bench.clock))
    [shown] = await say(dispatcher, "!help")
    assert "!schedule add" in shown


def declared(name: str, when: str, mission: str, priority: str = "medium") -> DeclaredSchedule:
    return DeclaredSchedule(name=name, spec=spec(when), mission=mission, priority=priority)


async def test_config_schedules_are_synced_by_name_and_marked_in_the_list(bench: Bench) -> None:
    store = bench.store.schedules
    room_made = await add(bench)
    first = (declared("disk", "daily 07:00", "check disk"), declared("tmp", "every 2h", "tidy"))
    result = await sync_declared(store, first, master=MASTER, now=bench.clock())
    assert len(result.added) == 2
    disk, tmp = [s for s in await store.list() if s.config_name]
    await store.pause(tmp.id)
    edited = (
        declared("disk", "daily 07:00", "check disk and inodes", "high"),  # same timing
        declared("tmp", "every 3h", "tidy"),  # re-timed
    )
    bench.clock.now += 60
    result = await sync_declared(store, edited, master=MASTER, now=bench.clock())
    assert (result.added, result.updated, result.removed) == ((), (disk.id, tmp.id), ())
    disk_now, tmp_now = await schedule(bench, disk.id), await schedule(bench, tmp.id)
    assert (disk_now.mission, disk_now.priority, disk_now.next_run_at) == (
        "check disk and inodes",
        "high",
        disk.next_run_at,
    )
    assert (tmp_now.seconds, tmp_now.paused, tmp_now.next_run_at) == (
        10800.0,
        True,
        bench.clock.now + 3 * HOUR,
    )
    dispatcher = Dispatcher(bench.bot, coordinator_commands(bench.service, clock=bench.clock))
    [listed] = await say(dispatcher, "!schedule list")
    lines = listed.splitlines()
    assert lines[1].startswith(f"• #{room_made.id} every 15m")
    assert "(config)" not in lines[1]
    assert lines[2].endswith("(config)")
    [refused] = await say(dispatcher, f"!schedule rm {disk.id}")
    assert "declared in the config (schedules.declared: disk)" in refused
    result = await sync_declared(store, edited[:1], master=MASTER, now=bench.clock())
    assert result.removed == (tmp.id,)
    assert [s.id for s in await store.list()] == [room_made.id, disk.id]
    again = await sync_declared(store, edited[:1], master=MASTER, now=bench.clock())
    assert again == type(again)()  # nothing changed: nothing written


async def test_the_job_syncs_the_config_at_start_and_runs_until_stopped(bench: Bench) -> None:
    bench.settings = replace(
        bench.settings,
        schedules=ScheduleSettings(declared=(declared("disk", "every 15m", "check disk"),)),
    )
    bench.bot.settings = bench.settings
    job = job_of(bench)
    synced, stop = asyncio.Event(), asyncio.Event()
    synced.set()
    running = asyncio.create_task(job.run_background(synced, stop))
    await asyncio.wait_for(job.idle.wait(), 5)
    [made] = await bench.store.schedules.list()
    assert made.config_name == "disk"
    bench.clock.now += 15 * 60
    job.poke()
    for _ in range(100):
        if job.counts.fired:
            break
        await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert job.counts.fired == 1
    assert job.counts.failures == 0
