"""The coordinator's scheduler: a due schedule becomes a task through the one intake.

One round reads the active schedules from the store and acts on what it finds, so a
restart loses nothing and needs no hook in the task engine:
- a run whose task reached a final state is finished (`finish_run`);
- a run that comes due while the previous run's task is still open is skipped (moved to
  its next time) and that is said once, in the running task's thread;
- a due run whose time (or a later time it should have run at) lies within the grace time
  runs once, however many runs were missed; an older one is skipped and reported to the
  master once (not urgent).

Between rounds the job sleeps until the earliest next run (at most `idle_seconds`, which
is also how soon a finished run is noticed), or until `poke()`. A round reads only the
running and the due schedules and the earliest next run, so 1,000 idle schedules cost
three small queries a minute (`tests/bench/schedules.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bots.alerts import master_alert
from bots.background import CaughtUp, came_first
from bots.coordinator.schedule_sync import sync_declared
from bots.coordinator.task_commands import TaskIntake
from bots.errors import CommandError
from bots.ids import UserID
from bots.message import Reply
from bots.tasks.intake import DEFAULT_PRIORITY, PRIORITIES, TaskOrder
from bots.tasks.schedule_runs import (
    intake_key,
    ran_recently,
    run_after,
    schedule_source,
    when_text,
)
from bots.tasks.states import FINAL_STATES

if TYPE_CHECKING:
    from bots.context import BotContext
    from bots.store.schedules import Schedule

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0
RETRY_SECONDS = 5.0
"""How soon a round comes again when a due run could not be made (never a busy loop)."""


@dataclass
class SchedulerCounts:
    """What the job did since it started (tests and the benchmark read these)."""

    rounds: int = 0
    fired: int = 0
    overlapped: int = 0
    missed: int = 0
    finished: int = 0
    lost_claims: int = 0
    failures: int = 0


class SchedulerJob:
    """A `BackgroundJob` of the coordinator; `run_round()` is one pass (tests drive it)."""

    def __init__(
        self,
        bot: BotContext,
        tasks: TaskIntake,
        *,
        clock: Callable[[], float] = time.time,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.bot = bot
        self.tasks = tasks
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.counts = SchedulerCounts()
        self.idle = asyncio.Event()
        """Set while the job sleeps between rounds (the benchmark's "first idle")."""
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """Run a round now: a schedule was added or resumed (or a test moved the clock)."""
        self._wake.set()

    wake = poke

    async def run_background(
        self, synced: asyncio.Event, stop: asyncio.Event, caught_up: CaughtUp | None = None
    ) -> None:
        if not await came_first(synced, stop):
            return
        if caught_up is not None:
            await caught_up()
        try:
            await self.start_up()
        except Exception:
            self.counts.failures += 1
            log.exception("syncing the config's schedules failed; the stored ones still run")
        while not stop.is_set():
            try:
                delay = await self.run_round()
            except Exception:
                self.counts.failures += 1
                log.exception("a scheduler round failed; trying again in %ss", self.idle_seconds)
                delay = self.idle_seconds
            self.idle.set()
            await came_first(self._wake, stop, timeout=delay)
            self.idle.clear()

    async def start_up(self) -> None:
        """The config's schedules into the store (by their stable names)."""
        synced = await sync_declared(
            self.bot.store.schedules,
            self.bot.settings.schedules.declared,
            master=self.bot.settings.master_user_id,
            now=self.clock(),
        )
        if synced.added or synced.updated or synced.removed:
            log.info(
                "config schedules: added %s, updated %s, removed %s",
                list(synced.added),
                list(synced.updated),
                list(synced.removed),
            )

    async def run_round(self) -> float:
        """One pass: runs that ended are finished, due schedules are acted on; the seconds
        until the next is due (at most `idle_seconds`). Reads only the running and the due
        schedules (indexed), so idle schedules cost nothing however many there are."""
        self._wake.clear()
        self.counts.rounds += 1
        now = self.clock()
        store = self.bot.store.schedules
        grace = self.bot.settings.schedules.grace_seconds
        for schedule in await store.running():
            if await self._finished(schedule):
                continue
            nxt = schedule.next_run_at
            active = not schedule.paused and schedule.removed_at is None
            if active and nxt is not None and nxt <= now:
                assert schedule.running_task is not None
                await self._skip_overlap(schedule, nxt, schedule.running_task, now)
        for schedule in await store.due(now):
            due = schedule.next_run_at
            assert due is not None  # due() finds only schedules with a next run
            if ran_recently(schedule, due, now, grace):
                await self._fire(schedule, due, now)
            else:
                await self._report_missed(schedule, due, now)
        earliest = await store.earliest_next()
        if earliest is None:
            return self.idle_seconds
        if earliest <= now:
            return min(self.idle_seconds, RETRY_SECONDS)  # one left due (it failed): soon
        return min(self.idle_seconds, earliest - now)

    # --- the cases ----------------------------------------------------------------------

    async def _finished(self, schedule: Schedule) -> bool:
        """Ends the run when its task is final (or gone); True when it did."""
        assert schedule.running_task is not None
        task = await self.bot.store.tasks.get(schedule.running_task)
        if task is not None and task.state not in FINAL_STATES:
            return False
        if await self.bot.store.schedules.finish_run(schedule.id, schedule.running_task):
            self.counts.finished += 1
        return True

    async def _fire(self, schedule: Schedule, due: float, now: float) -> None:
        """Intake first with a key naming the run (a second scheduler, or a retry after a
        crash before the claim, gets the same task), then the claim.

        The requester is the schedule's creator: he is accountable for what it runs, and
        the executor's policy judges the steps at his level, as when he orders it by hand;
        the source names the schedule, so the ack and the report say where it came from."""
        room = self.bot.council_room
        if room is None:
            log.error("schedule #%d is due but this bot has no council room", schedule.id)
            return
        priority = schedule.priority if schedule.priority in PRIORITIES else DEFAULT_PRIORITY
        task = await self.tasks.intake(
            TaskOrder(schedule.mission, priority=priority),
            requester=UserID(schedule.created_by),
            source=schedule_source(schedule.id, schedule.text),
            room_id=room,
            thread_root=None,
            intake_key=intake_key(schedule.id, due),
        )
        store = self.bot.store.schedules
        after = run_after(schedule, due, now)
        if await store.claim_run(schedule.id, task.id, due, next_run_at=after, now=now):
            self.counts.fired += 1
            log.info("schedule #%d ran as task #%d; next %s", schedule.id, task.id, after)
            return
        current = await store.get(schedule.id)
        if current is not None and current.running_task == task.id:
            return  # another scheduler claimed this very run, with this very task
        self.counts.lost_claims += 1
        log.info(
            "schedule #%d changed before its run was claimed; cancelling #%d", schedule.id, task.id
        )
        with contextlib.suppress(CommandError):  # it has ended meanwhile
            await self.tasks.cancel(task.id, self.bot.identity.user_id)

    async def _skip_overlap(self, schedule: Schedule, due: float, running: int, now: float) -> None:
        after = run_after(schedule, due, now)
        if after is None or not await self.bot.store.schedules.skip_overlapped(
            schedule.id, due, running, next_run_at=after
        ):
            return
        self.counts.overlapped += 1
        task = await self.bot.store.tasks.get(running)
        room = task.room_id if task is not None else self.bot.council_room
        if room is None:
            return
        body = (
            f"#{running} ⏭️ Schedule #{schedule.id} ({schedule.text}) came due at "
            f"{when_text(due, schedule.zone)} while this run is still going: that run is "
            f"skipped (runs never overlap). Next: {when_text(after, schedule.zone)}."
        )
        reply = Reply(
            room,
            body,
            thread_root=task.thread_root if task is not None else None,
            key=f"schedule-overlap/{schedule.id}/{int(due)}",
        )
        await self.bot.matrix.send(reply)

    async def _report_missed(self, schedule: Schedule, due: float, now: float) -> None:
        after = run_after(schedule, due, now)
        if not await self.bot.store.schedules.skip_run(schedule.id, due, next_run_at=after):
            return
        self.counts.missed += 1
        grace = self.bot.settings.schedules.grace_minutes
        body = (
            f"⏰ Schedule #{schedule.id} ({schedule.text}: {schedule.mission}) missed its run "
            f"at {when_text(due, schedule.zone)} while Chavion was down, longer ago than the "
            f"{grace:g} min grace time, so it was not made. Next: "
            f"{when_text(after, schedule.zone)}."
        )
        if self.bot.council_room is None:
            log.warning("%s", body)
            return
        await master_alert(self.bot, body, key=f"schedule-missed/{schedule.id}/{int(due)}")
