"""A redaction takes what it removed out of the history agents read their context from."""

from __future__ import annotations

from typing import Any

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.matrix.history import RoomHistory, redacted_id
from bots.message import HistoryEntry

ROOM = RoomID("!r:hs")
OTHER_ROOM = RoomID("!other:hs")


def name_of(user_id: str) -> str:
    return user_id[1:].split(":")[0].title()


def said(event_id: str, body: str, *, ts: int, **content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": event_id,
        "sender": "@master:hs",
        "origin_server_ts": ts,
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def edit(event_id: str, of: str, body: str, *, ts: int) -> dict[str, Any]:
    return said(
        event_id,
        "* " + body,
        ts=ts,
        **{
            "m.new_content": {"msgtype": "m.text", "body": body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": of},
        },
    )


def redaction(event_id: str, redacts: str, *, ts: int, old_form: bool = False) -> dict[str, Any]:
    """Room version 11 on names the event in `content`; older ones (and nio) at the top."""
    source: dict[str, Any] = {
        "type": "m.room.redaction",
        "event_id": event_id,
        "sender": "@coordinator:hs",
        "origin_server_ts": ts,
        "content": {"reason": "a credential"},
    }
    if old_form:
        source["redacts"] = redacts
    else:
        source["content"]["redacts"] = redacts
        source["redacts"] = redacts  # Synapse sends both for older clients
    return source


def entry(event_id: str, body: str, ts: int) -> HistoryEntry:
    return HistoryEntry(EventID(event_id), UserID("@master:hs"), "Master", body, ts)


CASES = [
    (
        "a redacted message is dropped",
        [said("$a", "hi", ts=1), said("$k", "sk-proj-…", ts=2), redaction("$r", "$k", ts=3)],
        [entry("$a", "hi", 1)],
    ),
    (
        "the old form of a redaction too",
        [said("$k", "sk-proj-…", ts=2), redaction("$r", "$k", ts=3, old_form=True)],
        [],
    ),
    (
        "a redacted edit drops the message it changed",
        [
            said("$a", "hi", ts=1),
            said("$b", "my key is", ts=2),
            edit("$e", "$b", "my key is sk-proj-…", ts=3),
            redaction("$r", "$e", ts=4),
        ],
        [entry("$a", "hi", 1)],
    ),
    (
        "a redaction of something unknown changes nothing",
        [said("$a", "hi", ts=1), redaction("$r", "$gone", ts=2)],
        [entry("$a", "hi", 1)],
    ),
    (
        "a redaction that names nothing changes nothing",
        [said("$a", "hi", ts=1), {"type": "m.room.redaction", "event_id": "$r", "sender": "@x:hs"}],
        [entry("$a", "hi", 1)],
    ),
    (
        "an edit arriving after its message was redacted is not kept",
        [said("$k", "x", ts=1), redaction("$r", "$k", ts=2), edit("$e", "$k", "y", ts=3)],
        [],
    ),
]


@pytest.mark.parametrize(("events", "entries"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_redaction_drops_what_it_removed(
    events: list[dict[str, Any]], entries: list[HistoryEntry]
) -> None:
    history = RoomHistory()
    for source in events:
        history.record(ROOM, source, name_of)
    assert history.entries(ROOM, None, 10) == entries


def test_a_redaction_in_another_room_changes_nothing() -> None:
    history = RoomHistory()
    history.record(ROOM, said("$a", "hi", ts=1), name_of)
    history.record(OTHER_ROOM, redaction("$r", "$a", ts=2), name_of)
    assert history.entries(ROOM, None, 10) == [entry("$a", "hi", 1)]


def test_a_redaction_read_back_applies_too() -> None:
    """After a restart the bot reads the room back: the redaction is among what it reads."""
    history = RoomHistory()
    history.read_back(ROOM, [said("$k", "sk-proj-…", ts=1), redaction("$r", "$k", ts=2)], name_of)
    assert history.entries(ROOM, None, 10) == []


@pytest.mark.parametrize(
    ("source", "redacted"),
    [
        ({"content": {"redacts": "$a"}, "redacts": "$a"}, "$a"),
        ({"content": {}, "redacts": "$a"}, "$a"),
        ({"content": {"redacts": "$a"}}, "$a"),
        ({"content": {"redacts": 5}}, None),
        ({}, None),
    ],
)
def test_the_redacted_event_is_read_from_either_place(
    source: dict[str, Any], redacted: str | None
) -> None:
    assert redacted_id(source) == redacted
