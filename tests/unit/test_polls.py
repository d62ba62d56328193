"""The vote as an MSC3381 poll: the content the coordinator and agents send, and the poll
responses read back (Element's unstable form and the spec's stable ones)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.events import COUNCIL_KEY, POLL_START
from bots.ids import EventID, RoomID, UserID
from bots.matrix.event_size import MAX_PLAINTEXT_BYTES, content_bytes
from bots.message import RoomEvent
from bots.tasks.polls import (
    CUT_NOTE,
    MAX_ANSWER_CHARS,
    POLL_START_MAX_BYTES,
    PollVote,
    json_bytes,
    poll_end_content,
    poll_response_content,
    poll_start_content,
    read_poll_response,
)
from tests.support.task_engine import Bench, open_bench, use

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


# --- a poll start always fits in one event -----------------------------------------------------

KOREAN = "서버의 디스크 사용량을 확인하고 로그를 정리합니다. "  # 6 bytes a syllable as nio sends it
EMOJI = "🗳️"  # 12 bytes and more as nio sends it


def proposals(count: int, chars: int, text: str = KOREAN) -> list[str]:
    """`count` distinct proposals of `chars` characters each."""
    return [(f"{n}안: " + text * (chars // len(text) + 1))[:chars] for n in range(count)]


def vote_poll(texts: list[str], mission: str = "디스크 확인") -> dict[str, Any]:
    """A vote's poll start as the coordinator builds it: an option per proposal, and the
    proposals themselves, whole, in the council object the voters read."""
    keys = "ABCDEFGHIJKLMNOPQRST"
    council = {
        "v": 1,
        "kind": "ask",
        "task": 12,
        "ask": "t12-vote-1",
        "stage": "vote",
        "agents": ["claude", "gpt", "gemini", "perplexity", "local", "grok"],
        "deadline_ms": 1_700_000_000_000,
        "mission": mission,
        "context": {
            "options": [{"key": k, "text": t} for k, t in zip(keys, texts, strict=False)],
            "own": {"claude": "A", "gpt": "B"},
            "self_vote": False,
        },
    }
    # The options show a summary, as the ballot makes it: at most 120 characters.
    options = [(k, f"{k} · {t[:120]}") for k, t in zip(keys, texts, strict=False)]
    return poll_start_content(
        f"#12 Which proposal should we follow? ({mission[:120]})",
        options,
        thread_root=EventID("$" + "r" * 254),  # the longest event id the spec allows
        council=council,
    )


# (proposals, characters each, their text, the mission)
TOO_LARGE: list[tuple[int, int, str, str]] = [
    (6, 20_000, KOREAN, "디스크 확인"),  # the case that did not fit: 720 KB as sent
    (2, 20_000, "check df -h on every host; ", "disk"),
    (6, 20_000, EMOJI, "disk"),
    (20, 20_000, KOREAN, "가" * 4_000),  # the most options, and the longest mission
    (20, 340, KOREAN, "가" * 4_000),  # nothing long but the mission, and many short texts
]


@pytest.mark.parametrize(
    ("count", "chars", "text", "mission"),
    TOO_LARGE,
    ids=["6-korean", "2-ascii", "6-emoji", "20-korean-long-mission", "20-short-long-mission"],
)
def test_a_poll_start_is_cut_to_fit_one_event_keeping_every_option(
    count: int, chars: int, text: str, mission: str
) -> None:
    texts = proposals(count, chars, text)
    content = vote_poll(texts, mission)
    assert content_bytes(content) <= POLL_START_MAX_BYTES
    answers = content[POLL_START]["answers"]
    carried = content[COUNCIL_KEY]["context"]["options"]
    assert len(answers) == len(carried) == count
    for n, (answer, option) in enumerate(zip(answers, carried, strict=True)):
        key = "ABCDEFGHIJKLMNOPQRST"[n]
        assert answer["id"] == option["key"] == key
        assert answer["org.matrix.msc1767.text"].startswith(f"{key} · {n}")
        assert option["text"].startswith(f"{n}안" if text == KOREAN else str(n))
        if len(option["text"]) < len(texts[n]):
            assert option["text"].endswith(CUT_NOTE)
        assert f"{n + 1}. {key} · " in content["body"]


def test_the_longest_texts_are_cut_first_and_alike() -> None:
    texts = ["짧은 제안: df -h", *proposals(3, 20_000)]
    content = vote_poll(texts)
    carried = [o["text"] for o in content[COUNCIL_KEY]["context"]["options"]]
    assert carried[0] == texts[0], "a short proposal is not cut"
    assert content[COUNCIL_KEY]["mission"] == "디스크 확인"
    assert len({len(t) for t in carried[1:]}) == 1, "the long ones are cut to one length"
    assert all(t.endswith(CUT_NOTE) for t in carried[1:])
    assert len(carried[1]) - len(CUT_NOTE) > 1_000
    assert content_bytes(content) > POLL_START_MAX_BYTES - 1_000, "as much as fits is kept"


def test_a_poll_start_that_fits_is_sent_as_it_is() -> None:
    texts = proposals(3, 1_000)
    content = vote_poll(texts)
    assert [o["text"] for o in content[COUNCIL_KEY]["context"]["options"]] == texts
    assert CUT_NOTE not in str(content)


def test_what_cannot_fit_even_cut_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="with every text cut, over the 300 one event carries"):
        poll_start_content(
            "Q?", [(k, "x" * 100) for k in "ABCDEFGHIJ"], thread_root=None, max_bytes=300
        )


def test_the_budget_is_counted_as_the_matrix_edge_counts_it() -> None:
    """Task logic may not import the Matrix edge; its count and budget agree with it."""
    assert POLL_START_MAX_BYTES <= MAX_PLAINTEXT_BYTES * 0.9
    for content in (vote_poll(proposals(3, 100)), vote_poll(proposals(6, 20_000, EMOJI))):
        assert json_bytes(content) == content_bytes(content)


def test_cutting_twenty_long_proposals_is_quick() -> None:
    texts = proposals(20, 20_000)
    started = time.perf_counter()
    vote_poll(texts, "가" * 4_000)
    assert time.perf_counter() - started < 2.0


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Bench]:
    bench = await open_bench(tmp_path)
    yield bench
    await bench.store.close()


async def test_the_votes_poll_fits_with_the_longest_proposals_allowed(engine: Bench) -> None:
    """What the coordinator sends: proposals at the most `tasks.proposal_chars` allows."""
    use(engine, proposal_chars=20_000)
    await engine.order("가" * 4_000)
    texts = proposals(3, 20_000)
    await engine.propose_all(dict(zip(("claude", "gpt", "gemini"), texts, strict=True)))
    assert (await engine.task()).state == "voting"
    poll = engine.matrix.by_key("poll-1")
    assert content_bytes(poll.content) <= POLL_START_MAX_BYTES
    carried = poll.content[COUNCIL_KEY]["context"]["options"]
    assert [o["key"] for o in carried] == ["A", "B", "C"]
    assert all(o["text"].endswith(CUT_NOTE) for o in carried)
    assert [a["id"] for a in poll.content[POLL_START]["answers"]] == ["A", "B", "C"]


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
