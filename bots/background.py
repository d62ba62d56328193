"""Background work that is never lost: references kept, failures logged, drainable on stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

log = logging.getLogger(__name__)


class BackgroundTasks:
    """Spawned tasks stay referenced until done, so they can be awaited before shutdown."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: set[asyncio.Task[Any]] = set()
        self.failures = 0

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"{self._name}: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.failures += 1
            log.error("%s failed", task.get_name(), exc_info=error)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def settle(self, timeout: float) -> bool:
        """Waits (at most `timeout`) for the work in flight now, cancelling nothing: what
        was spawned before a point in time is done after it. True when all of it finished;
        work spawned meanwhile is not waited for."""
        now = set(self._tasks)
        if not now:
            return True
        _, still_running = await asyncio.wait(now, timeout=timeout)
        return not still_running

    async def drain(self, timeout: float) -> None:
        """Let in-flight work finish (replies being sent), then cancel what is left."""
        if not self._tasks:
            return
        _, still_running = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.wait(still_running)


CaughtUp = Callable[[], Awaitable[object]]
"""Waits until the first sync's events have been handled (`MatrixBot.caught_up`)."""


class BackgroundJob(Protocol):
    """A bot's periodic work (the scheduler, the night watch, health checks, the digest):
    started by the runner once per bot, it waits for `synced` itself, judges nothing
    before `caught_up` (what came while the bot was away is read first), and returns
    when `stop` is set. A failed round is logged and tried again, never fatal."""

    async def run_background(
        self, synced: asyncio.Event, stop: asyncio.Event, caught_up: CaughtUp | None = None
    ) -> None: ...


async def every(
    interval: float,
    one_round: Callable[[], Awaitable[object]],
    what: str,
    synced: asyncio.Event,
    stop: asyncio.Event,
    caught_up: CaughtUp | None,
) -> None:
    """The loop of a periodic `BackgroundJob`: wait for the bot's sync (or stop) and its
    catch-up, then one round every `interval` seconds until stop; a failed round is logged
    and the next one comes anyway."""
    if not await came_first(synced, stop):
        return
    if caught_up is not None:
        await caught_up()
    while not stop.is_set():
        try:
            await one_round()
        except Exception:
            log.exception("%s: a round failed; trying again in %.0f s", what, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def came_first(
    event: asyncio.Event, stop: asyncio.Event, *, timeout: float | None = None
) -> bool:
    """Waits for `event` or `stop` (or the timeout); True when `event` came and stop did
    not: a job waiting for its bot's sync (or to be woken) never outlives a stop."""
    if stop.is_set():
        return False
    waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return event.is_set() and not stop.is_set()
