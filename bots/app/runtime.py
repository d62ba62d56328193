"""Runs a set of bots in this process, each on its own Matrix connection.

`chavion up` runs every bot here; `chavion bot NAME` runs one. Bots share nothing but the
store file: they talk to each other only through Matrix, so any of them can move to
another process or machine without a change. How each bot is built is `assembly`'s job;
this module opens what they share, runs them and closes it all on stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bots.app.assembly import (
    RunningBot,
    SharedParts,
    build_bot,
    build_roster,
    close_execution,
    open_execution,
)
from bots.app.health_probes import StoreTaskCounts, health_probes
from bots.context import MetricsSink
from bots.errors import BotError
from bots.execution.service import ExecutionService
from bots.homeserver.provision import load_council
from bots.settings.data_dir import DataDir
from bots.settings.model import Settings
from bots.store import Store
from bridge.http import health
from bridge.http import metrics as metrics_http
from bridge.http.metrics import Metrics

log = logging.getLogger(__name__)


class BotRunner:
    """Builds the bots named, runs them until `stop`, and reports when all are synced."""

    def __init__(
        self, settings: Settings, names: Sequence[str], metrics: MetricsSink | None = None
    ) -> None:
        """`metrics`: what the bots count for the bridge's `/metrics` (default: counted when
        the bridge is enabled, since only its server shows them)."""
        self.settings = settings
        self.names = list(names)
        if metrics is None and settings.bridge.enabled:
            metrics = Metrics()
        self.metrics = metrics
        self.bots: list[RunningBot] = []
        self.executor: ExecutionService | None = None

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        data = DataDir(self.settings.data_dir)
        council = load_council(data)
        if council is None:
            raise BotError("the council room does not exist yet: run `chavion up` first")
        store = await Store.open(data.store)
        try:
            forgotten = await store.forget_old_events()  # claims older than any replay
            if forgotten:
                log.info("forgot %d handled events older than two weeks", forgotten)
            if any(self.settings.account(n).kind == "executor" for n in self.names):
                self.executor = await open_execution(
                    self.settings, data, council.room_id, self.metrics
                )
                self.executor.hold_starts()  # until the catch-up is read (run_background)
            parts = SharedParts(
                self.settings,
                build_roster(self.settings),
                store,
                data,
                council.room_id,
                self.executor,
                self.metrics,
            )
            for name in self.names:
                # One at a time, so a bot that fails to build leaves the earlier ones closable.
                self.bots.append(build_bot(name, parts))
            self._observe(store)
            runs = [asyncio.create_task(self._run_one(bot, stop)) for bot in self.bots]
            # The HTTP bridge (issue 18) beside the coordinator's sync loop, closed on stop.
            runs += [asyncio.create_task(_run_bridge(bot, stop)) for bot in self.bots if bot.bridge]
            waiting = asyncio.create_task(self._wait_synced(ready))
            background = [
                asyncio.create_task(
                    self.executor.run_background(bot.matrix.synced, stop, bot.matrix.caught_up)
                )
                for bot in self.bots
                if bot.account.kind == "executor" and self.executor is not None
            ]
            background += [asyncio.create_task(_resume(bot)) for bot in self.bots if bot.resume]
            background += [
                asyncio.create_task(
                    bot.tasks.run_background(bot.matrix.synced, stop, bot.matrix.caught_up)
                )
                for bot in self.bots
                if bot.tasks is not None
            ]
            background += [
                asyncio.create_task(
                    bot.polls.run_background(bot.matrix.synced, stop, bot.matrix.caught_up)
                )
                for bot in self.bots
                if bot.polls is not None
            ]
            background += [
                asyncio.create_task(
                    job.run_background(bot.matrix.synced, stop, bot.matrix.caught_up)
                )
                for bot in self.bots
                for job in bot.jobs
            ]
            await asyncio.gather(*runs)
            waiting.cancel()
            for task in background:
                task.cancel()
        finally:
            for bot in self.bots:
                if bot.agent is not None:
                    await bot.agent.aclose()
                if bot.hearing is not None:
                    await bot.hearing.aclose()
            if self.executor is not None:
                await close_execution(self.executor)
            await store.close()

    def _observe(self, store: Store) -> None:
        """Gives the bridge (when one runs here) `/health` over every bot of this process and
        its hosts, and `/metrics` with the tasks by state counted from the store."""
        bridges = [bot.bridge for bot in self.bots if bot.bridge is not None]
        if not bridges:
            return
        probes = health_probes(
            self.settings,
            store,
            [(bot.account.name, bot.matrix) for bot in self.bots],
            hosts=self.executor.engine if self.executor is not None else None,
        )
        counted = self.metrics if isinstance(self.metrics, Metrics) else None
        if counted is not None:
            counted.tasks = StoreTaskCounts(store)
        for bridge in bridges:
            bridge.extra_routes += (lambda app: health.add_routes(app, probes),)
            if counted is not None:
                bridge.extra_routes += (lambda app: metrics_http.add_routes(app, counted),)

    async def _wait_synced(self, ready: asyncio.Event | None) -> None:
        await asyncio.gather(*(bot.matrix.synced.wait() for bot in self.bots))
        log.info("all %d bots synced", len(self.bots))
        if ready is not None:
            ready.set()

    async def _run_one(self, bot: RunningBot, stop: asyncio.Event) -> None:
        try:
            await bot.matrix.run(stop)
        except BotError as exc:
            log.error("%s stopped: %s", bot.account.name, exc)
        except Exception:
            log.exception("%s crashed", bot.account.name)


async def _run_bridge(bot: RunningBot, stop: asyncio.Event) -> None:
    """The bridge's server and voices once the coordinator has synced; a failure is logged
    and leaves the coordinator running."""
    assert bot.bridge is not None
    synced = asyncio.create_task(bot.matrix.synced.wait())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({synced, stopped}, return_when=asyncio.FIRST_COMPLETED)
    synced.cancel()
    stopped.cancel()
    if stop.is_set():
        return
    try:
        await bot.bridge.run(stop)
    except Exception:
        log.exception("the HTTP bridge stopped")


async def _resume(bot: RunningBot) -> None:
    """Once synced, answer again what a stop cut off (see `Dispatcher.resume`)."""
    assert bot.resume is not None
    await bot.matrix.synced.wait()
    try:
        count = await bot.resume()
    except Exception:
        log.exception("%s could not take up the answers a stop had cut off", bot.account.name)
        return
    if count:
        log.info("%s took up %d answers a stop had cut off", bot.account.name, count)
