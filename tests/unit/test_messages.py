"""What bots send: event content for replies, threads, edits; stable transaction ids."""

from __future__ import annotations

import pytest

from bots.context import BotPresence
from bots.coordinator.presence import describe_presence
from bots.events import TURN_KEY
from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import reply_content
from bots.message import Message, Reply, transaction_id
from bots.text.durations import coarse as describe_uptime

ROOM = RoomID("!r:hs")
BOT = UserID("@chavion:hs")


def test_a_reply_quotes_the_message_it_answers() -> None:
    content = reply_content(Reply(ROOM, "pong", reply_to=EventID("$cmd")))
    assert content == {
        "msgtype": "m.notice",
        "body": "pong",
        "m.mentions": {"user_ids": []},
        "m.relates_to": {"m.in_reply_to": {"event_id": "$cmd"}},
    }


def test_an_answer_in_a_thread_stays_in_the_thread() -> None:
    message = Message(
        ROOM, EventID("$q"), UserID("@master:hs"), "!ping", thread_root=EventID("$root")
    )
    content = reply_content(Reply.answering(message, "pong"))
    assert content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$q"},
    }


def test_an_edit_carries_the_full_new_content() -> None:
    reply = Reply(
        ROOM,
        "done",
        html="<b>done</b>",
        notice=False,
        replaces=EventID("$old"),
        mention=(UserID("@master:hs"),),
    )
    content = reply_content(reply)
    assert content["body"] == "* done"
    assert content["formatted_body"] == "* <b>done</b>"
    assert content["m.new_content"] == {
        "msgtype": "m.text",
        "body": "done",
        "format": "org.matrix.custom.html",
        "formatted_body": "<b>done</b>",
        "m.mentions": {"user_ids": ["@master:hs"]},
    }
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$old"}


def test_an_answer_to_another_agent_is_marked_for_the_loop_guard() -> None:
    marked = reply_content(Reply(ROOM, "over to you", answers_agent=True))
    assert marked[TURN_KEY] == "agent-to-agent"
    assert TURN_KEY not in reply_content(Reply(ROOM, "an answer to a person"))


def test_transaction_ids_are_stable_per_bot_and_key() -> None:
    assert transaction_id(BOT, "$e/0") == transaction_id(BOT, "$e/0")
    assert transaction_id(BOT, "$e/0") != transaction_id(BOT, "$e/1")
    assert transaction_id(BOT, "$e/0") != transaction_id(UserID("@gpt:hs"), "$e/0")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3600, "1h 0m"), (90061, "1d 1h"), (-5, "0s")],
)
def test_uptime_reads_naturally(seconds: float, text: str) -> None:
    assert describe_uptime(seconds) == text


NOW = 1_000_000.0
PRESENCE = [
    ("never started", None, "never started"),
    (
        "fresh heartbeat",
        BotPresence(UserID("@a:hs"), True, "0.1.0", "box", 1, NOW - 120, NOW - 60),
        "online on box, up 2m 0s, v0.1.0",
    ),
    (
        "stale heartbeat means a crash",
        BotPresence(UserID("@a:hs"), True, "0.1.0", "box", 1, 0, NOW - 2000),
        "not responding (last sign 33m 20s ago)",
    ),
    (
        "clean stop",
        BotPresence(UserID("@a:hs"), False, "0.1.0", "box", 1, 0, NOW - 30),
        "offline (stopped 30s ago)",
    ),
]


@pytest.mark.parametrize(
    ("presence", "text"), [p[1:] for p in PRESENCE], ids=[p[0] for p in PRESENCE]
)
def test_presence_is_judged_from_the_last_heartbeat(
    presence: BotPresence | None, text: str
) -> None:
    assert describe_presence(presence, NOW, heartbeat=600) == text
