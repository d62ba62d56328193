"""The master's task commands: `!task`, `!tasks`, `!approve N` … `!stats`, parsed here.

A handler only reads its arguments and hands them to the task engine (`TaskService`) or the
store; what a task does lives there. Arguments are read by small pure functions, so every
usage error is a `CommandError` with an example, tested as a table. `!task 12` only reads:
the router gives it to `!tasks 12`, so anyone who may list tasks may see one (`!task` itself
is the master's). A task number may be followed by punctuation (`!deny 12: too risky`), and a
bare `!approve` / `!deny [reason]` replying to a plan message answers that plan.

`!retry N` (the engine's `retry`): a failed or cancelled task never moves again, so it starts
again as a new task with the same mission and priority, in the same thread, from the
proposals: the approach that failed gets no automatic second run, and `!assign M <agent>`
right after skips the vote when the master wants the same planner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar
from zoneinfo import ZoneInfo

from bots.coordinator.task_stats import stats_command
from bots.coordinator.task_views import LIST_LIMIT, status_view, task_lines
from bots.errors import CommandError
from bots.ids import EventID, RoomID, UserID
from bots.message import Reply
from bots.routing.addressing import Identity
from bots.routing.commands import CommandRequest, CommandSpec, Handler
from bots.routing.router import replies_with_verdict, task_reference
from bots.settings.model import AgentSettings, BridgeAgentSettings
from bots.tasks.intake import (
    PRIORITIES,
    Priority,
    TaskOrder,
    TaskRefusal,
    parse_priority,
    parse_task_ref,
    parse_task_text,
)
from bots.tasks.render_status import task_list, task_status
from bots.tasks.states import FINAL_STATES, STATES

Assignee = AgentSettings | BridgeAgentSettings
"""Who `!assign` may name: an LLM agent, or an agent of the HTTP bridge."""
A = TypeVar("A", bound=Assignee)

if TYPE_CHECKING:
    from bots.store.tasks import Task

NO_REASON = "no reason given"


class TaskIntake(Protocol):
    """Taking an order in and calling it off: all the scheduler asks of the task engine."""

    async def intake(
        self,
        order: TaskOrder,
        *,
        requester: UserID,
        source: str,
        room_id: RoomID,
        thread_root: EventID | None,
        intake_key: str,
    ) -> Task: ...

    async def cancel(self, n: int, by: UserID) -> str: ...


class TaskOps(TaskIntake, Protocol):
    """What the commands ask of the task engine (`bots.coordinator.tasks.TaskService`).
    Each call returns a short text for the room or raises `CommandError` with one."""

    async def approve(
        self, n: int, by: UserID, event_id: EventID | None, *, plan_event: EventID | None = None
    ) -> str: ...

    async def deny(
        self,
        n: int,
        by: UserID,
        reason: str,
        event_id: EventID | None,
        *,
        plan_event: EventID | None = None,
    ) -> str: ...

    async def pause(self, n: int, by: UserID) -> str: ...

    async def resume(self, n: int, by: UserID) -> str: ...

    async def retry(self, n: int, by: UserID) -> str: ...

    async def assign(self, n: int, agent: str, by: UserID) -> str: ...

    async def set_priority(self, n: int, priority: Priority, by: UserID) -> str: ...


# --- arguments ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """`!tasks`: the states to list (None: every task) and how the list is named."""

    states: frozenset[str] | None
    label: str


def read_task(args: str, *, max_chars: int) -> int | TaskOrder:
    """`!task`: a task number (`12`, `#12`) shows that task; anything else is a mission."""
    number = parse_task_ref(args)
    if number is not None:
        return number
    order = parse_task_text(args, max_chars=max_chars)
    if isinstance(order, TaskRefusal):
        raise CommandError(order.text)
    return order


def read_number(command: str, args: str) -> int:
    """The one argument of `!approve 12`, `!cancel #12`, `!pause 12.` …"""
    words = args.split()
    if not words:
        raise CommandError(f"Which task? Send its number, e.g. !{command} 12.")
    number, rest = _reference(args, f"!{command} 12")
    if rest:
        raise CommandError(f"!{command} takes only a task number, e.g. !{command} {number}.")
    return number


def read_deny(args: str) -> tuple[int, str]:
    """`!deny 12 <reason>` (or `!deny 12: <reason>`, `!deny #12 — <reason>`): the reason goes
    back to the planner; it may be left out."""
    if not args.strip():
        raise CommandError("Which task? Send its number and why, e.g. !deny 12 too risky.")
    number, reason = _reference(args, "!deny 12 too risky")
    return number, reason or NO_REASON


def read_assign(args: str, agents: Sequence[Assignee], server_name: str) -> tuple[int, str]:
    """`!assign 12 claude`: the agent by name, display name or alias; its configured name.
    `agents` may hold the HTTP bridge's external agents too (issue 18)."""
    words = args.split()
    example = f"!assign 12 {agents[0].name}" if agents else "!assign 12 claude"
    if not words:
        raise CommandError(f"Which task, and which agent plans it? e.g. {example}.")
    number = _number(words[0], example)
    if len(words) == 1:
        raise CommandError(
            f"Which agent plans #{number}? e.g. !assign {number} {_first(agents)}. "
            f"Agents: {_agent_names(agents)}."
        )
    word = " ".join(words[1:])
    agent = agent_named(word, agents, server_name)
    if agent is None:
        raise CommandError(
            f'No agent is called "{word}". Agents: {_agent_names(agents)}; '
            f"e.g. !assign {number} {_first(agents)}."
        )
    return number, agent.name


def read_priority(args: str) -> tuple[int, Priority]:
    """`!priority 12 high` (or 긴급 / 보통 / 낮음)."""
    words = args.split()
    if not words:
        raise CommandError("Which task, and which priority? e.g. !priority 12 high.")
    number = _number(words[0], "!priority 12 high")
    priority = parse_priority(words[1]) if len(words) == 2 else None
    if priority is None:
        raise CommandError(
            f"A priority is {', '.join(PRIORITIES[:-1])} or {PRIORITIES[-1]}, "
            f"e.g. !priority {number} high."
        )
    return number, priority


def read_listing(args: str) -> int | Listing:
    """`!tasks` (the active ones), `!tasks all`, `!tasks failed`; `!tasks 12` shows #12."""
    word = args.strip().lower()
    number = parse_task_ref(word)
    if number is not None:
        return number
    if word in ("", "active"):
        return Listing(frozenset(STATES) - FINAL_STATES, "active")
    if word == "all":
        return Listing(None, "all")
    if word in STATES:
        return Listing(frozenset({word}), word)
    if word.startswith("#") or word.isdigit():
        raise CommandError(f'"{args.strip()}" is not a task number, e.g. !tasks 12.')
    raise CommandError(
        f'No task state is called "{args.strip()}". Use active (the default), all, or one of: '
        f"{', '.join(STATES)}; e.g. !tasks failed."
    )


def agent_named(word: str, agents: Sequence[A], server_name: str) -> A | None:
    """The agent `word` names: its configured name, display name, user id or an alias, in
    any case, with `@` or a Korean particle as in conversation ("클로드")."""
    word = word.strip().rstrip(",:.")
    if word.startswith("@") and ":" in word:
        word = word.split(":", 1)[0]
    for agent in agents:
        if word.lower() == agent.name.lower():
            return agent
        identity = Identity(
            UserID(f"@{agent.account.localpart}:{server_name}"),
            agent.account.display_name,
            agent.account.aliases,
        )
        if identity.pattern.fullmatch(word):
            return agent
    return None


def _reference(args: str, example: str) -> tuple[int, str]:
    """The task number `args` starts with (`12`, `#12`, `12:` …) and the text after it."""
    found = task_reference(args)
    if found is None or parse_task_ref(str(found[0])) is None:
        raise CommandError(
            f'"{args.split()[0]}" is not a task number. Send it like this: {example}.'
        )
    return found


def _number(word: str, example: str) -> int:
    number = parse_task_ref(word)
    if number is None:
        raise CommandError(f'"{word}" is not a task number. Send it like this: {example}.')
    return number


def _agent_names(agents: Sequence[Assignee]) -> str:
    return ", ".join(a.account.display_name for a in agents) or "none configured"


def _first(agents: Sequence[Assignee]) -> str:
    return agents[0].name if agents else "claude"


# --- handlers -------------------------------------------------------------------------


class TaskCommands:
    """The handlers, bound to one coordinator's task engine."""

    def __init__(self, ops: TaskOps, clock: Callable[[], float] = time.time) -> None:
        self.ops = ops
        self._clock = clock

    async def task(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        parsed = read_task(request.args, max_chars=request.bot.settings.tasks.max_mission_chars)
        if isinstance(parsed, int):
            return await self.show(request, parsed)
        # A task runs in a thread rooted at its order; an order sent inside a thread keeps
        # to that thread (a thread has no threads).
        root = message.thread_root or message.event_id
        task = await self.ops.intake(
            parsed,
            requester=message.sender,
            source="matrix",
            room_id=message.room_id,
            thread_root=root,
            intake_key=message.event_id,
        )
        if message.thread_root is None:
            return []  # the engine's acknowledgement opens the thread
        return [
            Reply.answering(
                message,
                f"#{task.id} runs in this thread: the order was sent inside one, "
                "so it does not get a thread of its own.",
            )
        ]

    async def tasks(self, request: CommandRequest) -> list[Reply]:
        listing = read_listing(request.args)
        if isinstance(listing, int):
            return await self.show(request, listing)
        store = request.bot.store.tasks
        if listing.label == "active":
            found = await store.active()  # most urgent first, the order they are taken in
            more = f"… and {len(found) - LIST_LIMIT} more"
        else:
            found = await store.list(listing.states, limit=LIST_LIMIT + 1)
            more = "… and older ones"
        state = None if listing.label == "all" else listing.label
        body, html = task_list(task_lines(found), state=state)
        if len(found) > LIST_LIMIT:
            body += f"\n{more}"
            html += f"<p>{more}</p>"
        return [Reply.answering(request.message, body, html=html)]

    async def show(self, request: CommandRequest, number: int) -> list[Reply]:
        """`!task N`, `!tasks N`: open to whoever may list tasks."""
        bot = request.bot
        task = await bot.store.tasks.get(number)
        if task is None:
            raise CommandError(f"There is no task #{number}. !tasks all lists them.")
        moves = await bot.store.tasks.moves(number)
        steps = await bot.store.tasks.steps(number)
        names = {agent.name: agent.account.display_name for agent in bot.settings.agents}
        parts = await bot.store.parts.of(number)
        body, html = task_status(
            status_view(task, moves, steps, names, parts),
            now=self._clock(),
            tz=ZoneInfo(bot.settings.timezone),
        )
        return [Reply.answering(request.message, body, html=html)]

    async def approve(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        if replies_with_verdict("approve", request.args, message):
            return await self._on_plan(request, "approve", "")
        number = read_number("approve", request.args)
        return self._said(request, await self.ops.approve(number, message.sender, message.event_id))

    async def deny(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        if replies_with_verdict("deny", request.args, message):
            return await self._on_plan(request, "deny", request.args.strip() or NO_REASON)
        number, reason = read_deny(request.args)
        said = await self.ops.deny(number, message.sender, reason, message.event_id)
        return self._said(request, said)

    async def _on_plan(self, request: CommandRequest, verdict: str, reason: str) -> list[Reply]:
        """A bare `!approve` / `!deny [reason]` replying to a task's plan message: that plan,
        and only while it is the one waiting. A reply to anything else is not the
        coordinator's to answer unless it replied to the coordinator's own message (else it
        may be the executor's prompt, which the executor answers)."""
        message = request.message
        assert message.reply_to is not None  # replies_with_verdict
        task = await request.bot.store.tasks.by_plan_event(message.reply_to)
        if task is None:
            if message.reply_to_sender != request.bot.identity.user_id:
                return []
            raise CommandError(
                f"That message is not a task's plan. Reply to the plan (or tap ✅ or ❌ on it), "
                f"or name the task: !{verdict} 12."
            )
        by, event, plan = message.sender, message.event_id, message.reply_to
        if verdict == "approve":
            said = await self.ops.approve(task.id, by, event, plan_event=plan)
        else:
            said = await self.ops.deny(task.id, by, reason, event, plan_event=plan)
        return self._said(request, said)

    async def cancel(self, request: CommandRequest) -> list[Reply]:
        number = read_number("cancel", request.args)
        return self._said(request, await self.ops.cancel(number, request.message.sender))

    async def pause(self, request: CommandRequest) -> list[Reply]:
        number = read_number("pause", request.args)
        return self._said(request, await self.ops.pause(number, request.message.sender))

    async def resume(self, request: CommandRequest) -> list[Reply]:
        number = read_number("resume", request.args)
        return self._said(request, await self.ops.resume(number, request.message.sender))

    async def retry(self, request: CommandRequest) -> list[Reply]:
        number = read_number("retry", request.args)
        return self._said(request, await self.ops.retry(number, request.message.sender))

    async def assign(self, request: CommandRequest) -> list[Reply]:
        settings = request.bot.settings
        agents: tuple[Assignee, ...] = (*settings.agents, *settings.bridge.agents)
        number, agent = read_assign(request.args, agents, settings.homeserver.server_name)
        said = await self.ops.assign(number, agent, request.message.sender)
        return self._said(request, said)

    async def priority(self, request: CommandRequest) -> list[Reply]:
        number, priority = read_priority(request.args)
        said = await self.ops.set_priority(number, priority, request.message.sender)
        return self._said(request, said)

    @staticmethod
    def _said(request: CommandRequest, text: str) -> list[Reply]:
        return [Reply.answering(request.message, text)] if text else []

    def specs(self) -> list[CommandSpec]:
        """The commands as `!help` lists them: short enough for one line on a phone."""
        table: list[tuple[str, str, Handler, str]] = [
            ("task", "give the council a task (or show one: !task 12)", self.task, "<mission>"),
            ("tasks", "tasks in work; or all, or one state", self.tasks, "[state|all]"),
            ("approve", "run task N's plan as shown", self.approve, "N"),
            ("deny", "send task N's plan back, saying why", self.deny, "N [reason]"),
            ("cancel", "stop task N, running steps too", self.cancel, "N"),
            ("pause", "hold task N where it is", self.pause, "N"),
            ("resume", "go on with a paused task N", self.resume, "N"),
            ("retry", "a failed or cancelled task again, as a new one", self.retry, "N"),
            ("assign", "skip the vote: this agent plans task N", self.assign, "N <agent>"),
            ("priority", "set task N's priority", self.priority, "N high|medium|low"),
        ]
        specs = [CommandSpec(name, summary, run, usage) for name, summary, run, usage in table]
        return [*specs, stats_command(self._clock)]
