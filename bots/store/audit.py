"""The executor's audit log and its requests' current state, kept as records.

The store holds no rules. Which moves a request may make is the approval machine's
(`bots.execution.approvals`); which state a policy verdict opens a request in, and which
audit row a move writes, is the ledger's (`bots.execution.ledger`). What the store gives
those rules is what makes them hold under concurrency and crashes:

- a request id is inserted once (the idempotency key), with its first audit rows;
- a state changes only from the state the caller read (compare and set), together with
  its audit row, in one transaction: of two racing moves one wins, the other writes nothing;
- the audit log is append-only (SQLite triggers, see migrations/v03_audit.py).

Commands and details are masked before they are written (configured secrets and obvious
credentials), so the database never holds what the room must not see. Use one `AuditStore`
per connection, ideally a connection of its own: its transactions are serialised by a lock
that other users of the connection do not take. Database errors leave as `StoreError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import aiosqlite

from bots.ids import Digest, EventID, RequestID, RoomID, UserID
from bots.store.connection import connect_migrated, fetch_all, fetch_one
from bots.store.errors import converted
from executor.masking import mask_text

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
class AuditRow:
    """An audit row to write with a request's insert or move; the store adds the time, the
    request id, its host and its digest."""

    kind: AuditKind
    actor: UserID | None = None
    event_id: EventID | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class NewRequest:
    """A request to insert, in the state its caller decided it opens in."""

    request_id: RequestID
    digest: Digest
    host: str
    command: str
    requester: UserID
    state: str
    room_id: RoomID | None = None
    event_id: EventID | None = None


@dataclass(frozen=True)
class StoredRequest:
    """A request's row; `command` is masked. `event_id` is the message the request is shown
    in: the request's own event until `set_message` records its approval prompt."""

    request_id: RequestID
    digest: Digest
    host: str
    command: str
    requester: UserID
    state: str
    created_at: float
    updated_at: float
    room_id: RoomID | None
    event_id: EventID | None


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
        db = await connect_migrated(
            path, version=AUDIT_SCHEMA_VERSION, needed_by="the audit log needs"
        )
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

    async def insert(self, request: NewRequest, rows: Sequence[AuditRow]) -> bool:
        """Records a new request with its first audit rows, in one transaction.

        False when the request id is already known (the idempotency key): the caller must
        not act on it again. Nothing is written then.
        """
        now = self._clock()
        command = mask_text(request.command, self._secrets)
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
                    request.state,
                    now,
                    now,
                    request.room_id,
                    request.event_id,
                ),
            )
            if cursor.rowcount != 1:
                return False
            for row in rows:
                await self._append(
                    request.request_id,
                    row.kind,
                    row.actor,
                    row.event_id,
                    request.host,
                    request.digest,
                    row.detail,
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

    async def move(self, request_id: RequestID, before: str, after: str, row: AuditRow) -> bool:
        """Sets the request's state from `before` to `after` and writes `row`, in one
        transaction, only while the row is still in `before` (compare and set): False, with
        nothing written, when the request is unknown or another move got there first."""
        now = self._clock()
        async with self._transaction():
            cursor = await self._db.execute(
                "UPDATE exec_requests SET state = ?, updated_at = ? "
                "WHERE request_id = ? AND state = ?",
                (after, now, request_id, before),
            )
            if cursor.rowcount != 1:
                return False
            found = await fetch_one(
                self._db,
                "SELECT host, digest FROM exec_requests WHERE request_id = ?",
                (request_id,),
            )
            host, digest = (str(found[0]), Digest(str(found[1]))) if found else (None, None)
            await self._append(
                request_id, row.kind, row.actor, row.event_id, host, digest, row.detail, at=now
            )
            return True

    async def verdicts(self, request_id: RequestID) -> list[str]:
        """The `verdict` of each of the request's `decision` rows that has one, oldest first."""
        with converted("the audit store"):
            rows = await fetch_all(
                self._db,
                "SELECT json_extract(detail, '$.verdict') FROM audit_log "
                "WHERE request_id = ? AND kind = 'decision' "
                "AND json_extract(detail, '$.verdict') IS NOT NULL ORDER BY seq",
                (request_id,),
            )
        return [str(row[0]) for row in rows]

    async def get(self, request_id: RequestID) -> StoredRequest | None:
        found = await self._requests("WHERE request_id = ?", (request_id,))
        return found[0] if found else None

    async def find_by_event(self, event_id: EventID) -> StoredRequest | None:
        """The request shown in (or carried by) this event."""
        found = await self._requests(
            "WHERE event_id = ? ORDER BY created_at DESC LIMIT 1", (event_id,)
        )
        return found[0] if found else None

    async def find_by_prompt(self, event_id: EventID) -> StoredRequest | None:
        """The request whose approval prompt (see `set_message`) is this event: what a ✅
        reaction approves. Never the event that asked for the request."""
        found = await self._requests(
            "WHERE event_id = ? AND NOT EXISTS (SELECT 1 FROM audit_log AS a "
            "WHERE a.request_id = exec_requests.request_id AND a.kind = 'request' "
            "AND a.event_id = exec_requests.event_id) ORDER BY created_at DESC LIMIT 1",
            (event_id,),
        )
        return found[0] if found else None

    async def approved_under(
        self, approval_event: EventID, plan_event: EventID
    ) -> list[StoredRequest]:
        """The requests `approval_event` approved as steps of the plan `plan_event` (their
        `approval` rows name both), oldest first."""
        return await self._requests(
            "WHERE request_id IN (SELECT request_id FROM audit_log WHERE kind = 'approval' "
            "AND event_id = ? AND json_extract(detail, '$.plan_event') = ?) "
            "ORDER BY created_at, request_id",
            (approval_event, plan_event),
        )

    async def in_state(self, state: str) -> list[StoredRequest]:
        """E.g. the pending requests, to expire those past their window."""
        return await self._requests("WHERE state = ? ORDER BY created_at", (state,))

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
            with converted("the audit store"):
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

    async def _requests(self, where: str, params: Sequence[object]) -> list[StoredRequest]:
        with converted("the audit store"):
            rows = await fetch_all(
                self._db, f"SELECT {_REQUEST_COLUMNS} FROM exec_requests {where}", tuple(params)
            )
        return [_request(row) for row in rows]

    async def _entries(self, tail: str, params: Sequence[object]) -> list[AuditEntry]:
        with converted("the audit store"):
            rows = await fetch_all(
                self._db, f"SELECT {_ENTRY_COLUMNS} FROM audit_log {tail}", tuple(params)
            )
        return [_entry(row) for row in rows]


def _request(row: Sequence[Any]) -> StoredRequest:
    return StoredRequest(
        request_id=RequestID(str(row[0])),
        digest=Digest(str(row[1])),
        host=str(row[2]),
        command=str(row[3]),
        requester=UserID(str(row[4])),
        state=str(row[5]),
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
