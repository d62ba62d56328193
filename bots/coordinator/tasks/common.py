"""What several phases share: who takes part, who judges, replies in the task's thread,
rounds counted from the stored moves, and waits whose deadline lives in the store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.context import TaskContext
from bots.ids import UserID
from bots.message import Reply
from bots.tasks import render

if TYPE_CHECKING:
    from bots.store.tasks import Answer, Task

COUNCIL_VERSION = 1
_PREFIX = re.compile(r"\A\s*#\d+\s*(?:[^\w\s#]\S*\s*)?")


def agent_names(ctx: TaskContext) -> list[str]:
    return [agent.name for agent in ctx.bot.settings.agents]


def display(ctx: TaskContext, name: str) -> str:
    """An agent's display name ("Claude") for the texts the master reads."""
    for agent in ctx.bot.settings.agents:
        if agent.name == name:
            return agent.account.display_name or name
    return name


def displays(ctx: TaskContext, names: Sequence[str]) -> str:
    return ", ".join(display(ctx, n) for n in names) or "nobody"


def agent_of(ctx: TaskContext, user_id: str) -> str | None:
    """The agent name behind a Matrix user id; None for anyone else."""
    settings = ctx.bot.settings
    for agent in settings.agents:
        if settings.user_id(agent.account) == user_id:
            return agent.name
    return None


def participants(ctx: TaskContext, task: Task) -> list[str]:
    """The agents asked for proposals and votes: those chosen for this task (by their records,
    `tasks.max_participants`), else `tasks.participants`, resolved."""
    chosen = task.chosen
    if chosen is not None:
        return list(chosen)
    return list(ctx.bot.settings.task_participants)


def judge(ctx: TaskContext) -> str | None:
    """The agent that reviews plans and breaks a tie the master left."""
    return ctx.bot.settings.task_judge


def master(ctx: TaskContext) -> UserID:
    return ctx.bot.settings.master_user_id


def in_thread(
    task: Task,
    body: str,
    *,
    council: dict[str, Any] | None = None,
    notice: bool = True,
    mention: tuple[UserID, ...] = (),
) -> Reply:
    """A message in the task's thread (the key is set by `TaskContext.send_once`)."""
    return Reply(
        room_id=task.room_id,
        body=body,
        notice=notice,
        thread_root=task.thread_root,
        mention=mention,
        council=council,
    )


def ask_object(
    task: Task,
    ask: str,
    stage: str,
    agents: Sequence[str],
    deadline: float | None,
    context: dict[str, Any],
) -> dict[str, Any]:
    """The council object of an ask (see the design's Wire section)."""
    return {
        "v": COUNCIL_VERSION,
        "kind": "ask",
        "task": task.id,
        "ask": ask,
        "stage": stage,
        "agents": list(agents),
        "deadline_ms": int((deadline or 0) * 1000),
        "mission": task.mission,
        "context": context,
    }


async def rounds(ctx: TaskContext, task: Task, state: str) -> int:
    """How many times the task entered `state`: the round number of its asks and messages,
    derived from stored moves so a restart counts the same."""
    return sum(1 for move in await ctx.tasks.moves(task.id) if move.to_state == state)


async def left_at(ctx: TaskContext, task: Task, state: str) -> float | None:
    """When the task last left `state` for another step of the workflow (None while it has
    not). A pause is no leaving: what arrives while a task is paused still counts."""
    times = [
        m.at
        for m in await ctx.tasks.moves(task.id)
        if m.from_state == state and m.to_state != "paused"
    ]
    return times[-1] if times else None


async def last_reason(ctx: TaskContext, task: Task) -> tuple[str, str, str]:
    """(from_state, actor, reason) of the move that brought the task where it is."""
    moves = await ctx.tasks.moves(task.id)
    if not moves:
        return "", "", ""
    last = moves[-1]
    return last.from_state or "", last.actor, last.reason


async def wait_for(ctx: TaskContext, task: Task, what: str, seconds: float) -> Task:
    """Starts a wait (stored deadline) unless the task already waits for exactly `what`:
    a restart keeps the deadline it had, and an expired one is seen as expired."""
    if task.waiting_for == what and task.deadline is not None:
        return task
    updated = await ctx.tasks.update(
        task.id,
        expect_state=task.state,
        now=ctx.clock(),
        waiting_for=what,
        deadline=ctx.clock() + seconds,
    )
    return updated or task


def expired(ctx: TaskContext, task: Task) -> bool:
    return task.deadline is not None and ctx.clock() >= task.deadline


def answer_text(answer: Answer) -> str:
    """An answer's text without its "#12 💡 " context prefix."""
    return _PREFIX.sub("", answer.text, count=1).strip()


def by_agent(answers: Sequence[Answer]) -> dict[str, Answer]:
    return {a.agent: a for a in answers}


def ok(answers: Sequence[Answer]) -> list[Answer]:
    return [a for a in answers if a.status == "ok"]


def failures(
    ctx: TaskContext, asked: Sequence[str], answers: Sequence[Answer], waited: float
) -> list[tuple[str, str]]:
    """(display name, reason) of each asked agent that failed ("quota exhausted") or was
    silent ("no answer within 3 min")."""
    got = by_agent(answers)
    out = []
    for name in asked:
        answer = got.get(name)
        if answer is None:
            out.append((display(ctx, name), render.no_answer_reason(waited)))
        elif answer.status != "ok":
            out.append((display(ctx, name), answer.text or "failed"))
    return out


def minutes(seconds: float) -> str:
    """ "3 min", "45 s", "1 h": how long a wait is, as the master reads it."""
    if seconds < 90:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")
