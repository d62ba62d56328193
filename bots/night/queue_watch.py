"""A task that stopped the queue: inside a night window, the plans waiting for the master
can fill every slot (`tasks.max_active`), and then nothing behind them starts until he
wakes. That is one of the three things worth waking him for (with a host down and a cap
reached), so it is said once per window, urgently, with what would move the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bots.alerts import master_alert
from bots.context import BotContext
from bots.coordinator.tasks.admission import IDLE, queue_order

if TYPE_CHECKING:
    from bots.store.night import Envelope
    from bots.store.tasks import Task

WAITS_FOR_MASTER = frozenset({"awaiting_approval"})
"""The states in which a task holds a slot until the master answers."""


@dataclass(frozen=True)
class StoppedQueue:
    holding: tuple[int, ...]
    """The tasks in every slot, each waiting for the master."""
    behind: tuple[int, ...]
    """The tasks that wait for a slot, first in line first."""
    slots: int


def stopped_queue(active: Sequence[Task], max_active: int) -> StoppedQueue | None:
    """The queue is stopped when tasks wait for a slot and every slot is held by a task
    that waits for the master; None while anything can still move."""
    in_work = [t for t in active if t.state not in IDLE]
    behind = sorted((t for t in active if t.state == "pending"), key=queue_order)
    if not behind or len(in_work) < max_active:
        return None
    if not all(t.state in WAITS_FOR_MASTER for t in in_work):
        return None
    return StoppedQueue(
        holding=tuple(sorted(t.id for t in in_work)),
        behind=tuple(t.id for t in behind),
        slots=max_active,
    )


def stopped_text(stopped: StoppedQueue) -> str:
    holding = ", ".join(f"#{n}" for n in stopped.holding)
    verb = "waits" if len(stopped.holding) == 1 else "wait"
    count = len(stopped.behind)
    tasks = "task waits" if count == 1 else "tasks wait"
    return (
        f"🚦 The queue has stopped: {holding} {verb} for your approval, holding every slot "
        f"({len(stopped.holding)} of {stopped.slots}); {count} {tasks} behind them "
        f"({', '.join(f'#{n}' for n in stopped.behind)}). Approve or deny one (✅ or ❌ on "
        "its plan, `!approve N`, `!deny N`), or `!cancel N`, to let the next one start."
    )


async def tell_if_queue_stopped(bot: BotContext, envelope: Envelope, now: float) -> bool:
    """Says once per window that the queue stopped; True when this call said it. Sent
    before it is marked (a crash in between resends under the same key), like the morning
    report."""
    if await bot.store.night.queue_told(envelope.id):
        return False
    stopped = stopped_queue(await bot.store.tasks.active(), bot.settings.tasks.max_active)
    if stopped is None:
        return False
    await master_alert(
        bot, stopped_text(stopped), key=f"night/{envelope.id}/queue-stopped", urgent=True
    )
    return await bot.store.night.mark_queue_told(envelope.id, now)
