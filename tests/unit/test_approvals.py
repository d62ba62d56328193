"""The approval state machine, as tables: each row is one event and what it must do."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bots.execution.approvals import (
    FINAL_STATES,
    PREDECESSORS,
    STATES,
    Allow,
    ApprovalRules,
    Approve,
    Cancel,
    Deny,
    Event,
    Expire,
    Finish,
    Forbid,
    Interrupt,
    RequestState,
    Start,
    apply,
    approval_from_reaction,
    check_approval,
    is_expired,
)
from bots.execution.requests import (
    ExecRequest,
    ExecResult,
    command_digest,
    new_request,
    outcome_result,
)
from bots.ids import EventID, RequestID, UserID

MASTER = UserID("@master:hs")
OPS = UserID("@ops-kim:hs")
EVE = UserID("@eve:hs")
COORD = UserID("@chavion:hs")
T0 = 1_000.0
RULES = ApprovalRules(
    approvers=("@master:hs", "@ops-*:hs"), expiry_seconds=600, excluded=("@chavion:hs",)
)


def make_request(request_id: str = "r1", command: str = "systemctl restart nginx") -> ExecRequest:
    request = new_request("web1", command, MASTER, RequestID(request_id))
    assert isinstance(request, ExecRequest)
    return request


REQUEST = make_request()
DIGEST = REQUEST.digest
PENDING = RequestState.new(REQUEST, created_at=T0)
APPROVED = replace(PENDING, status="approved", approved_by=MASTER)
RUNNING = replace(APPROVED, status="running")


def result(status: Any = "succeeded", request: ExecRequest = REQUEST) -> ExecResult:
    return ExecResult(request.request_id, request.digest, status, "body", 0, 1200, "0" * 64)


def approve(by: UserID = MASTER, digest: str = DIGEST, at: float = T0 + 10) -> Approve:
    return Approve(by=by, digest=digest, event_id=EventID("$approve"), at=at)


# check_approval -----------------------------------------------------------------------

CHECKS: list[tuple[str, RequestState, UserID, str, float, ApprovalRules, str | None]] = [
    ("the master, exact digest", PENDING, MASTER, DIGEST, T0 + 1, RULES, None),
    ("an approver by glob", PENDING, OPS, DIGEST, T0 + 1, RULES, None),
    ("just inside the window", PENDING, MASTER, DIGEST, T0 + 599.9, RULES, None),
    ("not an approver", PENDING, EVE, DIGEST, T0 + 1, RULES, "not an approver"),
    (
        "a bot, even when a glob lets everyone approve",
        PENDING,
        COORD,
        DIGEST,
        T0 + 1,
        replace(RULES, approvers=("*",)),
        "not an approver",
    ),
    ("nobody approves without approvers", PENDING, MASTER, DIGEST, T0, ApprovalRules(), "not an"),
    (
        "the digest of another command",
        PENDING,
        MASTER,
        command_digest("web1", "reboot"),
        T0 + 1,
        RULES,
        "exact digest",
    ),
    (
        "the same command on another host",
        PENDING,
        MASTER,
        command_digest("web2", REQUEST.command),
        T0 + 1,
        RULES,
        "exact digest",
    ),
    ("the short digest", PENDING, MASTER, DIGEST[:12], T0 + 1, RULES, "exact digest"),
    ("an upper-case digest", PENDING, MASTER, DIGEST.upper(), T0 + 1, RULES, "exact digest"),
    ("no digest", PENDING, MASTER, "", T0 + 1, RULES, "exact digest"),
    ("at the expiry", PENDING, MASTER, DIGEST, T0 + 600, RULES, "expired"),
    ("long after", PENDING, MASTER, DIGEST, T0 + 10_000, RULES, "expired"),
    (
        "a broken expiry window",
        PENDING,
        MASTER,
        DIGEST,
        T0,
        replace(RULES, expiry_seconds=float("nan")),
        "expired",
    ),
    ("approved twice", APPROVED, MASTER, DIGEST, T0 + 1, RULES, "already approved by @master"),
    ("approved by another", APPROVED, OPS, DIGEST, T0 + 1, RULES, "already approved"),
    ("already running", RUNNING, MASTER, DIGEST, T0 + 1, RULES, "already approved"),
    ("denied", replace(PENDING, status="denied"), MASTER, DIGEST, T0 + 1, RULES, "is denied"),
    ("expired", replace(PENDING, status="expired"), MASTER, DIGEST, T0, RULES, "is expired"),
]


@pytest.mark.parametrize(
    ("state", "approver", "digest", "now", "rules", "refusal"),
    [row[1:] for row in CHECKS],
    ids=[row[0] for row in CHECKS],
)
def test_check_approval(
    state: RequestState,
    approver: UserID,
    digest: str,
    now: float,
    rules: ApprovalRules,
    refusal: str | None,
) -> None:
    decision = check_approval(state, approver, digest, rules, now)
    assert decision.ok is (refusal is None), decision.reason
    if refusal is not None:
        assert refusal in decision.reason


def test_a_broken_rule_refuses_instead_of_raising() -> None:
    broken = ApprovalRules(approvers=None)  # type: ignore[arg-type]
    decision = check_approval(PENDING, MASTER, DIGEST, broken, T0)
    assert not decision.ok
    assert "failed" in decision.reason


# apply --------------------------------------------------------------------------------

APPLY: list[tuple[str, RequestState, object, str, bool, str]] = [
    ("approve", PENDING, approve(), "approved", True, "approved by @master:hs"),
    ("a non-approver", PENDING, approve(by=EVE), "pending", False, "not an approver"),
    (
        "another digest",
        PENDING,
        approve(digest=command_digest("web1", "reboot")),
        "pending",
        False,
        "exact digest",
    ),
    ("approve too late", PENDING, approve(at=T0 + 601), "pending", False, "expired"),
    ("double approve", APPROVED, approve(by=OPS), "approved", False, "already approved"),
    ("policy allows", PENDING, Allow("read-only"), "approved", True, "rule read-only"),
    ("policy allows twice", APPROVED, Allow("x"), "approved", False, "already approved"),
    ("policy forbids", PENDING, Forbid("rm -rf /"), "forbidden", True, "forbidden: rm -rf /"),
    ("forbid after approval", APPROVED, Forbid("x"), "approved", False, "cannot be forbidden"),
    ("deny", PENDING, Deny(MASTER, "not now"), "denied", True, "denied by @master:hs: not now"),
    ("deny without reason", PENDING, Deny(OPS), "denied", True, "denied by @ops-kim:hs."),
    ("deny after approve, before start", APPROVED, Deny(OPS, "wait"), "denied", True, "denied"),
    ("deny while running", RUNNING, Deny(MASTER), "running", False, "use !cancel r1"),
    ("deny by a non-approver", PENDING, Deny(EVE), "pending", False, "not an approver"),
    ("deny after denial", replace(PENDING, status="denied"), Deny(MASTER), "denied", False, ""),
    ("expire early", PENDING, Expire(T0 + 599), "pending", False, "not due"),
    ("expire", PENDING, Expire(T0 + 600), "expired", True, "not approved within 10 min"),
    ("expire an approved request", APPROVED, Expire(T0 + 9_999), "approved", False, "not expire"),
    ("start approved", APPROVED, Start(), "running", True, "started"),
    ("start pending", PENDING, Start(), "pending", False, "not approved"),
    ("start twice", RUNNING, Start(), "running", False, "not approved"),
    ("start denied", replace(PENDING, status="denied"), Start(), "denied", False, "cannot start"),
    ("finish", RUNNING, Finish(result()), "finished", True, "succeeded"),
    ("finish failed", RUNNING, Finish(result("failed")), "finished", True, "failed"),
    ("finish timed out", RUNNING, Finish(result("timed_out")), "finished", True, "timed out"),
    ("finish cancelled", RUNNING, Finish(result("cancelled")), "cancelled", True, "cancelled"),
    ("finish interrupted", RUNNING, Finish(result("interrupted")), "interrupted", True, ""),
    ("finish not running", APPROVED, Finish(result()), "approved", False, "not running"),
    (
        "finish with another request's result",
        RUNNING,
        Finish(result(request=make_request("r2"))),
        "running",
        False,
        "not for r1",
    ),
    (
        "finish with another digest",
        RUNNING,
        Finish(result(request=make_request("r1", "reboot"))),
        "running",
        False,
        "not for r1",
    ),
    ("finish as denied", RUNNING, Finish(result("denied")), "running", False, "cannot end"),
    ("cancel pending by requester", PENDING, Cancel(MASTER), "cancelled", True, "did not run"),
    ("cancel approved by approver", APPROVED, Cancel(OPS), "cancelled", True, "did not run"),
    ("cancel by a stranger", PENDING, Cancel(EVE), "pending", False, "Only the requester"),
    (
        "cancel relayed by the coordinator",
        APPROVED,
        Cancel(COORD, relayed=True),
        "cancelled",
        True,
        "",
    ),
    ("cancel by the coordinator, not as relay", PENDING, Cancel(COORD), "pending", False, "Only"),
    (
        "cancel running, relayed",
        RUNNING,
        Cancel(COORD, relayed=True),
        "running",
        True,
        "Cancelling",
    ),
    ("cancel running", RUNNING, Cancel(MASTER), "running", True, "Cancelling r1"),
    (
        "cancel running twice",
        replace(RUNNING, cancel_requested_by=OPS),
        Cancel(MASTER),
        "running",
        False,
        "already being cancelled",
    ),
    ("cancel finished", replace(RUNNING, status="finished"), Cancel(MASTER), "finished", False, ""),
    ("interrupt running", RUNNING, Interrupt(), "interrupted", True, "state unknown"),
    ("interrupt pending", PENDING, Interrupt(), "pending", False, "not running"),
    ("an unknown event", PENDING, object(), "pending", False, "Unknown event"),
]


@pytest.mark.parametrize(
    ("state", "event", "status", "accepted", "words"),
    [row[1:] for row in APPLY],
    ids=[row[0] for row in APPLY],
)
def test_apply(state: RequestState, event: Event, status: str, accepted: bool, words: str) -> None:
    new, outcome = apply(state, event, RULES)
    assert new.status == status
    assert outcome.accepted is accepted, outcome.text
    assert words in outcome.text
    if not accepted:
        assert new is state  # a refused event changes nothing


def test_an_approval_remembers_who_and_which_event() -> None:
    new, _ = apply(PENDING, approve(by=OPS), RULES)
    assert new.approved_by == OPS
    assert new.approval_event == "$approve"


def test_a_cancelled_run_remembers_who_asked_and_ends_on_its_result() -> None:
    cancelling, _ = apply(RUNNING, Cancel(OPS), RULES)
    assert cancelling.cancel_requested_by == OPS
    ended, outcome = apply(cancelling, Finish(result("cancelled")), RULES)
    assert ended.status == "cancelled"
    assert ended.result == result("cancelled")
    assert outcome.accepted


def test_the_whole_life_of_a_request() -> None:
    state = PENDING
    life: list[Event] = [approve(), Start(), Finish(result())]
    for event in life:
        state, outcome = apply(state, event, RULES)
        assert outcome.accepted, outcome.text
    assert state.status == "finished"
    assert state.final
    after_the_end: list[Event] = [approve(), Start(), Deny(MASTER), Cancel(MASTER), Interrupt()]
    for late in after_the_end:
        after, outcome = apply(state, late, RULES)
        assert after is state
        assert not outcome.accepted


def test_a_denied_outcome_result_cannot_finish_a_run() -> None:
    denied = outcome_result(REQUEST, "denied", "no")
    new, outcome = apply(RUNNING, Finish(denied), RULES)
    assert new is RUNNING
    assert not outcome.accepted


def test_an_error_inside_leaves_the_state_as_it_was() -> None:
    broken = ApprovalRules(approvers=None)  # type: ignore[arg-type]
    new, outcome = apply(PENDING, Deny(MASTER), broken)
    assert new is PENDING
    assert not outcome.accepted
    assert "nothing changed" in outcome.text


def test_every_move_is_listed_in_predecessors() -> None:
    assert set(PREDECESSORS) == set(STATES)
    for state in FINAL_STATES:
        assert all(state not in before for before in PREDECESSORS.values())


def test_expiry() -> None:
    assert not is_expired(PENDING, RULES, T0 + 599)
    assert is_expired(PENDING, RULES, T0 + 600)


# ✅ reactions -------------------------------------------------------------------------

REACTIONS: list[tuple[str, str, UserID, RequestState, RequestState, str, bool]] = [
    ("✅ by the master", "✅", MASTER, PENDING, PENDING, "approved", True),
    ("✅ with a variation selector", "✅\ufe0f", MASTER, PENDING, PENDING, "approved", True),
    ("✅ by a stranger", "✅", EVE, PENDING, PENDING, "pending", False),
    ("✅ by the coordinator", "✅", COORD, PENDING, PENDING, "pending", False),
    (
        "✅ on another request's message",
        "✅",
        MASTER,
        RequestState.new(make_request("r2", "reboot"), T0),
        PENDING,
        "pending",
        False,
    ),
    ("✅ on an approved request", "✅", OPS, APPROVED, APPROVED, "approved", False),
]


@pytest.mark.parametrize(
    ("key", "by", "reacted_to", "target", "status", "accepted"),
    [row[1:] for row in REACTIONS],
    ids=[row[0] for row in REACTIONS],
)
def test_a_check_mark_reaction_approves_the_digest_it_reacts_to(
    key: str,
    by: UserID,
    reacted_to: RequestState,
    target: RequestState,
    status: str,
    accepted: bool,
) -> None:
    event = approval_from_reaction(key, by, EventID("$reaction"), T0 + 5, reacted_to)
    assert event is not None
    assert event.digest == reacted_to.digest
    new, outcome = apply(target, event, RULES)
    assert new.status == status
    assert outcome.accepted is accepted, outcome.text


@pytest.mark.parametrize("key", ["👍", "✔️", "☑️", "❌", "✅✅", "", "ok"])
def test_other_reactions_approve_nothing(key: str) -> None:
    assert approval_from_reaction(key, MASTER, EventID("$r"), T0, PENDING) is None
