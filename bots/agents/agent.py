"""An agent answering in the council: one LLM call per reply, none when it is not asked.

The order of checks is the order of cost: muted, loop guard, credentials, budget (all free),
then the conversation is read from Matrix (cheap) and the model is called once.
While the model writes, the answer appears as one message edited in place (throttled), or
as one message at the end for agents configured without streaming.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime

from bots.agents.budget import (
    BudgetState,
    PriceTable,
    check,
    day_window,
    format_out_of_budget,
    local_day,
)
from bots.agents.conversation import (
    HistoryEntry,
    build_conversation,
    detect_language,
    history_until,
    render_system_prompt,
    strip_speaker_prefix,
)
from bots.agents.loop_guard import LoopGuard, thread_key, turn_of
from bots.app.settings import AgentSettings, Settings
from bots.context import BotContext
from bots.coordinator.commands import make_help, ping
from bots.errors import CommandError
from bots.ids import EventID
from bots.matrix.event_size import MAX_PLAINTEXT_BYTES, reply_bytes_bound
from bots.message import Message, Reply
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from bots.routing.router import Chat
from bots.store import Store
from bots.text.splitting import markdown_to_html, split_message
from bots.text.throttle import EditThrottle
from bridge.errors import ProviderError
from bridge.llm.base import Completion, LLMProvider, ProviderSettings
from bridge.llm.factory import create_provider

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 60
STREAM_MARK = " …"
# A quick answer arrives whole, as one message: a placeholder is shown only once the model
# has been writing for this long, so fast replies cost one event and no edits.
SHOW_PARTIAL_AFTER_S = 1.0
TYPING_AFTER_S = 0.5


def price_table(settings: Settings) -> PriceTable:
    table = PriceTable()
    configured = PriceTable.from_mapping(
        {model: {"input": i, "output": o} for model, (i, o) in settings.prices.items()}
    )
    return PriceTable({**table.prices, **configured.prices})


def provider_settings(agent: AgentSettings) -> ProviderSettings:
    return ProviderSettings(
        kind=agent.provider,  # type: ignore[arg-type]
        model=agent.model,
        api_key=os.environ.get(agent.api_key_env) if agent.api_key_env else None,
        base_url=agent.base_url,
        temperature=agent.temperature,
        max_tokens=agent.max_tokens,
        timeout_s=agent.timeout_seconds,
        display_name=agent.account.display_name,
    )


class Agent:
    """One agent's brain: decides whether to answer, builds the prompt, calls the model."""

    def __init__(self, settings: Settings, agent: AgentSettings, store: Store) -> None:
        self.settings = settings
        self.agent = agent
        self.store = store
        self.prices = price_table(settings)
        self.loop_guard = LoopGuard(settings.runtime.agent_turn_limit)
        self._provider: LLMProvider | None = None
        self.unavailable = ""
        if not agent.has_credentials:
            env = agent.api_key_env or "its API key variable"
            self.unavailable = f"I have no credentials: set ${env} and restart me."
        else:
            try:
                self._provider = create_provider(provider_settings(agent))
            except ProviderError as exc:  # a bad setting silences this agent, not the council
                log.error("agent %s cannot start its provider: %s", agent.name, exc)
                self.unavailable = f"My model is not available: {exc}"

    # ---- what every agent sees ---------------------------------------------------------

    async def observe(self, message: Message, bot: BotContext) -> list[Reply]:
        """Count agent-to-agent turns per thread; any human message resets the count.
        Agents only count: announcing a trip is the coordinator's job (LoopWatch)."""
        sender = bot.roster.get(message.sender)
        turn = turn_of(message, sender.kind if sender else None)
        self.loop_guard.note(turn, thread_key(message))
        return []

    async def chat(self, message: Message, route: Chat, bot: BotContext) -> list[Reply]:
        if await self.store.agent_flags.is_muted(self.agent.name):
            return []
        sender = bot.roster.get(message.sender)
        if sender is not None and sender.kind != "agent":
            return []  # the coordinator's and executor's notices name agents without asking
        if sender is not None:
            if route.broadcast:
                return []  # agents do not start a round of everyone
            if not self.loop_guard.allows_agent_turn(thread_key(message)):
                log.info("%s: loop guard holds a reply to %s", self.agent.name, sender.user_id)
                return []
        return await self.answer(message, bot)

    async def answer(
        self, message: Message, bot: BotContext, *, text: str | None = None
    ) -> list[Reply]:
        now = datetime.now(UTC)
        refusal = await self._refusal(message, now)
        if refusal is not None:
            return refusal
        history = history_until(
            await bot.matrix.history(message.room_id, message.thread_root, HISTORY_MESSAGES),
            message.event_id,
        )
        if text is not None:
            history = [h for h in history if h.event_id != message.event_id]
        prompt = self._system_prompt(bot, message, text)
        conversation = build_conversation(
            history if text is None else [*history, _summon_entry(message, bot, text)],
            me=bot.identity.user_id,
            system_prompt=prompt,
            budget_tokens=self.agent.context_tokens,
        )
        assert self._provider is not None
        answer = StreamingAnswer(message, bot, self.agent.streaming)
        typing = asyncio.create_task(_typing_if_slow(bot, message))
        try:
            completion = await self._provider.complete(
                conversation, on_delta=answer.on_delta if self.agent.streaming else None
            )
        except ProviderError as exc:
            return [answer.failure(str(exc))]
        finally:
            typing.cancel()
            if typing.done() and not typing.cancelled() and typing.result():
                await bot.matrix.typing(message.room_id, False)
        await self._record(message, completion, now)
        text_out = strip_speaker_prefix(
            completion.text, [bot.identity.display_name, *bot.identity.aliases]
        ).strip()
        return answer.final(text_out)

    async def _refusal(self, message: Message, now: datetime) -> list[Reply] | None:
        """Free checks first: no key or no budget means no call (and says so once a day)."""
        day = local_day(now, self.settings.timezone)
        if self._provider is None:
            if await self.store.usage.notice_once(self.agent.name, day, "no-credentials"):
                return [Reply.answering(message, self.unavailable)]
            return []
        tokens, cost = await self.store.usage.totals(self.agent.name, day)
        _, reset = day_window(now, self.settings.timezone)
        verdict = check(self.agent.budget, BudgetState(tokens, cost), reset_at=reset)
        if verdict.allowed:
            return None
        if await self.store.usage.notice_once(self.agent.name, day, "budget"):
            until = format_out_of_budget(reset, now=now, timezone_name=self.settings.timezone)
            return [Reply.answering(message, f"I am {until}: {verdict.reason}.")]
        return []

    def _system_prompt(self, bot: BotContext, message: Message, text: str | None) -> str:
        others = [
            b.display_name for b in bot.roster.bots if b.kind == "agent" and b != bot.identity
        ]
        master = bot.settings.master.display_name
        return render_system_prompt(
            self.agent.persona,
            agent_name=self.agent.name,
            display_name=self.agent.account.display_name,
            role=self.agent.role,
            others=others,
            master_name=master,
            language_hint=detect_language(text if text is not None else message.body),
        )

    async def _record(self, message: Message, completion: Completion, now: datetime) -> None:
        cost = self.prices.cost(completion.model or self.agent.model, completion.usage)
        await self.store.usage.record(
            self.agent.name,
            completion.model or self.agent.model,
            local_day(now, self.settings.timezone),
            completion.usage,
            cost,
            message.event_id,
        )

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()


async def _typing_if_slow(bot: BotContext, message: Message) -> bool:
    """Show "typing…" only for answers that take a while: a typing notice wakes every
    syncing client, which a quick answer should not pay for."""
    await asyncio.sleep(TYPING_AFTER_S)
    await bot.matrix.typing(message.room_id, True)
    return True


def _summon_entry(message: Message, bot: BotContext, text: str) -> HistoryEntry:
    """The question of a `!summon`, as if it had been asked plainly."""
    is_master = message.sender == bot.settings.master_user_id
    return HistoryEntry(
        event_id=message.event_id,
        sender=message.sender,
        sender_name=bot.settings.master.display_name if is_master else message.sender,
        body=text,
        timestamp_ms=message.timestamp_ms,
    )


class StreamingAnswer:
    """One answer on its way: a message that appears with the first words, then is edited
    (throttled, capped) as more arrive; the final edit always goes out."""

    def __init__(self, message: Message, bot: BotContext, streaming: bool) -> None:
        self._message = message
        self._bot = bot
        self._streaming = streaming
        sender = bot.roster.get(message.sender)
        # An answer to the master may buzz the phone; chatter between agents never does.
        self._notice = sender is not None
        self._to_agent = sender is not None and sender.kind == "agent"
        self._text = ""
        self._event: EventID | None = None
        self._started = time.monotonic()
        self._throttle = EditThrottle(self._started)
        self._edits = 0

    def _reply(
        self,
        body: str,
        *,
        replaces: EventID | None = None,
        key: str,
        done: bool = False,
        first: bool = False,
    ) -> Reply:
        """`first`: the message that starts the answer, the one that counts as a turn."""
        base = Reply.answering(
            self._message, body, html=markdown_to_html(body), notice=self._notice
        )
        mention = () if self._notice else (self._message.sender,)
        return Reply(
            room_id=base.room_id,
            body=base.body,
            html=base.html,
            notice=base.notice,
            thread_root=base.thread_root,
            reply_to=base.reply_to,
            mention=mention,
            replaces=replaces,
            key=key,
            stream=None if not self._streaming else ("done" if done else "partial"),
            answers_agent=self._to_agent and first,
        )

    async def on_delta(self, piece: str) -> None:
        self._text += piece
        if not self._text.strip():
            return
        outbox = self._bot.matrix
        if self._event is None:
            if time.monotonic() - self._started < SHOW_PARTIAL_AFTER_S:
                return
            self._event = await outbox.send(
                self._reply(self._text + STREAM_MARK, key=f"{self._message.event_id}/0", first=True)
            )
            return
        if self._throttle.should_edit(time.monotonic()):
            edit = self._reply(
                self._text + STREAM_MARK,
                replaces=self._event,
                key=f"{self._message.event_id}/edit{self._edits + 1}",
            )
            if reply_bytes_bound(edit.body, edit.html) > MAX_PLAINTEXT_BYTES:
                return  # too long for one event: the final edit splits it into several
            self._edits += 1
            await outbox.send(edit)

    def final(self, text: str) -> list[Reply]:
        chunks = split_message(text) or ["(no answer)"]
        replies: list[Reply] = []
        key = self._message.event_id
        if self._event is not None:
            replies.append(
                self._reply(chunks[0], replaces=self._event, key=f"{key}/final", done=True)
            )
        else:
            replies.append(self._reply(chunks[0], key=f"{key}/0", done=True, first=True))
        for index, chunk in enumerate(chunks[1:], start=1):
            replies.append(self._reply(chunk, key=f"{key}/{index}", done=True))
        return replies

    def failure(self, reason: str) -> Reply:
        if self._event is not None:
            return self._reply(
                self._text + f"\n\n(stopped: {reason})",
                replaces=self._event,
                key=f"{self._message.event_id}/final",
                done=True,
            )
        return Reply.answering(self._message, reason)


def agent_commands(agent: Agent) -> Registry:
    """What an agent answers when the command names it: `!mute claude`, `!summon claude …`."""

    async def mute(request: CommandRequest) -> list[Reply]:
        await agent.store.agent_flags.set_muted(agent.agent.name, True, request.message.sender)
        name = agent.agent.account.display_name
        return [Reply.answering(request.message, f"{name} is muted: I stay silent until !unmute.")]

    async def unmute(request: CommandRequest) -> list[Reply]:
        await agent.store.agent_flags.set_muted(agent.agent.name, False, request.message.sender)
        name = agent.agent.account.display_name
        return [Reply.answering(request.message, f"{name} is listening again.")]

    async def summon(request: CommandRequest) -> list[Reply]:
        text = drop_names(request.args, request.bot)
        if not text:
            raise CommandError("Usage: !summon <agent> <question>")
        return await agent.answer(request.message, request.bot, text=text)

    registry = Registry(
        [
            CommandSpec("ping", "check that this agent answers", ping),
            CommandSpec("mute", "silence this agent until !unmute", mute, "<agent>"),
            CommandSpec("unmute", "let this agent speak again", unmute, "<agent>"),
            CommandSpec("summon", "ask this agent, even if muted", summon, "<agent> <question>"),
        ]
    )
    registry.add(make_help(registry))
    return registry


def drop_names(text: str, bot: BotContext) -> str:
    """`!summon claude what now?` → `what now?` (the agent's own name is the address)."""
    words = text.split(maxsplit=1)
    if words and bot.identity.pattern.fullmatch(words[0].rstrip(",:")):
        return words[1].strip() if len(words) > 1 else ""
    return text.strip()
