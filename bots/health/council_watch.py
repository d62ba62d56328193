"""The coordinator's health job: bots that went offline (their heartbeats in the council
room) and agents whose model provider keeps failing (their failed calls in a row, noted by
each agent in the store). The coordinator reads both through Matrix and the store only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from bots.context import BotPresence
from bots.health.book import Send, Told
from bots.health.states import Reading
from bots.health.watch import HealthWatch
from bots.ids import UserID
from bots.settings.health import HealthSettings
from bots.store.health import HealthStore
from bots.text.durations import coarse

PREFIXES = ("bot:", "provider:")
STALE_HEARTBEATS = 2.5
"""Missed heartbeats before a bot that never said it stopped counts as gone (as `!status`)."""


def bot_readings(
    bots: Mapping[str, UserID],
    presences: Mapping[UserID, BotPresence],
    now: float,
    heartbeat: float,
) -> list[Reading]:
    """`bots`: name → user id of the bots to watch. A bot that never started says nothing."""
    readings = []
    for name, user_id in bots.items():
        mark = presences.get(user_id)
        if mark is None:
            continue
        silent = now - mark.heartbeat_at
        if not mark.online:
            readings.append(Reading(f"bot:{name}", True, f"stopped {coarse(silent)} ago"))
        elif silent > STALE_HEARTBEATS * heartbeat:
            readings.append(Reading(f"bot:{name}", True, f"no sign for {coarse(silent)}"))
        else:
            readings.append(Reading(f"bot:{name}", False, "online"))
    return readings


def provider_readings(
    agents: Sequence[str], failed: Mapping[str, int], threshold: int
) -> list[Reading]:
    return [
        Reading(
            f"provider:{agent}",
            failed.get(agent, 0) >= threshold,
            f"{failed.get(agent, 0)} model calls in a row failed",
        )
        for agent in agents
    ]


class Presences(Protocol):
    """What the job reads of the council room (the coordinator's `BotContext.matrix`)."""

    async def presences(self) -> dict[UserID, BotPresence]: ...


class CouncilHealthJob(HealthWatch):
    """A `BackgroundJob` of the coordinator."""

    what = "council health"

    def __init__(
        self,
        bots: Mapping[str, UserID],
        agents: Sequence[str],
        room: Presences,
        store: HealthStore,
        send: Send,
        settings: HealthSettings,
        heartbeat_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, send, settings, clock)
        self._bots = dict(bots)
        self._agents = tuple(agents)
        self._room = room
        self._heartbeat = heartbeat_seconds

    async def check_once(self) -> list[Told]:
        told = await self.book.make_good(PREFIXES)
        now = self._clock()
        readings = bot_readings(self._bots, await self._room.presences(), now, self._heartbeat)
        readings += provider_readings(
            self._agents, await self._store.failed_calls(), self._settings.provider_failures
        )
        return told + await self.book.record(readings, now)
