"""Facts from events, as the engine stores them: an agent's answer read from its council
object, and a store write tried again before a fact is given up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bots.coordinator.tasks.common import agent_of
from bots.coordinator.tasks.context import TaskContext
from bots.errors import StoreError
from bots.message import Message
from bots.store.tasks import Answer

log = logging.getLogger(__name__)

FACT_TRIES = 3
FACT_RETRY_SECONDS = 0.5


def answer_of(ctx: TaskContext, message: Message) -> Answer | None:
    """An agent's answer to one of a task's asks, as stored; None for anything else (not an
    answer, no task number, an ask id of another task, not from an agent)."""
    council = message.council or {}
    task_id, ask = council.get("task"), council.get("ask")
    if council.get("kind") != "answer" or not isinstance(task_id, int):
        return None
    if not isinstance(ask, str) or not ask.startswith(f"t{task_id}-"):
        return None
    agent = agent_of(ctx, message.sender)
    if agent is None:
        return None
    status = "ok" if council.get("status") == "ok" else "failed"
    reason = council.get("reason")
    text = message.body if status == "ok" else str(reason or message.body)
    raw = council.get("usage")
    usage: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return Answer(
        task_id=task_id,
        ask=ask,
        agent=agent,
        stage=str(council.get("stage", "")),
        status=status,
        text=text,
        event_id=message.event_id,
        at=ctx.clock(),
        choice=declared(council),
        tokens_in=_int(usage.get("input_tokens")),
        tokens_out=_int(usage.get("output_tokens")),
        cost=_float(usage.get("cost_usd")),
    )


async def keep(what: str, write: Callable[[], Awaitable[object]]) -> bool:
    """Stores a fact, trying again on a store error (another connection holding the file's
    write lock past the busy timeout): events arrive unclaimed and are not handed over
    again, so a fact given up is lost. False when it was, after logging it."""
    for attempt in range(1, FACT_TRIES + 1):
        try:
            await write()
            return True
        except StoreError:
            if attempt == FACT_TRIES:
                log.exception("storing %s failed %d times; it is lost", what, FACT_TRIES)
                return False
            log.warning("storing %s failed; trying again", what)
            await asyncio.sleep(FACT_RETRY_SECONDS * attempt)
    return False


def declared(council: Mapping[str, Any]) -> str | None:
    """What an answer declared besides its text, kept as its `choice`: a vote's option key,
    a proposal's `commands` ("yes"/"no": does the mission need commands?), a review's
    `verdict` ("approve"/"reject")."""
    choice, commands, verdict = (
        council.get("choice"),
        council.get("commands"),
        council.get("verdict"),
    )
    if isinstance(choice, str) and choice:
        return choice
    if council.get("stage") == "propose" and isinstance(commands, bool):
        return "yes" if commands else "no"
    if council.get("stage") == "review" and verdict in ("approve", "reject"):
        return str(verdict)
    return None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
