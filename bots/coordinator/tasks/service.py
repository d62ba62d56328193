"""`TaskService`: the one entry point for tasks, the commands' operations, and the events
that move tasks (agents' answers, poll responses, reactions, execution results).

Every event is stored as a fact (idempotently, under the task's lock) and then the task is
driven; events arrive unclaimed, so one seen again after a restart changes nothing. A tick
drives tasks whose deadline passed, and `resume()` drives every active task at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, cast

from bots.agents.spend_caps import at_task_cap
from bots.background import came_first, every
from bots.context import BotContext
from bots.coordinator.tasks import approval, outside, reporting, running
from bots.coordinator.tasks import minutes as task_minutes
from bots.coordinator.tasks.common import display
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.driver import TaskDriver
from bots.coordinator.tasks.facts import answer_of, keep
from bots.errors import CommandError
from bots.events import POLL_RESPONSE, POLL_RESPONSE_STABLE
from bots.execution.requests import RESULT_EVENT
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.store.tasks import Task, Vote
from bots.tasks.intake import Priority, TaskMode, TaskOrder
from bots.tasks.polls import read_poll_response
from bots.tasks.states import FINAL_STATES, TaskState

log = logging.getLogger(__name__)

EXEC_RESULT = RESULT_EVENT
TICK_SECONDS = 1.0
VOTE_POLLS = ("poll-1", "tie-ask")
"""The actions whose events are polls: the vote, and the judge's tie-break."""
ExecResults = Callable[[TaskContext, RoomEvent], Awaitable[int | None]]
"""Part E2's `running.on_exec_result`: stores a result, returns its task's id."""
StopRunning = Callable[[TaskContext, Task], Awaitable[object]]
"""Part E2's `running.stop_running`: cancels a task's sent-but-unfinished requests."""
TASK_EVENT_TYPES = frozenset({POLL_RESPONSE, POLL_RESPONSE_STABLE, "m.reaction", EXEC_RESULT})
"""The events the coordinator's dispatcher hands the task service."""


class TaskService:
    """One per coordinator bot. Operations return a short text for the room or raise
    `CommandError` with one."""

    def __init__(
        self,
        ctx: TaskContext,
        *,
        exec_results: ExecResults | None = running.on_exec_result,
        stop_running: StopRunning | None = running.stop_running,
    ) -> None:
        self.ctx = ctx
        self.driver = TaskDriver(ctx)
        self.minutes = task_minutes.TaskMinutes(ctx, self.driver.lock)
        self._exec_results = exec_results
        self._stop_running = stop_running
        self._retry: set[int] = set()

    @classmethod
    def for_bot(cls, bot: BotContext, **hooks: Any) -> TaskService:
        """The coordinator's engine on its context: all a runtime (or a test) needs; then
        `run_background(synced, stop)` once the bot syncs."""
        return cls(TaskContext(bot), **hooks)

    # --- intake ------------------------------------------------------------------------

    async def intake(
        self,
        order: TaskOrder,
        *,
        requester: UserID,
        source: str,
        room_id: RoomID,
        thread_root: EventID | None,
        intake_key: str,
    ) -> Task:
        """THE one entry point (commands, HTTP bridge, scheduler, voice): the task, new or
        the one this `intake_key` already made; its acknowledgement is on its way. Without
        a `thread_root` (not from Matrix) the acknowledgement becomes the thread's root."""
        task, created = await self.ctx.tasks.create(
            intake_key=intake_key,
            room_id=room_id,
            thread_root=thread_root,
            mission=order.mission,
            priority=order.priority,
            requester=requester,
            source=source,
            now=self.ctx.clock(),
            mode=order.mode or "council",
            critique=order.critique,
        )
        if created:
            log.info("task #%d from %s (%s): %s", task.id, requester, source, order.mission[:80])
        return await self.drive(task.id) or task

    # --- operations (the commands) -------------------------------------------------------

    async def approve(
        self, n: int, by: UserID, event_id: EventID | None, *, plan_event: EventID | None = None
    ) -> str:
        async with self.driver.lock(n):
            task = await self._task(n)
            text = await approval.approve(self.ctx, task, by, event_id, plan_event=plan_event)
        await self.drive(n)
        return text

    async def deny(
        self,
        n: int,
        by: UserID,
        reason: str,
        event_id: EventID | None,
        *,
        plan_event: EventID | None = None,
    ) -> str:
        async with self.driver.lock(n):
            task = await self._task(n)
            text = await approval.deny(self.ctx, task, by, reason, event_id, plan_event=plan_event)
        await self.drive(n)
        return text

    async def cancel(self, n: int, by: UserID) -> str:
        async with self.driver.lock(n):
            task = await self._task(n)
            if task.state in FINAL_STATES:
                raise CommandError(f"#{n} has already {_ended(task)}")
            moved = await self.ctx.move(task, "cancelled", actor=by, reason=f"cancelled by {by}")
            if moved is None:
                raise CommandError(f"#{n} moved on meanwhile; try again")
            if task.state in ("running", "fixing") and self._stop_running is not None:
                await self._stop_running(self.ctx, moved)
        await self.drive(n)
        return f"#{n} 🛑 Cancelled."

    async def pause(self, n: int, by: UserID) -> str:
        async with self.driver.lock(n):
            task = await self._task(n)
            if task.state in FINAL_STATES or task.state == "paused":
                raise CommandError(f"#{n} is {task.state}: nothing to pause")
            if await self.ctx.move(task, "paused", actor=by, reason=f"paused by {by}") is None:
                raise CommandError(f"#{n} moved on meanwhile; try again")
        return f"#{n} ⏸️ Paused while {task.state.replace('_', ' ')}; !resume {n} to go on."

    async def resume(self, n: int | None = None, by: UserID | None = None) -> str:
        """`resume(n, by)`: `!resume N`. `resume()`: drive every active task (at start, after
        a restart: waits that expired meanwhile are handled as expired). One name for both,
        as the design has it."""
        if n is None:
            tasks = await self.ctx.tasks.active()
            ids = sorted({t.id for t in tasks} | set(await reporting.unreported(self.ctx)))
            ids = sorted({*ids, *await task_minutes.unfinished(self.ctx)})
            for task_id in ids:
                await self.drive(task_id)
            talks = await self.minutes.discussions.due()  # a discussion's minutes asked
            return f"{len(ids)} tasks taken up" + (
                f", {len(talks)} discussions' minutes written" if talks else ""
            )
        async with self.driver.lock(n):
            task = await self._task(n)
            if task.state != "paused" or task.paused_from is None:
                raise CommandError(f"#{n} is {task.state}, not paused")
            back = cast(TaskState, task.paused_from)
            moved = await self.ctx.move(task, back, actor=str(by), reason=f"resumed by {by}")
            if moved is None:
                raise CommandError(f"#{n} moved on meanwhile; try again")
        await self.drive(n)
        return f"#{n} ▶️ Resumed ({back.replace('_', ' ')})."

    async def retry(self, n: int, by: UserID) -> str:
        """A failed or cancelled task again, as a new task in the same thread."""
        task = await self._task(n)
        if task.state not in ("failed", "cancelled"):
            raise CommandError(f"#{n} is {task.state}: only a failed or cancelled task is retried")
        mode: TaskMode | None = "split" if task.mode == "split" else None  # splits again
        order = TaskOrder(
            task.mission, cast(Priority, task.priority), mode=mode, critique=task.critique
        )  # an ordered `critique:` / `no critique:` holds for the retry too
        again = await self.intake(
            order,
            requester=by,
            source="retry",
            room_id=task.room_id,
            thread_root=task.thread_root,
            intake_key=f"retry/{n}/{int(self.ctx.clock() * 1000)}",
        )
        return f"#{again.id} 🔁 Task #{n} again, as #{again.id}."

    async def assign(self, n: int, agent: str, by: UserID) -> str:
        """`!assign N agent`: no proposals and no vote; that agent plans. An agent of the
        HTTP bridge takes the task as its own claim would (issue 18)."""
        outside_name = self._bridge_agent_named(agent)
        if outside_name is not None:
            task = await self.claim_outside(n, outside_name, by)
            shown = outside.outside_agent(self.ctx, outside_name)
            return f"#{task.id} 👉 Assigned to {shown}: it works on it outside Matrix."
        name = self._agent_named(agent)
        async with self.driver.lock(n):
            task = await self._task(n)
            if task.state == "pending":
                moved = await self.ctx.tasks.update(
                    n, expect_state="pending", now=self.ctx.clock(), assigned=name
                )
            elif task.state in ("discussing", "critiquing", "voting"):
                moved = await self.ctx.move(
                    task, "planning", actor=by, reason=f"assigned to {name}", assigned=name
                )
            else:
                raise CommandError(
                    f"#{n} is {task.state.replace('_', ' ')}: a task is assigned before its plan"
                )
            if moved is None:
                raise CommandError(f"#{n} moved on meanwhile; try again")
        await self.drive(n)
        return f"#{n} 👉 Assigned to {display(self.ctx, name)}: it writes the plan."

    async def claim_outside(self, n: int, agent: str, by: UserID) -> Task:
        """An external agent (the HTTP bridge) takes task N, as `!assign` would give it;
        `CommandError` when it is taken, ended or past its plan."""
        async with self.driver.lock(n):
            task = await outside.claim(self.ctx, await self._task(n), agent, by)
        return await self.drive(n) or task

    async def complete_outside(self, n: int, agent: str, result: str, by: UserID) -> Task:
        """The external agent that claimed task N reports its result: the task completes
        and the report says the result."""
        async with self.driver.lock(n):
            task = await outside.complete(self.ctx, await self._task(n), agent, result, by)
        return await self.drive(n) or task

    async def set_priority(self, n: int, priority: Priority, by: UserID) -> str:
        async with self.driver.lock(n):
            task = await self._task(n)
            if task.state in FINAL_STATES:
                raise CommandError(f"#{n} has already {_ended(task)}")
            done = await self.ctx.tasks.update(
                n, expect_state=task.state, now=self.ctx.clock(), priority=priority
            )
            if done is None:
                raise CommandError(f"#{n} moved on meanwhile; try again")
        await self.tick()
        return f"#{n} Priority {priority}."

    # --- events in -----------------------------------------------------------------------

    async def on_task_message(self, message: Message, bot: BotContext) -> list[Reply]:
        """An agent's answer to an ask: stored once per (ask, agent), then the task driven."""
        if await self.minutes.on_discussion_answer(message):
            return []
        answer = answer_of(self.ctx, message)
        if answer is None:
            return []
        task_id = answer.task_id
        async with self.driver.lock(task_id):
            if await self.ctx.tasks.get(task_id) is None:
                return []
            await keep(f"the answer {message.event_id}", partial(self.ctx.tasks.add_answer, answer))
            if answer.status == "failed" and at_task_cap(answer.text):
                await self._pause_at_cap(task_id)
        await self.drive(task_id)
        return []

    async def _pause_at_cap(self, n: int) -> None:
        """A task whose spend cap stopped a call waits for the master (the agent alerted
        him once): paused, so `!resume` after `!budget N +0.50` goes on (stored: restart-safe)."""
        task = await self._task(n)
        if task.state not in FINAL_STATES and task.state != "paused":
            await self.ctx.move(task, "paused", actor="spend ledger", reason="its spend cap")

    async def on_event(self, event: RoomEvent, bot: BotContext) -> list[Reply]:
        """Poll responses, reactions on a plan, execution results."""
        if event.type in (POLL_RESPONSE, POLL_RESPONSE_STABLE):
            await self._on_vote(event)
        elif event.type == "m.reaction":
            return await self._on_reaction(event)
        elif event.type == EXEC_RESULT and self._exec_results is not None:
            task_id = await self._exec_results(self.ctx, event)
            if task_id is not None:
                await self.drive(task_id)
        return []

    async def _on_vote(self, event: RoomEvent) -> None:
        vote = read_poll_response(event)
        if vote is None:
            return
        await self.vote(vote.poll_event, vote.voter, vote.key, event.event_id, vote.at_ms)

    async def vote(
        self, poll_event: EventID, voter: UserID, key: str, event_id: EventID, at_ms: int
    ) -> int | None:
        """A vote on a task's poll (a poll response, or the master's `!vote`, typed or
        spoken), kept and acted on; the task's number, None when no active task owns the poll."""
        for task in await self.ctx.tasks.active():
            polls = [await self.ctx.tasks.action_done(task.id, k) for k in VOTE_POLLS]
            if poll_event not in polls:
                continue
            fact = Vote(task.id, poll_event, voter, key, event_id, at_ms)
            async with self.driver.lock(task.id):
                await keep(f"the vote {event_id}", partial(self.ctx.tasks.add_vote, fact))
            await self.drive(task.id)
            return task.id
        return None

    async def open_vote(self, room_id: RoomID, thread_root: EventID | None) -> EventID | None:
        """The poll of the task vote open in this thread (the vote, or the judge's
        tie-break), the newest when there are two; None when no task votes there."""
        for task in reversed(await self.ctx.tasks.active()):
            if task.room_id != room_id or task.thread_root != thread_root:
                continue
            if task.state != "voting":
                continue
            for key in reversed(VOTE_POLLS):
                poll = await self.ctx.tasks.action_done(task.id, key)
                if poll is not None:
                    return poll
        return None

    async def _on_reaction(self, event: RoomEvent) -> list[Reply]:
        target = event.reacts_to
        relates = event.content.get("m.relates_to")
        key = (
            approval.emoji_key(str(relates.get("key", ""))) if isinstance(relates, Mapping) else ""
        )
        if target is None or key not in (approval.APPROVE, approval.DENY):
            return []
        found = [
            t
            for t in await self.ctx.tasks.active()
            if t.state == "awaiting_approval" and t.plan_event == target
        ]
        if not found:
            return []
        task = found[0]
        try:
            if key == approval.APPROVE:
                text = await self.approve(task.id, event.sender, event.event_id, plan_event=target)
            else:
                text = await self.deny(
                    task.id,
                    event.sender,
                    f"{approval.DENY} on the plan",
                    event.event_id,
                    plan_event=target,
                )
        except CommandError as exc:
            log.info("reaction %s on #%d not taken: %s", event.event_id, task.id, exc)
            return []
        reply = Reply(
            room_id=task.room_id,
            body=text,
            thread_root=task.thread_root,
            key=f"{event.event_id}/task",
        )
        return [reply]

    # --- driving -------------------------------------------------------------------------

    async def drive(self, task_id: int) -> Task | None:
        """Drives one task; a failure (the homeserver away) is logged and retried on the next
        tick. A task that ended or paused frees a slot: waiting tasks are driven then."""
        try:
            task = await self.driver.drive(task_id)
        except Exception:
            log.exception("driving task #%d failed; trying again on the next tick", task_id)
            self._retry.add(task_id)
            return await self.ctx.tasks.get(task_id)
        self._retry.discard(task_id)
        if task is not None and task.state in FINAL_STATES:
            # The scribe's answer, a wait run out, a restart between report and ask.
            await self.minutes.drive(task_id, start=self.ctx.settings.minutes)
        if task is not None and (task.state in FINAL_STATES or task.state == "paused"):
            await self._admit_waiting()
        return task

    async def _admit_waiting(self) -> None:
        """A slot may be free: the waiting tasks, in the order admission takes them."""
        for task in await self.ctx.tasks.list(["pending"], limit=100):
            try:
                await self.driver.drive(task.id)
            except Exception:
                log.exception("admitting task #%d failed; trying again on the next tick", task.id)
                self._retry.add(task.id)

    async def tick(self) -> None:
        """Every second: tasks past their deadline (a final one whose report waits for a
        `refine` answer too), tasks a failure left, waiting tasks."""
        now = self.ctx.clock()
        due = {t.id for t in await self.ctx.tasks.due(now)} | set(self._retry)
        due |= set(await reporting.unreported(self.ctx, now))  # a final task is never due
        due |= set(await task_minutes.unfinished(self.ctx, now))  # nor is one whose minutes wait
        due |= {t.id for t in await self.ctx.tasks.list(["pending"], limit=100)}
        for task_id in sorted(due):
            await self.drive(task_id)
        await self.minutes.discussions.due(now)  # a discussion's minutes answered or late

    async def run_background(
        self,
        synced: asyncio.Event,
        stop: asyncio.Event,
        caught_up: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Once synced and `caught_up` (the answers and votes that came while the bot was
        down are stored first, so a wait that ran out meanwhile is judged with them): drive
        every active task (restart), then tick until `stop`."""
        if not await came_first(synced, stop):
            return
        if caught_up is not None:
            await caught_up()
        try:
            log.info("tasks: %s", await self.resume())
        except Exception:
            log.exception("taking up the active tasks failed; the tick will retry them")
        await every(TICK_SECONDS, self.tick, "the task tick", synced, stop, None)

    # --- helpers -------------------------------------------------------------------------

    async def _task(self, n: int) -> Task:
        task = await self.ctx.tasks.get(n)
        if task is None:
            raise CommandError(f"there is no task #{n}; !tasks lists them")
        return task

    def _bridge_agent_named(self, agent: str) -> str | None:
        wanted = agent.strip().lstrip("@").casefold()
        for one in self.ctx.bot.settings.bridge.agents:
            names = {one.name, one.account.localpart, one.account.display_name}
            if wanted in {n.casefold() for n in names if n}:
                return one.name
        return None

    def _agent_named(self, agent: str) -> str:
        wanted = agent.strip().lstrip("@").casefold()
        for one in self.ctx.bot.settings.agents:
            names = {
                one.name,
                one.account.localpart,
                one.account.display_name,
                *one.account.aliases,
            }
            if wanted in {n.casefold() for n in names if n}:
                return one.name
        known = ", ".join(a.name for a in self.ctx.bot.settings.agents) or "none"
        raise CommandError(f"no agent named {agent!r}; agents: {known}")


def _ended(task: Task) -> str:
    return {"completed": "completed", "failed": "failed", "cancelled": "been cancelled"}.get(
        task.state, task.state
    )
