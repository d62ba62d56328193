"""The daily digest's job (the coordinator's): at `digest.at` local time, once per local
day, even across restarts; and `!digest`, which sends one now.

The day is claimed in the store before the message goes out and marked sent after, with a
message key made of the day: a stop in between is sent again on the next round, and the
homeserver keeps one message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bots.background import CaughtUp, every
from bots.health.book import Send
from bots.health.digest import DigestFacts, OpenPoll, due_day, local_days, render_digest
from bots.settings.model import Settings
from bots.store import Store
from bots.store.digests import Digest

CHECK_SECONDS = 30.0
"""How often the job looks at the clock: the digest goes out within this of its time."""
FIRST_SINCE = 24 * 3600.0
"""What the first digest ever counts back over."""


class DigestJob:
    """A `BackgroundJob` of the coordinator; `send_now` is `!digest`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        send: Send,
        clock: Callable[[], float] = time.time,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self._settings = settings
        self._store = store
        self._send = send
        self._clock = clock
        self._check_seconds = check_seconds

    async def run_background(
        self, synced: asyncio.Event, stop: asyncio.Event, caught_up: CaughtUp | None = None
    ) -> None:
        if self._settings.health.digest.at is None:
            return
        await every(self._check_seconds, self.check_once, "daily digest", synced, stop, caught_up)

    async def check_once(self) -> list[str]:
        """Sends the digests due (the day's, and any claimed but unsent); their texts."""
        at = self._settings.health.digest.at
        if at is None:
            return []
        sent = [await self._deliver(d) for d in await self._store.digests.unsent_daily()]
        day = due_day(self._clock(), at, self._settings.timezone)
        if day is not None and not await self._store.digests.has_daily(day):
            claimed = await self._store.digests.claim_daily(day, self._clock())
            if claimed is not None:
                sent.append(await self._deliver(claimed))
        return sent

    async def send_now(self) -> str:
        """A digest now, since the last one (`!digest`); its text."""
        return await self._deliver(await self._store.digests.add_asked(self._clock()))

    async def _deliver(self, digest: Digest) -> str:
        body = render_digest(await self.facts(digest))
        await self._send(body, f"digest/{digest.day or digest.id}", False)
        await self._store.digests.mark_sent(digest.id, self._clock())
        return body

    async def facts(self, digest: Digest) -> DigestFacts:
        store, settings = self._store, self._settings
        previous = await store.digests.previous(digest.id)
        since = previous.at if previous is not None else digest.at - FIRST_SINCE
        finished = await store.digests.finished_tasks(since, digest.at)
        yesterday, today = local_days(digest.at, settings.timezone)
        return DigestFacts(
            since=since,
            until=digest.at,
            zone=settings.timezone,
            done=[t for t in finished if t.state == "completed"],
            failed=[t for t in finished if t.state == "failed"],
            commands=await store.digests.commands_run(since, digest.at),
            spent_day=yesterday,
            spent=await store.usage.all_totals(yesterday),
            today=await store.usage.all_totals(today),
            budgets={a.name: a.budget for a in settings.agents},
            awaiting=await store.digests.waiting_tasks(),
            polls=[OpenPoll(p.id, p.question) for p in await store.polls.open_polls()],
        )
