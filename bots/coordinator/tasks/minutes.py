"""Minutes: the scribe writes them when a task ends (`tasks.minutes`) or when `!minutes`
asks; its answer in the task's thread is the minutes' text, and the coordinator follows it
with only what it lacks (the decision and the status report computed from the records),
and stores the whole (searchable, `!minutes N`).

A task's minutes follow the reconcile pattern: the ask (`minutes-ask`, ask id
`t{N}-minutes-1`) and the post (`minutes`) are actions recorded once; the wait for the
scribe is the task's stored deadline, so a restart finishes what was asked and not posted
(`unfinished`, driven by the service's tick and resume). A silent or failed scribe still
gives minutes: the facts alone, saying why.

A discussion's minutes (`!minutes` outside a task thread) are `minutes_discussion`'s: the
ask is stored, so they too are finished after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import (
    answer_text,
    ask_object,
    by_agent,
    display,
    expired,
    in_thread,
    minutes,
    wait_for,
)
from bots.coordinator.tasks.minutes_discussion import DiscussionMinutes
from bots.coordinator.tasks.minutes_facts import task_facts
from bots.errors import CommandError
from bots.message import Message, Reply
from bots.tasks.minutes import (
    MINUTES_EMOJI,
    Minutes,
    decision_record,
    minutes_body,
    minutes_message,
    scribe_input,
    status_block,
    status_report,
    task_head,
)
from bots.tasks.states import FINAL_STATES

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.minutes import MinutesRecord
    from bots.store.tasks import Task

log = logging.getLogger(__name__)

ASK_KEY = "minutes-ask"
POST_KEY = "minutes"
REPORT_LINE_KEY = "report-line"
TAKEN_UP_SECONDS = 3600.0
"""At start, a task that ended this recently with minutes due but not asked is asked."""

Locker = Callable[[int], asyncio.Lock]


def minutes_ask(task: Task) -> str:
    return f"t{task.id}-minutes-1"


async def after_report(ctx: TaskContext, task: Task) -> None:
    """The reporting hook: once a task's report is sent, ask for its minutes when
    `tasks.minutes` is on (idempotent: the ask is an action recorded once)."""
    if ctx.settings.minutes:
        await follow_up(ctx, task, start=True)


async def follow_up(ctx: TaskContext, task: Task, *, start: bool = False) -> MinutesRecord | None:
    """Does the next thing the task's minutes need: ask (only with `start`), wait, post,
    store. The stored minutes once they are; None while there are none."""
    stored = await ctx.bot.store.minutes.for_task(task.id)
    if stored is not None or task.state not in FINAL_STATES:
        return stored
    posted = await ctx.tasks.action_done(task.id, POST_KEY)
    asked = await ctx.tasks.action_done(task.id, ASK_KEY)
    if (
        posted is None
        and asked is None
        and (not start or await ctx.tasks.action_done(task.id, REPORT_LINE_KEY) is None)
    ):
        return None  # not asked for, or the report is not out yet: minutes follow it
    scribe = ctx.bot.settings.task_scribe
    text, problem = "", ""
    if scribe is None:
        problem = "no agent is configured to write them (tasks.scribe)"
    else:
        name = display(ctx, scribe)
        seconds = ctx.settings.minutes_seconds
        if asked is None and posted is None:
            task = await wait_for(ctx, task, f"{name}'s minutes", seconds)
            facts = await task_facts(ctx, task)
            council = ask_object(
                task,
                minutes_ask(task),
                "minutes",
                [scribe],
                task.deadline,
                {"facts": scribe_input(facts)},
            )
            body = f"#{task.id} {MINUTES_EMOJI} Asking {name} for the minutes ({minutes(seconds)})."
            await ctx.send_once(task, ASK_KEY, in_thread(task, body, council=council))
        answer = by_agent(await ctx.tasks.answers(task.id, minutes_ask(task))).get(scribe)
        if answer is not None and answer.status == "ok" and answer_text(answer):
            text = answer_text(answer)
        elif answer is not None:
            problem = f"{name} could not write them: {answer.text or 'no reason given'}"
        elif posted is None and not expired(ctx, task):
            return None
        else:
            problem = f"{name} did not answer within {minutes(seconds)}"
    return await _post(ctx, task, scribe or "", text, problem)


async def _post(
    ctx: TaskContext, task: Task, scribe: str, text: str, problem: str
) -> MinutesRecord:
    facts = await task_facts(ctx, task)
    report = status_report(facts)
    shown = Minutes(
        task_head(task.id, task.mission),
        scribe_text=text,
        scribe_problem=problem,
        facts=tuple(scribe_input(facts)),
        record=decision_record(facts),
        status=report,
    )
    # The scribe's text is its own message in the thread already: the post adds the
    # decision and the status; the stored minutes are the whole.
    body, html = minutes_message(shown, scribe_posted=True)
    council = {"v": 1, "kind": "minutes", "task": task.id}
    reply = Reply(task.room_id, body, html=html, thread_root=task.thread_root, council=council)
    event_id = await ctx.send_once(task, POST_KEY, reply)
    record, _ = await ctx.bot.store.minutes.add(
        task_id=task.id,
        room_id=task.room_id,
        thread_root=task.thread_root,
        text=minutes_body(shown),
        status=status_block(report),
        author=scribe,
        event_id=event_id,
        now=ctx.clock(),
    )
    if task.waiting_for or task.deadline is not None:  # last: the tick finds what is left
        await ctx.tasks.update(
            task.id, expect_state=task.state, now=ctx.clock(), waiting_for="", deadline=None
        )
    return record


async def unfinished(ctx: TaskContext, now: float | None = None, limit: int = 50) -> list[int]:
    """Recent final tasks whose minutes are due and not stored, for the service to drive:
    asked and not posted (on the tick: only once their wait ran out by `now`), or posted
    and not stored (the wait is cleared only after the minutes are stored, so the tick
    sees those too); at start (`now` None) also those that ended in the last hour with
    minutes on but never asked (a restart between the report and the ask)."""
    store = ctx.bot.store.minutes
    ids = [
        task_id
        for task_id, deadline, posted in await store.awaited(
            asked_key=ASK_KEY, posted_key=POST_KEY, waiting_only=now is not None, limit=limit
        )
        if posted or now is None or (deadline is not None and deadline <= now)
    ]
    if now is None and ctx.settings.minutes:
        ids += await store.unasked(
            since=ctx.clock() - TAKEN_UP_SECONDS,
            reported_key=REPORT_LINE_KEY,
            keys=(ASK_KEY, POST_KEY),
            limit=limit,
        )
    return sorted(set(ids))


class TaskMinutes:
    """The minutes side of one coordinator's engine: what `!minutes` asks of it, and the
    discussions' minutes (`discussions`, driven by the service's tick and resume too)."""

    def __init__(self, ctx: TaskContext, lock: Locker) -> None:
        self.ctx = ctx
        self._lock = lock
        self.discussions = DiscussionMinutes(ctx)

    async def drive(self, task_id: int, *, start: bool = False) -> MinutesRecord | None:
        """`follow_up` under the task's lock; a failure is logged (the tick tries again)."""
        async with self._lock(task_id):
            task = await self.ctx.tasks.get(task_id)
            if task is None:
                return None
            try:
                return await follow_up(self.ctx, task, start=start)
            except Exception:
                log.exception("the minutes of task #%d failed; trying again later", task_id)
                return None

    async def for_task(self, n: int) -> tuple[str, MinutesRecord | None]:
        """`!minutes N`: the stored minutes, or what is being done about them (asking the
        scribe when nobody has yet)."""
        task = await self.ctx.tasks.get(n)
        if task is None:
            raise CommandError(f"There is no task #{n}. !tasks all lists them.")
        if task.state not in FINAL_STATES:
            facts = await task_facts(self.ctx, task)
            block = status_block(status_report(facts))
            return (
                f"#{n} is {task.state.replace('_', ' ')}: its minutes are written when it "
                f"ends. Status so far:\n{block}",
                None,
            )
        record = await self.drive(n, start=True)
        if record is not None:
            return record.text, record
        scribe = self.ctx.bot.settings.task_scribe
        who = display(self.ctx, scribe) if scribe else "the scribe"
        seconds = self.ctx.settings.minutes_seconds
        return (
            f"#{n} {MINUTES_EMOJI} {who} is writing the minutes; they come in the task's "
            f"thread within {minutes(seconds)}.",
            None,
        )

    async def discussion(self, message: Message) -> str:
        """`!minutes` outside a task's thread: the minutes of the room's (or this thread's)
        recent messages since its last minutes, through the scribe (`minutes_discussion`)."""
        return await self.discussions.start(message)

    async def on_discussion_answer(self, message: Message) -> bool:
        """The scribe's answer to a discussion's ask (task 0); True when it was one."""
        return await self.discussions.on_answer(message)
