"""A bot whose homeserver does not answer keeps trying, and still stops when asked.

No Synapse here: the bot's real nio client talks to a loopback port nobody listens on, as
when `chavion bot NAME` starts before the homeserver does, or the homeserver is down.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bots.homeserver.credentials import Credentials
from bots.homeserver.process import free_port
from bots.ids import RoomID, UserID
from bots.matrix.client import BotConnection, MatrixBot
from bots.message import Incoming, Reply
from bots.store import Store

pytestmark = pytest.mark.integration


async def nothing(_: Incoming) -> list[Reply]:
    return []


async def test_a_bot_keeps_trying_an_absent_homeserver_and_stops_when_asked(
    tmp_path: Path,
) -> None:
    store = await Store.open(tmp_path / "store.db")
    bot = MatrixBot(
        BotConnection(
            name="claude",
            homeserver_url=f"http://127.0.0.1:{free_port()}",
            credentials=Credentials(UserID("@claude:localhost"), "pw", "token", "DEVICE"),
            crypto_store=tmp_path / "crypto",
            council_room=RoomID("!council:localhost"),
            max_backoff_seconds=0.2,
        ),
        store,
        nothing,
        lambda _: False,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(bot.run(stop))
    try:
        await asyncio.sleep(1.5)
        assert not running.done(), "the bot gave up instead of waiting for its homeserver"
        assert not bot.synced.is_set()
        stop.set()
        await asyncio.wait_for(running, 10)
    finally:
        running.cancel()
        await store.close()
