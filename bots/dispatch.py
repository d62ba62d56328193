"""Message → route → access check → one handler → replies, with one failure path.

A `CommandError` is said to the user as it is; anything else is logged with its traceback
and a reference, and the user gets a short apology carrying the same reference.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from bots.access import may_run
from bots.commands import CommandRequest, Registry
from bots.context import BotContext
from bots.errors import CommandError
from bots.message import Message, Reply
from bots.router import Chat, Command, Ignore, RouterContext, parse

log = logging.getLogger(__name__)

ChatHandler = Callable[[Message, Chat, BotContext], Awaitable[list[Reply]]]


class Dispatcher:
    def __init__(
        self, bot: BotContext, registry: Registry, chat: ChatHandler | None = None
    ) -> None:
        self._bot = bot
        self._registry = registry
        self._chat = chat
        self._router = RouterContext(
            me=bot.identity,
            roster=bot.roster,
            is_coordinator=bot.account.kind == "coordinator",
            is_agent=bot.account.kind == "agent",
        )

    async def handle(self, message: Message) -> list[Reply]:
        route = parse(message, self._router)
        try:
            if isinstance(route, Ignore):
                log.debug(
                    "%s ignores %s: %s", self._bot.account.name, message.event_id, route.reason
                )
                return []
            if isinstance(route, Command):
                return await self._command(message, route)
            if self._chat is None:
                return []
            return await self._chat(message, route, self._bot)
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

    async def _command(self, message: Message, route: Command) -> list[Reply]:
        spec = self._registry.get(route.name)
        if spec is None:
            raise CommandError(f"Unknown command !{route.name}. Try !help.")
        decision = may_run(
            route.name, message.sender, message.sender_power, self._bot.settings.access
        )
        if not decision.allowed:
            raise CommandError(f"Not allowed: {decision.reason}.")
        return await spec.handler(CommandRequest(message, route.args, self._bot))
