"""The loop guard stops agents talking among themselves; the throttle paces streaming edits."""

from __future__ import annotations

from typing import Any

import pytest

from bots.agents.loop_guard import LoopGuard, ThreadKey, Turn, thread_key, turn_of
from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.text.throttle import EditThrottle

ROOM = RoomID("!council:hs")
THREAD = EventID("$root")

# --- loop guard -----------------------------------------------------------------------------

# A script of who spoke in one thread: H = a person, A = an agent answering another agent,
# a = an agent answering a person (or any other message that is not a turn).
TURNS = {"H": Turn.HUMAN, "A": Turn.AGENT_TO_AGENT, "a": Turn.OTHER}


def play(guard: LoopGuard, script: str, key: ThreadKey = ROOM) -> None:
    for speaker in script:
        guard.note(TURNS[speaker], key)


@pytest.mark.parametrize(
    ("limit", "script", "allowed", "turns"),
    [
        pytest.param(6, "", True, 0, id="a fresh thread allows agents"),
        pytest.param(6, "HAAAAA", True, 5, id="five agent-to-agent turns are fine"),
        pytest.param(6, "HAAAAAA", False, 6, id="the sixth agent-to-agent turn trips the guard"),
        pytest.param(6, "Haaaaaaaa", True, 0, id="eight agents answering 'everyone' is no loop"),
        pytest.param(6, "HaaaaaaAAAAA", True, 5, id="answers to a person do not count"),
        pytest.param(6, "HaaAAaaAAAA", False, 6, id="nor do they end a streak"),
        pytest.param(6, "AAAAAAAAH", True, 0, id="a human message resets the streak"),
        pytest.param(6, "AAAAAAHAAAAA", True, 5, id="the count restarts after the human"),
        pytest.param(2, "HAA", False, 2, id="a smaller limit"),
        pytest.param(0, "H", False, 0, id="limit zero: agents only answer humans directly"),
    ],
)
def test_loop_guard_counts_agent_to_agent_turns_since_a_human(
    limit: int, script: str, allowed: bool, turns: int
) -> None:
    guard = LoopGuard(limit)
    play(guard, script)
    assert guard.allows_agent_turn(ROOM) is allowed
    assert guard.agent_turns(ROOM) == turns


def test_threads_are_counted_apart() -> None:
    guard = LoopGuard(2)
    play(guard, "AA", key=THREAD)
    assert not guard.allows_agent_turn(THREAD)
    assert guard.allows_agent_turn(ROOM)
    play(guard, "H")  # a person in the main timeline…
    assert not guard.allows_agent_turn(THREAD)  # …does not reopen the thread


def test_the_trip_is_announced_once_per_streak() -> None:
    guard = LoopGuard(2)
    announcements = []
    for speaker in "AAAAA" + "H" + "aAaA":
        guard.note(TURNS[speaker], ROOM)
        announcements.append(guard.should_announce_trip(ROOM))
    assert announcements == [False, True, False, False, False, False, False, False, False, True]


def test_only_recent_threads_are_remembered() -> None:
    guard = LoopGuard(1)
    play(guard, "A", key=EventID("$old"))
    for n in range(2000):
        play(guard, "A", key=EventID(f"$t{n}"))
    assert guard.allows_agent_turn(EventID("$old"))  # forgotten: starts afresh
    assert not guard.allows_agent_turn(EventID("$t1999"))


def said(
    *, answers_agent: bool = False, replaces: EventID | None = None, stream: str | None = None
) -> Message:
    return Message(
        room_id=ROOM,
        event_id=EventID("$said"),
        sender=UserID("@someone:hs"),
        body="hello",
        answers_agent=answers_agent,
        replaces=replaces,
        stream=stream,
    )


@pytest.mark.parametrize(
    ("sender_kind", "message", "turn"),
    [
        pytest.param(None, said(), Turn.HUMAN, id="a person"),
        pytest.param(None, said(answers_agent=True), Turn.HUMAN, id="a person, whatever the mark"),
        pytest.param("agent", said(answers_agent=True), Turn.AGENT_TO_AGENT, id="agent to agent"),
        pytest.param("agent", said(), Turn.OTHER, id="an agent answering a person"),
        pytest.param("coordinator", said(answers_agent=True), Turn.OTHER, id="not an agent"),
        pytest.param(
            "external",
            said(),
            Turn.OTHER,
            id="an agent of the HTTP bridge is no person: it resets no streak",
        ),
        pytest.param(
            "external",
            said(answers_agent=True),
            Turn.AGENT_TO_AGENT,
            id="an agent of the HTTP bridge answering an agent",
        ),
        pytest.param(
            "agent",
            said(answers_agent=True, replaces=EventID("$first")),
            Turn.OTHER,
            id="a streaming edit is not another turn",
        ),
        pytest.param(
            None, said(replaces=EventID("$first")), Turn.OTHER, id="a person's edit resets nothing"
        ),
        pytest.param(
            "agent",
            said(answers_agent=True, stream="partial"),
            Turn.OTHER,
            id="a streamed answer's first words are not yet a turn",
        ),
        pytest.param(
            "agent",
            said(answers_agent=True, stream="done"),
            Turn.AGENT_TO_AGENT,
            id="…it is one once complete",
        ),
    ],
)
def test_turn_of(sender_kind: str | None, message: Message, turn: Turn) -> None:
    assert turn_of(message, sender_kind) is turn


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        LoopGuard(-1)


@pytest.mark.parametrize(
    ("thread_root", "key"),
    [pytest.param(None, ROOM, id="main timeline"), pytest.param(THREAD, THREAD, id="thread")],
)
def test_thread_key(thread_root: EventID | None, key: str) -> None:
    message = Message(ROOM, EventID("$e"), UserID("@master:hs"), "hi", thread_root=thread_root)
    assert thread_key(message) == key


# --- edit throttle --------------------------------------------------------------------------

# Each step: (now, final) → whether to edit. The placeholder was sent at t = 0.


@pytest.mark.parametrize(
    ("interval", "max_edits", "steps"),
    [
        pytest.param(
            2.5,
            12,
            [(1.0, False, False), (2.5, False, True), (3.0, False, False), (5.0, False, True)],
            id="at most one edit per interval",
        ),
        pytest.param(
            2.5,
            12,
            [(0.5, False, False), (0.6, True, True)],
            id="the final edit is always allowed",
        ),
        pytest.param(
            1.0,
            3,
            [
                (1.0, False, True),
                (2.0, False, True),
                (3.0, False, False),
                (9.0, False, False),
                (9.5, True, True),
            ],
            id="the cap keeps one edit for the final",
        ),
        pytest.param(
            0.0,
            1,
            [(5.0, False, False), (6.0, True, True)],
            id="a cap of one allows only the final edit",
        ),
        pytest.param(
            2.5,
            12,
            [(2.5, False, True), (4.0, False, False), (5.0, False, True)],
            id="the interval counts from the last edit",
        ),
    ],
)
def test_edit_throttle(
    interval: float, max_edits: int, steps: list[tuple[float, bool, bool]]
) -> None:
    throttle = EditThrottle(0.0, min_interval_s=interval, max_edits=max_edits)
    decisions = [throttle.should_edit(now, final=final) for now, final, _ in steps]
    assert decisions == [expected for _, _, expected in steps]
    assert throttle.edits == sum(decisions)


def test_a_long_stream_never_exceeds_the_cap() -> None:
    throttle = EditThrottle(100.0)
    edits = sum(throttle.should_edit(100.0 + 0.1 * n) for n in range(10_000))
    edits += throttle.should_edit(1_200.0, final=True)
    assert edits == 12


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"min_interval_s": -1.0}, "min_interval_s", id="negative interval"),
        pytest.param({"max_edits": 0}, "max_edits", id="no room for the final edit"),
    ],
)
def test_edit_throttle_refuses_nonsense(kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        EditThrottle(0.0, **kwargs)
