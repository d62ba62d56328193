"""Which health jobs a bot runs: the executor checks its hosts (it holds the SSH engine);
the coordinator checks the bots and the agents' providers and sends the daily digest.
Every alert goes to the master through `master_alert`."""

from __future__ import annotations

from bots.alerts import master_alert
from bots.background import BackgroundJob
from bots.bridge.hosts import Runner
from bots.context import BotContext
from bots.health.book import Send
from bots.health.council_watch import CouncilHealthJob
from bots.health.digest_job import DigestJob
from bots.health.host_watch import HostHealthJob


def alert_sender(bot: BotContext) -> Send:
    async def send(body: str, key: str, urgent: bool) -> object:
        return await master_alert(bot, body, key=key, urgent=urgent)

    return send


def digest_job(bot: BotContext) -> DigestJob:
    return DigestJob(bot.settings, bot.store, alert_sender(bot))


def health_jobs(
    bot: BotContext, engine: Runner | None, digest: DigestJob | None
) -> list[BackgroundJob]:
    """`engine`: the executor's SSH engine (the executor bot only); `digest`: the
    coordinator's digest job (the coordinator only)."""
    settings = bot.settings
    jobs: list[BackgroundJob] = [] if digest is None else [digest]
    if not settings.health.enabled:
        return jobs
    if bot.account.kind == "executor" and engine is not None:
        jobs.append(
            HostHealthJob(
                tuple(settings.execution.hosts),
                engine,
                bot.store.health,
                alert_sender(bot),
                settings.health,
            )
        )
    if bot.account.kind == "coordinator":
        watched = {a.name: settings.user_id(a) for a in settings.accounts if a != bot.account}
        jobs.append(
            CouncilHealthJob(
                watched,
                [a.name for a in settings.agents],
                bot.matrix,
                bot.store.health,
                alert_sender(bot),
                settings.health,
                settings.runtime.heartbeat_seconds,
            )
        )
    return jobs
