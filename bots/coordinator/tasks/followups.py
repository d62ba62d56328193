"""Asking one agent after the plan ran (a `fix`, a `refine`) and waiting for its answer.

The ask is a council message in the task's thread, sent once; its answer is whatever the
service stored for that ask id; the wait is the task's `waiting_for` and `deadline`, set
once when the wait begins, so a drive after a restart still sees the deadline it had.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots.message import Reply

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import Answer, Task


def agent_name(ctx: TaskContext, agent: str) -> str:
    """The agent's display name ("Claude") for texts; its config name if unknown."""
    for settings in ctx.bot.settings.agents:
        if settings.name == agent:
            return settings.account.display_name
    return agent


def agent_names(ctx: TaskContext) -> dict[str, str]:
    return {a.name: a.account.display_name for a in ctx.bot.settings.agents}


async def send_ask(
    ctx: TaskContext,
    task: Task,
    *,
    key: str,
    ask: str,
    stage: str,
    agent: str,
    context: dict[str, Any],
    body: str,
    seconds: float,
) -> None:
    """The council ask `ask` (stage `stage`) to `agent` alone, in the thread, once."""
    council = {
        "v": 1,
        "kind": "ask",
        "task": task.id,
        "ask": ask,
        "stage": stage,
        "agents": [agent],
        "deadline_ms": int((ctx.clock() + seconds) * 1000),
        "mission": task.mission,
        "context": context,
    }
    reply = Reply(task.room_id, body, thread_root=task.thread_root, council=council)
    await ctx.send_once(task, key, reply)


async def answer_to(ctx: TaskContext, task: Task, ask: str, agent: str) -> Answer | None:
    """`agent`'s stored answer to `ask`, if it came."""
    for answer in await ctx.tasks.answers(task.id, ask):
        if answer.agent == agent:
            return answer
    return None


async def wait_expired(ctx: TaskContext, task: Task, label: str, seconds: float) -> bool:
    """Starts the wait `label` (once: its deadline is set when it begins) and says whether
    it has run out. `label` is what `!task N` shows as waited for."""
    now = ctx.clock()
    if task.waiting_for != label or task.deadline is None:
        await ctx.tasks.update(
            task.id, expect_state=task.state, now=now, waiting_for=label, deadline=now + seconds
        )
        return False
    return now >= task.deadline
