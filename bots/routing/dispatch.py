"""Message → route → access check → one handler → replies, with one failure path.

Routing decides in values: an ignored message, an unknown or refused command
(`bots.routing.resolution`) each have their outcome, and a refusal is said as it is. Only
handlers raise: a `CommandError` is said to the user as it is; anything else is logged with
its traceback and a reference, and the user gets a short apology carrying the same reference.

An agent's answer is owed from its claim until its replies are sent (`bots.store.
pending_answers`): a crash in between leaves the record, and `resume` answers it again at
the next start, once. Commands stay exactly-once: a claimed command is never re-run.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bots.context import BotContext
from bots.errors import CommandError
from bots.message import Incoming, Message, Reply, RoomEvent
from bots.routing.commands import CommandRequest, Registry
from bots.routing.resolution import Refuse, resolve
from bots.routing.router import Chat, Command, Ignore, RouterContext, parse
from bots.store.pending_answers import PendingAnswer

log = logging.getLogger(__name__)

ChatHandler = Callable[[Message, Chat, BotContext], Awaitable[list[Reply]]]
Observer = Callable[[Message, BotContext], Awaitable[list[Reply]]]
EventHandler = Callable[[RoomEvent, BotContext], Awaitable[list[Reply]]]
ResumeHandler = Callable[[Message, Chat, BotContext, PendingAnswer], Awaitable[list[Reply]]]
CouncilHandler = Callable[[Message, BotContext], Awaitable[list[Reply]]]

# Runs on one question, the one a crash cut off included: a question that kills the process
# every time is given up with a word to the asker instead of crashing the bot for ever.
MAX_ANSWER_RUNS = 3


class Dispatcher:
    def __init__(
        self,
        bot: BotContext,
        registry: Registry,
        chat: ChatHandler | None = None,
        observer: Observer | None = None,
        on_event: EventHandler | None = None,
        resume: ResumeHandler | None = None,
        *,
        council: CouncilHandler | None = None,
        owned_commands: frozenset[str] = frozenset(),
        others_commands: frozenset[str] = frozenset(),
        event_types: frozenset[str] | None = None,
        claim: bool = True,
    ) -> None:
        """`event_types`: the only `RoomEvent` types `on_event` wants (None: all); others
        are passed over before the claim, so they cost no store write.

        `council` takes every task message (one with a council object) another bot sent,
        instead of routing it. `claim=False` hands events and task messages over without
        claiming them first: for a handler that records what it saw idempotently (the
        coordinator's tasks), a crash between a claim and the record would lose the event,
        while seeing it twice after a restart costs nothing."""
        self._bot = bot
        self._registry = registry
        self._chat = chat
        self._observer = observer
        self._on_event = on_event
        self._resume = resume
        self._council = council
        self._claim_all = claim
        self._event_types = event_types
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
            if self._event_types is not None and incoming.type not in self._event_types:
                return []
            if self._claim_all and not await self._claim(incoming.event_id, incoming.room_id):
                return []
            return await self._guarded_event(incoming)
        message = incoming
        observed = await self._guarded(message, self._observe(message))
        if message.council is not None and self._council is not None:
            return observed + await self._task_message(message, self._council)
        return observed + await self._guarded(message, self._route(message))

    async def _task_message(self, message: Message, handler: CouncilHandler) -> list[Reply]:
        """A task message from another bot goes to the council handler, never to routing
        (an agent's proposal is no chat to answer); a failure is logged, not answered."""
        if message.sender == self._bot.identity.user_id or message.replaces is not None:
            return []
        if self._bot.roster.get(message.sender) is None:
            return []  # only bots speak in a task's workflow; people use commands
        if self._claim_all and not await self._claim(message.event_id, message.room_id):
            return []
        try:
            return await handler(message, self._bot)
        except Exception:
            log.exception("handling the task message %s failed", message.event_id)
            return []

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
        return await self._owed_answer(message, route)

    async def _owed_answer(
        self, message: Message, route: Chat, resumed: PendingAnswer | None = None
    ) -> list[Reply]:
        """Recorded as owed before the handler runs, settled once its replies are sent (so
        they are sent here); a bot that cannot resume answers as before."""
        assert self._chat is not None
        if self._resume is None:
            return await self._chat(message, route, self._bot)
        owed = self._bot.store.pending_answers
        name = self._bot.account.name
        if resumed is None:
            await owed.begin(name, message)
            work = self._chat(message, route, self._bot)
        else:
            work = self._resume(message, route, self._bot, resumed)
        try:
            replies = await work
        except Exception:
            await owed.finish(name, message.event_id)  # the apology that follows answers it
            raise
        if await self._deliver(message, replies):
            await owed.finish(name, message.event_id)
        return []

    async def _deliver(self, message: Message, replies: list[Reply]) -> bool:
        """Sends each reply (one that fails does not lose the others); whether all went."""
        sent = True
        for reply in replies:
            try:
                await self._bot.matrix.send(reply)
            except Exception:
                sent = False
                log.exception(
                    "%s could not send a reply to %s", self._bot.account.name, message.event_id
                )
        return sent

    async def resume(self) -> int:
        """Answers owed from before a restart, again, each once; how many were taken up."""
        if self._resume is None or self._chat is None:
            return 0
        owed = await self._bot.store.pending_answers.unfinished(self._bot.account.name)
        await asyncio.gather(*(self._resume_one(item) for item in owed))
        return len(owed)

    async def _resume_one(self, item: PendingAnswer) -> None:
        owed = self._bot.store.pending_answers
        name = self._bot.account.name
        message = item.message
        runs = await owed.retry(name, message.event_id)
        route = parse(message, self._router)
        if runs > MAX_ANSWER_RUNS or not isinstance(route, Chat):
            await owed.finish(name, message.event_id)
            if isinstance(route, Chat):
                log.error("%s gives up on %s after %d runs", name, message.event_id, runs - 1)
                await self._deliver(message, [gave_up(message, runs - 1)])
            return
        log.info("%s answers %s again (run %d)", name, message.event_id, runs)
        resumed = replace(item, attempts=runs)
        replies = await self._guarded(message, self._owed_answer(message, route, resumed))
        await self._deliver(message, replies)

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


def gave_up(message: Message, runs: int) -> Reply:
    """Said once when a question stopped the bot every time it was taken up."""
    reply = Reply.answering(
        message,
        f"I could not answer this: I stopped {runs} times while working on it. "
        "Ask again, perhaps more simply, if it still matters.",
    )
    return replace(reply, key=f"{message.event_id}/gave-up")
