"""The coordinator's view of the agents: who is there, what they cost, when they loop."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bots.agents.budget import local_day
from bots.agents.loop_guard import LoopGuard, Turn, thread_key, turn_of
from bots.context import BotContext
from bots.coordinator.model_commands import model_line
from bots.coordinator.presence import describe_presence
from bots.message import Message, Reply
from bots.routing.commands import CommandRequest


async def agents_overview(request: CommandRequest) -> list[Reply]:
    bot = request.bot
    store = bot.store
    now = time.time()
    day = local_day(datetime.now(UTC), bot.settings.timezone)
    presences = await bot.matrix.presences()
    models = await store.agent_models.all()
    benched = await store.ledger.benched()
    lines = ["Agents:"]
    for agent in bot.settings.agents:
        user_id = bot.settings.user_id(agent.account)
        state = describe_presence(
            presences.get(user_id), now, bot.settings.runtime.heartbeat_seconds
        )
        tokens, cost = await store.usage.totals(agent.name, day)
        left = budget_left(agent.budget.daily_tokens, tokens, agent.budget.daily_cost_usd, cost)
        flags = []
        if not agent.has_credentials:
            flags.append("no credentials")
        if await store.agent_flags.is_muted(agent.name):
            flags.append("muted")
        if agent.name in benched:
            flags.append("benched")
        flag_text = f" [{', '.join(flags)}]" if flags else ""
        lines.append(
            f"• {agent.account.display_name}{flag_text} — {agent.provider} "
            f"{model_line(agent, models.get(agent.name))}, "
            f"role {agent.role}; {state}; budget left today: {left}"
        )
    return [Reply.answering(request.message, "\n".join(lines))]


def budget_left(token_cap: int | None, tokens: int, cost_cap: float | None, cost: float) -> str:
    parts = []
    if token_cap is not None:
        parts.append(f"{max(token_cap - tokens, 0):,} tokens")
    if cost_cap is not None:
        parts.append(f"${max(cost_cap - cost, 0):.2f}")
    return ", ".join(parts) if parts else "no cap"


class LoopWatch:
    """The coordinator's copy of the loop guard: it says once when the agents must stop."""

    def __init__(self, limit: int) -> None:
        self._guard = LoopGuard(limit)
        self._limit = limit

    async def observe(self, message: Message, bot: BotContext) -> list[Reply]:
        sender = bot.roster.get(message.sender)
        key = thread_key(message)
        turn = turn_of(message, sender.kind if sender else None)
        self._guard.note(turn, key)
        if turn is not Turn.AGENT_TO_AGENT:
            return []
        if self._guard.allows_agent_turn(key) or not self._guard.should_announce_trip(key):
            return []
        master = bot.settings.master_user_id
        return [
            Reply(
                room_id=message.room_id,
                body=(
                    f"Loop guard: {self._limit} agent replies in a row without a human here. "
                    "The agents will wait for you."
                ),
                notice=False,
                thread_root=message.thread_root,
                mention=(master,),
                key=f"{message.event_id}/loop-guard",
            )
        ]
