"""The loop guard stops agents talking among themselves; the throttle paces streaming edits."""

from __future__ import annotations

from typing import Any

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.meeting import EditThrottle, LoopGuard, thread_key
from bots.message import Message

ROOM = RoomID("!council:hs")
THREAD = EventID("$root")

# --- loop guard -----------------------------------------------------------------------------

# A script of who spoke in one thread: H = a person, A = an agent.


@pytest.mark.parametrize(
    ("limit", "script", "allowed"),
    [
        pytest.param(6, "", True, id="a fresh thread allows agents"),
        pytest.param(6, "HAAAAA", True, id="five agent turns are fine"),
        pytest.param(6, "HAAAAAA", False, id="the sixth agent turn trips the guard"),
        pytest.param(6, "AAAAAAAAH", True, id="a human message resets the streak"),
        pytest.param(6, "AAAAAAHAAAAA", True, id="the count restarts after the human"),
        pytest.param(2, "HAA", False, id="a smaller limit"),
        pytest.param(0, "H", False, id="limit zero: agents only answer humans directly"),
    ],
)
def test_loop_guard_counts_agent_turns_since_a_human(
    limit: int, script: str, allowed: bool
) -> None:
    guard = LoopGuard(limit)
    for speaker in script:
        guard.note(sender_is_human=speaker == "H", key=ROOM)
    assert guard.allows_agent_turn(ROOM) is allowed
    assert guard.agent_turns(ROOM) == len(script) - (script.rfind("H") + 1)


def test_threads_are_counted_apart() -> None:
    guard = LoopGuard(2)
    for _ in range(2):
        guard.note(sender_is_human=False, key=THREAD)
    assert not guard.allows_agent_turn(THREAD)
    assert guard.allows_agent_turn(ROOM)
    guard.note(sender_is_human=True, key=ROOM)  # a person in the main timeline…
    assert not guard.allows_agent_turn(THREAD)  # …does not reopen the thread


def test_the_trip_is_announced_once_per_streak() -> None:
    guard = LoopGuard(2)
    announcements = []
    for speaker in "AAAAA" + "H" + "AAA":
        guard.note(sender_is_human=speaker == "H", key=ROOM)
        announcements.append(guard.should_announce_trip(ROOM))
    assert announcements == [False, True, False, False, False, False, False, True, False]


def test_only_recent_threads_are_remembered() -> None:
    guard = LoopGuard(1)
    guard.note(sender_is_human=False, key=EventID("$old"))
    for n in range(2000):
        guard.note(sender_is_human=False, key=EventID(f"$t{n}"))
    assert guard.allows_agent_turn(EventID("$old"))  # forgotten: starts afresh
    assert not guard.allows_agent_turn(EventID("$t1999"))


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
