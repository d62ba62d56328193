"""A task's states: the whole transition table, pair by pair, and the SOP mapping.

The table below is the specification: every (from, to) pair not listed is refused.
"""

from __future__ import annotations

import itertools

import pytest

from bots.errors import TaskError
from bots.tasks.states import (
    ACTIVE_STATES,
    FINAL_STATES,
    STATES,
    TRANSITIONS,
    can_move,
    check_move,
    sop_status,
)

ACTIVE = (
    "pending",
    "discussing",
    "critiquing",
    "voting",
    "planning",
    "dividing",
    "working",
    "merging",
    "reviewing",
    "awaiting_approval",
    "running",
    "fixing",
)

# The workflow's own moves (issue 16 and the design's "Order").
FORWARD = {
    ("pending", "discussing"),  # proposals asked
    ("pending", "planning"),  # !assign before discussing
    ("pending", "reviewing"),  # a routine's run: its stored plan, no proposals or vote
    ("discussing", "voting"),  # two or more proposals
    ("discussing", "planning"),  # one proposal, or !assign
    ("voting", "planning"),  # the winner plans (or !assign)
    ("planning", "reviewing"),  # a plan with commands
    ("planning", "completed"),  # no command: the refined answer is the report
    ("reviewing", "awaiting_approval"),
    ("reviewing", "planning"),  # the judge rejects (once)
    ("awaiting_approval", "running"),
    ("awaiting_approval", "planning"),  # denied: back to the planner
    ("running", "completed"),
    ("running", "fixing"),  # a step failed
    ("fixing", "reviewing"),  # the fix is reviewed and approved again
    # Issue 17: the critique round, and divide and merge.
    ("discussing", "critiquing"),  # two or more proposals, critique on
    ("critiquing", "voting"),  # the critiques (and revisions) are in
    ("critiquing", "planning"),  # !assign during the critique round
    ("pending", "dividing"),  # a split task: the planner divides the mission
    ("dividing", "working"),  # the parts are assigned and asked at once
    ("dividing", "discussing"),  # no usable split: the council works as usual
    ("working", "merging"),  # every part is done or missing
    ("merging", "completed"),  # the deliverable is the report
    ("merging", "reviewing"),  # parts need commands: their steps, one plan
}
# Any active task may be paused, fail or be cancelled; a paused one resumes or is cancelled.
EVERYWHERE = {(a, b) for a in ACTIVE for b in ("paused", "failed", "cancelled")}
RESUME = {("paused", a) for a in ACTIVE} | {("paused", "cancelled")}
ALLOWED = FORWARD | EVERYWHERE | RESUME

ALL_PAIRS = list(itertools.product(STATES, STATES))


def test_the_state_lists() -> None:
    assert (*ACTIVE, "paused", "completed", "failed", "cancelled") == STATES
    assert set(ACTIVE) == ACTIVE_STATES
    assert {"completed", "failed", "cancelled"} == FINAL_STATES
    assert set(TRANSITIONS) == set(STATES)


@pytest.mark.parametrize(("a", "b"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_pair_is_allowed_or_refused_as_the_table_says(a: str, b: str) -> None:
    allowed = (a, b) in ALLOWED
    assert (b in TRANSITIONS[a]) is allowed  # type: ignore[index]
    assert can_move(a, b) is allowed  # type: ignore[arg-type]
    if allowed:
        check_move(a, b)
    else:
        with pytest.raises(TaskError) as refused:
            check_move(a, b)
        assert a in str(refused.value)
        assert b in str(refused.value)


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_a_final_state_never_moves_and_says_it_has_ended(state: str) -> None:
    assert TRANSITIONS[state] == frozenset()  # type: ignore[index]
    with pytest.raises(TaskError, match="it has ended"):
        check_move(state, "planning")


@pytest.mark.parametrize(
    ("paused_from", "to", "allowed"),
    [
        ("running", "running", True),
        ("running", "planning", False),
        ("awaiting_approval", "awaiting_approval", True),
        ("awaiting_approval", "running", False),
        ("pending", "pending", True),
        ("pending", "discussing", False),
        ("voting", "cancelled", True),  # cancelling a paused task is always allowed
        ("voting", "failed", False),  # a paused task does not fail; it is cancelled
        ("voting", "completed", False),
        (None, "fixing", True),  # without paused_from, only the table is checked
    ],
)
def test_a_paused_task_resumes_only_where_it_was_paused(
    paused_from: str | None, to: str, allowed: bool
) -> None:
    assert can_move("paused", to, paused_from=paused_from) is allowed  # type: ignore[arg-type]
    if allowed:
        check_move("paused", to, paused_from=paused_from)
    else:
        with pytest.raises(TaskError):
            check_move("paused", to, paused_from=paused_from)


def test_resuming_elsewhere_names_where_it_was_paused() -> None:
    with pytest.raises(TaskError, match="paused from running can only resume to running"):
        check_move("paused", "planning", paused_from="running")


@pytest.mark.parametrize(
    ("a", "b", "paused_from", "message"),
    [
        ("sleeping", "running", None, "unknown task state 'sleeping'"),
        ("running", "done", None, "unknown task state 'done'"),
        ("paused", "running", "completed", "cannot have been paused from 'completed'"),
        ("paused", "running", "paused", "cannot have been paused from 'paused'"),
    ],
)
def test_unknown_states_are_refused_by_name(
    a: str, b: str, paused_from: str | None, message: str
) -> None:
    with pytest.raises(TaskError, match=message):
        check_move(a, b, paused_from=paused_from)


def test_paused_from_is_ignored_for_a_task_that_is_not_paused() -> None:
    check_move("running", "fixing", paused_from="voting")


@pytest.mark.parametrize(
    ("state", "sop"),
    [
        ("pending", "pending"),
        ("discussing", "in_progress"),
        ("voting", "in_progress"),
        ("planning", "in_progress"),
        ("reviewing", "in_progress"),
        ("awaiting_approval", "in_progress"),
        ("running", "in_progress"),
        ("fixing", "in_progress"),
        ("paused", "in_progress"),
        ("completed", "completed"),
        ("failed", "completed"),
        ("cancelled", "completed"),
    ],
)
def test_the_sop_status_of_every_state(state: str, sop: str) -> None:
    assert sop_status(state) == sop


def test_the_sop_table_covers_every_state() -> None:
    assert {sop_status(s) for s in STATES} == {"pending", "in_progress", "completed"}
