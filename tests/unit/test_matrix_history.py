"""Each room's recent conversation as agents read it, a bot's presence mark both ways, and who
holds power by room version: the pure parts behind the Matrix client, without a homeserver."""

from __future__ import annotations

from typing import Any

import pytest

from bots.context import BotPresence
from bots.events import BOT_STATE_EVENT, TRANSCRIPT_KEY
from bots.ids import EventID, RoomID, UserID
from bots.matrix.history import RoomHistory
from bots.matrix.presence import presence_content, presences_from_state
from bots.matrix.room_versions import CREATOR_POWER, creators_are_privileged, effective_power
from bots.message import HistoryEntry

ROOM = RoomID("!r:hs")
OTHER_ROOM = RoomID("!other:hs")
ROOT = EventID("$root")


def name_of(user_id: str) -> str:
    return user_id[1:].split(":")[0].title()


def said(
    event_id: str, body: Any, *, ts: int, sender: Any = "@master:hs", **content: Any
) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "event_id": event_id,
        "sender": sender,
        "origin_server_ts": ts,
        "content": {"msgtype": "m.text", "body": body, **content},
    }


def in_thread(event_id: str, body: str, *, ts: int) -> dict[str, Any]:
    return said(
        event_id, body, ts=ts, **{"m.relates_to": {"rel_type": "m.thread", "event_id": ROOT}}
    )


def edit(event_id: str, of: str, body: Any, *, ts: int) -> dict[str, Any]:
    return said(
        event_id,
        "* edited",
        ts=ts,
        **{
            "m.new_content": {"msgtype": "m.text", "body": body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": of},
        },
    )


def entry(event_id: str, body: str, ts: int, sender: str = "@master:hs") -> HistoryEntry:
    return HistoryEntry(EventID(event_id), UserID(sender), name_of(sender), body, ts)


HISTORY = [
    # id, events recorded, thread asked (None: main timeline), limit, entries read
    (
        "the main timeline, oldest first",
        [said("$b", "second", ts=2), said("$a", "first", ts=1)],
        None,
        10,
        [entry("$a", "first", 1), entry("$b", "second", 2)],
    ),
    (
        "only the last `limit`",
        [said(f"${n}", f"m{n}", ts=n) for n in range(5)],
        None,
        2,
        [
            entry("$3", "m3", 3),
            entry("$4", "m4", 4),
        ],
    ),
    (
        "a thread is its root and its messages",
        [
            said("$root", "question", ts=1),
            in_thread("$t", "answer", ts=2),
            said("$m", "aside", ts=3),
        ],
        ROOT,
        10,
        [entry("$root", "question", 1), entry("$t", "answer", 2)],
    ),
    (
        "the main timeline leaves threads out",
        [
            said("$root", "question", ts=1),
            in_thread("$t", "answer", ts=2),
            said("$m", "aside", ts=3),
        ],
        None,
        10,
        [entry("$root", "question", 1), entry("$m", "aside", 3)],
    ),
    (
        "an edit changes the text kept, in place",
        [said("$a", "frist", ts=1), said("$b", "next", ts=2), edit("$e", "$a", "first", ts=3)],
        None,
        10,
        [entry("$a", "first", 1), entry("$b", "next", 2)],
    ),
    (
        "an edit of something unknown is not kept",
        [edit("$e", "$gone", "first", ts=3)],
        None,
        10,
        [],
    ),
    (
        "an edit without new text changes nothing",
        [said("$a", "first", ts=1), edit("$e", "$a", 5, ts=3)],
        None,
        10,
        [entry("$a", "first", 1)],
    ),
    (
        "what is not text is not kept",
        [
            said("$a", 5, ts=1),
            said("$b", "x", ts=2, sender=None),
            {"type": "m.reaction", "event_id": "$r", "sender": "@master:hs", "content": {}},
            {"type": "m.room.message", "event_id": "$c", "sender": "@master:hs", "content": "x"},
        ],
        None,
        10,
        [],
    ),
]


@pytest.mark.parametrize(
    ("events", "thread", "limit", "entries"),
    [r[1:] for r in HISTORY],
    ids=[r[0] for r in HISTORY],
)
def test_history_is_what_was_said(
    events: list[dict[str, Any]],
    thread: EventID | None,
    limit: int,
    entries: list[HistoryEntry],
) -> None:
    history = RoomHistory()
    for source in events:
        history.record(ROOM, source, name_of)
    assert history.entries(ROOM, thread, limit) == entries
    assert history.entries(OTHER_ROOM, thread, limit) == []


def test_a_room_keeps_only_its_last_messages() -> None:
    history = RoomHistory(kept_per_room=2)
    for n in range(4):
        history.record(ROOM, said(f"${n}", f"m{n}", ts=n), name_of)
    assert history.entries(ROOM, None, 10) == [entry("$2", "m2", 2), entry("$3", "m3", 3)]


def test_a_room_is_read_back_once_and_before_what_was_synced() -> None:
    history = RoomHistory()
    history.record(ROOM, said("$new", "synced", ts=5), name_of)
    assert history.first_look(ROOM)
    assert not history.first_look(ROOM)
    history.read_back(ROOM, [said("$old", "read back", ts=1), said("$new", "stale", ts=5)], name_of)
    assert history.entries(ROOM, None, 10) == [
        entry("$old", "read back", 1),
        entry("$new", "synced", 5),
    ]


def transcript(sender: str, **marker: Any) -> dict[str, Any]:
    heard = {"speaker": "@master:hs", "audio_event": "$voice", "text": "claude, check the disk"}
    return said(
        "$t", "🎙️ claude, check the disk", ts=2, sender=sender, **{TRANSCRIPT_KEY: heard | marker}
    )


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        (
            transcript("@chavion:hs"),
            entry("$t", "claude, check the disk", 2),
        ),
        (
            transcript("@claude:hs"),
            entry("$t", "claude, check the disk", 2),
        ),
        (
            transcript("@mallory:hs"),
            entry("$t", "🎙️ claude, check the disk", 2, sender="@mallory:hs"),
        ),
        (
            transcript("@chavion:hs", text=""),
            entry("$t", "🎙️ claude, check the disk", 2, sender="@chavion:hs"),
        ),
    ],
    ids=[
        "the coordinator's transcript is the master's words",
        "an agent's own transcript is the master's words, not its own",
        "a person's marker counts for nothing",
        "a malformed marker: the message as sent",
    ],
)
def test_a_transcript_is_kept_as_the_speakers_words(
    source: dict[str, Any], kept: HistoryEntry
) -> None:
    history = RoomHistory(transcribers=frozenset({UserID("@chavion:hs"), UserID("@claude:hs")}))
    history.record(ROOM, source, name_of)
    assert history.entries(ROOM, None, 10) == [kept]


def test_a_bots_mark_reads_back_as_it_was_written() -> None:
    content = presence_content(
        online=True, version="1.2.0", host="box", pid=42, started_at=100.5, now=160.25
    )
    assert content == {
        "online": True,
        "version": "1.2.0",
        "host": "box",
        "pid": 42,
        "started_at": 100_500,
        "heartbeat_at": 160_250,
    }
    state = [
        {"type": BOT_STATE_EVENT, "state_key": "@claude:hs", "content": content},
        {"type": BOT_STATE_EVENT, "state_key": "@gpt:hs", "content": {}},
        {"type": "m.room.name", "state_key": "", "content": {"name": "council"}},
    ]
    assert presences_from_state(state) == {
        UserID("@claude:hs"): BotPresence(
            UserID("@claude:hs"), True, "1.2.0", "box", 42, 100.5, 160.25
        ),
        UserID("@gpt:hs"): BotPresence(UserID("@gpt:hs"), False, "", "", 0, 0.0, 0.0),
    }


@pytest.mark.parametrize(
    ("version", "creator", "listed", "power"),
    [
        ("12", True, 100, CREATOR_POWER),
        ("12", False, 50, 50),
        ("13", True, 0, CREATOR_POWER),
        ("11", True, 100, 100),
        ("10", False, 0, 0),
        ("org.example.v12", True, 100, 100),
    ],
)
def test_creators_outrank_every_level_from_room_version_12(
    version: str, creator: bool, listed: int, power: int
) -> None:
    creators = {"@master:hs"} if creator else {"@someone:hs"}
    assert effective_power(version, creators, "@master:hs", listed) == power


@pytest.mark.parametrize(
    ("version", "privileged"),
    [
        ("1", False),
        ("11", False),
        ("12", True),
        ("13", True),
        ("org.example.v12", False),
        ("", False),
    ],
)
def test_which_room_versions_privilege_creators(version: str, privileged: bool) -> None:
    assert creators_are_privileged(version) is privileged
