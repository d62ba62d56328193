"""A real Chavion Matrix client (`MatrixBot`) on a throw-away account, that only records what
it reads: for wire tests that look at the `Message` values handlers get and call the
client's own `send_voice` and `download`, without a coordinator or agent around them.

Its device is cross-signed by its own account, as every Chavion bot's is, so Element's
"exclude insecure devices" mode shares room keys with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import aiohttp

from bots.homeserver.admin_api import HomeserverApi
from bots.homeserver.credentials import Credentials
from bots.ids import RoomID, UserID
from bots.matrix.client import BotConnection, MatrixBot
from bots.message import Incoming, Message, Reply
from bots.store import Store
from tests.support.council import ThrowawayCouncil


class ProbeBot:
    def __init__(self, matrix: MatrixBot) -> None:
        self.matrix = matrix
        self.heard: list[Incoming] = []
        self._changed = asyncio.Condition()

    @property
    def user_id(self) -> UserID:
        return self.matrix.user_id

    async def hear(self, incoming: Incoming) -> list[Reply]:
        async with self._changed:
            self.heard.append(incoming)
            self._changed.notify_all()
        return []

    async def wait_for(self, predicate: Callable[[Message], bool], timeout: float = 30) -> Message:
        """The first message read that matches `predicate`."""

        async def found() -> Message:
            async with self._changed:
                while True:
                    for incoming in self.heard:
                        if isinstance(incoming, Message) and predicate(incoming):
                            return incoming
                    await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)


@contextlib.asynccontextmanager
async def probe_bot(
    council: ThrowawayCouncil,
    root: Path,
    localpart: str,
    *,
    invited_by: str,
    transcribers: Iterable[str] = (),
) -> AsyncIterator[ProbeBot]:
    """A probe bot on a new account, synced, joining rooms `invited_by` invites it to;
    `transcribers` are the accounts whose transcripts it trusts (itself always)."""
    password = f"{localpart}-password"
    await council.register_user(localpart, password)
    async with aiohttp.ClientSession() as session:
        login = await HomeserverApi(session, council.url).login(localpart, password)
    user_id = UserID(str(login["user_id"]))
    store = await Store.open(root / "store.db")
    holder: list[ProbeBot] = []

    async def on_message(incoming: Incoming) -> list[Reply]:
        return await holder[0].hear(incoming)

    matrix = MatrixBot(
        BotConnection(
            name=localpart,
            homeserver_url=council.url,
            credentials=Credentials(
                user_id, password, str(login["access_token"]), str(login["device_id"])
            ),
            crypto_store=root / "crypto",
            council_room=RoomID(council.council_room),
            max_backoff_seconds=0.5,
            sync_timeout_ms=10_000,
            cross_signing_keys=root / "cross-signing.json",
            transcribers=frozenset({user_id, *(UserID(b) for b in transcribers)}),
        ),
        store,
        on_message,
        lambda inviter: inviter == invited_by,
    )
    probe = ProbeBot(matrix)
    holder.append(probe)
    stop = asyncio.Event()
    running = asyncio.create_task(matrix.run(stop))
    try:
        synced = asyncio.create_task(matrix.synced.wait())
        await asyncio.wait({running, synced}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()
        assert matrix.synced.is_set(), f"the probe bot {localpart} did not sync"
        yield probe
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await store.close()
