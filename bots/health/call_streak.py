"""An agent's failed model calls in a row, noted in the store for the coordinator's health
job (the agent may run in another process). Cheap: counted in memory, written only when the
run changes (a failure, or the first success after failures), in the background so the
call's path never waits on the store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from bots.store.health import HealthStore

log = logging.getLogger(__name__)


class CallStreak:
    def __init__(
        self, agent: str, store: Callable[[], HealthStore], clock: Callable[[], float] = time.time
    ) -> None:
        self._agent = agent
        self._store = store
        self._clock = clock
        self.failed = 0
        self._writes: set[asyncio.Task[Any]] = set()

    def note(self, ok: bool) -> None:
        failed = 0 if ok else self.failed + 1
        if failed == self.failed:
            return
        self.failed = failed
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous test): nothing to write with
        task = loop.create_task(self._write(failed, self._clock()))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def settle(self) -> None:
        """Waits for the notes in flight (tests, and a clean stop)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _write(self, failed: int, at: float) -> None:
        try:
            await self._store().note_failed_calls(self._agent, failed, at)
        except Exception:
            log.exception("could not note %s's failed calls", self._agent)
