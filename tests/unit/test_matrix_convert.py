"""Matrix events as nio parses them → the `Message` / `RoomEvent` handlers see, and `Reply` →
the content a bot sends: every shape a client may send is a row, no homeserver needed."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from nio import Event

from bots.events import STREAM_KEY, TRANSCRIPT_KEY, TURN_KEY
from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import (
    EventMemory,
    RoomFacts,
    raw_event_content,
    read_event,
    read_message,
    read_room_event,
    reply_content,
)
from bots.message import Mentions, Message, Reply, RoomEvent
from bots.routing.addressing import Identity, Roster
from bots.routing.router import Chat, Command, RouterContext, parse

ROOM = RoomID("!council:hs")
MASTER = UserID("@master:hs")
BOT = UserID("@claude:hs")
GPT = UserID("@gpt:hs")
POWER = {MASTER: 100, BOT: 10, GPT: 10}
FACTS = RoomFacts(ROOM, is_direct=False, encrypted=True)
HTML = "org.matrix.custom.html"
PILL = '<a href="https://matrix.to/#/@claude:hs">Claude</a>'


def power_of(user_id: str) -> int:
    return POWER.get(UserID(user_id), 0)


def event(
    content: Any,
    *,
    type: str = "m.room.message",
    sender: Any = MASTER,
    event_id: str = "$e",
    ts: Any = 1234,
    **extra: Any,
) -> Any:
    """An event as nio hands it over after a sync (nio keeps the JSON as `.source`). A few
    shapes make nio's own parser raise; those stay bare JSON, read the same way."""
    source: dict[str, Any] = {"type": type, "content": content, "event_id": event_id, **extra}
    if sender is not None:
        source["sender"] = sender
    if ts is not None:
        source["origin_server_ts"] = ts
    try:
        return Event.parse_event(source)
    except (TypeError, ValueError):
        return SimpleNamespace(source=source, event_id=event_id)


def text(body: Any = "hello", **content: Any) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body, **content}


def expected(**fields: Any) -> Message:
    """The message a plain "hello" from the master in the council becomes, with `fields`."""
    base = Message(
        room_id=ROOM,
        event_id=EventID("$e"),
        sender=MASTER,
        body="hello",
        timestamp_ms=1234,
        sender_power=100,
        encrypted=True,
    )
    return replace(base, **fields)


MESSAGES = [
    # id, the event, what it reads as (None: not a message)
    ("text", event(text()), expected()),
    ("notice", event(text(msgtype="m.notice")), expected(msgtype="m.notice")),
    ("emote", event(text("waves", msgtype="m.emote")), expected(body="waves", msgtype="m.emote")),
    ("no msgtype reads as text", event({"body": "hello"}), expected()),
    (
        "html with a pill",
        event(text("Claude: hi", format=HTML, formatted_body=f"{PILL}: hi")),
        expected(body="Claude: hi", formatted_body=f"{PILL}: hi"),
    ),
    (
        "html without its format is not html",
        event(text(formatted_body="<b>hello</b>")),
        expected(),
    ),
    (
        "another format is not html",
        event(text(format="org.example.markdown", formatted_body="**hello**")),
        expected(),
    ),
    (
        "m.mentions",
        event(text(**{"m.mentions": {"user_ids": [BOT, GPT], "room": True}})),
        expected(mentions=Mentions((BOT, GPT), room=True)),
    ),
    (
        "empty m.mentions is a mention of no one",
        event(text(**{"m.mentions": {}})),
        expected(mentions=Mentions()),
    ),
    (
        "m.mentions of odd shapes keeps what is readable",
        event(text(**{"m.mentions": {"user_ids": [BOT, 7, None], "room": "yes"}})),
        expected(mentions=Mentions((BOT,), room=False)),
    ),
    (
        "m.mentions user_ids not a list",
        event(text(**{"m.mentions": {"user_ids": BOT}})),
        expected(mentions=Mentions()),
    ),
    (
        "m.mentions not an object is no m.mentions",
        event(text(**{"m.mentions": [BOT]})),
        expected(),
    ),
    (
        "a reply",
        event(text(**{"m.relates_to": {"m.in_reply_to": {"event_id": "$asked"}}})),
        expected(reply_to=EventID("$asked")),
    ),
    (
        "a reply to a message whose sender is remembered",
        event(text(**{"m.relates_to": {"m.in_reply_to": {"event_id": "$known"}}})),
        expected(reply_to=EventID("$known"), reply_to_sender=GPT),
    ),
    (
        "a thread message: its fallback reply is no reply",
        event(
            text(
                **{
                    "m.relates_to": {
                        "rel_type": "m.thread",
                        "event_id": "$root",
                        "is_falling_back": True,
                        "m.in_reply_to": {"event_id": "$last"},
                    }
                }
            )
        ),
        expected(thread_root=EventID("$root")),
    ),
    (
        "a real reply inside a thread",
        event(
            text(
                **{
                    "m.relates_to": {
                        "rel_type": "m.thread",
                        "event_id": "$root",
                        "is_falling_back": False,
                        "m.in_reply_to": {"event_id": "$known"},
                    }
                }
            )
        ),
        expected(thread_root=EventID("$root"), reply_to=EventID("$known"), reply_to_sender=GPT),
    ),
    (
        "a thread without a reply fallback",
        event(text(**{"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}})),
        expected(thread_root=EventID("$root")),
    ),
    (
        "an edit is read as its fallback text, naming what it replaces",
        event(
            text(
                "* hello again",
                **{
                    "m.new_content": text("hello again"),
                    "m.relates_to": {"rel_type": "m.replace", "event_id": "$first"},
                },
            )
        ),
        expected(body="* hello again", replaces=EventID("$first")),
    ),
    (
        "a streamed answer being written",
        event(text(**{STREAM_KEY: "partial"}), sender=GPT),
        expected(sender=GPT, sender_power=10, stream="partial"),
    ),
    (
        "a streamed answer's stream key of another shape is none",
        event(text(**{STREAM_KEY: 1}), sender=GPT),
        expected(sender=GPT, sender_power=10),
    ),
    (
        "an agent's answer to another agent",
        event(text(**{TURN_KEY: "agent-to-agent"}), sender=GPT),
        expected(sender=GPT, sender_power=10, answers_agent=True),
    ),
    (
        "another turn value is no agent-to-agent turn",
        event(text(**{TURN_KEY: "human"}), sender=GPT),
        expected(sender=GPT, sender_power=10),
    ),
    (
        "the bot's own message reads like any other",
        event(text(), sender=BOT),
        expected(sender=BOT, sender_power=10),
    ),
    (
        "a stranger has no power",
        event(text(), sender="@eve:hs"),
        expected(sender="@eve:hs", sender_power=0),
    ),
    # malformed fields: skipped, never raised
    ("body not a string", event(text(body=5)), None),
    ("no body", event({"msgtype": "m.text"}), None),
    ("content not an object", event("hello"), None),
    ("no content", event(None), None),
    ("no sender", event(text(), sender=None), None),
    ("sender not a string", event(text(), sender=5), None),
    ("timestamp not a number", event(text(), ts="soon"), expected(timestamp_ms=0)),
    ("no timestamp", event(text(), ts=None), expected(timestamp_ms=0)),
    ("m.relates_to not an object", event(text(**{"m.relates_to": "$x"})), expected()),
    (
        "m.in_reply_to not an object",
        event(text(**{"m.relates_to": {"m.in_reply_to": "$x"}})),
        expected(),
    ),
    (
        "reply target not a string",
        event(text(**{"m.relates_to": {"m.in_reply_to": {"event_id": 5}}})),
        expected(),
    ),
    (
        "thread root not a string",
        event(text(**{"m.relates_to": {"rel_type": "m.thread", "event_id": ["$root"]}})),
        expected(),
    ),
    (
        "edit target not a string",
        event(text(**{"m.relates_to": {"rel_type": "m.replace", "event_id": 5}})),
        expected(),
    ),
    (
        "m.new_content not an object",
        event(
            text(
                **{
                    "m.new_content": "hi",
                    "m.relates_to": {"rel_type": "m.replace", "event_id": "$first"},
                }
            )
        ),
        expected(replaces=EventID("$first")),
    ),
    # not messages
    ("a reaction", event({}, type="m.reaction"), None),
    ("a member event", event({"membership": "join"}, type="m.room.member", state_key=BOT), None),
]


@pytest.mark.parametrize(
    ("event", "message"), [r[1:] for r in MESSAGES], ids=[r[0] for r in MESSAGES]
)
def test_an_event_reads_as_a_message(event: Any, message: Message | None) -> None:
    memory = EventMemory()
    memory.note_sender("$known", GPT)
    assert read_message(event, FACTS, memory, power_of) == message


@pytest.mark.parametrize(
    ("facts", "is_direct", "encrypted"),
    [
        (RoomFacts(ROOM), False, False),
        (RoomFacts(ROOM, is_direct=True), True, False),
        (RoomFacts(ROOM, encrypted=True), False, True),
    ],
)
def test_a_message_carries_its_rooms_facts(
    facts: RoomFacts, is_direct: bool, encrypted: bool
) -> None:
    message = read_message(event(text()), facts, EventMemory(), power_of)
    assert message is not None
    assert (message.room_id, message.is_direct, message.encrypted) == (ROOM, is_direct, encrypted)


def partial(event_id: str, body: str, *, sender: str = GPT) -> Any:
    return event(text(body, **{STREAM_KEY: "partial"}), sender=sender, event_id=event_id, ts=1)


def edit_of(
    first: str, body: str, *, stream: str | None = "done", sender: str = GPT, **new: Any
) -> Any:
    """An edit as `reply_content` writes one: the stream key in both contents."""
    marks = {STREAM_KEY: stream} if stream else {}
    new_content = text(body, **new, **marks)
    return event(
        text(
            "* " + body,
            **marks,
            **{
                "m.new_content": new_content,
                "m.relates_to": {"rel_type": "m.replace", "event_id": first},
            },
        ),
        sender=sender,
        event_id=f"$edit-{body}",
        ts=2,
    )


COMPLETE = Message(
    ROOM,
    EventID("$a"),
    GPT,
    "the whole answer",
    formatted_body="<p>the whole answer</p>",
    mentions=Mentions((MASTER,)),
    timestamp_ms=1,
    sender_power=10,
    encrypted=True,
    stream="done",
)


def an_edit(body: str, *, sender: UserID = GPT, **fields: Any) -> Message:
    return Message(
        ROOM,
        EventID(f"$edit-{body}"),
        sender,
        "* " + body,
        replaces=EventID("$a"),
        timestamp_ms=2,
        sender_power=POWER[sender],
        encrypted=True,
        **fields,
    )


DONE_EDIT: dict[str, Any] = {
    "format": HTML,
    "formatted_body": "<p>the whole answer</p>",
    "m.mentions": {"user_ids": [MASTER]},
}

STREAMS = [
    # id, events in order, what the last one reads as
    (
        "the last edit is the whole answer, as the first event",
        [partial("$a", "the"), edit_of("$a", "the whole answer", **DONE_EDIT)],
        COMPLETE,
    ),
    (
        "edits still being written are only edits",
        [partial("$a", "the"), edit_of("$a", "the whole", stream="partial")],
        an_edit("the whole", stream="partial"),
    ),
    (
        "... and the answer still completes after them",
        [
            partial("$a", "the"),
            edit_of("$a", "the whole", stream="partial"),
            edit_of("$a", "the whole answer", **DONE_EDIT),
        ],
        COMPLETE,
    ),
    (
        "a last edit with no partial answer seen is an edit",
        [edit_of("$a", "the whole answer")],
        an_edit("the whole answer", stream="done"),
    ),
    (
        "someone else's edit does not complete an answer",
        [partial("$a", "the"), edit_of("$a", "the whole answer", sender=MASTER)],
        an_edit("the whole answer", sender=MASTER, stream="done"),
    ),
    (
        "an answer completes once",
        [
            partial("$a", "the"),
            edit_of("$a", "the whole answer"),
            edit_of("$a", "the whole answer"),
        ],
        an_edit("the whole answer", stream="done"),
    ),
    (
        "an edit without a body in m.new_content is an edit",
        [
            partial("$a", "the"),
            event(
                text(
                    "* x",
                    **{
                        "m.new_content": {STREAM_KEY: "done"},
                        "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"},
                    },
                ),
                sender=GPT,
                event_id="$edit-x",
                ts=2,
            ),
        ],
        an_edit("x"),
    ),
]


@pytest.mark.parametrize(("events", "last"), [r[1:] for r in STREAMS], ids=[r[0] for r in STREAMS])
def test_a_streamed_answer_is_read_whole_at_its_last_edit(events: list[Any], last: Message) -> None:
    memory = EventMemory()
    read = [read_message(e, FACTS, memory, power_of) for e in events]
    assert read[-1] == last


def test_partial_answers_are_held_only_up_to_the_bound() -> None:
    memory = EventMemory(partials_kept=1)
    read_message(partial("$a", "the"), FACTS, memory, power_of)
    read_message(partial("$b", "another"), FACTS, memory, power_of)
    forgotten = read_message(edit_of("$a", "the whole answer"), FACTS, memory, power_of)
    assert forgotten == an_edit("the whole answer", stream="done")


def test_senders_are_remembered_only_up_to_the_bound() -> None:
    memory = EventMemory(senders_kept=2)
    for n, sender in enumerate([MASTER, GPT, BOT]):
        memory.remember(event(text(), sender=sender, event_id=f"$s{n}"))
    assert [memory.sender_of(f"$s{n}") for n in range(3)] == [None, GPT, BOT]
    memory.note_sender("$s1", GPT)  # seen again: the newest
    memory.note_sender("$s3", MASTER)
    assert [memory.sender_of(f"$s{n}") for n in range(4)] == [None, GPT, None, MASTER]


POLL_VOTE = {
    "m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"},
    "org.matrix.msc3381.poll.response": {"answers": ["B"]},
}


def reaction(key: Any = "👍", **relates: Any) -> dict[str, Any]:
    return {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": "$target", "key": key, **relates}
    }


ROOM_EVENTS = [
    # id, the event, what it reads as (None: not for handlers), reacts_to, reaction_key
    (
        "a reaction",
        event(reaction(), type="m.reaction"),
        RoomEvent(ROOM, EventID("$e"), MASTER, "m.reaction", reaction(), 100, 1234),
        "$target",
        "👍",
    ),
    (
        "a reaction naming no event reacts to nothing",
        event({"m.relates_to": {"key": "👍"}}, type="m.reaction"),
        RoomEvent(
            ROOM, EventID("$e"), MASTER, "m.reaction", {"m.relates_to": {"key": "👍"}}, 100, 1234
        ),
        None,
        "👍",
    ),
    (
        "an annotation of another kind is no reaction",
        event(reaction(rel_type="m.reference"), type="m.reaction"),
        RoomEvent(
            ROOM, EventID("$e"), MASTER, "m.reaction", reaction(rel_type="m.reference"), 100, 1234
        ),
        None,
        "👍",
    ),
    (
        "a reaction whose relation is not an object still reaches handlers",
        event({"m.relates_to": "$target"}, type="m.reaction"),
        RoomEvent(
            ROOM, EventID("$e"), MASTER, "m.reaction", {"m.relates_to": "$target"}, 100, 1234
        ),
        None,
        None,
    ),
    (
        "a reaction whose key is not a string",
        event(reaction(key=5), type="m.reaction"),
        RoomEvent(ROOM, EventID("$e"), MASTER, "m.reaction", reaction(key=5), 100, 1234),
        "$target",
        None,
    ),
    (
        "Chavion's own event",
        event({"request_id": "r1"}, type="org.chavion.exec.request", sender=BOT),
        RoomEvent(
            ROOM, EventID("$e"), BOT, "org.chavion.exec.request", {"request_id": "r1"}, 10, 1234
        ),
        None,
        None,
    ),
    (
        "Chavion's own event with content of another shape",
        event(["x"], type="org.chavion.exec.result", sender=BOT),
        RoomEvent(ROOM, EventID("$e"), BOT, "org.chavion.exec.result", {}, 10, 1234),
        None,
        None,
    ),
    (
        "Chavion's own event with no sender",
        event({}, type="org.chavion.exec.result", sender=None, ts="x"),
        RoomEvent(ROOM, EventID("$e"), UserID(""), "org.chavion.exec.result", {}, 0, 0),
        None,
        None,
    ),
    (
        "Chavion's state is no event for handlers",
        event({}, type="org.chavion.bot", state_key=BOT),
        None,
        None,
        None,
    ),
    (
        "a vote in a poll (the form Element X sends)",
        event(POLL_VOTE, type="org.matrix.msc3381.poll.response"),
        RoomEvent(
            ROOM, EventID("$e"), MASTER, "org.matrix.msc3381.poll.response", POLL_VOTE, 100, 1234
        ),
        None,
        None,
    ),
    (
        "…and the stable form of newer clients",
        event(POLL_VOTE, type="m.poll.response"),
        RoomEvent(ROOM, EventID("$e"), MASTER, "m.poll.response", POLL_VOTE, 100, 1234),
        None,
        None,
    ),
    (
        "a poll's end",
        event({}, type="org.matrix.msc3381.poll.end", sender=BOT),
        RoomEvent(ROOM, EventID("$e"), BOT, "org.matrix.msc3381.poll.end", {}, 10, 1234),
        None,
        None,
    ),
    ("another app's event", event({}, type="com.example.thing"), None, None, None),
    ("a message is no room event", event(text()), None, None, None),
    (
        "a member event",
        event({"membership": "join"}, type="m.room.member", state_key=BOT),
        None,
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("event", "room_event", "reacts_to", "key"),
    [r[1:] for r in ROOM_EVENTS],
    ids=[r[0] for r in ROOM_EVENTS],
)
def test_reactions_and_chavions_events_read_as_room_events(
    event: Any, room_event: RoomEvent | None, reacts_to: str | None, key: str | None
) -> None:
    read = read_room_event(event, FACTS, power_of)
    assert read == room_event
    if read is not None:
        assert (read.reacts_to, read.reaction_key) == (reacts_to, key)


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        (event(text()), Message),
        (event(reaction(), type="m.reaction"), RoomEvent),
        (event({}, type="org.chavion.exec.request"), RoomEvent),
        (event({"name": "x"}, type="m.room.name", state_key=""), type(None)),
        (event({"algorithm": "m.megolm.v1.aes-sha2"}, type="m.room.encrypted"), type(None)),
    ],
    ids=["message", "reaction", "chavion event", "state", "undecrypted"],
)
def test_an_event_reads_as_what_a_handler_sees(event: Any, kind: type) -> None:
    assert type(read_event(event, FACTS, EventMemory(), power_of)) is kind


def test_an_object_without_json_reads_as_nothing() -> None:
    assert read_event(object(), FACTS, EventMemory(), power_of) is None


REPLIES = [
    # id, the reply, the content sent
    (
        "a notice",
        Reply(ROOM, "pong"),
        {"msgtype": "m.notice", "body": "pong", "m.mentions": {"user_ids": []}},
    ),
    (
        "a text",
        Reply(ROOM, "hi", notice=False),
        {"msgtype": "m.text", "body": "hi", "m.mentions": {"user_ids": []}},
    ),
    (
        "html",
        Reply(ROOM, "Claude: hi", html=f"{PILL}: hi", mention=(BOT,)),
        {
            "msgtype": "m.notice",
            "body": "Claude: hi",
            "m.mentions": {"user_ids": [BOT]},
            "format": HTML,
            "formatted_body": f"{PILL}: hi",
        },
    ),
    (
        "a reply",
        Reply(ROOM, "pong", reply_to=EventID("$q")),
        {
            "msgtype": "m.notice",
            "body": "pong",
            "m.mentions": {"user_ids": []},
            "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}},
        },
    ),
    (
        "in a thread, replying",
        Reply(ROOM, "pong", thread_root=EventID("$root"), reply_to=EventID("$q")),
        {
            "msgtype": "m.notice",
            "body": "pong",
            "m.mentions": {"user_ids": []},
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": "$q"},
            },
        },
    ),
    (
        "in a thread, falling back to its root",
        Reply(ROOM, "pong", thread_root=EventID("$root")),
        {
            "msgtype": "m.notice",
            "body": "pong",
            "m.mentions": {"user_ids": []},
            "m.relates_to": {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": "$root"},
            },
        },
    ),
    (
        "mentions",
        Reply(ROOM, "over to you", mention=(BOT, GPT)),
        {"msgtype": "m.notice", "body": "over to you", "m.mentions": {"user_ids": [BOT, GPT]}},
    ),
    (
        "a streamed answer's first words",
        Reply(ROOM, "the", notice=False, stream="partial", answers_agent=True),
        {
            "msgtype": "m.text",
            "body": "the",
            "m.mentions": {"user_ids": []},
            STREAM_KEY: "partial",
            TURN_KEY: "agent-to-agent",
        },
    ),
    (
        "an edit, in a thread: the edit relation wins, the text goes twice",
        Reply(
            ROOM,
            "the whole answer",
            notice=False,
            replaces=EventID("$a"),
            thread_root=EventID("$root"),
            reply_to=EventID("$q"),
            stream="done",
        ),
        {
            "msgtype": "m.text",
            "body": "* the whole answer",
            "m.mentions": {"user_ids": []},
            STREAM_KEY: "done",
            "m.new_content": {
                "msgtype": "m.text",
                "body": "the whole answer",
                "m.mentions": {"user_ids": []},
                STREAM_KEY: "done",
            },
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"},
        },
    ),
    (
        "an edit with html and mentions",
        Reply(ROOM, "done", html="<b>done</b>", replaces=EventID("$a"), mention=(MASTER,)),
        {
            "msgtype": "m.notice",
            "body": "* done",
            "m.mentions": {"user_ids": [MASTER]},
            "format": HTML,
            "formatted_body": "* <b>done</b>",
            "m.new_content": {
                "msgtype": "m.notice",
                "body": "done",
                "m.mentions": {"user_ids": [MASTER]},
                "format": HTML,
                "formatted_body": "<b>done</b>",
            },
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"},
        },
    ),
]


@pytest.mark.parametrize(
    ("reply", "content"), [r[1:] for r in REPLIES], ids=[r[0] for r in REPLIES]
)
def test_a_reply_becomes_its_event_content(reply: Reply, content: dict[str, Any]) -> None:
    assert reply_content(reply) == content


RAW_EVENTS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # (case, event type, content given, content sent)
    (
        "a poll's end names no one: the legacy rules stop reading its body",
        "org.matrix.msc3381.poll.end",
        {"body": "#1 🗳️ Vote closed: the master chose C", "m.relates_to": {"event_id": "$p"}},
        {
            "body": "#1 🗳️ Vote closed: the master chose C",
            "m.relates_to": {"event_id": "$p"},
            "m.mentions": {},
        },
    ),
    (
        "an exec request naming its requester in the body",
        "org.chavion.exec.request",
        {"request_id": "t1-a1-s1", "body": "requested by @master:localhost"},
        {"request_id": "t1-a1-s1", "body": "requested by @master:localhost", "m.mentions": {}},
    ),
    (
        "mentions already given are kept",
        "org.matrix.msc3381.poll.start",
        {"body": "Which?", "m.mentions": {"user_ids": [MASTER]}},
        {"body": "Which?", "m.mentions": {"user_ids": [MASTER]}},
    ),
    (
        "no body: nothing a legacy rule could read",
        "org.matrix.msc3381.poll.response",
        {"org.matrix.msc3381.poll.response": {"answers": ["A"]}},
        {"org.matrix.msc3381.poll.response": {"answers": ["A"]}},
    ),
    (
        "a reaction is left as Element sends it",
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$p", "key": "✅"}},
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$p", "key": "✅"}},
    ),
]


@pytest.mark.parametrize(
    ("event_type", "given", "sent"), [r[1:] for r in RAW_EVENTS], ids=[r[0] for r in RAW_EVENTS]
)
def test_a_machine_event_with_a_body_names_no_one_unless_it_says_whom(
    event_type: str, given: dict[str, Any], sent: dict[str, Any]
) -> None:
    before = dict(given)
    assert raw_event_content(event_type, given) == sent
    assert given == before  # the caller's content is not changed


@pytest.mark.parametrize("reply", [r[1] for r in REPLIES], ids=[r[0] for r in REPLIES])
def test_what_a_bot_sends_reads_back_as_what_it_said(reply: Reply) -> None:
    """The round trip other bots rely on: body, html, mentions, thread and reply survive."""
    sent = event(reply_content(reply), sender=BOT)
    read = read_message(sent, FACTS, EventMemory(), power_of)
    assert read is not None
    whole = read.replaces is None
    assert read.body == (reply.body if whole else "* " + reply.body)
    assert read.formatted_body == (reply.html if whole or reply.html is None else "* " + reply.html)
    assert read.mentions == Mentions(reply.mention)
    assert read.msgtype == ("m.notice" if reply.notice else "m.text")
    assert read.replaces == reply.replaces
    assert read.thread_root == (reply.thread_root if whole else None)
    assert read.reply_to == (reply.reply_to if whole and not reply.thread_root else None)
    assert read.stream == reply.stream
    assert read.answers_agent == reply.answers_agent
    assert read.council == reply.council


COUNCIL = {"v": 1, "kind": "answer", "task": 12, "ask": "t12-propose-1", "stage": "propose"}


@pytest.mark.parametrize(
    ("content", "council"),
    [
        (text(**{"org.chavion.council": COUNCIL}), COUNCIL),
        (text(**{"org.chavion.council": "answer"}), None),
        (text(), None),
    ],
    ids=["an object", "not an object reads as none", "absent"],
)
def test_a_task_message_carries_its_council_object(
    content: dict[str, Any], council: dict[str, Any] | None
) -> None:
    read = read_message(event(content), FACTS, EventMemory(), power_of)
    assert read is not None
    assert read.council == council


def test_a_reply_with_a_council_object_reads_back_with_it() -> None:
    reply = Reply(
        ROOM, "#12 💡 use df -h", notice=False, thread_root=EventID("$root"), council=COUNCIL
    )
    assert reply_content(reply)["org.chavion.council"] == COUNCIL
    read = read_message(event(reply_content(reply), sender=BOT), FACTS, EventMemory(), power_of)
    assert read is not None
    assert read.council == COUNCIL
    assert read.thread_root == "$root"


# ---- a voice message's transcript ---------------------------------------------------------

COORD = UserID("@chavion:hs")
OUTSIDER = UserID("@mallory:hs")
TRANSCRIBERS = frozenset({COORD, BOT, GPT})
BOTS_FACTS = replace(FACTS, transcribers=TRANSCRIBERS)
VOICE = "$voice"
SAID = "claude, what is the disk usage"


def marker(**fields: Any) -> dict[str, Any]:
    return {TRANSCRIPT_KEY: {"speaker": MASTER, "audio_event": VOICE, "text": SAID, **fields}}


def transcript(*, sender: str = COORD, relates: Any = None, **content: Any) -> Any:
    """The transcribing bot's "🎙️ <transcript>" reply to the voice message, as it sends it."""
    relation = {"m.in_reply_to": {"event_id": VOICE}} if relates is None else relates
    body = {
        "msgtype": "m.notice",
        "body": f"🎙️ {SAID}",
        "format": HTML,
        "formatted_body": f"🎙️ <i>{SAID}</i>",
        "m.mentions": {"user_ids": [MASTER]},
        "m.relates_to": relation,
        **marker(),
        **content,
    }
    return event(body, sender=sender, event_id="$transcript")


def heard(**fields: Any) -> Message:
    """What every bot reads the transcript as: the master's typed words."""
    base = expected(
        event_id=EventID("$transcript"),
        body=SAID,
        spoken_in=EventID(VOICE),
        reply_to=EventID(VOICE),
        reply_to_sender=MASTER,
    )
    return replace(base, **fields)


def as_sent(sender: UserID = COORD, **fields: Any) -> Message:
    """The transcript event read as it stands: the marker vouches for nothing."""
    base = expected(
        event_id=EventID("$transcript"),
        sender=sender,
        body=f"🎙️ {SAID}",
        formatted_body=f"🎙️ <i>{SAID}</i>",
        msgtype="m.notice",
        mentions=Mentions((MASTER,)),
        sender_power=POWER.get(sender, 0),
        reply_to=EventID(VOICE),
        reply_to_sender=MASTER,
    )
    return replace(base, **fields)


TRANSCRIPTS = [
    # id, facts, the event, what it reads as
    ("from the coordinator: the master's words", BOTS_FACTS, transcript(), heard()),
    (
        "the transcriber's own transcript: the master's words, not its own message",
        BOTS_FACTS,
        transcript(sender=BOT),
        heard(),
    ),
    (
        "from an agent that transcribed it",
        BOTS_FACTS,
        transcript(sender=GPT),
        heard(),
    ),
    (
        "in a thread: the transcript's own thread",
        BOTS_FACTS,
        transcript(
            relates={
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": VOICE},
            }
        ),
        heard(thread_root=EventID("$root"), reply_to=None, reply_to_sender=None),
    ),
    (
        "no relation",
        BOTS_FACTS,
        transcript(relates={}),
        heard(reply_to=None, reply_to_sender=None),
    ),
    (
        "mentions carried in the marker",
        BOTS_FACTS,
        transcript(**marker(mentions={"user_ids": [BOT], "room": False})),
        heard(mentions=Mentions((BOT,))),
    ),
    (
        "a speaker of lower power keeps his own power",
        BOTS_FACTS,
        transcript(**marker(speaker=OUTSIDER)),
        heard(sender=OUTSIDER, sender_power=0),
    ),
    (
        "from a person who is no bot: as sent",
        BOTS_FACTS,
        transcript(sender=OUTSIDER),
        as_sent(OUTSIDER),
    ),
    (
        "from the master himself: as sent",
        BOTS_FACTS,
        transcript(sender=MASTER),
        as_sent(MASTER),
    ),
    (
        "a client that does not know the bots: as sent",
        FACTS,
        transcript(),
        as_sent(),
    ),
    ("no speaker: as sent", BOTS_FACTS, transcript(**marker(speaker=None)), as_sent()),
    ("a speaker that is no user id", BOTS_FACTS, transcript(**marker(speaker="master")), as_sent()),
    ("no voice event", BOTS_FACTS, transcript(**marker(audio_event=7)), as_sent()),
    ("words not text", BOTS_FACTS, transcript(**marker(text=["a"])), as_sent()),
    ("nothing was said", BOTS_FACTS, transcript(**marker(text="  ")), as_sent()),
    ("the marker not an object", BOTS_FACTS, transcript(**{TRANSCRIPT_KEY: "x"}), as_sent()),
    (
        "an edit carrying the marker: read as an edit",
        BOTS_FACTS,
        transcript(relates={"rel_type": "m.replace", "event_id": "$t0"}),
        as_sent(reply_to=None, reply_to_sender=None, replaces=EventID("$t0")),
    ),
]


@pytest.mark.parametrize(
    ("facts", "event", "message"),
    [r[1:] for r in TRANSCRIPTS],
    ids=[r[0] for r in TRANSCRIPTS],
)
def test_a_bots_transcript_reads_as_the_speakers_message(
    facts: RoomFacts, event: Any, message: Message
) -> None:
    memory = EventMemory()
    memory.note_sender(VOICE, MASTER)
    assert read_message(event, facts, memory, power_of) == message


ROUTER_BOTS = {
    COORD: Identity(COORD, "Chavion", ("차비온",), kind="coordinator"),
    BOT: Identity(BOT, "Claude", ("클로드",)),
    GPT: Identity(GPT, "GPT"),
}


@pytest.mark.parametrize(
    ("transcriber", "reader", "said", "route"),
    [
        ("coordinator", COORD, "!status", Command("status", "")),
        ("coordinator", BOT, "클로드, 디스크 확인해", Chat("디스크 확인해", broadcast=False)),
        ("agent", BOT, "클로드, 디스크 확인해", Chat("디스크 확인해", broadcast=False)),
    ],
    ids=[
        "the coordinator transcribed a command and runs it itself",
        "an agent named in the coordinator's transcript answers",
        "an agent answers what it transcribed itself",
    ],
)
def test_every_bot_the_transcriber_too_acts_on_a_transcript(
    transcriber: str, reader: UserID, said: str, route: Any
) -> None:
    sender = COORD if transcriber == "coordinator" else BOT
    message = read_message(
        transcript(sender=sender, **marker(text=said)), BOTS_FACTS, EventMemory(), power_of
    )
    assert message is not None
    assert message.sender == MASTER
    me = ROUTER_BOTS[reader]
    ctx = RouterContext(
        me,
        Roster(tuple(ROUTER_BOTS.values())),
        is_coordinator=me.kind == "coordinator",
        is_agent=me.kind == "agent",
    )
    assert parse(message, ctx) == route
