"""What every health job shares: its settings, clock and `HealthBook`, and the loop that
runs one round (`check_once`) every `interval_seconds` as a `BackgroundJob`."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from bots.background import CaughtUp, every
from bots.health.book import HealthBook, Send, Told
from bots.settings.health import HealthSettings
from bots.store.health import HealthStore


class HealthWatch(ABC):
    """A health job: `check_once` reads, the book tells the master what changed."""

    what: ClassVar[str]
    """The job in the log's words ("host health")."""

    def __init__(
        self,
        store: HealthStore,
        send: Send,
        settings: HealthSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self.book = HealthBook(store, send, confirm=settings.confirm_readings)

    async def run_background(
        self, synced: asyncio.Event, stop: asyncio.Event, caught_up: CaughtUp | None = None
    ) -> None:
        interval = self._settings.interval_seconds
        await every(interval, self.check_once, self.what, synced, stop, caught_up)

    @abstractmethod
    async def check_once(self) -> list[Told]:
        """One round of readings; what the master was told."""
