"""The loop every health job runs: wait for the bot's sync and catch-up, then one round
every interval until stop; a failed round is logged and the next one comes anyway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bots.background import CaughtUp

log = logging.getLogger(__name__)


async def every(
    interval: float,
    one_round: Callable[[], Awaitable[object]],
    what: str,
    synced: asyncio.Event,
    stop: asyncio.Event,
    caught_up: CaughtUp | None,
) -> None:
    if not await _first(synced, stop):
        return
    if caught_up is not None:
        await caught_up()
    while not stop.is_set():
        try:
            await one_round()
        except Exception:
            log.exception("%s: a round failed; trying again in %.0f s", what, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def _first(synced: asyncio.Event, stop: asyncio.Event) -> bool:
    """True once synced; False when stopped first."""
    waits = {asyncio.ensure_future(synced.wait()), asyncio.ensure_future(stop.wait())}
    _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return synced.is_set() and not stop.is_set()
