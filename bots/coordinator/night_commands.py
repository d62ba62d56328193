"""`!night` (the master's): grant a night envelope, show the active one, or stop it.

`!night 8h budget $2 hosts local,web-1 allow readonly` grants a window from now; `!night`
shows it; `!night stop` ends it at once, and the morning report comes right then.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bots.context import BotContext
from bots.coordinator.tasks.common import minutes
from bots.errors import CommandError
from bots.message import Reply
from bots.night.grant import EXAMPLE, NightOrder, read_night
from bots.night.morning import send_morning_report
from bots.night.report import clock_time
from bots.routing.commands import CommandRequest, CommandSpec
from bots.store.night import Envelope

USAGE = "<hours> budget <amount> hosts <a,b> allow <preset|globs> | stop"


def allow_text(envelope: Envelope) -> str:
    globs = ", ".join(envelope.allow_globs)
    return f"{envelope.allow_preset} ({globs})" if envelope.allow_preset else globs


def envelope_line(bot: BotContext, envelope: Envelope, spent: float, now: float) -> str:
    """How `!night` shows the active envelope."""
    zone = bot.settings.timezone
    return (
        f"🌙 Night #{envelope.id}, {clock_time(envelope.starts_at, zone)}–"
        f"{clock_time(envelope.ends_at, zone)} ({minutes(envelope.ends_at - now)} left): "
        f"budget ${envelope.budget_usd:.2f} (${spent:.2f} spent), "
        f"hosts {', '.join(envelope.hosts)}, allow {allow_text(envelope)}. "
        "The judge approves plans it covers; the rest waits for the morning. "
        "Only urgent alerts notify. !night stop ends it."
    )


async def _grant(bot: BotContext, order: NightOrder, by: str, now: float) -> str:
    envelope = await bot.store.night.grant(
        starts_at=now,
        ends_at=now + order.seconds,
        budget_usd=order.budget_usd,
        hosts=order.hosts,
        allow_preset=order.allow_preset,
        allow_globs=order.allow_globs,
        granted_by=by,
    )
    if envelope is None:
        active = await bot.store.night.active(now)
        until = clock_time(active.ends_at, bot.settings.timezone) if active else "its end"
        raise CommandError(f"A night envelope is active until {until}; send !night stop first.")
    return envelope_line(bot, envelope, 0.0, now)


def night_spec(clock: Callable[[], float] = time.time) -> CommandSpec:
    async def night(request: CommandRequest) -> list[Reply]:
        bot = request.bot
        settings = bot.settings
        args = read_night(
            request.args, hosts=list(settings.execution.hosts), presets=settings.night.presets
        )
        now = clock()
        store = bot.store.night
        active = await store.active(now)
        if args == "show":
            if active is None:
                text = f"No night envelope is active. Grant one: {EXAMPLE}"
            else:
                text = envelope_line(
                    bot, active, await bot.store.usage.spent_between(active.starts_at, None), now
                )
        elif args == "stop":
            if active is None:
                raise CommandError("No night envelope is active; nothing to stop.")
            await store.revoke(active.id, request.message.sender, now)
            stopped = await store.get(active.id)
            if stopped is not None:
                await send_morning_report(bot, stopped, clock)
            text = f"🌅 Night #{active.id} stopped; the morning report is in the room."
        else:
            text = await _grant(bot, args, request.message.sender, now)
        return [Reply.answering(request.message, text)]

    return CommandSpec(
        "night", "grant, show or stop a night envelope (work while you sleep)", night, USAGE
    )
