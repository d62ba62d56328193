"""Readings in, the master told of each change exactly once.

Each reading is judged against the subject's stored standing and written back with a
compare-and-set; only the watcher whose write won tells the master, with a message key
made of the subject and its change number. The change is marked told after the message is
out, so a stop in between is made good on the next round (the same key: one message).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bots.health.phrases import Said, alert_for
from bots.health.states import Reading, judge
from bots.store.health import HealthState, HealthStore

log = logging.getLogger(__name__)

Send = Callable[[str, str, bool], Awaitable[object]]
"""Sends one alert: (body, key, urgent) — `master_alert` bound to a bot."""


@dataclass(frozen=True)
class Told:
    subject: str
    body: str
    urgent: bool


class HealthBook:
    def __init__(self, store: HealthStore, send: Send, *, confirm: int) -> None:
        self._store = store
        self._send = send
        self._confirm = confirm
        self._made_good = False

    async def record(self, readings: Iterable[Reading], now: float) -> list[Told]:
        """Judges each reading; what was said, in order."""
        told: list[Told] = []
        for reading in readings:
            before = await self._store.state(reading.subject)
            judged = judge(before, reading, now, self._confirm)
            if before is not None and (before.state, before.streak) == (
                judged.standing.state,
                judged.standing.streak,
            ):
                continue  # the same as stored: nothing to write (a write costs an fsync)
            if not await self._store.put(judged.standing, before):
                continue  # another watcher moved it first; it tells, if anyone does
            if judged.change is None:
                continue
            bad_for = now - before.since if before is not None and judged.change == "ok" else None
            said = await self._tell(judged.standing, alert_for(judged.standing, bad_for))
            told.extend(said)
        return told

    async def make_good(self, prefixes: Iterable[str]) -> list[Told]:
        """Says the changes a stop left written but untold (under these subject prefixes);
        on the first round only: later, an untold change is one being said right now."""
        if self._made_good:
            return []
        self._made_good = True
        told: list[Told] = []
        for prefix in prefixes:
            for standing in await self._store.untold(prefix):
                told.extend(await self._tell(standing, alert_for(standing)))
        return told

    async def _tell(self, standing: HealthState, said: Said | None) -> list[Told]:
        if said is not None:
            key = f"health/{standing.subject}/{standing.changes}"
            await self._send(said.body, key, said.urgent)
        await self._store.mark_alerted(standing.subject, standing.changes)
        return [Told(standing.subject, said.body, said.urgent)] if said else []
