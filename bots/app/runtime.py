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

from bots.agents.agent import Agent, agent_commands
from bots.app.data_dir import DataDir
from bots.app.settings import AccountSettings, Settings
from bots.context import BotContext
from bots.coordinator.commands import coordinator_commands
from bots.coordinator.council import LoopWatch
from bots.errors import BotError, ConfigError
from bots.execution.service import EXECUTOR_COMMANDS, ExecutionService
from bots.homeserver.credentials import load_credentials
from bots.homeserver.provision import load_council
from bots.ids import RoomID
from bots.matrix.client import BotConnection, MatrixBot
from bots.message import Incoming, Reply
from bots.routing.access import may_invite
from bots.routing.addressing import Identity, Roster
from bots.routing.dispatch import Dispatcher
from bots.store import Store
from bots.store.audit import AuditStore
from executor.runner import Executor, Limits

log = logging.getLogger(__name__)


def build_roster(settings: Settings) -> Roster:
    return Roster(
        bots=tuple(
            Identity(settings.user_id(a), a.display_name, a.aliases, a.kind)
            for a in settings.accounts
        ),
        broadcast_words=settings.runtime.broadcast_words,
    )


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
        self.agents: list[Agent] = []
        self.executor: ExecutionService | None = None

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        data = DataDir(self.settings.data_dir)
        council = load_council(data)
        if council is None:
            raise BotError("the council room does not exist yet: run `chavion up` first")
        store = await Store.open(data.store)
        try:
            forgotten = await store.forget_old_events()  # claims older than any replay
            if forgotten:
                log.info("forgot %d handled events older than two weeks", forgotten)
            if any(self.settings.account(n).kind == "executor" for n in self.names):
                self.executor = await self._open_executor(data, council.room_id)
            roster = build_roster(self.settings)
            self.bots = [
                self._build(name, roster, store, data, council.room_id) for name in self.names
            ]
            runs = [asyncio.create_task(self._run_one(bot, stop)) for bot in self.bots]
            waiting = asyncio.create_task(self._wait_synced(ready))
            background = [
                asyncio.create_task(self.executor.run_background(bot.matrix.synced, stop))
                for bot in self.bots
                if bot.account.kind == "executor" and self.executor is not None
            ]
            await asyncio.gather(*runs)
            waiting.cancel()
            for task in background:
                task.cancel()
        finally:
            for agent in self.agents:
                await agent.aclose()
            if self.executor is not None:
                await self._close_executor(self.executor)
            await store.close()

    async def _open_executor(self, data: DataDir, council_room: str) -> ExecutionService:
        """One engine per process: SSH connections, the embedded `local` server, the audit."""
        execution = self.settings.execution
        audit = await AuditStore.open(data.store, secrets=execution.secrets)
        engine = Executor(
            execution.hosts.values(),
            limits=Limits(
                max_concurrent=execution.max_concurrent,
                output_limit=execution.output_limit,
                default_timeout=execution.default_timeout_seconds,
            ),
            secrets=execution.secrets,
            data_dir=data.root,
        )
        service = ExecutionService(self.settings, engine, audit, RoomID(council_room))
        try:
            await service.prepare()
        except BaseException:
            await engine.aclose()
            await audit.close()
            raise
        return service

    async def _close_executor(self, service: ExecutionService) -> None:
        try:
            await service.aclose()
            await service.engine.aclose()
        finally:
            await service.audit.close()

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

        async def on_message(message: Incoming) -> list[Reply]:
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
        context = BotContext(settings, account, identity, roster, matrix, store)
        if account.kind == "agent":
            agent = Agent(settings, settings.agent(account.name), store)
            self.agents.append(agent)
            dispatcher = Dispatcher(
                context,
                agent_commands(agent),
                chat=agent.chat,
                observer=agent.observe,
                others_commands=EXECUTOR_COMMANDS,
            )
        elif account.kind == "coordinator":
            watch = LoopWatch(settings.runtime.agent_turn_limit)
            dispatcher = Dispatcher(
                context,
                coordinator_commands(),
                observer=watch.observe,
                others_commands=EXECUTOR_COMMANDS,
            )
        else:
            # run() opens the executor service whenever the executor bot is among the names.
            assert self.executor is not None
            self.executor.attach(context)
            dispatcher = Dispatcher(
                context,
                self.executor.registry(),
                on_event=self.executor.on_event,
                owned_commands=EXECUTOR_COMMANDS,
            )
        return RunningBot(account, matrix)
