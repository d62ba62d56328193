"""The periodic loop every background job shares (`bots.background.every`): nothing before
the bot's sync, a failed round is not the last one, and a stop ends it at any point."""

from __future__ import annotations

import asyncio

from bots.background import came_first, every


async def test_rounds_start_after_the_sync_and_a_failed_one_is_not_the_last() -> None:
    synced, stop = asyncio.Event(), asyncio.Event()
    rounds: list[int] = []

    async def one_round() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the first round fails")
        if len(rounds) == 3:
            stop.set()

    loop = asyncio.create_task(every(0.001, one_round, "a test job", synced, stop, None))
    await asyncio.sleep(0.01)
    assert rounds == []  # not synced yet
    synced.set()
    await asyncio.wait_for(loop, timeout=5)
    assert rounds == [0, 1, 2]


async def test_a_stop_before_the_sync_ends_the_loop_without_a_round() -> None:
    synced, stop = asyncio.Event(), asyncio.Event()
    rounds: list[int] = []

    async def one_round() -> None:
        rounds.append(1)

    loop = asyncio.create_task(every(0.001, one_round, "a test job", synced, stop, None))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(loop, timeout=5)
    assert rounds == []


async def test_the_catch_up_comes_before_the_first_round() -> None:
    synced, stop = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def caught_up() -> None:
        seen.append("caught up")

    async def one_round() -> None:
        seen.append("round")
        stop.set()

    synced.set()
    await asyncio.wait_for(every(60, one_round, "a test job", synced, stop, caught_up), 5)
    assert seen == ["caught up", "round"]


async def test_came_first_tells_the_event_from_a_stop_and_a_timeout() -> None:
    event, stop = asyncio.Event(), asyncio.Event()
    assert not await came_first(event, stop, timeout=0.001)  # timed out
    event.set()
    assert await came_first(event, stop)
    stop.set()
    assert not await came_first(event, stop)  # a stop wins even over a set event
