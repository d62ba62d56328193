"""Which events of an answer make the master's phone buzz: exactly one, with the final text.

Each answer is written by the real `StreamingAnswer` (on a fake clock) and turned into event
content by the real `reply_content`; Synapse's own push-rule engine then decides, with the
server's default rules and the one Chavion provisions on the master's account, in a plain
and in an encrypted room (where the server reads only `m.relates_to` and the phone decides
again on the decrypted event).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from bots.agents import streaming
from bots.agents.streaming import StreamingAnswer
from bots.context import BotContext
from bots.events import MENTIONS_IN_CLEAR_KEY
from bots.homeserver.provision import answer_push_rule
from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import reply_content
from bots.message import Message, Reply
from bots.routing.addressing import Identity, Roster
from tests.support.push import phone_buzzes, ruleset, sound

MASTER = UserID("@master:hs")
GPT = UserID("@gpt:hs")
CLAUDE = UserID("@claude:hs")
ROOM = RoomID("!council:hs")
ROSTER = Roster((Identity(GPT, "GPT"), Identity(CLAUDE, "Claude")))
WITH_RULE = ruleset({"override": [{"rule_id": "org.chavion.answer", **answer_push_rule(MASTER)}]})
WITHOUT_RULE = ruleset({})


@dataclass
class Clock:
    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now


@dataclass
class Outbox:
    """Takes what the answer sends while it is written, as the Matrix client would."""

    sent: list[Reply] = field(default_factory=list)

    async def send(self, reply: Reply) -> EventID:
        self.sent.append(reply)
        return EventID(f"$sent{len(self.sent)}")


@dataclass
class PendingAnswers:
    """Takes the placeholder an answer notes in the store, so a restart could finish it."""

    placeholders: list[tuple[str, EventID, EventID]] = field(default_factory=list)

    async def note_placeholder(self, agent: str, question: EventID, placeholder: EventID) -> None:
        self.placeholders.append((agent, question, placeholder))


@dataclass
class Bot:
    roster: Roster
    matrix: Outbox
    account: types.SimpleNamespace = field(
        default_factory=lambda: types.SimpleNamespace(name="gpt")
    )
    store: types.SimpleNamespace = field(
        default_factory=lambda: types.SimpleNamespace(pending_answers=PendingAnswers())
    )


async def answer(
    monkeypatch: pytest.MonkeyPatch, sender: UserID, pieces: list[str], *, gap_s: float
) -> list[Reply]:
    """Every reply of one answer to `sender`, the model writing `pieces` `gap_s` apart."""
    clock = Clock()
    monkeypatch.setattr(streaming, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    message = Message(room_id=ROOM, event_id=EventID("$question"), sender=sender, body="q?")
    outbox = Outbox()
    stream = StreamingAnswer(message, cast(BotContext, Bot(ROSTER, outbox)), True)
    for piece in pieces:
        clock.now += gap_s
        await stream.on_delta(piece)
    return [*outbox.sent, *stream.final("".join(pieces))]


def event(reply: Reply) -> dict[str, Any]:
    return {"type": "m.room.message", "sender": GPT, "content": reply_content(reply)}


def buzzing(replies: list[Reply], *, encrypted: bool, rules: Any = WITH_RULE) -> list[str]:
    """The texts the phone shows for `replies`: the `body` of each event it buzzes for."""
    shown = []
    for reply in replies:
        sent = event(reply)
        actions = phone_buzzes(sent, rules, MASTER, encrypted=encrypted)
        if actions is not None:
            assert sound(actions) == "default", sent  # a buzz, not a silent line
            shown.append(sent["content"]["body"])
    return shown


WORDS = [*(f"word{i} " for i in range(39)), "word39."]
LONG = ["x" * 3000 + "\n\n" for _ in range(40)]  # far over one event: sent in parts


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain room", "encrypted room"])
@pytest.mark.parametrize(
    ("case", "sender", "pieces", "gap_s", "buzzes"),
    [
        ("a quick answer to the master", MASTER, ["Hi ", "there."], 0.01, ["Hi there."]),
        ("a streamed answer to the master", MASTER, WORDS, 0.5, ["".join(WORDS)]),
        ("a quick answer to an agent", CLAUDE, ["Agreed."], 0.01, []),
        ("a streamed answer to an agent", CLAUDE, WORDS, 0.5, []),
    ],
)
async def test_the_phone_buzzes_once_per_answer_to_the_master_with_its_final_text(
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    sender: UserID,
    pieces: list[str],
    gap_s: float,
    buzzes: list[str],
    encrypted: bool,
) -> None:
    replies = await answer(monkeypatch, sender, pieces, gap_s=gap_s)
    if gap_s > streaming.SHOW_PARTIAL_AFTER_S / 2:
        assert len(replies) > 2, "streamed: a preview, edits and the final edit"
    assert buzzing(replies, encrypted=encrypted) == buzzes


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain room", "encrypted room"])
async def test_a_long_answer_buzzes_once_for_its_first_part(
    monkeypatch: pytest.MonkeyPatch, encrypted: bool
) -> None:
    replies = await answer(monkeypatch, MASTER, LONG, gap_s=0.5)
    final = [r for r in replies if r.stream == "done"]
    assert len(final) > 1, "the answer outgrew one event"
    assert buzzing(replies, encrypted=encrypted) == [final[0].body]


async def test_without_the_rule_an_encrypted_final_edit_stays_silent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the rule exists: the server cannot read `m.mentions` in an encrypted room and
    pushes no edit by default. (In a plain room the edit's own mention is enough.)"""
    replies = await answer(monkeypatch, MASTER, WORDS, gap_s=0.5)
    assert buzzing(replies, encrypted=True, rules=WITHOUT_RULE) == []
    assert buzzing(replies, encrypted=False, rules=WITHOUT_RULE) == ["".join(WORDS)]


async def test_a_stopped_stream_buzzes_once_with_what_was_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(streaming, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    message = Message(room_id=ROOM, event_id=EventID("$question"), sender=MASTER, body="q?")
    outbox = Outbox()
    stream = StreamingAnswer(message, cast(BotContext, Bot(ROSTER, outbox)), True)
    for piece in WORDS[:10]:
        clock.now += 0.5
        await stream.on_delta(piece)
    replies = [*outbox.sent, stream.failure("the model timed out")]
    [shown] = buzzing(replies, encrypted=True)
    assert shown.endswith("(stopped: the model timed out)")


PREVIEW = Reply(ROOM, "the first words …", reply_to=EventID("$q"), stream="partial")
FINAL_EDIT = Reply(
    ROOM,
    "the whole answer",
    html="<p>the whole answer</p>",
    notice=False,
    reply_to=EventID("$q"),
    mention=(MASTER,),
    replaces=EventID("$preview"),
    stream="done",
)


CONTENTS: list[tuple[str, Reply, dict[str, Any]]] = [
    (
        "the final edit names its person in the clear, its fallback is the answer itself",
        FINAL_EDIT,
        {
            "msgtype": "m.text",
            "body": "the whole answer",
            "format": "org.matrix.custom.html",
            "formatted_body": "<p>the whole answer</p>",
            "m.mentions": {"user_ids": [MASTER]},
            "org.chavion.stream": "done",
            "m.new_content": {
                "msgtype": "m.text",
                "body": "the whole answer",
                "format": "org.matrix.custom.html",
                "formatted_body": "<p>the whole answer</p>",
                "m.mentions": {"user_ids": [MASTER]},
                "org.chavion.stream": "done",
            },
            "m.relates_to": {
                "rel_type": "m.replace",
                "event_id": "$preview",
                MENTIONS_IN_CLEAR_KEY: [MASTER],
            },
        },
    ),
    (
        "a preview is a notice that names no one",
        PREVIEW,
        {
            "msgtype": "m.notice",
            "body": "the first words …",
            "m.mentions": {"user_ids": []},
            "org.chavion.stream": "partial",
            "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}},
        },
    ),
]


@pytest.mark.parametrize(
    ("reply", "content"), [c[1:] for c in CONTENTS], ids=[c[0] for c in CONTENTS]
)
def test_content_of_an_answer_to_the_master(reply: Reply, content: dict[str, Any]) -> None:
    assert reply_content(reply) == content
