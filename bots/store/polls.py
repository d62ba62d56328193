"""The master's own polls as records: the poll, each voter's latest vote, the agents' reasons,
and what was sent for it.

Like the task store, it holds facts, not rules: a poll is created once per `open_key` (a
replayed `!poll` is the same poll), closed once (compare and set on `state`), a vote keeps
the voter's latest response, and every event the coordinator sends for a poll is recorded
under a stable key, so a restart sends nothing twice. Every write is one statement through
the store's one `Writer`, whose lock the task store's transactions hold too: a vote never
lands inside (and is never rolled back with) a task transaction.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bots.ids import EventID, RoomID, UserID
from bots.store.connection import Writer, fetch_all, fetch_one
from bots.store.errors import converted

_POLL_COLUMNS = (
    "id, open_key, room_id, thread_root, question, options, agents, requester, source, "
    "poll_event, state, created_at, deadline, closed_at, closed_by, result"
)


@dataclass(frozen=True)
class Poll:
    """One `!poll`: `options` in order (keys A, B, … by position), `agents` asked to vote
    (names), `poll_event` the poll start once sent, `result` the tally text once closed."""

    id: int
    open_key: str
    room_id: RoomID
    thread_root: EventID | None
    question: str
    options: tuple[str, ...]
    agents: tuple[str, ...]
    requester: UserID
    source: str
    poll_event: EventID | None
    state: str
    created_at: float
    deadline: float
    closed_at: float | None
    closed_by: str | None
    result: str | None

    @property
    def open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class PollBallot:
    """A voter's latest response: an agent by its name, anyone else by user id."""

    poll_id: int
    voter: str
    choice: str
    event_id: EventID
    at_ms: int


@dataclass(frozen=True)
class PollReason:
    """An agent's answer line after its vote (`status` failed: it cast none, `text` why)."""

    poll_id: int
    agent: str
    status: str
    choice: str | None
    text: str
    event_id: EventID
    at: float


class PollStore:
    def __init__(self, db: aiosqlite.Connection, writes: Writer) -> None:
        self._db = db
        self._writes = writes

    # --- polls -------------------------------------------------------------------------

    async def create(
        self,
        *,
        open_key: str,
        room_id: RoomID,
        thread_root: EventID | None,
        question: str,
        options: Sequence[str],
        agents: Sequence[str],
        requester: UserID,
        source: str,
        now: float,
        deadline: float,
    ) -> tuple[Poll, bool]:
        """A new open poll, or the one `open_key` already made (False)."""
        found = await self._polls("WHERE open_key = ?", (open_key,))
        if found:
            return found[0], False
        created = await self._write(
            "INSERT INTO polls (open_key, room_id, thread_root, question, options, agents, "
            "requester, source, state, created_at, deadline) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) ON CONFLICT (open_key) DO NOTHING",
            (
                open_key,
                room_id,
                thread_root,
                question,
                json.dumps(list(options), ensure_ascii=False),
                json.dumps(list(agents)),
                requester,
                source,
                now,
                deadline,
            ),
        )
        found = await self._polls("WHERE open_key = ?", (open_key,))
        return found[0], created

    async def get(self, poll_id: int) -> Poll | None:
        found = await self._polls("WHERE id = ?", (poll_id,))
        return found[0] if found else None

    async def by_event(self, poll_event: EventID) -> Poll | None:
        """The poll whose start is `poll_event` (what a poll response names)."""
        found = await self._polls("WHERE poll_event = ?", (poll_event,))
        return found[0] if found else None

    async def newest_open(self) -> Poll | None:
        found = await self._polls("WHERE state = 'open' ORDER BY id DESC LIMIT 1", ())
        return found[0] if found else None

    async def open_polls(self) -> builtins.list[Poll]:
        return await self._polls("WHERE state = 'open' ORDER BY id", ())

    async def due(self, now: float) -> builtins.list[Poll]:
        """Open polls whose time ran out by `now`."""
        return await self._polls("WHERE state = 'open' AND deadline <= ? ORDER BY id", (now,))

    async def unfinished(self, key: str) -> builtins.list[Poll]:
        """Closed polls whose action `key` (their end) was not recorded: a crash in between."""
        return await self._polls(
            "WHERE state = 'closed' AND NOT EXISTS (SELECT 1 FROM poll_actions a "
            "WHERE a.poll_id = polls.id AND a.key = ?) ORDER BY id",
            (key,),
        )

    async def list(self, limit: int = 20) -> builtins.list[Poll]:
        return await self._polls("ORDER BY id DESC LIMIT ?", (max(limit, 0),))

    async def set_event(self, poll_id: int, poll_event: EventID) -> None:
        """Records the poll start's event id (once: the first one stays)."""
        await self._write(
            "UPDATE polls SET poll_event = ? WHERE id = ? AND poll_event IS NULL",
            (poll_event, poll_id),
        )

    async def close(self, poll_id: int, *, by: str, result: str, now: float) -> Poll | None:
        """Closes an open poll with its result; None when it was not open (closed already)."""
        done = await self._write(
            "UPDATE polls SET state = 'closed', closed_at = ?, closed_by = ?, result = ? "
            "WHERE id = ? AND state = 'open'",
            (now, by, result, poll_id),
        )
        return await self.get(poll_id) if done else None

    # --- votes and reasons ---------------------------------------------------------------

    async def add_vote(self, ballot: PollBallot) -> bool:
        """Keeps the voter's latest response (by `at_ms`, then event id, so a replay in any
        order ends the same); only while the poll is open. True when this one now counts."""
        return await self._write(
            "INSERT INTO poll_votes (poll_id, voter, choice, event_id, at_ms) "
            "SELECT ?, ?, ?, ?, ? WHERE EXISTS "
            "(SELECT 1 FROM polls WHERE id = ? AND state = 'open') "
            "ON CONFLICT (poll_id, voter) DO UPDATE SET "
            "choice = excluded.choice, event_id = excluded.event_id, at_ms = excluded.at_ms "
            "WHERE excluded.at_ms > poll_votes.at_ms OR (excluded.at_ms = poll_votes.at_ms "
            "AND excluded.event_id > poll_votes.event_id)",
            (
                ballot.poll_id,
                ballot.voter,
                ballot.choice,
                ballot.event_id,
                ballot.at_ms,
                ballot.poll_id,
            ),
        )

    async def votes(self, poll_id: int) -> builtins.list[PollBallot]:
        rows = await self._select(
            "SELECT poll_id, voter, choice, event_id, at_ms FROM poll_votes "
            "WHERE poll_id = ? ORDER BY at_ms, event_id",
            (poll_id,),
        )
        return [
            PollBallot(int(r[0]), str(r[1]), str(r[2]), EventID(str(r[3])), int(r[4])) for r in rows
        ]

    async def add_reason(self, reason: PollReason) -> bool:
        """An agent's answer, once per poll (a replay changes nothing)."""
        return await self._write(
            "INSERT INTO poll_reasons (poll_id, agent, status, choice, text, event_id, at) "
            "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM polls WHERE id = ?) "
            "ON CONFLICT (poll_id, agent) DO NOTHING",
            (
                reason.poll_id,
                reason.agent,
                reason.status,
                reason.choice,
                reason.text,
                reason.event_id,
                reason.at,
                reason.poll_id,
            ),
        )

    async def reasons(self, poll_id: int) -> builtins.list[PollReason]:
        rows = await self._select(
            "SELECT poll_id, agent, status, choice, text, event_id, at FROM poll_reasons "
            "WHERE poll_id = ? ORDER BY at, agent",
            (poll_id,),
        )
        return [
            PollReason(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                None if r[3] is None else str(r[3]),
                str(r[4]),
                EventID(str(r[5])),
                float(r[6]),
            )
            for r in rows
        ]

    # --- what was sent -------------------------------------------------------------------

    async def action_done(self, poll_id: int, key: str) -> EventID | None:
        with converted("the poll store"):
            row = await fetch_one(
                self._db,
                "SELECT event_id FROM poll_actions WHERE poll_id = ? AND key = ?",
                (poll_id, key),
            )
        return None if row is None else EventID(str(row[0]))

    async def record_action(self, poll_id: int, key: str, event_id: EventID, now: float) -> None:
        """The first record of an action stays (a second send was deduplicated anyway)."""
        await self._write(
            "INSERT INTO poll_actions (poll_id, key, event_id, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (poll_id, key) DO NOTHING",
            (poll_id, key, event_id, now),
        )

    # --- plumbing ----------------------------------------------------------------------

    async def _write(self, sql: str, params: Sequence[object]) -> bool:
        """One statement (no transaction of its own, see the module); True when it changed
        a row. Conflicts are named, never `OR IGNORE`, which would swallow a failed CHECK."""
        with converted("the poll store"):
            return (await self._writes.execute(sql, params)).rowcount == 1

    async def _select(self, sql: str, params: Sequence[object]) -> builtins.list[Any]:
        with converted("the poll store"):
            return await fetch_all(self._db, sql, tuple(params))

    async def _polls(self, tail: str, params: Sequence[object]) -> builtins.list[Poll]:
        rows = await self._select(f"SELECT {_POLL_COLUMNS} FROM polls {tail}", params)
        return [_poll(row) for row in rows]


def _poll(row: Sequence[Any]) -> Poll:
    return Poll(
        id=int(row[0]),
        open_key=str(row[1]),
        room_id=RoomID(str(row[2])),
        thread_root=None if row[3] is None else EventID(str(row[3])),
        question=str(row[4]),
        options=tuple(str(o) for o in json.loads(row[5])),
        agents=tuple(str(a) for a in json.loads(row[6])),
        requester=UserID(str(row[7])),
        source=str(row[8]),
        poll_event=None if row[9] is None else EventID(str(row[9])),
        state=str(row[10]),
        created_at=float(row[11]),
        deadline=float(row[12]),
        closed_at=None if row[13] is None else float(row[13]),
        closed_by=None if row[14] is None else str(row[14]),
        result=None if row[15] is None else str(row[15]),
    )
