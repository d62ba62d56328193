"""The coordinator's night watch: inside a window, one urgent alert if the queue stops
(`queue_watch`); when a window closes (its end, or `!night stop`), one morning report to the
master, then the plans it held are shown again to be approved.

Restart-safe: the report goes out with a key of its own (a resend is the same event) and is
marked sent by compare-and-set afterwards, so a crash in between sends it once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bots.alerts import master_alert
from bots.background import CaughtUp, every
from bots.context import BotContext
from bots.night.queue_watch import tell_if_queue_stopped
from bots.night.report import WAITING, NightItem, morning_report
from bots.store.night import Envelope
from bots.tasks.plans import Plan, parse_plan

log = logging.getLogger(__name__)


def _steps(bot: BotContext, plan_json: str | None) -> tuple[tuple[str, str], ...]:
    if not plan_json:
        return ()
    settings = bot.settings
    plan = parse_plan(
        plan_json, hosts=list(settings.execution.hosts), max_steps=settings.tasks.max_steps
    )
    if not isinstance(plan, Plan):
        return ()
    out: list[tuple[str, str]] = []
    for step in plan.steps:
        for command in (step.command, step.verify, step.rollback):
            if command is not None:
                out.append((step.host, command))
    return tuple(out)


async def night_items(bot: BotContext, envelope: Envelope) -> list[NightItem]:
    """Every task of the night: those ordered in the window and those it decided on."""
    night = bot.store.night
    facts = {f.task_id: f for f in await night.tasks(envelope.id)}
    ids = sorted(set(facts) | set(await night.tasks_created(envelope.starts_at, envelope.ended_at)))
    items = []
    for task_id in ids:
        task = await bot.store.tasks.get(task_id)
        if task is None:
            continue
        fact = facts.get(task_id)
        held = fact is not None and fact.verdict == "held" and task.state == WAITING
        items.append(
            NightItem(
                task_id=task.id,
                mission=task.mission,
                state=task.state,
                approved_by_judge=fact is not None and fact.verdict == "judge",
                reason=fact.reason if held and fact is not None else "",
                steps=_steps(bot, task.plan) if task.state == WAITING else (),
            )
        )
    return items


async def send_morning_report(
    bot: BotContext, envelope: Envelope, clock: Callable[[], float] = time.time
) -> bool:
    """Sends the report of a closed window unless it went out; True when this call sent it.
    The plans it held are then looked at at once (they are shown again after it)."""
    fresh = await bot.store.night.get(envelope.id)
    if fresh is None or fresh.report_sent_at is not None:
        return False
    items = await night_items(bot, fresh)
    spent = await bot.store.usage.spent_between(fresh.starts_at, fresh.ended_at)
    body, html = morning_report(fresh, items, spent, bot.settings.timezone)
    event = await master_alert(bot, body, key=f"night/{fresh.id}/morning", html=html)
    sent = await bot.store.night.mark_reported(fresh.id, event, clock())
    now = clock()
    for item in items:
        if item.state == WAITING:
            await bot.store.tasks.update(item.task_id, expect_state=WAITING, now=now, deadline=now)
    return sent


class MorningReport:
    """A `BackgroundJob`: looks every `night.check_seconds` for a window that closed."""

    def __init__(self, bot: BotContext, clock: Callable[[], float] = time.time) -> None:
        self._bot = bot
        self._clock = clock

    async def check(self) -> int:
        """One look: inside a window, whether the queue stopped (said once, urgently);
        after one, its morning report. The reports sent now."""
        now = self._clock()
        envelope = await self._bot.store.night.active(now)
        if envelope is not None:
            await tell_if_queue_stopped(self._bot, envelope, now)
        sent = 0
        for envelope in await self._bot.store.night.unreported(self._clock()):
            if await send_morning_report(self._bot, envelope, self._clock):
                sent += 1
        return sent

    async def run_background(
        self, synced: asyncio.Event, stop: asyncio.Event, caught_up: CaughtUp | None = None
    ) -> None:
        interval = self._bot.settings.night.check_seconds
        await every(interval, self.check, "the night watch", synced, stop, caught_up)
