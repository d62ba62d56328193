"""An agent answering in the council: one LLM call per reply, none when it is not asked.

The order of checks is the order of cost: muted, loop guard, credentials, benched (all
free), then the conversation is read from Matrix (cheap), the call's worst case is reserved
in the spend ledger (`bots.agents.spending`: the one budget check, it refuses a call past a
cap) and the model is called once.
While the model writes, the answer appears as one message edited in place (throttled), or
as one message at the end for agents configured without streaming (bots.agents.streaming).
The commands that name an agent are declared in bots.agents.commands.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime

from bots.agents.budget import PriceTable, format_out_of_budget, local_day
from bots.agents.conversation import (
    build_conversation,
    detect_language,
    history_until,
    render_system_prompt,
    strip_speaker_prefix,
)
from bots.agents.loop_guard import LoopGuard, thread_key, turn_of
from bots.agents.spending import OutOfBudget, Spending
from bots.agents.streaming import StreamingAnswer, typing_if_slow
from bots.alerts import master_alert
from bots.context import BotContext, MetricsSink
from bots.health.call_streak import CallStreak
from bots.message import HistoryEntry, Message, Reply
from bots.routing.addressing import AGENT_KINDS
from bots.routing.router import Chat
from bots.settings import AgentSettings, Settings
from bots.store import Store
from bots.store.pending_answers import PendingAnswer
from bots.text.credentials import credential_kinds, holds_credential
from bridge.errors import ProviderError
from bridge.llm.base import (
    ChatMessage,
    Completion,
    DeltaCallback,
    LLMProvider,
    ProviderRequestError,
    ProviderSettings,
    Usage,
)
from bridge.llm.factory import create_provider

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 60


def price_table(settings: Settings) -> PriceTable:
    table = PriceTable()
    configured = PriceTable.from_mapping(
        {model: {"input": i, "output": o} for model, (i, o) in settings.prices.items()}
    )
    return PriceTable({**table.prices, **configured.prices})


def provider_settings(agent: AgentSettings, model: str | None = None) -> ProviderSettings:
    """`model`: the one the master switched to with `!model` (None: the configured one)."""
    return ProviderSettings(
        kind=agent.provider,  # type: ignore[arg-type]
        model=model or agent.model,
        api_key=os.environ.get(agent.api_key_env) if agent.api_key_env else None,
        base_url=agent.base_url,
        temperature=agent.temperature,
        max_tokens=agent.max_tokens,
        timeout_s=agent.timeout_seconds,
        display_name=agent.account.display_name,
    )


class Agent:
    """One agent's brain: decides whether to answer, builds the prompt, calls the model."""

    def __init__(
        self,
        settings: Settings,
        agent: AgentSettings,
        store: Store,
        metrics: MetricsSink | None = None,
    ) -> None:
        self.settings = settings
        self.agent = agent
        self.store = store
        self.metrics = metrics
        self.calls = CallStreak(agent.name, lambda: store.health)  # the health watch reads it
        self.prices = price_table(settings)
        self.spending = Spending(store, settings, agent, self.prices)
        self.loop_guard = LoopGuard(settings.runtime.agent_turn_limit)
        self._provider: LLMProvider | None = None
        self._providers: dict[str, LLMProvider] = {}
        self.model = agent.model
        """The model the calls go to: the configured one, or the master's `!model` choice."""
        self.unavailable = ""
        if not agent.has_credentials:
            env = agent.api_key_env or "its API key variable"
            self.unavailable = f"I have no credentials: set ${env} and restart me."
        else:
            try:
                self._provider = create_provider(provider_settings(agent))
                self._providers[agent.model] = self._provider
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

    async def chat(
        self,
        message: Message,
        route: Chat,
        bot: BotContext,
        resumed: PendingAnswer | None = None,
    ) -> list[Reply]:
        """`resumed`: the question was cut off by a stop and is answered again."""
        if await self.store.agent_flags.is_muted(self.agent.name):
            return []
        sender = bot.roster.get(message.sender)
        if sender is not None and sender.kind not in AGENT_KINDS:
            return []  # the coordinator's and executor's notices name agents without asking
        if sender is not None:
            if route.broadcast:
                return []  # agents do not start a round of everyone
            if not self.loop_guard.allows_agent_turn(thread_key(message)):
                log.info("%s: loop guard holds a reply to %s", self.agent.name, sender.user_id)
                return []
        return await self.answer(message, bot, resumed=resumed)

    async def answer(
        self,
        message: Message,
        bot: BotContext,
        *,
        text: str | None = None,
        resumed: PendingAnswer | None = None,
    ) -> list[Reply]:
        kinds = credential_kinds(message.body, message.formatted_body, text)
        if kinds:
            return self._credential_refusal(message, kinds)
        await self.follow_model()
        now = datetime.now(UTC)
        refusal = await self._refusal(message, now)
        if refusal is not None:
            return refusal
        history = without_credentials(
            history_until(
                await bot.matrix.history(message.room_id, message.thread_root, HISTORY_MESSAGES),
                message.event_id,
            )
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
        answer = StreamingAnswer(message, bot, self.agent.streaming, resumed=resumed)
        typing = asyncio.create_task(typing_if_slow(bot, message))
        try:
            completion, _ = await self.metered(
                conversation,
                task=None,
                event_id=message.event_id,
                on_delta=answer.on_delta if self.agent.streaming else None,
            )
        except OutOfBudget as exc:
            return await self._out_of_budget(message, now, exc)
        except ProviderError as exc:
            self.count_call(self.model, "error")
            await self.bench_if_out_of_credit(exc, bot)
            return [answer.failure(str(exc))]
        finally:
            typing.cancel()
            if typing.done() and not typing.cancelled() and typing.result():
                await bot.matrix.typing(message.room_id, False)
        text_out = strip_speaker_prefix(
            completion.text, [bot.identity.display_name, *bot.identity.aliases]
        ).strip()
        return answer.final(text_out)

    def _credential_refusal(self, message: Message, kinds: list[str]) -> list[Reply]:
        """A message holding a credential goes to no model. In a room the coordinator
        redacts it and tells the sender; in a direct chat no one else will, so this agent
        says what it did not read (the kind, never the value)."""
        log.warning(
            "%s leaves %s out: it holds %s", self.agent.name, message.event_id, ", ".join(kinds)
        )
        if not message.is_direct:
            return []
        return [
            Reply.answering(
                message,
                f"I did not read that message: it holds {' and '.join(kinds)}. Delete it, "
                "and rotate that secret: it has been sent to the homeserver.",
            )
        ]

    async def _refusal(self, message: Message, now: datetime) -> list[Reply] | None:
        """Free checks first: no key or benched means no call (and says so once a day). The
        budget is the spend ledger's: its reservation refuses a call past a cap."""
        day = local_day(now, self.settings.timezone)
        if self._provider is None:
            if await self.store.usage.notice_once(self.agent.name, day, "no-credentials"):
                return [Reply.answering(message, self.unavailable)]
            return []
        benched = await self.store.ledger.bench_reason(self.agent.name)
        if benched is not None:
            if await self.store.usage.notice_once(self.agent.name, day, "benched"):
                return [Reply.answering(message, f"I am benched: {benched}.")]
            return []
        return None

    async def _out_of_budget(
        self, message: Message, now: datetime, exc: OutOfBudget
    ) -> list[Reply]:
        """A reservation was refused: the call is not made, and the agent says so once a day,
        with the time its day starts afresh."""
        day = local_day(now, self.settings.timezone)
        if not await self.store.usage.notice_once(self.agent.name, day, "budget"):
            return []
        until = format_out_of_budget(exc.reset_at, now=now, timezone_name=self.settings.timezone)
        return [Reply.answering(message, f"I am {until}: {exc.reason}.")]

    def _system_prompt(self, bot: BotContext, message: Message, text: str | None) -> str:
        return self.persona(bot, detect_language(text if text is not None else message.body))

    def persona(self, bot: BotContext, language_hint: str) -> str:
        """The agent's persona template rendered for this room (chat and council asks)."""
        others = [
            b.display_name for b in bot.roster.bots if b.kind in AGENT_KINDS and b != bot.identity
        ]
        master = bot.settings.master.display_name
        return render_system_prompt(
            self.agent.persona,
            agent_name=self.agent.name,
            display_name=self.agent.account.display_name,
            role=self.agent.role,
            others=others,
            master_name=master,
            language_hint=language_hint,
        )

    async def blocked(self) -> str | None:
        """Why this agent may not call its model now (muted, no credentials, benched), in a
        few words; None when it may. Free checks only: no model call, no notice. The budget
        is not among them: the call's reservation refuses it (`OutOfBudget.reason`)."""
        if await self.store.agent_flags.is_muted(self.agent.name):
            return "muted"
        if self._provider is None:
            if not self.agent.has_credentials:
                return f"no credentials (${self.agent.api_key_env or 'API key'} is not set)"
            return "model not available"
        benched = await self.store.ledger.bench_reason(self.agent.name)
        if benched is not None:
            return f"benched: {benched}"
        return None

    async def complete(
        self,
        conversation: list[ChatMessage],
        *,
        task: int | None = None,
        event_id: str | None = None,
    ) -> tuple[Completion, float]:
        """One model call, not streamed, its worst case reserved first (against `task`'s cap
        too) and its usage recorded after: the completion and its cost. Raises
        `ProviderError` (`OutOfBudget` when a cap would be crossed; also when there is no
        model: call `blocked` first)."""
        await self.follow_model()
        return await self.metered(conversation, task=task, event_id=event_id)

    async def metered(
        self,
        conversation: list[ChatMessage],
        *,
        task: int | None,
        event_id: str | None,
        on_delta: DeltaCallback | None = None,
    ) -> tuple[Completion, float]:
        """The one way to the model: reserve, call, settle (`bots.agents.spending`)."""
        provider = self._provider
        if provider is None:
            raise ProviderError(self.unavailable or "no model")
        completion, cost = await self.spending.metered(
            provider, conversation, task=task, event_id=event_id, on_delta=on_delta
        )
        self.count_call(completion.model or self.model, "ok", completion.usage, cost)
        return completion, cost

    async def bench_if_out_of_credit(self, exc: ProviderError, bot: BotContext) -> None:
        """The vendor says the credit is spent (not a rate limit, not an outage): this agent
        is benched until the master tops up and says `!unbench`, and he hears it once."""
        if not isinstance(exc, ProviderRequestError) or exc.kind != "quota":
            return
        name = self.agent.name
        now = self.spending.clock()
        if not await self.store.ledger.bench(name, str(exc), now):
            return
        log.warning("agent %s is benched: %s", name, exc)
        try:
            await master_alert(
                bot,
                f"{self.agent.account.display_name} is benched: {exc}. The council goes on "
                f"without it; top up the account, then say `!unbench {name}`.",
                key=f"bench/{name}/{int(now)}",
                urgent=True,
            )
        except Exception:  # the bench holds either way; the alert is the master's courtesy
            log.exception("could not tell the master that %s is benched", name)

    async def follow_model(self) -> None:
        """Switches to the model the master chose with `!model` (or back to the configured
        one), read from the store before each call: the command reaches an agent in its own
        process this way, and survives restarts. A provider per model is kept (a call in
        flight keeps the one it started on); they are closed with the agent."""
        if self._provider is None:
            return  # no credentials or no provider at all: a model switch changes nothing
        wanted = await self.store.agent_models.get(self.agent.name) or self.agent.model
        if wanted == self.model:
            return
        provider = self._providers.get(wanted)
        if provider is None:
            try:
                provider = create_provider(provider_settings(self.agent, wanted))
            except ProviderError as exc:
                log.error("agent %s cannot switch to model %s: %s", self.agent.name, wanted, exc)
                return
            self._providers[wanted] = provider
        log.info("agent %s now uses model %s (was %s)", self.agent.name, wanted, self.model)
        self._provider, self.model = provider, wanted

    def count_call(
        self, model: str, outcome: str, usage: Usage | None = None, cost: float = 0.0
    ) -> None:
        """One model call for `/metrics` ("ok" with its usage, or "error"), and the run of
        failed calls the health watch reads."""
        self.calls.note(outcome == "ok")
        if self.metrics is not None:
            used = usage or Usage()
            self.metrics.llm_call(
                self.agent.name, model, outcome, used.input_tokens, used.output_tokens, cost
            )

    async def aclose(self) -> None:
        await self.calls.settle()  # its last note reaches the store before the store closes
        for provider in self._providers.values():
            await provider.aclose()


def without_credentials(history: list[HistoryEntry]) -> list[HistoryEntry]:
    """The conversation minus every message that holds a credential: the coordinator
    redacts such a message, but an agent may read the room before the redaction lands."""
    return [entry for entry in history if not holds_credential(entry.body)]


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
