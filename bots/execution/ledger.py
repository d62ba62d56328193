"""The executor's requests as the approval machine sees them, kept in the audit store.

One state machine: a move is made by `approvals.apply()`, and what it returns is saved,
compare-and-set from the state it was applied to (`save`). Moves the executor makes on its
own, with no event of the machine behind them (a restart drops an approved request that
never started), are checked against the machine's `PREDECESSORS` (`transition`). The store
keeps records; the rules are here and in approvals.py.

A request opens together with the executor's policy decision and the state that decision
leads to (pending, approved or forbidden), so there is no moment in which a forbidden
request waits for approval; an approval is saved only for a request whose recorded decision
is "needs approval". The move to `running` (the intent row) is committed before the command
starts, and only from `approved`, so a second start of the same request id finds it running
and refuses. After a crash, `interrupted_on_startup()` turns whatever was left running into
`interrupted` (state unknown): it is reported, never run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bots.execution.approvals import (
    PREDECESSORS,
    STATES,
    Allow,
    ApprovalRules,
    Event,
    Finish,
    Forbid,
    Interrupt,
    RequestState,
    Start,
    State,
    apply,
)
from bots.execution.requests import ExecRequest, ExecResult, command_digest
from bots.ids import Digest, EventID, RequestID, RoomID, UserID
from bots.store.audit import AuditEntry, AuditKind, AuditRow, AuditStore, NewRequest, StoredRequest
from executor.policy import Decision, Verdict

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

_NO_APPROVERS = ApprovalRules()
"""For the machine's events that no person sends (Allow, Forbid, Start, Finish, Interrupt):
none of them asks who approves."""


@dataclass(frozen=True)
class RequestRecord(StoredRequest):
    """A stored request whose state is one the machine knows (an unknown one reads as
    `interrupted`: fail closed, never runnable)."""

    state: State

    def as_state(self) -> RequestState:
        """The approval machine's view; who approved is in the audit log, not needed here."""
        return RequestState(
            self.request_id, self.digest, self.requester, self.state, self.created_at
        )


def read_state(value: str) -> State:
    """A stored state; an unknown one reads as `interrupted` (fail closed: never runnable)."""
    for state in STATES:
        if state == value:
            return state
    return "interrupted"


class RequestLedger:
    """The executor's requests and their audit log, moved only as the machine allows."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        secrets: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> RequestLedger:
        """A ledger on its own connection to a database `Store.open` has migrated."""
        return cls(await AuditStore.open(path, secrets=secrets, clock=clock))

    async def close(self) -> None:
        await self.store.close()

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
        """Adds one audit row (e.g. a refused approval) without moving the request."""
        return await self.store.append(
            request_id,
            kind,
            actor=actor,
            event_id=event_id,
            host=host,
            command_digest=command_digest,
            detail=detail,
        )

    async def open_request(
        self,
        request: ExecRequest,
        *,
        room_id: RoomID | None = None,
        event_id: EventID | None = None,
        decision: Decision | None = None,
        thread_root: EventID | None = None,
    ) -> bool:
        """Records a new request with its `request` audit row and, given the executor's policy
        `decision`, its `decision` row and the state the machine takes it to (Allow, Forbid,
        or neither), all in one transaction: `pending` (needs approval), `approved`
        (auto-approved, with an `approval` row) or `forbidden` (with a second `decision`
        row). Without a decision the request is pending with no recorded verdict, and an
        approval of it is never saved.

        False when the request id is already known (the idempotency key): the caller
        must not act on it again. Nothing is written then. `thread_root`: the thread it was
        asked in, kept in the `request` row so every reply about it goes there.
        """
        if request.digest != command_digest(request.host, request.command):
            raise ValueError(f"request {request.request_id}: digest does not match its command")
        asked: dict[str, object] = {
            "command": request.command,
            "task_id": request.task_id,
            "step": request.step,
            "room_id": room_id,
        }
        if thread_root is not None:
            asked["thread_root"] = thread_root
        rows = [AuditRow("request", request.requester, event_id, asked)]
        state = RequestState.new(request, created_at=0.0)
        if decision is not None:
            rows.append(
                AuditRow(
                    "decision",
                    detail={
                        "verdict": decision.verdict.value,
                        "rule": decision.rule,
                        "reason": decision.reason,
                    },
                )
            )
            state = _opened(state, decision)
            if state.status != "pending":
                reason = "policy auto-approval" if state.status == "approved" else decision.reason
                detail = {"state": state.status, "rule": decision.rule, "reason": reason}
                rows.append(AuditRow(KIND_OF_STATE[state.status], detail=detail))
        opened = NewRequest(
            request.request_id,
            request.digest,
            request.host,
            request.command,
            request.requester,
            state.status,
            room_id,
            event_id,
        )
        return await self.store.insert(opened, rows)

    async def remember_cancel(
        self,
        request_id: RequestID,
        *,
        actor: UserID,
        event_id: EventID,
        task_id: str | None,
        reason: str = "",
    ) -> None:
        """A cancel naming a request not known (yet): kept as a `cancel` row marked `early`,
        so the request, should it come later (after the executor was away, even across a
        restart), is refused as cancelled and never run. Written once per cancel event."""
        if any(entry.event_id == event_id for entry in await self._early_cancels(request_id)):
            return
        detail = {"state": "unknown", "early": True, "task_id": task_id, "reason": reason}
        await self.store.append(request_id, "cancel", actor=actor, event_id=event_id, detail=detail)

    async def cancelled_early(
        self, request_id: RequestID, task_id: str | None
    ) -> AuditEntry | None:
        """The cancel that came before this request did (see `remember_cancel`), if one names
        no task or the request's own; a cancel naming another task changes nothing."""
        for entry in await self._early_cancels(request_id):
            named = entry.detail.get("task_id")
            if named is None or named == task_id:
                return entry
        return None

    async def _early_cancels(self, request_id: RequestID) -> list[AuditEntry]:
        return [
            entry
            for entry in await self.store.history(request_id)
            if entry.kind == "cancel" and entry.detail.get("early") is True
        ]

    async def set_message(self, request_id: RequestID, room_id: RoomID, event_id: EventID) -> bool:
        """Remembers the message showing the request, so a ✅ on it can be found."""
        return await self.store.set_message(request_id, room_id, event_id)

    async def save(
        self,
        before: RequestState,
        after: RequestState,
        *,
        actor: UserID | None = None,
        event_id: EventID | None = None,
        detail: Mapping[str, object] | None = None,
        kind: AuditKind | None = None,
    ) -> bool:
        """Saves what `apply()` returned: the request moves from `before`'s state to
        `after`'s only if it is still in `before`'s (compare and set), with its audit row.

        False, with nothing written, when another move got there first, when `after` is no
        move (same state: e.g. a cancel asked of a running command) or not one of the
        machine's moves (`PREDECESSORS`), or when it approves a request whose recorded policy
        decision is not "needs approval"."""
        return await self._save(before, after, actor, event_id, detail, kind)

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
        """Moves a request to `new_state`, for the executor's own moves that no event of the
        machine stands for; only from a state the machine allows (`PREDECESSORS`), and only
        from the state it was read in (compare and set): False, with nothing written, when
        the request is unknown or another move got there first."""
        if new_state not in STATES:
            raise ValueError(f"unknown request state {new_state!r}")
        record = await self._get(request_id)
        if record is None or record.state not in PREDECESSORS[new_state]:
            return False
        before = record.as_state()
        after = replace(before, status=new_state)
        # As before the ledger: these moves are the executor's own, so an approval made
        # here (tests set up requests so) does not consult the recorded verdict.
        return await self._save(
            before, after, actor, event_id, detail, kind, approval_needs_verdict=False
        )

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
        approved, whatever else says so. False, with nothing written, otherwise."""
        record = await self._get(request_id)
        if record is None or record.state not in PREDECESSORS["approved"]:
            return False
        before = record.as_state()
        after = replace(before, status="approved", approved_by=actor, approval_event=event_id)
        return await self._save(before, after, actor, event_id, detail, None)

    async def verdict(self, request_id: RequestID) -> Verdict | None:
        """The verdict of the request's latest recorded policy decision; None when it has none
        (a refusal, recorded as a decision row too, is not a verdict)."""
        return await self._verdict(request_id)

    async def mark_started(self, request_id: RequestID, *, actor: UserID | None = None) -> bool:
        """The intent row: approved → running, committed before the command starts.

        Run the command only when this returns True; a second call for the same request
        (a replay, a race, a restart) returns False.
        """
        return await self._apply_and_save(request_id, Start(), actor=actor)

    async def finish(self, request_id: RequestID, result: ExecResult) -> bool:
        """running → finished (or cancelled, interrupted), with the `end` row: status, exit,
        duration, output digest."""
        if result.request_id != request_id:
            raise ValueError(f"result of {result.request_id} given for {request_id}")
        detail: dict[str, object] = {
            "status": result.status,
            "exit_status": result.exit_status,
            "duration_ms": result.duration_ms,
            "output_digest": result.output_digest,
        }
        return await self._apply_and_save(request_id, Finish(result), detail=detail, kind="end")

    async def interrupted_on_startup(self) -> list[RequestRecord]:
        """Requests a crash left running become `interrupted` (audited); they are returned
        so the executor can say "interrupted, state unknown". None of them is run again."""
        interrupted: list[RequestRecord] = []
        reason = {"reason": "the executor restarted while it ran"}
        for stored in await self.store.in_state("running"):
            rid = stored.request_id
            if await self._apply_and_save(rid, Interrupt(), detail=reason):
                record = await self._get(rid)
                if record is not None:
                    interrupted.append(record)
        return interrupted

    async def get(self, request_id: RequestID) -> RequestRecord | None:
        return await self._get(request_id)

    async def approved_under(
        self, approval_event: EventID, plan_event: EventID
    ) -> list[RequestRecord]:
        """The requests an approval of a task's plan approved as its steps (plan_approvals.py:
        the window between a plan's steps runs from the end of the last of them)."""
        return [_known(s) for s in await self.store.approved_under(approval_event, plan_event)]

    async def find_by_event(self, event_id: EventID) -> RequestRecord | None:
        """The request shown in (or carried by) this event."""
        return _record(await self.store.find_by_event(event_id))

    async def find_by_prompt(self, event_id: EventID) -> RequestRecord | None:
        """The request whose approval prompt (see `set_message`) is this event: what a ✅
        reaction approves. Never the event that asked for the request."""
        return _record(await self.store.find_by_prompt(event_id))

    async def in_state(self, state: State) -> list[RequestRecord]:
        """E.g. the pending requests, to expire those past their window."""
        return [_known(stored) for stored in await self.store.in_state(state)]

    async def recent(self, n: int) -> list[AuditEntry]:
        """The last `n` audit rows, oldest first."""
        return await self.store.recent(n)

    async def history(self, request_id: RequestID) -> list[AuditEntry]:
        """Every audit row of one request, in order."""
        return await self.store.history(request_id)

    async def asked(self, request_id: RequestID) -> Mapping[str, object] | None:
        """What the request's `request` row keeps (task, step, thread); None when it has none.
        Not simply its first row: a cancel may have come before the request (`remember_cancel`)."""
        for entry in await self.store.history(request_id):
            if entry.kind == "request":
                return entry.detail
        return None

    async def _get(self, request_id: RequestID) -> RequestRecord | None:
        return _record(await self.store.get(request_id))

    async def _verdict(self, request_id: RequestID) -> Verdict | None:
        known = {verdict.value: verdict for verdict in Verdict}
        verdicts = [known[v] for v in await self.store.verdicts(request_id) if v in known]
        return verdicts[-1] if verdicts else None

    async def _apply_and_save(
        self,
        request_id: RequestID,
        event: Event,
        *,
        actor: UserID | None = None,
        detail: Mapping[str, object] | None = None,
        kind: AuditKind | None = None,
    ) -> bool:
        """One of the machine's own events (start, finish, interrupt), applied to the
        request as stored and saved when the machine takes it."""
        record = await self._get(request_id)
        if record is None:
            return False
        before = record.as_state()
        after, outcome = apply(before, event, _NO_APPROVERS)
        return outcome.accepted and await self._save(before, after, actor, None, detail, kind)

    async def _save(
        self,
        before: RequestState,
        after: RequestState,
        actor: UserID | None,
        event_id: EventID | None,
        detail: Mapping[str, object] | None,
        kind: AuditKind | None,
        *,
        approval_needs_verdict: bool = True,
    ) -> bool:
        if after.request_id != before.request_id or after.status == before.status:
            return False
        if before.status not in PREDECESSORS[after.status]:
            # A second lock behind `apply()`: whatever a caller passes, a request only ever
            # makes a move of the machine's table (a forbidden request never starts).
            return False
        rid = before.request_id
        if (
            after.status == "approved"
            and approval_needs_verdict
            and await self._verdict(rid) is not Verdict.NEEDS_APPROVAL
        ):
            return False
        row = AuditRow(
            kind or KIND_OF_STATE[after.status],
            actor,
            event_id,
            {"state": after.status, **(detail or {})},
        )
        return await self.store.move(rid, before.status, after.status, row)


def _opened(state: RequestState, decision: Decision) -> RequestState:
    """The state the policy's verdict takes a new request to: the machine's Allow or Forbid,
    or pending when it needs approval."""
    event: Event | None = None
    if decision.verdict is Verdict.ALLOW:
        event = Allow(decision.rule)
    elif decision.verdict is Verdict.FORBID:
        event = Forbid(decision.reason)
    if event is None:
        return state
    opened, outcome = apply(state, event, _NO_APPROVERS)
    if not outcome.accepted:  # a new request is pending: the machine always takes these
        raise ValueError(f"a new request cannot open as {decision.verdict.value}: {outcome}")
    return opened


def _known(stored: StoredRequest) -> RequestRecord:
    return RequestRecord(**{**asdict(stored), "state": read_state(stored.state)})


def _record(stored: StoredRequest | None) -> RequestRecord | None:
    return None if stored is None else _known(stored)
