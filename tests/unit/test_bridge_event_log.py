"""An external agent's event stream can be resumed: each event has a cursor, a listener
that names the last one it saw gets what came after it (still kept) and then the live ones,
none twice; what is no longer kept is said with one `gap` event, never passed over in
silence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.bridge.event_log import GAP, EventLog


def filled(count: int, backlog: int = 5) -> EventLog:
    log = EventLog(backlog=backlog)
    for n in range(1, count + 1):
        log.publish({"type": "message", "n": n})
    return log


def numbers(events: list[dict[str, Any]]) -> list[int]:
    return [e["n"] for e in events]


@pytest.mark.parametrize(
    ("cursor", "gap", "replayed"),
    [
        (None, False, []),
        ("", False, []),
        ("{epoch}-8", False, []),
        ("{epoch}-6", False, [7, 8]),
        ("{epoch}-3", False, [4, 5, 6, 7, 8]),  # the oldest kept is 4: nothing lost
        ("{epoch}-2", True, [4, 5, 6, 7, 8]),  # 3 is gone
        ("{epoch}-0", True, [4, 5, 6, 7, 8]),
        ("{epoch}-9", True, [4, 5, 6, 7, 8]),  # not one of ours
        ("0000-6", True, [4, 5, 6, 7, 8]),  # an earlier run's
        ("{epoch}-x", True, [4, 5, 6, 7, 8]),
        ("garbage", True, [4, 5, 6, 7, 8]),
    ],
    ids=[
        "none",
        "empty",
        "up to date",
        "two missed",
        "all kept",
        "one lost",
        "from the start",
        "from the future",
        "another run",
        "no number",
        "garbage",
    ],
)
def test_what_a_listener_missed_since_its_cursor(
    cursor: str | None, gap: bool, replayed: list[int]
) -> None:
    log = filled(8)
    found = log.missed_since(None if cursor is None else cursor.format(epoch=log.epoch))
    assert (found[0], numbers(found[1])) == (gap, replayed)


def test_every_event_gets_a_cursor_of_this_run() -> None:
    log = EventLog()
    first, second = log.publish({"type": "a"}), log.publish({"type": "b"})
    assert (first["cursor"], second["cursor"]) == (f"{log.epoch}-1", f"{log.epoch}-2")
    assert EventLog().epoch != log.epoch, "a new run never reads an old run's cursor as its own"


async def take(stream: AsyncIterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(anext(stream), 2) for _ in range(count)]


async def test_a_resumed_listener_gets_the_missed_then_the_live_none_twice() -> None:
    log = filled(8)
    stream = log.listen(f"{log.epoch}-6")
    missed = await take(stream, 2)
    log.publish({"type": "message", "n": 9})
    assert numbers([*missed, *await take(stream, 1)]) == [7, 8, 9]
    await stream.aclose()
    assert log.listening == 0


async def test_a_listener_away_too_long_is_told_of_the_gap_first() -> None:
    log = filled(8)
    stream = log.listen("0000-3")
    first, *kept = await take(stream, 6)
    assert first == {"type": "gap", "message": GAP}
    assert numbers(kept) == [4, 5, 6, 7, 8]
    await stream.aclose()


async def test_a_fresh_listener_gets_only_what_comes_next() -> None:
    log = filled(3)
    stream = log.listen()
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    log.publish({"type": "message", "n": 4})
    assert (await asyncio.wait_for(waiting, 2))["n"] == 4
    await stream.aclose()


async def test_a_slow_listener_loses_the_oldest_not_the_newest() -> None:
    log = EventLog(queue_size=2)
    stream = log.listen()
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    log.publish({"type": "message", "n": 0})
    assert (await waiting)["n"] == 0
    for n in range(1, 5):  # published while the listener does not read
        log.publish({"type": "message", "n": n})
    assert numbers(await take(stream, 2)) == [3, 4]
    await stream.aclose()
