"""Events read back from the homeserver are given to the task they belong to
(tests/support/room_events.py, used by the task benchmark and the robustness tests)."""

from __future__ import annotations

from typing import Any

import pytest

from bots.events import COUNCIL_KEY, POLL_END, POLL_RESPONSE, POLL_START
from bots.execution.requests import REQUEST_EVENT, RESULT_EVENT
from tests.support.room_events import ServerEvent, count_by_task, owners

BOT = "@coordinator:localhost"
AGENT = "@claude:localhost"
EXECUTOR = "@executor:localhost"
MASTER = "@master:localhost"


def thread(root: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.thread", "event_id": root}}


def rel(rel_type: str, target: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": rel_type, "event_id": target}}


def event(
    event_id: str, sender: str, type_: str = "m.room.message", /, **content: Any
) -> ServerEvent:
    return ServerEvent(event_id, type_, sender, content)


# Two tasks: #7 rooted at $o7, #8 rooted at $o8; one event of each shape.
EVENTS = [
    event("$o7", MASTER, body="//chavion_task: one"),
    event("$o8", MASTER, body="//chavion_task: two"),
    event("$ack7", BOT, body="#7 📋", **thread("$o7"), **{COUNCIL_KEY: {"kind": "ask", "task": 7}}),
    event("$ack8", BOT, body="#8 📋", **thread("$o8"), **{COUNCIL_KEY: {"kind": "ask", "task": 8}}),
    event("$poll7", BOT, POLL_START, **thread("$o7")),
    event(
        "$vote7",
        AGENT,
        POLL_RESPONSE,
        **{"m.relates_to": {"rel_type": "m.reference", "event_id": "$poll7"}},
    ),
    event(
        "$end7",
        BOT,
        POLL_END,
        **{"m.relates_to": {"rel_type": "m.reference", "event_id": "$poll7"}},
    ),
    event(
        "$ok7",
        BOT,
        "m.reaction",
        **{"m.relates_to": {"rel_type": "m.annotation", "event_id": "$ack7"}},
    ),
    event("$req7", BOT, REQUEST_EVENT, task_id="7", **thread("$o7")),
    event("$res7", EXECUTOR, RESULT_EVENT, request_id="t7-a1-s1"),
    event(
        "$say7",
        EXECUTOR,
        body="Execution t7-a1-s1",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": "$req7"}}},
    ),
    event(
        "$edit7",
        EXECUTOR,
        body="* done",
        **{"m.new_content": {}, "m.relates_to": {"rel_type": "m.replace", "event_id": "$say7"}},
    ),
    event("$line7", BOT, body="#7 ✅ one — done in 1 min"),
    event("$line9", BOT, body="#9 ✅ not counted here"),
    event("$hello", AGENT, body="hello"),
]


@pytest.mark.parametrize(
    ("event_id", "root"),
    [
        ("$ack7", "$o7"),  # in the thread
        ("$ack8", "$o8"),
        ("$vote7", "$o7"),  # a poll response references the poll in the thread
        ("$end7", "$o7"),
        ("$ok7", "$o7"),  # a reaction on a message of the thread
        ("$req7", "$o7"),
        ("$res7", "$o7"),  # a result names its request id
        ("$say7", "$o7"),  # a reply to the request
        ("$edit7", "$o7"),  # an edit of that reply
        ("$line7", "$o7"),  # the main-timeline line names its task
        ("$line9", None),  # a task not counted
        ("$hello", None),  # chat
    ],
)
def test_each_event_goes_to_the_task_it_belongs_to(event_id: str, root: str | None) -> None:
    assert owners(EVENTS, ["$o7", "$o8"]).get(event_id) == root


def test_counts_are_of_the_bots_events_per_task_by_kind() -> None:
    counts = count_by_task(EVENTS, ["$o7", "$o8"], {BOT, AGENT, EXECUTOR})
    assert counts.totals() == [10, 1]  # the master's orders are not counted
    assert counts.per_task["$o7"]["m.room.message (ask)"] == 1
    assert counts.per_task["$o7"]["m.room.message edit (None)"] == 1
    assert counts.per_task["$o7"][POLL_RESPONSE] == 1
    assert dict(counts.unattributed) == {"m.room.message (None)": 2}
    assert counts.by_kind()["m.room.message (ask)"] == 2
