"""An agent answering the coordinator's asks in a task's thread: propose, critique, revise,
vote, plan, review, fix, refine; and a split task's split, parts and merge (text answers; a
part that needs commands is answered with a plan, as the plan stage is).

One model call per ask, not streamed (fewer events; "typing…" shows while the model writes),
after the free checks chat makes (muted, a credential in the material, no key, no budget).
Whatever happens, an ask this agent was named in gets exactly one answer (a dispatcher claim
keeps it from a second): a refusal or a provider failure is an answer with status "failed"
and the short real reason ("quota exhausted"), so the coordinator names it and moves on
instead of waiting out the deadline. A vote comes as the poll start: the agent answers the
poll from its own account, then says why in one line.

Only the configured coordinator asks; an ask not naming this agent, or past its deadline,
is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

from bots.agents.agent import Agent
from bots.agents.conversation import strip_speaker_prefix
from bots.agents.council_prompts import (
    Speaker,
    ballot,
    conversation,
    host_lines,
    language_of,
    stage_prompt,
    stage_variables,
    vote_options,
)
from bots.agents.council_wire import (
    NO_VALID_VOTE,
    VOTE_STAGES,
    CouncilAsk,
    Where,
    answer_object,
    answer_replies,
    declared_commands,
    declared_verdict,
    failure_reason,
    failure_text,
    poll_thread_root,
    read_ask,
    vote_reason,
)
from bots.agents.spend_caps import OUT_OF_BUDGET
from bots.agents.spending import OutOfBudget, task_cap_reached
from bots.agents.streaming import TYPING_AFTER_S
from bots.context import BotContext
from bots.events import COUNCIL_KEY, POLL_RESPONSE, POLL_START, POLL_START_STABLE
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.tasks.master_polls import reason_body
from bots.tasks.minutes import scribe_answer_body
from bots.tasks.polls import poll_response_content
from bots.tasks.render import answer_body, prefix, vote_reason_body
from bots.tasks.splits import SPLIT_EMOJI
from bots.tasks.votes import parse_vote, self_vote_refused
from bots.text.credentials import credential_kinds
from bridge.errors import ProviderError
from bridge.llm.base import Completion, Usage

log = logging.getLogger(__name__)

POLL_START_TYPES = frozenset({POLL_START, POLL_START_STABLE})
"""The poll starts that carry a vote ask (the dispatcher's `event_types` for agents)."""


class CouncilMember:
    """One agent's part in the coordinator's tasks (one per agent, next to its `Agent`)."""

    def __init__(
        self, agent: Agent, *, self_vote: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        """`self_vote`: the council's `tasks.self_vote` (may an agent vote for its own)."""
        self.agent = agent
        self.self_vote = self_vote
        self._clock = clock

    @property
    def name(self) -> str:
        return self.agent.agent.name

    # ---- what arrives --------------------------------------------------------------------

    async def on_task_message(self, message: Message, bot: BotContext) -> list[Reply]:
        """A task message from a bot: answered when it is an ask for this agent (not a vote:
        that comes as a poll)."""
        ask = self._ask_for_me(message.council, message.sender, message.event_id, bot)
        if ask is None:
            return []
        if ask.stage in VOTE_STAGES:
            log.info("%s: vote ask %s came as a message, not a poll", self.name, ask.ask)
            return []
        # A task from outside Matrix has no intake message: its ask is the thread's root.
        root = message.thread_root or message.event_id
        where = Where(message.room_id, root, reply_to=message.event_id, key=message.event_id)
        return await self.answer(ask, where, bot)

    async def on_event(self, event: RoomEvent, bot: BotContext) -> list[Reply]:
        """A poll start from the coordinator naming this agent: its vote on a task's
        proposals, or on the master's own poll (answered where the poll is: its thread,
        else the main timeline)."""
        if event.type not in POLL_START_TYPES:
            return []
        council = event.content.get(COUNCIL_KEY)
        if not isinstance(council, Mapping):
            return []  # somebody's own poll: not the council's business
        ask = self._ask_for_me(council, event.sender, event.event_id, bot)
        if ask is None:
            return []
        if ask.stage not in VOTE_STAGES:
            log.info("%s: poll %s carries a %s ask", self.name, event.event_id, ask.stage)
            return []
        root = poll_thread_root(event.content)
        if root is None and ask.stage == "vote":
            root = event.event_id
        where = Where(event.room_id, root, reply_to=event.event_id, key=event.event_id)
        return await self.vote(ask, where, bot)

    def _ask_for_me(
        self, council: Mapping[str, Any] | None, sender: UserID, event: str, bot: BotContext
    ) -> CouncilAsk | None:
        """The ask, when it is one this agent must answer; else None, and the log says why."""
        ask = read_ask(council)
        if isinstance(ask, str):
            if council is not None and council.get("kind") == "ask":
                log.warning("%s: unreadable ask in %s: %s", self.name, event, ask)
            return None
        settings = bot.settings
        if sender != settings.user_id(settings.coordinator):
            log.warning("%s: ask %s from %s, not the coordinator", self.name, ask.ask, sender)
            return None
        if self.name not in ask.agents:
            return None
        if ask.deadline_ms is not None and self._clock() * 1000 > ask.deadline_ms:
            log.info("%s: ask %s came after its deadline", self.name, ask.ask)
            return None
        return ask

    # ---- answering -----------------------------------------------------------------------

    async def answer(self, ask: CouncilAsk, where: Where, bot: BotContext) -> list[Reply]:
        """One model call for a propose, critique, revise, plan, review, fix or refine ask;
        its answer."""
        outcome = await self._call(ask, where, bot)
        if isinstance(outcome, str):
            return self._failed(ask, where, outcome)
        completion, cost = outcome
        text = self._clean(completion.text, bot)
        if not text:
            return self._failed(ask, where, "empty answer", completion, cost)
        extra: dict[str, Any] = {}
        if ask.stage == "propose" and (commands := declared_commands(text)) is not None:
            extra["commands"] = commands
        if ask.stage == "review" and (verdict := declared_verdict(text)) is not None:
            extra["verdict"] = verdict
        council = self._object(ask, "ok", completion, cost, extra=extra)
        return answer_replies(_body(ask, text), where, council)

    async def vote(self, ask: CouncilAsk, where: Where, bot: BotContext) -> list[Reply]:
        """The poll response first (what the tally counts), then one line of why. No valid
        choice (none, or its own when self-votes are off) casts nothing: the coordinator
        counts a failed vote as an abstention."""
        options = vote_options(ballot(ask, self.name), bot.settings)
        if not options:
            return self._failed(ask, where, "no options to vote on")
        outcome = await self._call(ask, where, bot)
        if isinstance(outcome, str):
            return self._failed(ask, where, outcome)
        completion, cost = outcome
        text = self._clean(completion.text, bot)
        choice = parse_vote(text, options, voter=self.name)
        if choice is None or (not self.self_vote and self_vote_refused(self.name, choice, options)):
            log.info("%s: no valid vote in %r (read %r)", self.name, text[:200], choice)
            return self._failed(ask, where, NO_VALID_VOTE, completion, cost)
        try:
            await bot.matrix.send_event(
                where.room_id,
                POLL_RESPONSE,
                poll_response_content(EventID(where.reply_to), choice),
                key=f"{where.key}/poll-response",
            )
        except Exception:
            log.exception("%s could not answer the poll %s", self.name, where.reply_to)
            return self._failed(ask, where, "could not send the poll response", completion, cost)
        council = self._object(ask, "ok", completion, cost, extra={"choice": choice})
        if ask.stage == "poll":
            body = reason_body(choice, vote_reason(text))
        else:
            body = vote_reason_body(ask.task, choice, vote_reason(text))
        return answer_replies(body, where, council)

    async def _call(
        self, ask: CouncilAsk, where: Where, bot: BotContext
    ) -> tuple[Completion, float] | str:
        """The free checks, then the one model call; its completion and cost, or the reason
        there is none."""
        blocked = await self.agent.blocked()
        if blocked is not None:
            return blocked
        kinds = credential_kinds(ask.mission, *_texts(ask.context))
        if kinds:
            log.warning("%s leaves ask %s out: it holds %s", self.name, ask.ask, ", ".join(kinds))
            return f"the task holds {' and '.join(kinds)}; I did not send it to my model"
        settings = self.agent.agent
        language = language_of(ask.mission)
        speaker = Speaker(
            self.name,
            settings.account.display_name,
            settings.role,
            bot.settings.master.display_name,
            language,
        )
        variables = stage_variables(
            ask,
            speaker,
            hosts=host_lines(ask.context.get("hosts"), bot.settings.execution.hosts),
            self_vote=self.self_vote,
            text_tokens=max(settings.context_tokens - 1500, 500),
        )
        prompt = stage_prompt(variables, ask.stage)
        messages = conversation(self.agent.persona(bot, language), prompt, speaker, ask.mission)
        try:
            async with _typing(bot, where.room_id):
                return await self.agent.complete(
                    messages, task=ask.task or None, event_id=where.key
                )
        except OutOfBudget as exc:
            log.info("%s: ask %s not made: %s", self.name, ask.ask, exc)
            if exc.task_cap and exc.task is not None and not exc.used_up:
                await task_cap_reached(self.agent.spending, bot, exc.task)
            return f"{OUT_OF_BUDGET}{exc.reason}"
        except ProviderError as exc:
            log.warning("%s: ask %s failed: %s", self.name, ask.ask, exc)
            self.agent.count_call(self.agent.model, "error")
            await self.agent.bench_if_out_of_credit(exc, bot)
            return failure_reason(exc, settings.timeout_seconds)

    def _clean(self, text: str, bot: BotContext) -> str:
        names = [bot.identity.display_name, *bot.identity.aliases]
        return strip_speaker_prefix(text, names).strip()

    def _object(
        self,
        ask: CouncilAsk,
        status: Literal["ok", "failed"],
        completion: Completion | None,
        cost: float,
        *,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        model = (completion.model if completion else "") or self.agent.model
        return answer_object(
            ask,
            status=status,
            model=model,
            usage=completion.usage if completion else Usage(),
            cost_usd=cost,
            reason=reason,
            extra=extra,
        )

    def _failed(
        self,
        ask: CouncilAsk,
        where: Where,
        reason: str,
        completion: Completion | None = None,
        cost: float = 0.0,
    ) -> list[Reply]:
        """An answer saying this agent has none, and why (usage carried when a call was made)."""
        council = self._object(ask, "failed", completion, cost, reason=reason)
        return answer_replies(_body(ask, failure_text(ask, reason)), where, council)


@contextlib.asynccontextmanager
async def _typing(bot: BotContext, room_id: RoomID) -> AsyncIterator[None]:
    """ "Typing…" while the model writes, once it has taken a moment (every typing notice
    wakes every syncing client, which a quick answer should not pay for)."""

    async def show() -> bool:
        await asyncio.sleep(TYPING_AFTER_S)
        await bot.matrix.typing(room_id, True)
        return True

    shown = asyncio.create_task(show())
    try:
        yield
    finally:
        shown.cancel()
        if shown.done() and not shown.cancelled() and shown.exception() is None:
            try:
                await bot.matrix.typing(room_id, False)
            except Exception:  # typing is a courtesy: the answer matters more
                log.warning("could not clear typing in %s", room_id, exc_info=True)


def _body(ask: CouncilAsk, text: str) -> str:
    """The answer as posted: "#12 💡 …"; the scribe's minutes "#12 🗒️ …" (no number for a
    discussion's); a split task's "#12 ✂️ …" (the split), "#12 🧩 …" (a part's result, or its
    plan when it needs commands), "#12 🔗 …" (the merged result)."""
    if ask.stage == "minutes":
        return scribe_answer_body(ask.task, text)
    if ask.stage == "poll":
        return f"🗳️ {text}"
    if ask.stage in SPLIT_EMOJI:
        return f"{prefix(ask.task)}{SPLIT_EMOJI[ask.stage]} {text}"
    return answer_body(ask.task, ask.stage, text)


def _texts(value: object) -> list[str]:
    """Every string inside a context object, for the credential check."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    return []
