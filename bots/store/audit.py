"""The executor's audit log and request states: what makes a request run at most once.

Every change of a request's state is written together with its audit row, in one
transaction. A request is opened together with the executor's policy decision and the state
that decision leads to (pending, approved or forbidden), so there is no moment in which a
forbidden request waits for approval; `approve()` takes only a request whose recorded
decision is "needs approval". The move to `running` (the intent row) is committed before
the command starts, and only from `approved`, so a second start of the same request id
finds it running and refuses. After a crash, `interrupted_on_startup()` turns whatever was left
running into `interrupted` (state unknown): it is reported, never run again.

Commands and details are masked before they are written (configured secrets and obvious
credentials), so the database never holds what the room must not see. Use one `AuditStore`
per connection, ideally a connection of its own: its transactions are serialised by a lock
that other users of the connection do not take.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import aiosqlite

from bots.errors import StoreError
from bots.execution.approvals import PREDECESSORS, STATES, RequestState, State
from bots.execution.requests import ExecRequest, ExecResult, command_digest
from bots.ids import Digest, EventID, RequestID, RoomID, UserID
from executor.masking import mask_text
from executor.policy import Decision, Verdict

AUDIT_SCHEMA_VERSION = 3
"""The store version that brought these tables (bots/store/migrations/v03_audit.py)."""

AuditKind = Literal[
    "request",
    "decision",
    "approval",
    "denial",
    "start",
    "end",
    "interrupted",
    "expired",
    "cancel",
]
AUDIT_KINDS: tuple[AuditKind, ...] = get_args(AuditKind)
KIND_OF_STATE: Mapping[State, AuditKind] = {
    "approved": "approval",
    "running": "start",
    "finished": "end",
    "denied": "denial",
    "expired": "expired",
    "cancelled": "cancel",
    "interrupted": "interrupted",
    "forbidden": "decision",
}
"""The audit row a move into each state writes, unless the caller names another."""

_OPENED_AS: Mapping[Verdict, State] = {
    Verdict.ALLOW: "approved",
    Verdict.NEEDS_APPROVAL: "pending",
    Verdict.FORBID: "forbidden",
}
"""The state a request opens in, by the policy's verdict."""
_VERDICTS = tuple(verdict.value for verdict in Verdict)
_LATEST_VERDICT = (
    "(SELECT json_extract(d.detail, '$.verdict') FROM audit_log AS d "
    "WHERE d.request_id = exec_requests.request_id AND d.kind = 'decision' "
    f"AND json_extract(d.detail, '$.verdict') IN ({', '.join(repr(v) for v in _VERDICTS)}) "
    "ORDER BY d.seq DESC LIMIT 1)"
)
"""SQL: the verdict of a request's latest policy decision row (refusals are not decisions)."""

_ENTRY_COLUMNS = "seq, at, request_id, kind, actor, event_id, host, command_digest, detail"
_REQUEST_COLUMNS = (
    "request_id, digest, host, command, requester, state, created_at, updated_at, room_id, event_id"
)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log, as written."""

    seq: int
    at: float
    request_id: RequestID
    kind: str
    actor: UserID | None
    event_id: EventID | None
    host: str | None
    command_digest: Digest | None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    """A request's current state; `command` is masked. `event_id` is the message the request
    is shown in: the request's own event until `set_message` records its approval prompt."""

    request_id: RequestID
    digest: Digest
    host: str
    command: str
    requester: UserID
    state: State
    created_at: float
    updated_at: float
    room_id: RoomID | None
    event_id: EventID | None

    def as_state(self) -> RequestState:
        """The approval machine's view; who approved is in the audit log, not needed here."""
        return RequestState(
            self.request_id, self.digest, self.requester, self.state, self.created_at
        )


class AuditStore:
    def __init__(
        self,
        db: aiosqlite.Connection,
        *,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._secrets = tuple(secret for secret in secrets if secret)
        self._clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> AuditStore:
        """A store on its own connection to a database `Store.open` has migrated."""
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except aiosqlite.Error as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
        try:
            await db.execute("PRAGMA busy_timeout=5000")
            # FULL: an intent row lost on power loss would let a command run a second time.
            await db.execute("PRAGMA synchronous=FULL")
            async with db.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            if version < AUDIT_SCHEMA_VERSION:
                raise StoreError(
                    f"the store at {path} is at schema version {version}; the audit log needs "
                    f"{AUDIT_SCHEMA_VERSION} (open it with Store.open first, which migrates)"
                )
        except BaseException:
            await db.close()
            raise
        return cls(db, secrets=secrets, clock=clock)

    async def close(self) -> None:
        await self._db.close()

    async def append(
        self,
        request_id: RequestID,
        kind: AuditKind,
        *,
        actor: UserID | None = None,
        event_id: EventID | None = None,
        host: str | None = None,
        command_digest: Digest | None = None,
        detail: Mapping[str, object] | None = None,
    ) -> int:
        """Adds one audit row (e.g. a policy decision, a refused approval); returns its seq."""
        async with self._transaction():
            return await self._append(
                request_id, kind, actor, event_id, host, command_digest, detail or {}
            )

    async def open_request(
        self,
        request: ExecRequest,
        *,
        room_id: RoomID | None = None,
        event_id: EventID | None = None,
        decision: Decision | None = None,
    ) -> bool:
        """Records a new request with its `request` audit row and, given the executor's policy
        `decision`, its `decision` row and the state the decision leads to, all in one
        transaction: `pending` (needs approval), `approved` (auto-approved, with an `approval`
        row) or `forbidden` (with a second `decision` row). Without a decision the request
        is pending with no recorded verdict, and `approve()` refuses it.

        False when the request id is already known (the idempotency key): the caller
        must not act on it again. Nothing is written then.
        """
        if request.digest != command_digest(request.host, request.command):
            raise ValueError(f"request {request.request_id}: digest does not match its command")
        now = self._clock()
        command = mask_text(request.command, self._secrets)
        state: State = "pending" if decision is None else _OPENED_AS[decision.verdict]
        async with self._transaction():
            cursor = await self._db.execute(
                f"INSERT OR IGNORE INTO exec_requests ({_REQUEST_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.request_id,
                    request.digest,
                    request.host,
                    command,
                    request.requester,
                    state,
                    now,
                    now,
                    room_id,
                    event_id,
                ),
            )
            if cursor.rowcount != 1:
                return False
            await self._append(
                request.request_id,
                "request",
                request.requester,
                event_id,
                request.host,
                request.digest,
                {
                    "command": command,
                    "task_id": request.task_id,
                    "step": request.step,
                    "room_id": room_id,
                },
                at=now,
            )
            if decision is None:
                return True
            await self._append(
                request.request_id,
                "decision",
                None,
                None,
                request.host,
                request.digest,
                {
                    "verdict": decision.verdict.value,
                    "rule": decision.rule,
                    "reason": decision.reason,
                },
                at=now,
            )
            if state != "pending":
                reason = "policy auto-approval" if state == "approved" else decision.reason
                await self._append(
                    request.request_id,
                    KIND_OF_STATE[state],
                    None,
                    None,
                    request.host,
                    request.digest,
                    {"state": state, "rule": decision.rule, "reason": reason},
                    at=now,
                )
            return True

    async def set_message(self, request_id: RequestID, room_id: RoomID, event_id: EventID) -> bool:
        """Remembers the message showing the request, so a ✅ on it can be found."""
        async with self._transaction():
            cursor = await self._db.execute(
                "UPDATE exec_requests SET room_id = ?, event_id = ? WHERE request_id = ?",
                (room_id, event_id, request_id),
            )
            return cursor.rowcount == 1

    async def transition(
        self,
        request_id: RequestID,
        new_state: State,
        *,
        actor: UserID | None = None,
        event_id: EventID | None = None,
        detail: Mapping[str, object] | None = None,
        kind: AuditKind | None = None,
    ) -> bool:
        """Moves a request to `new_state` and audits it, in one transaction.

        Only moves the approval machine allows are made, and only from the state the row is
        in now (compare and set): False, with nothing written, when the request is unknown
        or another move got there first.
        """
        return await self._move(request_id, new_state, actor, event_id, detail, kind)

    async def approve(
        self,
        request_id: RequestID,
        *,
        actor: UserID,
        event_id: EventID | None = None,
        detail: Mapping[str, object] | None = None,
    ) -> bool:
        """pending → approved by a person, only when the request's latest recorded policy
        decision is "needs approval": a forbidden, auto-approved or undecided request is never
        approved, whatever the state machine says. False, with nothing written, otherwise."""
        return await self._move(
            request_id,
            "approved",
            actor,
            event_id,
            detail,
            None,
            condition=f"{_LATEST_VERDICT} = '{Verdict.NEEDS_APPROVAL.value}'",
        )

    async def verdict(self, request_id: RequestID) -> Verdict | None:
        """The verdict of the request's latest recorded policy decision; None when it has none."""
        async with self._db.execute(
            f"SELECT {_LATEST_VERDICT} FROM exec_requests WHERE request_id = ?", (request_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return Verdict(str(row[0]))

    async def _move(
        self,
        request_id: RequestID,
        new_state: State,
        actor: UserID | None,
        event_id: EventID | None,
        detail: Mapping[str, object] | None,
        kind: AuditKind | None,
        *,
        condition: str = "",
    ) -> bool:
        if new_state not in STATES:
            raise ValueError(f"unknown request state {new_state!r}")
        allowed = sorted(PREDECESSORS[new_state])
        if not allowed:
            return False
        marks = ", ".join("?" for _ in allowed)
        now = self._clock()
        async with self._transaction():
            cursor = await self._db.execute(
                f"UPDATE exec_requests SET state = ?, updated_at = ? "
                f"WHERE request_id = ? AND state IN ({marks})"
                + (f" AND {condition}" if condition else ""),
                (new_state, now, request_id, *allowed),
            )
            if cursor.rowcount != 1:
                return False
            async with self._db.execute(
                "SELECT host, digest FROM exec_requests WHERE request_id = ?", (request_id,)
            ) as rows:
                row = await rows.fetchone()
            host, digest = (str(row[0]), Digest(str(row[1]))) if row else (None, None)
            await self._append(
                request_id,
                kind or KIND_OF_STATE[new_state],
                actor,
                event_id,
                host,
                digest,
                {"state": new_state, **(detail or {})},
                at=now,
            )
            return True

    async def mark_started(self, request_id: RequestID, *, actor: UserID | None = None) -> bool:
        """The intent row: approved → running, committed before the command starts.

        Run the command only when this returns True; a second call for the same request
        (a replay, a race, a restart) returns False.
        """
        return await self.transition(request_id, "running", actor=actor)

    async def finish(self, request_id: RequestID, result: ExecResult) -> bool:
        """running → finished (or cancelled), with the `end` row: status, exit, duration,
        output digest."""
        if result.request_id != request_id:
            raise ValueError(f"result of {result.request_id} given for {request_id}")
        target: State = "finished"
        if result.status in ("cancelled", "interrupted"):
            target = "cancelled" if result.status == "cancelled" else "interrupted"
        detail: dict[str, object] = {
            "status": result.status,
            "exit_status": result.exit_status,
            "duration_ms": result.duration_ms,
            "output_digest": result.output_digest,
        }
        return await self.transition(request_id, target, detail=detail, kind="end")

    async def interrupted_on_startup(self) -> list[RequestRecord]:
        """Requests a crash left running become `interrupted` (audited); they are returned
        so the executor can say "interrupted, state unknown". None of them is run again."""
        now = self._clock()
        async with self._transaction():
            running = await self._records("WHERE state = 'running' ORDER BY created_at", ())
            for record in running:
                await self._db.execute(
                    "UPDATE exec_requests SET state = 'interrupted', updated_at = ? "
                    "WHERE request_id = ? AND state = 'running'",
                    (now, record.request_id),
                )
                await self._append(
                    record.request_id,
                    "interrupted",
                    None,
                    None,
                    record.host,
                    record.digest,
                    {"state": "interrupted", "reason": "the executor restarted while it ran"},
                    at=now,
                )
        return [replace(record, state="interrupted", updated_at=now) for record in running]

    async def get(self, request_id: RequestID) -> RequestRecord | None:
        records = await self._records("WHERE request_id = ?", (request_id,))
        return records[0] if records else None

    async def find_by_event(self, event_id: EventID) -> RequestRecord | None:
        """The request shown in (or carried by) this event."""
        records = await self._records(
            "WHERE event_id = ? ORDER BY created_at DESC LIMIT 1", (event_id,)
        )
        return records[0] if records else None

    async def find_by_prompt(self, event_id: EventID) -> RequestRecord | None:
        """The request whose approval prompt (see `set_message`) is this event: what a ✅
        reaction approves. Never the event that asked for the request."""
        records = await self._records(
            "WHERE event_id = ? AND NOT EXISTS (SELECT 1 FROM audit_log AS a "
            "WHERE a.request_id = exec_requests.request_id AND a.kind = 'request' "
            "AND a.event_id = exec_requests.event_id) ORDER BY created_at DESC LIMIT 1",
            (event_id,),
        )
        return records[0] if records else None

    async def in_state(self, state: State) -> list[RequestRecord]:
        """E.g. the pending requests, to expire those past their window."""
        return await self._records("WHERE state = ? ORDER BY created_at", (state,))

    async def recent(self, n: int) -> list[AuditEntry]:
        """The last `n` audit rows, oldest first."""
        entries = await self._entries("ORDER BY seq DESC LIMIT ?", (max(n, 0),))
        return entries[::-1]

    async def history(self, request_id: RequestID) -> list[AuditEntry]:
        """Every audit row of one request, in order."""
        return await self._entries("WHERE request_id = ? ORDER BY seq", (request_id,))

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _append(
        self,
        request_id: RequestID,
        kind: AuditKind,
        actor: UserID | None,
        event_id: EventID | None,
        host: str | None,
        digest: Digest | None,
        detail: Mapping[str, object],
        *,
        at: float | None = None,
    ) -> int:
        if kind not in AUDIT_KINDS:
            raise ValueError(f"unknown audit kind {kind!r}")
        text = json.dumps(self._mask(dict(detail)), ensure_ascii=False, sort_keys=True, default=str)
        cursor = await self._db.execute(
            "INSERT INTO audit_log "
            "(at, request_id, kind, actor, event_id, host, command_digest, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self._clock() if at is None else at,
                request_id,
                kind,
                actor,
                event_id,
                host,
                digest,
                text,
            ),
        )
        return int(cursor.lastrowid or 0)

    def _mask(self, value: object) -> object:
        """Every string in a detail, masked; keys are ours and kept."""
        if isinstance(value, str):
            return mask_text(value, self._secrets)
        if isinstance(value, Mapping):
            return {str(key): self._mask(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(item) for item in value]
        return value

    async def _records(self, where: str, params: Sequence[object]) -> list[RequestRecord]:
        async with self._db.execute(
            f"SELECT {_REQUEST_COLUMNS} FROM exec_requests {where}", tuple(params)
        ) as cursor:
            rows = await cursor.fetchall()
        return [_record(row) for row in rows]

    async def _entries(self, tail: str, params: Sequence[object]) -> list[AuditEntry]:
        async with self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM audit_log {tail}", tuple(params)
        ) as cursor:
            rows = await cursor.fetchall()
        return [_entry(row) for row in rows]


def _state(value: object) -> State:
    """A stored state; an unknown one reads as `interrupted` (fail closed: never runnable)."""
    for state in STATES:
        if state == value:
            return state
    return "interrupted"


def _record(row: Sequence[Any]) -> RequestRecord:
    return RequestRecord(
        request_id=RequestID(str(row[0])),
        digest=Digest(str(row[1])),
        host=str(row[2]),
        command=str(row[3]),
        requester=UserID(str(row[4])),
        state=_state(row[5]),
        created_at=float(row[6]),
        updated_at=float(row[7]),
        room_id=None if row[8] is None else RoomID(str(row[8])),
        event_id=None if row[9] is None else EventID(str(row[9])),
    )


def _entry(row: Sequence[Any]) -> AuditEntry:
    try:
        detail = json.loads(row[8])
    except (TypeError, ValueError):
        detail = {"unreadable": str(row[8])}
    return AuditEntry(
        seq=int(row[0]),
        at=float(row[1]),
        request_id=RequestID(str(row[2])),
        kind=str(row[3]),
        actor=None if row[4] is None else UserID(str(row[4])),
        event_id=None if row[5] is None else EventID(str(row[5])),
        host=None if row[6] is None else str(row[6]),
        command_digest=None if row[7] is None else Digest(str(row[7])),
        detail=detail if isinstance(detail, dict) else {"value": detail},
    )
