"""Events held for a late room key: readable ones come back, old ones are given up, once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bots.matrix import late_keys
from bots.matrix.late_keys import Held, LateKeys


@dataclass
class Event:
    event_id: str


def test_an_event_comes_back_once_its_key_is_known() -> None:
    late: LateKeys[str] = LateKeys(wait_seconds=60)
    late.hold(Event("$a"), "!r", "facts", now=0)
    late.hold(Event("$a"), "!r", "facts", now=1)  # held once
    known: set[str] = set()

    def decrypt(held: Held[str]) -> str | None:
        event_id = held.event.event_id
        return f"plain {event_id}" if event_id in known else None

    assert late.sweep(decrypt, now=5) == ([], [])
    known.add("$a")
    [(held, plain)], expired = late.sweep(decrypt, now=6)
    assert (held.room_id, held.facts, plain, expired) == ("!r", "facts", "plain $a", [])
    assert len(late) == 0


def test_an_event_whose_key_never_comes_is_given_up_after_the_wait() -> None:
    late: LateKeys[None] = LateKeys(wait_seconds=60)
    late.hold(Event("$a"), "!r", None, now=0)
    late.hold(Event("$b"), "!r", None, now=30)
    readable, expired = late.sweep(lambda held: None, now=60)
    assert readable == []
    assert [h.event.event_id for h in expired] == ["$a"]
    assert len(late) == 1


def test_past_the_bound_the_oldest_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(late_keys, "MAX_HELD", 2)
    late: LateKeys[None] = LateKeys()
    assert late.hold(Event("$a"), "!r", None, now=0) == []
    assert late.hold(Event("$b"), "!r", None, now=1) == []
    [dropped] = late.hold(Event("$c"), "!r", None, now=2)
    assert dropped.event.event_id == "$a"


@dataclass
class Encrypted:
    event_id: str
    session_id: str


def test_a_withheld_key_ends_the_wait_at_once_with_the_senders_reason() -> None:
    late: LateKeys[None] = LateKeys(wait_seconds=60)
    late.hold(Encrypted("$a", "s1"), "!r", None, now=0)
    late.hold(Encrypted("$b", "s2"), "!r", None, now=0)
    for odd in (None, "x", {"session_id": "s1"}, {"code": "m.unverified"}):
        late.note_withheld(odd)
    late.note_withheld({"session_id": "s1", "code": "m.unverified", "reason": "Unverified"})
    readable, expired = late.sweep(lambda held: None, now=1)
    assert readable == []
    assert [h.event.event_id for h in expired] == ["$a"]
    assert late.withheld("s1") == ("m.unverified", "Unverified")
    assert late.withheld("s2") is None
