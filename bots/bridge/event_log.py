"""One external agent's events, numbered, so a listener that reconnects gets what it missed.

An HTTP agent's event stream breaks: a phone changes networks, a proxy times out, the agent
restarts. Server-sent events have the answer built in: each event carries an `id`, and a
client reconnecting sends the last one it saw as `Last-Event-ID`. Every event published here
gets a cursor `<epoch>-<n>` (`epoch` is new each time the bridge starts, so a cursor of an
earlier run is never read as one of this run), and the last `backlog` events are kept in
memory. A listener that names a cursor first gets every later event still kept, then the
live ones, none twice. When what it missed is no longer kept (it was away too long, or the
bridge restarted), it gets one `gap` event first, telling it to catch up through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any, Final

BACKLOG: Final = 500
"""Events kept for listeners that come back."""
QUEUE_SIZE: Final = 500
"""Events kept for a listener that reads slowly; the oldest go first (it can poll the API)."""
GAP: Final = (
    "Some events may have been missed (the bridge restarted, or you were away longer than it "
    "keeps events): read GET /api/tasks and GET /api/status to catch up."
)


class EventLog:
    """Publish numbered events; listen from now on, or from a cursor."""

    def __init__(self, backlog: int = BACKLOG, queue_size: int = QUEUE_SIZE) -> None:
        self.epoch = secrets.token_hex(4)
        self._n = 0
        self._kept: deque[tuple[int, dict[str, Any]]] = deque(maxlen=backlog)
        self._queue_size = queue_size
        self._listeners: set[asyncio.Queue[tuple[int, dict[str, Any]]]] = set()

    @property
    def listening(self) -> int:
        return len(self._listeners)

    @property
    def kept(self) -> list[dict[str, Any]]:
        """The events a returning listener can still get, oldest first."""
        return [event for _, event in self._kept]

    def publish(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event as listeners get it: with its `cursor`."""
        self._n += 1
        numbered = {**event, "cursor": f"{self.epoch}-{self._n}"}
        self._kept.append((self._n, numbered))
        for queue in list(self._listeners):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait((self._n, numbered))
        return numbered

    def missed_since(self, cursor: str | None) -> tuple[bool, list[dict[str, Any]]]:
        """(whether a gap must be said, the kept events after `cursor`); no cursor: (False,
        []). A cursor of another run, unreadable, or older than what is kept is a gap."""
        if cursor is None or not cursor.strip():
            return False, []
        epoch, _, number = cursor.strip().rpartition("-")
        if epoch != self.epoch or not number.isdigit():
            return True, self.kept
        seen = int(number)
        if seen > self._n:
            return True, self.kept  # not one of ours after all
        oldest = self._kept[0][0] if self._kept else self._n + 1
        gap = seen < oldest - 1
        return gap, [event for n, event in self._kept if n > seen]

    async def listen(self, cursor: str | None = None) -> AsyncGenerator[dict[str, Any], None]:
        """What came after `cursor` (a `gap` event first when some of it is gone), then every
        new event until the caller stops reading."""
        queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue(self._queue_size)
        # Registered and the replay taken in one step (no await between): the queue gets
        # exactly the events after the replay's last, none twice and none lost.
        self._listeners.add(queue)
        gap, replay = self.missed_since(cursor)
        try:
            if gap:
                yield {"type": "gap", "message": GAP}
            for event in replay:
                yield event
            while True:
                _, event = await queue.get()
                yield event
        finally:
            self._listeners.discard(queue)
