"""Filling a sync gap: what a bot missed while it was down is read back, never skipped.

A /sync after a long absence returns only the newest page of each room's timeline (the
filter's limit) and marks it `limited`. The events between the bot's saved position and
that page are still on the homeserver: they are read back here with /messages, from the
page's `prev_batch` down to the saved position, and handed to the sync loop oldest first,
ahead of the page, so each is handled once and in order (the store's claims do the rest).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from nio import AsyncClient, MessageDirection, RoomMessagesError

log = logging.getLogger(__name__)

PAGE = 100
# A bound, so a bot that was down for months in a busy room does not read for ever: past
# it, the oldest events are skipped, and the log says how many pages were read.
MAX_EVENTS = 10_000


async def missed_events(
    client: AsyncClient, room_id: str, prev_batch: str, since: str, *, page: int = PAGE
) -> list[Any]:
    """The room's events after `since` and before `prev_batch`, oldest first (nio decrypts
    what it has keys for, as in a sync)."""
    newest_first: list[Any] = []
    start = prev_batch
    while len(newest_first) < MAX_EVENTS:
        response = await client.room_messages(
            room_id, start=start, end=since, direction=MessageDirection.back, limit=page
        )
        if isinstance(response, RoomMessagesError):
            log.warning(
                "%s: reading back %s after a gap failed (%s); %d events caught up",
                client.user_id,
                room_id,
                response.message,
                len(newest_first),
            )
            break
        newest_first.extend(response.chunk)
        end = response.end
        if not response.chunk or not end or end == start:
            break
        start = end
    else:
        log.warning(
            "%s: more than %d events missed in %s; the older ones are skipped",
            client.user_id,
            MAX_EVENTS,
            room_id,
        )
    return list(reversed(newest_first))


def joined(missed: Sequence[Any], page: Sequence[Any]) -> list[Any]:
    """The read-back events, then the sync page, each event once (a homeserver may repeat
    one at the seam)."""
    seen: set[str] = set()
    out: list[Any] = []
    for event in [*missed, *page]:
        event_id = getattr(event, "event_id", None)
        if isinstance(event_id, str):
            if event_id in seen:
                continue
            seen.add(event_id)
        out.append(event)
    return out
