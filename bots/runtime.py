"""Runs a set of bots in this process, each on its own Matrix connection.

`chavion up` runs every bot here; `chavion bot NAME` runs one. Bots share nothing but the
store file: they talk to each other only through Matrix, so any of them can move to
another process or machine without a change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bots.access import may_invite
from bots.addressing import Identity, Roster
from bots.commands import Registry
from bots.context import BotContext
from bots.data_dir import DataDir
from bots.dispatch import Dispatcher
from bots.errors import BotError, ConfigError
from bots.handlers.core import bot_commands, coordinator_commands
from bots.matrix import BotConnection, MatrixBot
from bots.message import Message, Reply
from bots.provision import load_council, load_credentials
from bots.settings import AccountSettings, Settings
from bots.store import Store

log = logging.getLogger(__name__)


def build_roster(settings: Settings) -> Roster:
    return Roster(
        bots=tuple(
            Identity(settings.user_id(a), a.display_name, a.aliases) for a in settings.accounts
        ),
        broadcast_words=settings.runtime.broadcast_words,
    )


def commands_for(account: AccountSettings) -> Registry:
    return coordinator_commands() if account.kind == "coordinator" else bot_commands()


@dataclass
class RunningBot:
    account: AccountSettings
    matrix: MatrixBot


class BotRunner:
    """Builds the bots named, runs them until `stop`, and reports when all are synced."""

    def __init__(self, settings: Settings, names: Sequence[str]) -> None:
        self.settings = settings
        self.names = list(names)
        self.bots: list[RunningBot] = []

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        data = DataDir(self.settings.data_dir)
        council = load_council(data)
        if council is None:
            raise BotError("the council room does not exist yet: run `chavion up` first")
        store = await Store.open(data.store)
        try:
            roster = build_roster(self.settings)
            self.bots = [
                self._build(name, roster, store, data, council.room_id) for name in self.names
            ]
            runs = [asyncio.create_task(self._run_one(bot, stop)) for bot in self.bots]
            waiting = asyncio.create_task(self._wait_synced(ready))
            await asyncio.gather(*runs)
            waiting.cancel()
        finally:
            await store.close()

    async def _wait_synced(self, ready: asyncio.Event | None) -> None:
        await asyncio.gather(*(bot.matrix.synced.wait() for bot in self.bots))
        log.info("all %d bots synced", len(self.bots))
        if ready is not None:
            ready.set()

    async def _run_one(self, bot: RunningBot, stop: asyncio.Event) -> None:
        try:
            await bot.matrix.run(stop)
        except BotError as exc:
            log.error("%s stopped: %s", bot.account.name, exc)
        except Exception:
            log.exception("%s crashed", bot.account.name)

    def _build(
        self, name: str, roster: Roster, store: Store, data: DataDir, council_room: str
    ) -> RunningBot:
        settings = self.settings
        account = settings.account(name)
        creds = load_credentials(data, account.localpart)
        if creds is None:
            raise ConfigError(
                f"no credentials for {account.name} in {data.accounts}: run `chavion up` once "
                "on the machine that holds the homeserver, then copy that file here"
            )
        identity = roster.get(settings.user_id(account))
        assert identity is not None
        dispatcher: Dispatcher | None = None

        async def on_message(message: Message) -> list[Reply]:
            assert dispatcher is not None
            return await dispatcher.handle(message)

        matrix = MatrixBot(
            BotConnection(
                name=account.name,
                homeserver_url=settings.homeserver.client_url,
                credentials=creds,
                crypto_store=data.crypto_store(account.localpart),
                council_room=council_room,  # type: ignore[arg-type]
                max_backoff_seconds=settings.runtime.max_backoff_seconds,
                sync_timeout_ms=settings.runtime.sync_timeout_ms,
                heartbeat_seconds=settings.runtime.heartbeat_seconds,
            ),
            store,
            on_message,
            lambda inviter: may_invite(inviter, settings.master_user_id, settings.access),
        )
        context = BotContext(settings, account, identity, roster, matrix)
        dispatcher = Dispatcher(context, commands_for(account))
        return RunningBot(account, matrix)
