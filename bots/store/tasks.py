"""The coordinator's tasks as records: what each order is, where it stands, what was done.

The store holds no workflow of its own: every move is checked against the one table of
moves, `bots.tasks.states` (pure), inside the transaction that makes it, so no caller can
write a move the workflow forbids. What the engine (`bots.coordinator.tasks`) gets from it is what
makes a drive safe to repeat after a crash or beside another drive:

- an intake key is a task once: the same order delivered twice is the same task;
- a state changes only through `move`, only from the state the caller read (compare and
  set), together with its `task_moves` row, in one transaction: of two racing moves one
  wins and the other writes nothing;
- every fact it waits on (an event sent, an answer, a vote, a step sent or finished) is
  written once under a stable key, so reading it back says what is already done.

Every write goes through the store's one `Writer` (`bots.store.connection`), which every
sub-store on the bots' connection shares: a transaction here holds its lock from `BEGIN` to
`COMMIT`, so no other sub-store's statement lands inside it (and is lost with a rollback).
Database errors leave as `StoreError`; a move the workflow forbids is a `TaskError`.
"""

from __future__ import annotations

import builtins
import contextlib
import json
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, TypedDict, Unpack

import aiosqlite

from bots.ids import EventID, RequestID, RoomID, TaskID, UserID
from bots.store.connection import Transaction, Writer, fetch_all
from bots.store.errors import converted
from bots.store.usage import UsageTotals
from bots.tasks.states import FINAL_STATES, TaskState, check_move

PAUSED: TaskState = "paused"

StepKind = Literal["main", "verify", "rollback"]


class TaskFields(TypedDict, total=False):
    """What `move` and `update` may set besides the state (which only `move` sets)."""

    thread_root: EventID | None
    waiting_for: str
    deadline: float | None
    winner: str | None
    assigned: str | None
    priority: str
    plan: str | None
    plan_digest: str | None
    plan_author: str | None
    plan_event: EventID | None
    approved_by: UserID | None
    approval_event: EventID | None
    attempt: int
    note: str
    mode: str
    critique: bool | None
    participants: str | None


_SETTABLE = frozenset(TaskFields.__annotations__)


@dataclass(frozen=True)
class Task:
    """One order. `winner` and `plan_author` are agent names; `plan` is the plan as JSON;
    `waiting_for` says in words what the task waits on (shown by `!task N`); `deadline`
    (epoch seconds) is when that wait runs out; `paused_from` is set only while paused."""

    id: int
    intake_key: str
    room_id: RoomID
    thread_root: EventID | None
    mission: str
    priority: str
    state: str
    paused_from: str | None
    requester: UserID
    source: str
    assigned: str | None
    winner: str | None
    attempt: int
    plan: str | None
    plan_digest: str | None
    plan_author: str | None
    plan_event: EventID | None
    approved_by: UserID | None
    approval_event: EventID | None
    waiting_for: str
    deadline: float | None
    note: str
    created_at: float
    updated_at: float
    finished_at: float | None
    mode: str = "council"
    """`council` (propose, vote, plan) or `split` (parts in parallel, then merged)."""
    critique: bool | None = None
    """A critique round before the vote: True/False as ordered, None as configured."""
    participants: str | None = None
    """The agents chosen to take part, as a JSON list; None: the configured participants."""

    @property
    def chosen(self) -> tuple[str, ...] | None:
        """`participants` read: the agents chosen for this task, None when none were."""
        if self.participants is None:
            return None
        names = json.loads(self.participants)
        return tuple(str(name) for name in names)

    @property
    def task_id(self) -> TaskID:
        """The id as execution requests carry it."""
        return TaskID(str(self.id))

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class Move:
    """One state change; the first of every task has `from_state` None (its creation)."""

    task_id: int
    seq: int
    from_state: str | None
    to_state: str
    actor: str
    reason: str
    at: float


@dataclass(frozen=True)
class Answer:
    """An agent's answer to one ask (`status` "ok" or "failed", with the reason as `text`)."""

    task_id: int
    ask: str
    agent: str
    stage: str
    status: str
    text: str
    event_id: EventID | None
    at: float
    choice: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


@dataclass(frozen=True)
class Vote:
    """A voter's poll response; only the latest (by `at_ms`, the event's origin time) is kept."""

    task_id: int
    poll_event: EventID
    voter: UserID
    choice: str
    event_id: EventID
    at_ms: int


@dataclass(frozen=True)
class StepRun:
    """One execution request of a plan step; `request_id` is the executor's idempotency key."""

    request_id: RequestID
    task_id: int
    attempt: int
    step: int
    kind: StepKind
    host: str
    command: str
    sent_at: float
    status: str = "sent"
    exit_status: int | None = None
    output: str | None = None
    result_event: EventID | None = None
    finished_at: float | None = None


@dataclass(frozen=True)
class AgentStats:
    """One agent over a period: answers given (and failed), tasks it won (and how many of
    those completed), tokens and cost of its task answers."""

    agent: str
    answers: int
    failed_answers: int
    wins: int
    wins_completed: int
    tokens: int
    cost: float


@dataclass(frozen=True)
class TaskStats:
    """Tasks created since `since`. `mean_seconds` and `mean_attempts` are over completed
    tasks (how long a result takes); None when none completed."""

    since: float
    count: int
    completed: int
    failed: int
    cancelled: int
    mean_seconds: float | None
    mean_attempts: float | None
    agents: tuple[AgentStats, ...]

    @property
    def active(self) -> int:
        return self.count - self.completed - self.failed - self.cancelled

    @property
    def success_rate(self) -> float | None:
        """Completed out of completed or failed: a task the master cancelled is neither."""
        decided = self.completed + self.failed
        return self.completed / decided if decided else None

    @property
    def cost(self) -> float:
        return sum(agent.cost for agent in self.agents)

    @property
    def tokens(self) -> int:
        return sum(agent.tokens for agent in self.agents)


_TASK_COLUMNS = ", ".join(field.name for field in fields(Task))
_ANSWER_COLUMNS = (
    "task_id, ask, agent, stage, status, text, event_id, at, choice, tokens_in, tokens_out, cost"
)
_VOTE_COLUMNS = "task_id, poll_event, voter, choice, event_id, at_ms"
_STEP_COLUMNS = ", ".join(field.name for field in fields(StepRun))
_PRIORITY_RANK = "CASE priority WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"
FINAL_SQL = "('completed', 'failed', 'cancelled')"
"""The final states in SQL (the minutes' queries read the tasks table too)."""


class TaskStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    # --- tasks -------------------------------------------------------------------------

    async def create(
        self,
        *,
        intake_key: str,
        room_id: RoomID,
        thread_root: EventID | None,
        mission: str,
        priority: str,
        requester: UserID,
        source: str,
        now: float,
        mode: str = "council",
        critique: bool | None = None,
    ) -> tuple[Task, bool]:
        """A new `pending` task with its first move, or the task this intake key already
        made (False): an order delivered twice (a replayed event, a retried HTTP call) is
        one task."""
        # Looked up first, not INSERT OR IGNORE: an ignored insert would still use up an
        # id, and the master would see #3 follow #1.
        async with self._transaction() as tx:
            found = await self._tasks("WHERE intake_key = ?", (intake_key,))
            if found:
                return found[0], False
            cursor = await tx.execute(
                "INSERT INTO tasks (intake_key, room_id, thread_root, mission, "
                "priority, state, requester, source, created_at, updated_at, mode, critique) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                (
                    intake_key,
                    room_id,
                    thread_root,
                    mission,
                    priority,
                    requester,
                    source,
                    now,
                    now,
                    mode,
                    critique,
                ),
            )
            await tx.execute(
                "INSERT INTO task_moves (task_id, seq, from_state, to_state, actor, reason, at) "
                "VALUES (?, 1, NULL, 'pending', ?, ?, ?)",
                (cursor.lastrowid, requester, f"from {source}", now),
            )
            found = await self._tasks("WHERE id = ?", (cursor.lastrowid,))
        return found[0], True

    async def get(self, task_id: int) -> Task | None:
        found = await self._tasks("WHERE id = ?", (task_id,))
        return found[0] if found else None

    async def by_plan_event(self, event_id: EventID) -> Task | None:
        """The task whose plan message `event_id` is: its current plan (`plan_event`), or an
        earlier one, recorded as its `plan-msg-N` action (a denied or replaced plan)."""
        found = await self._tasks(
            "WHERE plan_event = ? OR id IN (SELECT task_id FROM task_actions "
            "WHERE event_id = ? AND key LIKE 'plan-msg-%') ORDER BY id LIMIT 1",
            (event_id, event_id),
        )
        return found[0] if found else None

    async def by_event(self, event_id: EventID) -> Task | None:
        """The task a message belongs to: its thread's root, its plan, or any message it
        sent (recorded as an action); the newest such task."""
        found = await self._tasks(
            "WHERE thread_root = ? OR plan_event = ? OR id IN (SELECT task_id FROM "
            "task_actions WHERE event_id = ?) ORDER BY id DESC LIMIT 1",
            (event_id, event_id, event_id),
        )
        return found[0] if found else None

    async def list(
        self, states: Collection[str] | None = None, limit: int = 20
    ) -> builtins.list[Task]:
        """The newest tasks first, in `states` if given."""
        if states is not None and not states:
            return []
        where, params = "", []
        if states is not None:
            where = f"WHERE state IN ({', '.join('?' * len(states))})"
            params = builtins.list(states)
        return await self._tasks(f"{where} ORDER BY id DESC LIMIT ?", (*params, max(limit, 0)))

    async def final_lacking(
        self, key: str, *, due_by: float | None = None, limit: int = 50
    ) -> builtins.list[int]:
        """Among the newest `limit` finished tasks, those with no `key` action recorded (newest
        first); with `due_by`, only those whose stored wait ran out by then. One query: the
        coordinator's tick asks every second."""
        rows = await self._select(
            "SELECT id FROM (SELECT id, deadline FROM tasks "
            f"WHERE state IN {FINAL_SQL} ORDER BY id DESC LIMIT ?) AS recent "
            "WHERE (? IS NULL OR (deadline IS NOT NULL AND deadline <= ?)) "
            "AND NOT EXISTS (SELECT 1 FROM task_actions AS a "
            "WHERE a.task_id = recent.id AND a.key = ?) ORDER BY id DESC",
            (max(limit, 0), due_by, due_by, key),
        )
        return [int(row[0]) for row in rows]

    async def active(self) -> builtins.list[Task]:
        """Every task not finished, paused ones too: higher priority first, then oldest."""
        return await self._tasks(
            f"WHERE state NOT IN {FINAL_SQL} ORDER BY {_PRIORITY_RANK}, id", ()
        )

    async def count_by_state(self) -> dict[str, int]:
        """How many tasks are in each state that has any (`/metrics`), in one query."""
        rows = await self._select("SELECT state, COUNT(*) FROM tasks GROUP BY state", ())
        return {str(state): int(count) for state, count in rows}

    async def due(self, now: float) -> builtins.list[Task]:
        """Tasks whose wait ran out by `now` (a paused task waits for nothing)."""
        return await self._tasks(
            f"WHERE deadline IS NOT NULL AND deadline <= ? AND state != 'paused' "
            f"AND state NOT IN {FINAL_SQL} ORDER BY deadline, id",
            (now,),
        )

    async def move(
        self,
        task_id: int,
        from_state: str,
        to_state: str,
        *,
        actor: str,
        reason: str,
        now: float,
        **changes: Unpack[TaskFields],
    ) -> Task | None:
        """Moves the task from `from_state` to `to_state` with `changes`, and records the
        move, in one transaction; None, with nothing written, when the task is unknown or
        no longer in `from_state` (another move got there first).

        A wait belongs to the state it was set in: `deadline` and `waiting_for` are cleared
        unless `changes` gives them. Pausing remembers the state left (`paused_from`); a
        paused task goes back only to that state (or is cancelled). A final state stamps
        `finished_at`. A move the workflow does not allow raises `TaskError`.
        """
        check_move(from_state, to_state)
        values: dict[str, object] = {"deadline": None, "waiting_for": ""}
        values.update(_checked(changes))
        values["state"] = to_state
        values["updated_at"] = now
        values["paused_from"] = from_state if to_state == PAUSED else None
        if to_state in FINAL_STATES:
            values["finished_at"] = now
        async with self._transaction() as tx:
            row = await tx.fetch_one(
                "SELECT state, paused_from FROM tasks WHERE id = ?", (task_id,)
            )
            if row is None or row[0] != from_state:
                return None
            # Checked again with what the row says, inside the transaction: a paused task
            # goes back only to the state it was paused from.
            check_move(from_state, to_state, paused_from=row[1])
            assignments = ", ".join(f"{name} = ?" for name in values)
            cursor = await tx.execute(
                f"UPDATE tasks SET {assignments} WHERE id = ? AND state = ?",
                (*values.values(), task_id, from_state),
            )
            if cursor.rowcount != 1:
                return None
            await tx.execute(
                "INSERT INTO task_moves (task_id, seq, from_state, to_state, actor, reason, at) "
                "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM task_moves WHERE task_id = ?), "
                "?, ?, ?, ?, ?)",
                (task_id, task_id, from_state, to_state, actor, reason, now),
            )
            found = await self._tasks("WHERE id = ?", (task_id,))
        return found[0]

    async def update(
        self, task_id: int, *, expect_state: str, now: float, **changes: Unpack[TaskFields]
    ) -> Task | None:
        """Sets `changes` without a state change, only while the task is in `expect_state`;
        None, with nothing written, otherwise."""
        values: dict[str, object] = {**_checked(changes), "updated_at": now}
        assignments = ", ".join(f"{name} = ?" for name in values)
        with converted("the task store"):
            row = await self._writes.fetch_one(
                f"UPDATE tasks SET {assignments} WHERE id = ? AND state = ? "
                f"RETURNING {_TASK_COLUMNS}",
                (*values.values(), task_id, expect_state),
            )
        return _task(row) if row else None

    async def moves(self, task_id: int) -> builtins.list[Move]:
        """The task's history, oldest first."""
        rows = await self._select(
            "SELECT task_id, seq, from_state, to_state, actor, reason, at FROM task_moves "
            "WHERE task_id = ? ORDER BY seq",
            (task_id,),
        )
        return [
            Move(int(r[0]), int(r[1]), r[2], str(r[3]), str(r[4]), str(r[5]), float(r[6]))
            for r in rows
        ]

    # --- facts -------------------------------------------------------------------------

    async def action_done(self, task_id: int, key: str) -> EventID | None:
        """The event recorded under `key` (e.g. "ack", "poll-1", "req-t12-a1-s3"), if sent."""
        rows = await self._select(
            "SELECT event_id FROM task_actions WHERE task_id = ? AND key = ?", (task_id, key)
        )
        return EventID(str(rows[0][0])) if rows else None

    async def record_action(self, task_id: int, key: str, event_id: EventID, now: float) -> bool:
        """Records that `key` was sent as `event_id`; False (the first record kept) when it
        already was, or the task is unknown."""
        return await self._insert(
            "INSERT INTO task_actions (task_id, key, event_id, at) "
            "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?) "
            "ON CONFLICT (task_id, key) DO NOTHING",
            (task_id, key, event_id, now, task_id),
        )

    async def add_answer(self, answer: Answer) -> bool:
        """Records an agent's answer to an ask once: False for a second answer to the same
        ask (the first counts) or for an unknown task."""
        return await self._insert(
            f"INSERT INTO task_answers ({_ANSWER_COLUMNS}) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
            "WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?) "
            "ON CONFLICT (ask, agent) DO NOTHING",
            (
                answer.task_id,
                answer.ask,
                answer.agent,
                answer.stage,
                answer.status,
                answer.text,
                answer.event_id,
                answer.at,
                answer.choice,
                answer.tokens_in,
                answer.tokens_out,
                answer.cost,
                answer.task_id,
            ),
        )

    async def answers(self, task_id: int, ask: str | None = None) -> builtins.list[Answer]:
        """The task's answers (to one ask if given), in the order they arrived."""
        where, params = ("AND ask = ?", (task_id, ask)) if ask is not None else ("", (task_id,))
        rows = await self._select(
            f"SELECT {_ANSWER_COLUMNS} FROM task_answers WHERE task_id = ? {where} "
            "ORDER BY at, agent",
            params,
        )
        return [_answer(row) for row in rows]

    async def add_vote(self, vote: Vote) -> bool:
        """Keeps the voter's latest response to the poll (by `at_ms`, then event id, so a
        replay in any order ends the same): True when this one is now the vote counted."""
        return await self._insert(
            f"INSERT INTO task_votes ({_VOTE_COLUMNS}) "
            "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?) "
            "ON CONFLICT (poll_event, voter) DO UPDATE SET "
            "choice = excluded.choice, event_id = excluded.event_id, at_ms = excluded.at_ms "
            "WHERE excluded.at_ms > task_votes.at_ms OR (excluded.at_ms = task_votes.at_ms "
            "AND excluded.event_id > task_votes.event_id)",
            (
                vote.task_id,
                vote.poll_event,
                vote.voter,
                vote.choice,
                vote.event_id,
                vote.at_ms,
                vote.task_id,
            ),
        )

    async def votes(self, poll_event: EventID) -> builtins.list[Vote]:
        """Each voter's latest response to the poll, earliest first."""
        rows = await self._select(
            f"SELECT {_VOTE_COLUMNS} FROM task_votes WHERE poll_event = ? ORDER BY at_ms, voter",
            (poll_event,),
        )
        return [
            Vote(
                int(r[0]),
                EventID(str(r[1])),
                UserID(str(r[2])),
                str(r[3]),
                EventID(str(r[4])),
                int(r[5]),
            )
            for r in rows
        ]

    async def add_step(self, step: StepRun) -> bool:
        """Records a request as sent; False when its request id is known (never send it
        again) or the task is unknown."""
        values = [getattr(step, field.name) for field in fields(StepRun)]
        return await self._insert(
            f"INSERT INTO task_steps ({_STEP_COLUMNS}) "
            f"SELECT {', '.join('?' * len(values))} "
            "WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?) "
            "ON CONFLICT (request_id) DO NOTHING",
            (*values, step.task_id),
        )

    async def finish_step(
        self,
        request_id: RequestID,
        status: str,
        exit_status: int | None,
        output: str | None,
        result_event: EventID | None,
        now: float,
    ) -> StepRun | None:
        """Records the request's result, only while it is still `sent`: the first result
        counts. None when the request is unknown or already finished."""
        with converted("the task store"):
            row = await self._writes.fetch_one(
                "UPDATE task_steps SET status = ?, exit_status = ?, output = ?, "
                "result_event = ?, finished_at = ? "
                "WHERE request_id = ? AND status = 'sent' "
                f"RETURNING {_STEP_COLUMNS}",
                (status, exit_status, output, result_event, now, request_id),
            )
        return _step(row) if row else None

    async def steps(self, task_id: int, attempt: int | None = None) -> builtins.list[StepRun]:
        """The task's requests (of one attempt if given), by attempt, step, then when sent."""
        where, params = (
            ("AND attempt = ?", (task_id, attempt)) if attempt is not None else ("", (task_id,))
        )
        rows = await self._select(
            f"SELECT {_STEP_COLUMNS} FROM task_steps WHERE task_id = ? {where} "
            "ORDER BY attempt, step, sent_at, request_id",
            params,
        )
        return [_step(row) for row in rows]

    async def step(self, request_id: RequestID) -> StepRun | None:
        rows = await self._select(
            f"SELECT {_STEP_COLUMNS} FROM task_steps WHERE request_id = ?", (request_id,)
        )
        return _step(rows[0]) if rows else None

    # --- figures -----------------------------------------------------------------------

    async def costs(self, task_id: int) -> dict[str, UsageTotals]:
        """Tokens and cost of the task's answers, per agent (for the report)."""
        rows = await self._select(
            "SELECT agent, SUM(tokens_in + tokens_out), SUM(cost) FROM task_answers "
            "WHERE task_id = ? GROUP BY agent ORDER BY agent",
            (task_id,),
        )
        return {str(r[0]): UsageTotals(int(r[1]), float(r[2])) for r in rows}

    async def stats(self, since: float) -> TaskStats:
        """Figures over the tasks created since `since` (epoch seconds), in two queries:
        the tasks' outcomes, then per agent its answers and wins."""
        totals = await self._select(
            "SELECT COUNT(*), "
            "COALESCE(SUM(state = 'completed'), 0), COALESCE(SUM(state = 'failed'), 0), "
            "COALESCE(SUM(state = 'cancelled'), 0), "
            "AVG(CASE WHEN state = 'completed' THEN finished_at - created_at END), "
            "AVG(CASE WHEN state = 'completed' THEN attempt END) "
            "FROM tasks WHERE created_at >= ?",
            (since,),
        )
        agents = await self._select(
            "SELECT agent, SUM(answers), SUM(failed), SUM(wins), SUM(won), SUM(tokens), "
            "SUM(cost) FROM ("
            " SELECT a.agent AS agent, COUNT(*) AS answers, SUM(a.status != 'ok') AS failed,"
            " 0 AS wins, 0 AS won, SUM(a.tokens_in + a.tokens_out) AS tokens,"
            " SUM(a.cost) AS cost"
            " FROM task_answers AS a JOIN tasks AS t ON t.id = a.task_id"
            " WHERE t.created_at >= ? GROUP BY a.agent"
            " UNION ALL"
            " SELECT winner, 0, 0, COUNT(*), SUM(state = 'completed'), 0, 0.0"
            " FROM tasks WHERE created_at >= ? AND winner IS NOT NULL GROUP BY winner"
            ") GROUP BY agent ORDER BY agent",
            (since, since),
        )
        count, completed, failed, cancelled, mean_seconds, mean_attempts = totals[0]
        return TaskStats(
            since=since,
            count=int(count),
            completed=int(completed),
            failed=int(failed),
            cancelled=int(cancelled),
            mean_seconds=None if mean_seconds is None else float(mean_seconds),
            mean_attempts=None if mean_attempts is None else float(mean_attempts),
            agents=tuple(
                AgentStats(
                    str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), float(r[6])
                )
                for r in agents
            ),
        )

    # --- plumbing ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        with converted("the task store"):
            async with self._writes.transaction() as tx:
                yield tx

    async def _insert(self, sql: str, params: Sequence[object]) -> bool:
        """One row in, or none (True/False). Conflicts are named (`ON CONFLICT … DO
        NOTHING`), never `OR IGNORE`, which would also swallow a failed CHECK."""
        with converted("the task store"):
            return (await self._writes.execute(sql, params)).rowcount == 1

    async def _select(self, sql: str, params: Sequence[object]) -> builtins.list[Any]:
        with converted("the task store"):
            return await fetch_all(self._db, sql, tuple(params))

    async def _tasks(self, tail: str, params: Sequence[object]) -> builtins.list[Task]:
        rows = await self._select(f"SELECT {_TASK_COLUMNS} FROM tasks {tail}", params)
        return [_task(row) for row in rows]


def _checked(changes: TaskFields) -> dict[str, object]:
    """The changes as columns; a name outside `TaskFields` is a programming error."""
    unknown = sorted(set(changes) - _SETTABLE)
    if unknown:
        raise ValueError(f"not a settable task field: {', '.join(unknown)}")
    return dict(changes)


def _task(row: Sequence[Any]) -> Task:
    values = dict(zip((field.name for field in fields(Task)), row, strict=True))
    if values["critique"] is not None:  # SQLite keeps a bool as 0/1
        values["critique"] = bool(values["critique"])
    return Task(**values)


def _answer(row: Sequence[Any]) -> Answer:
    return Answer(
        task_id=int(row[0]),
        ask=str(row[1]),
        agent=str(row[2]),
        stage=str(row[3]),
        status=str(row[4]),
        text=str(row[5]),
        event_id=None if row[6] is None else EventID(str(row[6])),
        at=float(row[7]),
        choice=None if row[8] is None else str(row[8]),
        tokens_in=int(row[9]),
        tokens_out=int(row[10]),
        cost=float(row[11]),
    )


def _step(row: Sequence[Any]) -> StepRun:
    return StepRun(**dict(zip((field.name for field in fields(StepRun)), row, strict=True)))
