"""The vote as an MSC3381 poll: the content the coordinator and agents send, and the poll
responses read back (Element's unstable form and the spec's stable ones)."""

from __future__ import annotations

from typing import Any

import pytest

from bots.events import COUNCIL_KEY
from bots.ids import EventID, RoomID, UserID
from bots.message import RoomEvent
from bots.tasks.polls import (
    MAX_ANSWER_CHARS,
    PollVote,
    poll_end_content,
    poll_response_content,
    poll_start_content,
    read_poll_response,
)

ROOT = EventID("$root")
POLL = EventID("$poll")
VOTER = UserID("@claude:x")


def test_the_poll_start_as_element_renders_it() -> None:
    council = {"v": 1, "kind": "ask", "stage": "vote", "task": 12}
    content = poll_start_content(
        "#12 Which proposal should we follow?",
        [("A", "A · check df"), ("B", "B · check du")],
        thread_root=ROOT,
        council=council,
    )
    assert content == {
        "org.matrix.msc3381.poll.start": {
            "question": {
                "org.matrix.msc1767.text": "#12 Which proposal should we follow?",
                "body": "#12 Which proposal should we follow?",
                "msgtype": "m.text",
            },
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [
                {"id": "A", "org.matrix.msc1767.text": "A · check df"},
                {"id": "B", "org.matrix.msc1767.text": "B · check du"},
            ],
        },
        "org.matrix.msc1767.text": "#12 Which proposal should we follow?\n1. A · check df\n"
        "2. B · check du",
        "body": "#12 Which proposal should we follow?\n1. A · check df\n2. B · check du",
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": ROOT,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": ROOT},
        },
        COUNCIL_KEY: council,
    }


def test_a_poll_outside_a_thread_and_without_council_data() -> None:
    content = poll_start_content("Q?", [("A", "a")], thread_root=None)
    assert "m.relates_to" not in content
    assert COUNCIL_KEY not in content


def test_long_texts_are_cut_to_what_element_takes() -> None:
    content = poll_start_content("q" * 1000, [("A", "a" * 1000)], thread_root=None)
    start = content["org.matrix.msc3381.poll.start"]
    answer = start["answers"][0]["org.matrix.msc1767.text"]
    assert len(answer) == MAX_ANSWER_CHARS
    assert answer.endswith("…")
    assert start["question"]["org.matrix.msc1767.text"].endswith("…")


@pytest.mark.parametrize(
    ("options", "message"),
    [([], "at least one answer"), ([(str(n), "x") for n in range(21)], "at most 20")],
)
def test_a_poll_needs_one_to_twenty_answers(options: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        poll_start_content("Q?", options, thread_root=None)


def test_a_poll_response() -> None:
    assert poll_response_content(POLL, "B") == {
        "org.matrix.msc3381.poll.response": {"answers": ["B"]},
        "m.relates_to": {"rel_type": "m.reference", "event_id": POLL},
    }


def test_the_poll_end_references_the_poll() -> None:
    assert poll_end_content(POLL, "#12 🗳️ Vote closed: B wins", thread_root=ROOT) == {
        "org.matrix.msc3381.poll.end": {},
        "org.matrix.msc1767.text": "#12 🗳️ Vote closed: B wins",
        "body": "#12 🗳️ Vote closed: B wins",
        "m.relates_to": {"rel_type": "m.reference", "event_id": POLL},
    }


def event(event_type: str, content: dict[str, Any], sender: str = VOTER) -> RoomEvent:
    return RoomEvent(
        RoomID("!r:x"), EventID("$v"), UserID(sender), event_type, content, timestamp_ms=1234
    )


REF = {"rel_type": "m.reference", "event_id": POLL}


@pytest.mark.parametrize(
    ("event_type", "content", "key"),
    [
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {"org.matrix.msc3381.poll.response": {"answers": ["B"]}, "m.relates_to": REF},
            "B",
            id="Element's unstable response",
        ),
        pytest.param(
            "m.poll.response",
            {"m.selections": ["C"], "m.relates_to": REF},
            "C",
            id="stable response with m.selections",
        ),
        pytest.param(
            "m.poll.response",
            {"m.poll.response": {"answers": ["A"]}, "m.relates_to": REF},
            "A",
            id="stable type with an answers block",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {"org.matrix.msc3381.poll.response": {"answers": ["B", "A"]}, "m.relates_to": REF},
            "B",
            id="only the first answer counts",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {"org.matrix.msc3381.poll.response": {"answers": []}, "m.relates_to": REF},
            None,
            id="spoiled: no answer",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {"org.matrix.msc3381.poll.response": {"answers": [2]}, "m.relates_to": REF},
            None,
            id="an answer that is not text",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {"org.matrix.msc3381.poll.response": {"answers": ["x" * 65]}, "m.relates_to": REF},
            None,
            id="an answer id too long to be ours",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {"org.matrix.msc3381.poll.response": {"answers": "B"}, "m.relates_to": REF},
            None,
            id="answers not a list",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {"org.matrix.msc3381.poll.response": {"answers": ["B"]}},
            None,
            id="no relation",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {
                "org.matrix.msc3381.poll.response": {"answers": ["B"]},
                "m.relates_to": {"rel_type": "m.thread", "event_id": POLL},
            },
            None,
            id="a thread relation is not a reference",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.response",
            {
                "org.matrix.msc3381.poll.response": {"answers": ["B"]},
                "m.relates_to": {"rel_type": "m.reference"},
            },
            None,
            id="a reference to nothing",
        ),
        pytest.param(
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": POLL, "key": "B"}},
            None,
            id="a reaction is not a vote",
        ),
        pytest.param(
            "org.matrix.msc3381.poll.start",
            {"org.matrix.msc3381.poll.response": {"answers": ["B"]}, "m.relates_to": REF},
            None,
            id="another poll event type",
        ),
    ],
)
def test_a_poll_response_is_read(event_type: str, content: dict[str, Any], key: str | None) -> None:
    vote = read_poll_response(event(event_type, content))
    if key is None:
        assert vote is None
    else:
        assert vote == PollVote(POLL, VOTER, key, 1234)


def test_what_an_agent_sends_is_what_the_coordinator_reads() -> None:
    sent = poll_response_content(POLL, "C")
    assert read_poll_response(event("org.matrix.msc3381.poll.response", sent)) == PollVote(
        POLL, VOTER, "C", 1234
    )
