"""`/health`'s answer kept for a few seconds, and one probe run shared by every request that
comes while it runs.

A monitor, a load balancer and a compose healthcheck may all scrape `/health`, some every
second; without this each request probed the homeserver, every bot's sync, the store and
every host again. Within `CACHE_SECONDS` of a run its answer is given as it was; a request
that finds a run under way waits for that run instead of starting another. A request that
goes away does not cancel the run the others wait for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

CACHE_SECONDS = 5.0
"""How long one run's answer is given again: fresh enough for any monitor, and at most one
round of probes per five seconds however many scrape."""

Composed = tuple[int, dict[str, Any]]
"""The status code and the JSON body of an answer."""


class CachedHealth:
    """The latest composed answer, younger than `seconds` by `clock`, else a new run."""

    def __init__(
        self,
        compose: Callable[[], Awaitable[Composed]],
        *,
        seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if seconds < 0:
            raise ValueError(f"the health answer's cache time cannot be negative, not {seconds}")
        self._compose = compose
        self._seconds = seconds
        self._clock = clock
        self._latest: tuple[float, Composed] | None = None
        self._running: asyncio.Task[Composed] | None = None
        self.runs = 0
        """Probe runs started (what the cache saves is visible in tests)."""

    async def answer(self) -> Composed:
        latest = self._latest
        if latest is not None and self._clock() - latest[0] < self._seconds:
            return latest[1]
        if self._running is None:
            self._running = asyncio.create_task(self._run(), name="health probes")
            self._running.add_done_callback(_read_failure)
        return await asyncio.shield(self._running)

    async def _run(self) -> Composed:
        began = self._clock()
        self.runs += 1
        try:
            composed = await self._compose()
        finally:
            self._running = None
        self._latest = (began, composed)  # the answer ages from when its probes ran
        return composed


def _read_failure(task: asyncio.Task[Composed]) -> None:
    """A run nobody waits for any more (every request went away) leaves no unread error."""
    if not task.cancelled():
        task.exception()
