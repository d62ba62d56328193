"""Message → route → access check → one handler → replies, with one failure path.

Routing decides in values: an ignored message, an unknown or refused command
(`bots.routing.resolution`) each have their outcome, and a refusal is said as it is. Only
handlers raise: a `CommandError` is said to the user as it is; anything else is logged with
its traceback and a reference, and the user gets a short apology carrying the same reference.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from bots.context import BotContext
from bots.errors import CommandError
from bots.message import Incoming, Message, Reply, RoomEvent
from bots.routing.commands import CommandRequest, Registry
from bots.routing.resolution import Refuse, resolve
from bots.routing.router import Chat, Command, Ignore, RouterContext, parse

log = logging.getLogger(__name__)

ChatHandler = Callable[[Message, Chat, BotContext], Awaitable[list[Reply]]]
Observer = Callable[[Message, BotContext], Awaitable[list[Reply]]]
EventHandler = Callable[[RoomEvent, BotContext], Awaitable[list[Reply]]]


class Dispatcher:
    def __init__(
        self,
        bot: BotContext,
        registry: Registry,
        chat: ChatHandler | None = None,
        observer: Observer | None = None,
        on_event: EventHandler | None = None,
        *,
        owned_commands: frozenset[str] = frozenset(),
        others_commands: frozenset[str] = frozenset(),
    ) -> None:
        self._bot = bot
        self._registry = registry
        self._chat = chat
        self._observer = observer
        self._on_event = on_event
        self._router = RouterContext(
            me=bot.identity,
            roster=bot.roster,
            is_coordinator=bot.account.kind == "coordinator",
            is_agent=bot.account.kind == "agent",
            owned_commands=owned_commands,
            others_commands=others_commands - owned_commands,
        )

    async def handle(self, incoming: Incoming) -> list[Reply]:
        if isinstance(incoming, RoomEvent):
            if self._on_event is None or incoming.sender == self._bot.identity.user_id:
                return []
            if not await self._claim(incoming.event_id, incoming.room_id):
                return []
            return await self._guarded_event(incoming)
        message = incoming
        observed = await self._guarded(message, self._observe(message))
        return observed + await self._guarded(message, self._route(message))

    async def _observe(self, message: Message) -> list[Reply]:
        """Every message, own ones too, for watchers such as the loop guard."""
        return await self._observer(message, self._bot) if self._observer else []

    async def _route(self, message: Message) -> list[Reply]:
        route = parse(message, self._router)
        if isinstance(route, Ignore):
            log.debug("%s ignores %s: %s", self._bot.account.name, message.event_id, route.reason)
            return []
        if not await self._claim(message.event_id, message.room_id):
            return []  # acted on before a restart: never twice
        if isinstance(route, Command):
            return await self._command(message, route)
        if self._chat is None:
            return []
        return await self._chat(message, route, self._bot)

    async def _guarded(self, message: Message, work: Awaitable[list[Reply]]) -> list[Reply]:
        """The one failure path: a CommandError is said, anything else logged and apologised."""
        try:
            return await work
        except CommandError as exc:
            return [Reply.answering(message, str(exc))]
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("handling %s failed (ref %s)", message.event_id, reference)
            return [
                Reply.answering(
                    message, f"Sorry, that failed on my side (ref {reference}); it is logged."
                )
            ]

    async def _claim(self, event_id: str, room_id: str) -> bool:
        """Only events a bot acts on are claimed: ignoring an event twice costs nothing,
        and the store is spared a write per bot per event."""
        return await self._bot.store.claim_event(self._bot.account.name, event_id, room_id)

    async def _guarded_event(self, event: RoomEvent) -> list[Reply]:
        assert self._on_event is not None
        try:
            return await self._on_event(event, self._bot)
        except Exception:
            log.exception("handling %s %s failed", event.type, event.event_id)
            return []

    async def _command(self, message: Message, route: Command) -> list[Reply]:
        resolution = resolve(
            route, message.sender, message.sender_power, self._registry, self._bot.settings.access
        )
        if isinstance(resolution, Refuse):
            return [Reply.answering(message, resolution.text)]
        return await resolution.spec.handler(CommandRequest(message, resolution.args, self._bot))
