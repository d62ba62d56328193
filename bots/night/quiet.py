"""The quiet rule: inside a night window only urgent messages may buzz the master's phone.

Every bot's replies (and polls) pass through `NightQuiet` on their way out (`MatrixBot`), so one
rule covers the coordinator, the executor and the agents. Outside a window nothing changes.
An `m.notice` never notifies (Synapse's `.m.rule.suppress_notices`), and any `m.text` does
(`.m.rule.message`), so a quieted reply is a notice without the master's mention.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bots.events import POLL_END, POLL_END_STABLE, POLL_START, POLL_START_STABLE
from bots.ids import UserID
from bots.message import Reply
from bots.store.night import NightStore

log = logging.getLogger(__name__)


def quieted(reply: Reply, master: UserID, night: bool) -> Reply:
    """`reply` as it goes out: a notice naming everyone but the master, at night, unless
    it is urgent or already silent."""
    if not night or reply.urgent:
        return reply
    if reply.notice and master not in reply.mention:
        return reply
    return replace(reply, notice=True, mention=tuple(u for u in reply.mention if u != master))


NOTIFYING_EVENTS = frozenset({POLL_START, POLL_END, POLL_START_STABLE, POLL_END_STABLE})
"""Events that are no message yet notify: Element's poll rules (MSC3930) push a poll's
start and end."""


def quieted_event(event_type: str, content: dict[str, Any], night: bool) -> dict[str, Any]:
    """A poll's start or end as sent at night: marked `msgtype: m.notice`, which Synapse's
    `.m.rule.suppress_notices` (an override, so before the poll rules) reads whatever the
    event's type; clients showing the poll ignore it. Every other event is unchanged."""
    if not night or event_type not in NOTIFYING_EVENTS or "msgtype" in content:
        return content
    return {**content, "msgtype": "m.notice"}


class NightQuiet:
    """The quiet rule on the store's active window. Only the absence of a window is cached
    (for `cache_seconds`): a window is checked again before each reply it would quiet, so
    the morning report sent right after `!night stop` notifies; a window just granted
    quiets replies at most `cache_seconds` late."""

    def __init__(
        self,
        store: NightStore,
        master: UserID,
        *,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._master = master
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._day_until: float | None = None

    async def night(self) -> bool:
        now = self._clock()
        if self._day_until is not None and now < self._day_until:
            return False
        try:
            envelope = await self._store.active(now)
        except Exception:
            log.exception("reading the night window failed; sending as by day")
            return False
        if envelope is None:
            self._day_until = now + self._cache_seconds
            return False
        self._day_until = None
        return True

    async def reply(self, reply: Reply) -> Reply:
        if quieted(reply, self._master, True) == reply:
            return reply  # silent or urgent either way: no need to know
        return quieted(reply, self._master, await self.night())

    async def event(self, event_type: str, content: dict[str, Any]) -> dict[str, Any]:
        if quieted_event(event_type, content, True) == content:
            return content
        return quieted_event(event_type, content, await self.night())
