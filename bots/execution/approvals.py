"""The life of one execution request, as a pure state machine that fails closed.

    pending ──Approve/Allow──▶ approved ──Start──▶ running ──Finish──▶ finished
       │                         │                   │                  (cancelled,
       ├─Deny──▶ denied ◀──Deny──┤                   ├─Interrupt──▶ interrupted
       ├─Expire──▶ expired       │                   └─Cancel: marks it; Finish ends it
       ├─Forbid──▶ forbidden     │
       └─Cancel──▶ cancelled ◀───┘

The executor checks every approval itself: it counts only from a user the executor's own
config lists as an approver, naming this request's exact command digest, before the request
expires, and only once. Another bot's word that something was approved is never an input
here. Anything unexpected (an unknown event, a mismatched result, an error) leaves the state
as it was and says why: a request never moves towards running by accident.
"""

from __future__ import annotations

import fnmatch
import hmac
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from bots.execution.requests import ExecRequest, ExecResult, short_digest
from bots.ids import Digest, EventID, RequestID, UserID

log = logging.getLogger(__name__)

State = Literal[
    "pending",
    "approved",
    "running",
    "finished",
    "denied",
    "expired",
    "cancelled",
    "interrupted",
    "forbidden",
]
STATES: tuple[State, ...] = (
    "pending",
    "approved",
    "running",
    "finished",
    "denied",
    "expired",
    "cancelled",
    "interrupted",
    "forbidden",
)
FINAL_STATES: frozenset[State] = frozenset(
    ("finished", "denied", "expired", "cancelled", "interrupted", "forbidden")
)
PREDECESSORS: Mapping[State, frozenset[State]] = {
    "pending": frozenset(),
    "approved": frozenset({"pending"}),
    "running": frozenset({"approved"}),
    "finished": frozenset({"running"}),
    "denied": frozenset({"pending", "approved"}),
    "expired": frozenset({"pending"}),
    "cancelled": frozenset({"pending", "approved", "running"}),
    "interrupted": frozenset({"running"}),
    "forbidden": frozenset({"pending"}),
}
"""The only moves there are. `apply()` makes them; the ledger saves what it returns, and
checks the executor's own moves (no event behind them) against this table."""

APPROVE_REACTION = "✅"
_VARIATION_SELECTOR = "\ufe0f"


@dataclass(frozen=True)
class ApprovalRules:
    """Who may approve, from the executor's own config, and how long a request waits.

    `approvers` are user-id globs; `excluded` (globs too, e.g. the council's bot accounts)
    never approve even when an approver glob matches them. No approvers: nobody approves.
    """

    approvers: tuple[str, ...] = ()
    expiry_seconds: float = 900.0
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestState:
    """What the machine knows of one request; `status` is the state name."""

    request_id: RequestID
    digest: Digest
    requester: UserID
    status: State
    created_at: float
    approved_by: UserID | None = None
    approval_event: EventID | None = None
    cancel_requested_by: UserID | None = None
    result: ExecResult | None = None
    note: str = ""
    """Why it ended where it did (deny reason, policy rule…), for the messages."""

    @classmethod
    def new(cls, request: ExecRequest, created_at: float) -> RequestState:
        return cls(request.request_id, request.digest, request.requester, "pending", created_at)

    def expires_at(self, rules: ApprovalRules) -> float:
        return self.created_at + rules.expiry_seconds

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATES


@dataclass(frozen=True)
class Approve:
    """An approver's yes (`!approve`, or ✅ on the request message) for one exact digest."""

    by: UserID
    digest: str
    event_id: EventID | None
    at: float


@dataclass(frozen=True)
class Deny:
    by: UserID
    reason: str = ""


@dataclass(frozen=True)
class Expire:
    at: float


@dataclass(frozen=True)
class Allow:
    """The executor's own policy allows the command without asking (auto-approval)."""

    rule: str


@dataclass(frozen=True)
class Forbid:
    """The executor's own policy forbids the command: it is never offered for approval."""

    reason: str


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Finish:
    result: ExecResult


@dataclass(frozen=True)
class Cancel:
    """Stop a request. `relayed`: sent by the configured coordinator, which relays the
    requester's task (an `org.chavion.exec.cancel`), so it may cancel what it asked for."""

    by: UserID
    relayed: bool = False


@dataclass(frozen=True)
class Interrupt:
    """The executor restarted while the command ran: its end is unknown and it is not rerun."""


Event = Approve | Deny | Expire | Allow | Forbid | Start | Finish | Cancel | Interrupt


@dataclass(frozen=True)
class Outcome:
    """Whether the event was taken, and a sentence saying what happened or why not."""

    accepted: bool
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ApprovalDecision:
    ok: bool
    reason: str


def matches(user_id: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(user_id, glob) for glob in globs)


def is_approver(user_id: str, rules: ApprovalRules) -> bool:
    return matches(user_id, rules.approvers) and not matches(user_id, rules.excluded)


def is_expired(state: RequestState, rules: ApprovalRules, now: float) -> bool:
    """True once the approval window is over; a broken window (NaN) counts as over."""
    deadline = state.expires_at(rules)
    return not (math.isfinite(deadline) and now < deadline)


def check_approval(
    request: RequestState, approver: UserID, digest: str, rules: ApprovalRules, now: float
) -> ApprovalDecision:
    """Whether this approval counts. Refuses a non-approver, any digest but this request's
    exact one (a short prefix too), a request past its window, and a second approval."""
    try:
        if not is_approver(approver, rules):
            return ApprovalDecision(False, f"{approver} is not an approver for the executor")
        if not isinstance(digest, str) or not hmac.compare_digest(
            digest.encode("utf-8", "surrogatepass"), request.digest.encode("utf-8")
        ):
            return ApprovalDecision(
                False,
                f"the approval names digest {short_digest(str(digest)) or '(none)'}, "
                f"not this request's exact digest {short_digest(request.digest)}",
            )
        if request.status != "pending":
            return ApprovalDecision(False, _not_pending(request))
        if is_expired(request, rules, now):
            return ApprovalDecision(False, "the request has expired")
        return ApprovalDecision(True, f"approved by {approver}")
    except Exception:  # fail closed: a broken check never approves
        log.exception("approval check for %s failed; refusing", request.request_id)
        return ApprovalDecision(False, "the approval check failed; refused")


def approval_from_reaction(
    key: str, by: UserID, event_id: EventID, at: float, reacted_to: RequestState
) -> Approve | None:
    """A ✅ on a request's message is an approval of that request's digest; other keys are not.

    The caller passes the request whose message was reacted to (found by that message's
    event id); the approval then goes through `check_approval` like any other.
    """
    if key.replace(_VARIATION_SELECTOR, "") != APPROVE_REACTION:
        return None
    return Approve(by=by, digest=reacted_to.digest, event_id=event_id, at=at)


def apply(state: RequestState, event: Event, rules: ApprovalRules) -> tuple[RequestState, Outcome]:
    """The next state after `event`, and what to say. A refused event changes nothing."""
    try:
        return _apply(state, event, rules)
    except Exception:  # fail closed: the request stays where it was
        log.exception("applying %r to %s failed", type(event).__name__, state.request_id)
        return state, Outcome(False, "That could not be applied (it is logged); nothing changed.")


def _apply(state: RequestState, event: Event, rules: ApprovalRules) -> tuple[RequestState, Outcome]:
    rid = state.request_id
    if isinstance(event, Approve):
        decision = check_approval(state, event.by, event.digest, rules, event.at)
        if not decision.ok:
            return _refuse(state, f"Approval of {rid} refused: {decision.reason}.")
        return _move(
            state,
            "approved",
            f"{rid} approved by {event.by}.",
            approved_by=event.by,
            approval_event=event.event_id,
        )
    if isinstance(event, Deny):
        if not is_approver(event.by, rules):
            return _refuse(state, f"{event.by} is not an approver; {rid} is not denied.")
        if state.status == "running":
            return _refuse(state, f"{rid} is already running; use !cancel {rid} to stop it.")
        if state.status not in PREDECESSORS["denied"]:
            return _refuse(state, f"{rid} {_not_pending(state)}; nothing to deny.")
        reason = event.reason.strip()
        return _move(
            state,
            "denied",
            f"{rid} denied by {event.by}" + (f": {reason}." if reason else "."),
            note=reason,
        )
    if isinstance(event, Expire):
        if state.status != "pending":
            return _refuse(state, f"{rid} {_not_pending(state)}; it does not expire.")
        if not is_expired(state, rules, event.at):
            return _refuse(state, f"{rid} is not due to expire yet.")
        minutes = rules.expiry_seconds / 60
        return _move(state, "expired", f"{rid} expired: not approved within {minutes:g} min.")
    if isinstance(event, Allow):
        if state.status != "pending":
            return _refuse(state, f"{rid} {_not_pending(state)}; the policy cannot approve it.")
        return _move(
            state, "approved", f"{rid} needs no approval (rule {event.rule}).", note=event.rule
        )
    if isinstance(event, Forbid):
        if state.status != "pending":
            return _refuse(state, f"{rid} {_not_pending(state)}; it cannot be forbidden now.")
        return _move(state, "forbidden", f"{rid} is forbidden: {event.reason}.", note=event.reason)
    if isinstance(event, Start):
        if state.status != "approved":
            return _refuse(state, f"{rid} cannot start: it is {state.status}, not approved.")
        return _move(state, "running", f"{rid} started.")
    if isinstance(event, Finish):
        return _finish(state, event.result)
    if isinstance(event, Cancel):
        if not event.relayed and event.by != state.requester and not is_approver(event.by, rules):
            return _refuse(state, f"Only the requester or an approver may cancel {rid}.")
        if state.status == "running":
            if state.cancel_requested_by is not None:
                return _refuse(state, f"{rid} is already being cancelled.")
            cancelling = replace(state, cancel_requested_by=event.by)
            return cancelling, Outcome(True, f"Cancelling {rid} (requested by {event.by})…")
        if state.status not in PREDECESSORS["cancelled"]:
            return _refuse(state, f"{rid} {_not_pending(state)}; nothing to cancel.")
        return _move(state, "cancelled", f"{rid} cancelled by {event.by}; it did not run.")
    if isinstance(event, Interrupt):
        if state.status != "running":
            return _refuse(state, f"{rid} was not running.")
        return _move(
            state,
            "interrupted",
            f"{rid} was interrupted: the executor restarted while it ran; state unknown. "
            "It is not run again.",
        )
    return _refuse(state, f"Unknown event {type(event).__name__}; {rid} is unchanged.")


def _finish(state: RequestState, result: ExecResult) -> tuple[RequestState, Outcome]:
    rid = state.request_id
    if state.status != "running":
        return _refuse(state, f"{rid} is {state.status}, not running; the result is ignored.")
    if result.request_id != rid or result.digest != state.digest:
        return _refuse(state, f"That result is not for {rid}; ignored.")
    target: State
    if result.status == "cancelled":
        target = "cancelled"
    elif result.status == "interrupted":
        target = "interrupted"
    elif result.status in ("succeeded", "failed", "timed_out"):
        target = "finished"
    else:
        return _refuse(state, f"A command that ran cannot end as {result.status}; ignored.")
    return _move(state, target, f"{rid} {result.status.replace('_', ' ')}.", result=result)


def _move(
    state: RequestState,
    status: State,
    text: str,
    *,
    approved_by: UserID | None = None,
    approval_event: EventID | None = None,
    result: ExecResult | None = None,
    note: str | None = None,
) -> tuple[RequestState, Outcome]:
    if state.status not in PREDECESSORS[status]:  # a guard against a mistake in this module
        return _refuse(state, f"{state.request_id} cannot go from {state.status} to {status}.")
    new = replace(
        state,
        status=status,
        approved_by=approved_by if approved_by is not None else state.approved_by,
        approval_event=approval_event if approval_event is not None else state.approval_event,
        result=result if result is not None else state.result,
        note=note if note is not None else state.note,
    )
    return new, Outcome(True, text)


def _refuse(state: RequestState, text: str) -> tuple[RequestState, Outcome]:
    return state, Outcome(False, text)


def _not_pending(state: RequestState) -> str:
    if state.status in ("approved", "running", "finished"):
        who = f" by {state.approved_by}" if state.approved_by else ""
        return f"is already approved{who} ({state.status})"
    return f"is {state.status}"
