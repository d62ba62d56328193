"""A reply's content is measured as nio sends it, fits an encrypted event, or goes out as text."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from nio.api import Api
from nio.crypto.sessions import OutboundGroupSession

from bots.errors import BotError
from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import reply_content
from bots.matrix.event_size import (
    EVENT_MAX_BYTES,
    MAX_PLAINTEXT_BYTES,
    ContentTooLarge,
    content_bytes,
    fit_content,
    reply_bytes_bound,
)
from bots.message import Reply

ROOM = RoomID("!" + "r" * 200 + ":example.org")
LONG_EVENT = EventID("$" + "e" * 254)  # the longest id the spec allows: 255 bytes
LONG_USER = UserID("@" + "u" * 240 + ":example.org")


def html_message(body_bytes: int, html_bytes: int) -> dict[str, Any]:
    return {
        "msgtype": "m.text",
        "body": "b" * body_bytes,
        "format": "org.matrix.custom.html",
        "formatted_body": "h" * html_bytes,
    }


def html_edit(body_bytes: int, html_bytes: int) -> dict[str, Any]:
    new_content = html_message(body_bytes, html_bytes)
    return {
        **html_message(body_bytes, html_bytes),
        "m.new_content": new_content,
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$original"},
    }


# --- measuring --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "size"),
    [
        pytest.param({}, 2, id="an empty content is {}"),
        pytest.param({"body": "abc"}, len('{"body":"abc"}'), id="ascii as it is, no spaces"),
        pytest.param({"body": '"'}, len('{"body":"\\""}'), id="a quote takes two bytes"),
        pytest.param({"body": "\\"}, len('{"body":"\\\\"}'), id="a backslash takes two bytes"),
        pytest.param({"body": "\n"}, len('{"body":"\\n"}'), id="a newline takes two bytes"),
        pytest.param({"body": "\x01"}, len('{"body":"\\u0001"}'), id="a control char takes six"),
        pytest.param({"body": "가"}, len('{"body":"\\uac00"}'), id="a hangul syllable takes six"),
        pytest.param(
            {"body": "🙂"}, len('{"body":"\\ud83d\\ude42"}'), id="an emoji takes twelve (a pair)"
        ),
        pytest.param(
            {"m.new_content": {"body": "x"}},
            len('{"m.new_content":{"body":"x"}}'),
            id="nested contents count",
        ),
    ],
)
def test_content_bytes_is_the_json_nio_sends(content: dict[str, Any], size: int) -> None:
    assert content_bytes(content) == size
    assert content_bytes(content) == len(Api.to_json(content).encode("utf-8"))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("plain ascii", id="ascii"),
        pytest.param("서버 상태를 점검했습니다.", id="korean"),
        pytest.param("🙂👍🏽 é ñ ß", id="emoji and accents"),
        pytest.param('a "quoted" \\ \n\t\x00 line', id="escapes"),
    ],
)
def test_content_bytes_is_never_less_than_the_utf8_json(body: str) -> None:
    content = {"body": body, "formatted_body": f"<p>{body}</p>"}
    utf8 = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert content_bytes(content) >= len(utf8)


def test_the_budget_leaves_room_for_encryption_and_the_federation_envelope() -> None:
    """A content of MAX_PLAINTEXT_BYTES, encrypted the way nio encrypts it, in an event with
    a generous federation envelope (long ids, 20 prev_events, signatures) is under 64 KiB."""
    content = {"body": ""}
    content["body"] = "x" * (MAX_PLAINTEXT_BYTES - content_bytes(content))
    assert content_bytes(content) == MAX_PLAINTEXT_BYTES
    session = OutboundGroupSession()
    session.shared = True
    plaintext = {"content": content, "type": "m.room.message", "room_id": ROOM}
    encrypted = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": "k" * 43,
        "ciphertext": session.encrypt(Api.to_json(plaintext)),
        "session_id": session.id,
        "device_id": "D" * 32,
    }
    pdu = {
        "auth_events": [LONG_EVENT] * 4,
        "prev_events": [LONG_EVENT] * 20,
        "content": encrypted,
        "depth": 2**53,
        "hashes": {"sha256": "h" * 43},
        "origin": "example.org",
        "origin_server_ts": 2**42,
        "room_id": ROOM,
        "sender": LONG_USER,
        "signatures": {"s" * 255: {"ed25519:" + "k" * 64: "g" * 86}},
        "type": "m.room.encrypted",
        "unsigned": {"age_ts": 2**42},
    }
    canonical = json.dumps(pdu, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert len(canonical.encode("utf-8")) <= EVENT_MAX_BYTES - 2_000  # and room to spare


# --- the bound split_message relies on --------------------------------------------------------

BODIES = [
    pytest.param("짧은 답", None, id="korean without html"),
    pytest.param('**a** "b" <c>', '<p><strong>a</strong> "b" &lt;c&gt;</p>', id="html"),
    pytest.param("x" * 5_000, "<p>" + "x" * 5_000 + "</p>", id="long"),
]
SHAPES = [
    pytest.param({}, id="a message"),
    pytest.param({"thread_root": LONG_EVENT, "reply_to": LONG_EVENT}, id="in a thread"),
    pytest.param({"reply_to": LONG_EVENT, "mention": (LONG_USER,)}, id="a reply, mentioning"),
    pytest.param(
        {"replaces": LONG_EVENT, "mention": (LONG_USER,), "stream": "partial"},
        id="a streamed edit",
    ),
    pytest.param(
        {"replaces": LONG_EVENT, "stream": "done", "answers_agent": True, "notice": False},
        id="a final edit to an agent",
    ),
]


@pytest.mark.parametrize(("body", "html"), BODIES)
@pytest.mark.parametrize("shape", SHAPES)
def test_reply_bytes_bound_covers_every_content_reply_content_builds(
    body: str, html: str | None, shape: dict[str, Any]
) -> None:
    content = reply_content(Reply(room_id=ROOM, body=body, html=html, **shape))
    assert content_bytes(content) <= reply_bytes_bound(body, html)


# --- fitting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "limit", "dropped"),
    [
        pytest.param(html_message(100, 200), 1_000, False, id="a message that fits is kept"),
        pytest.param(html_edit(100, 200), 1_000, False, id="an edit that fits is kept"),
        pytest.param(html_message(300, 900), 1_000, True, id="a message loses its html"),
        pytest.param(html_edit(150, 500), 1_000, True, id="an edit loses it in m.new_content"),
    ],
)
def test_fit_content(content: dict[str, Any], limit: int, dropped: bool) -> None:
    before = copy.deepcopy(content)
    fitted = fit_content(content, limit)
    assert content == before  # never changed in place
    assert content_bytes(fitted) <= limit
    if not dropped:
        assert fitted is content
        return
    assert fitted["body"] == content["body"]
    for form in (fitted, fitted.get("m.new_content", {})):
        assert "formatted_body" not in form
        assert "format" not in form
    if "m.new_content" in content:
        assert fitted["m.new_content"]["body"] == content["m.new_content"]["body"]
        assert fitted["m.relates_to"] == content["m.relates_to"]


def test_the_default_limit_is_the_encrypted_budget() -> None:
    assert fit_content(html_message(10_000, 20_000)) == html_message(10_000, 20_000)
    assert "formatted_body" not in fit_content(html_message(10_000, 40_000))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(html_message(MAX_PLAINTEXT_BYTES, 10), id="a message"),
        pytest.param(html_edit(MAX_PLAINTEXT_BYTES // 2, 10), id="an edit"),
        pytest.param({"body": "가" * 7_000}, id="korean, six bytes a character"),
    ],
)
def test_a_text_too_long_even_without_html_is_refused_clearly(content: dict[str, Any]) -> None:
    with pytest.raises(ContentTooLarge, match=r"over the 40,000 bytes .* split the text") as error:
        fit_content(content)
    assert isinstance(error.value, BotError)  # the bots package's one base exception
    assert error.value.limit == MAX_PLAINTEXT_BYTES
    assert error.value.size > MAX_PLAINTEXT_BYTES
