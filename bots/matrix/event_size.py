"""How big an event's content is as sent, and making a reply's content fit in one event.

A Matrix event is at most 65,536 bytes in its federation form (canonical JSON, signatures
included). Chavion's rooms are end-to-end encrypted, so what the server sees is an
m.room.encrypted event whose `ciphertext` is base64 of the encrypted plaintext event JSON
({"type", "content", "room_id"}): a message's content counts about 4/3 times, inside an
envelope of its own. `MAX_PLAINTEXT_BYTES` is the budget for that content.

Sizes are counted the way matrix-nio serializes what it encrypts (and what it sends in a room
without encryption): `json.dumps` with its defaults, so every non-ASCII character is a \\uXXXX
escape (6 bytes a Hangul syllable, 12 an emoji), a newline or `"` 2 bytes. That is never less
than the same JSON in UTF-8, so the count holds whichever way a client writes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from bots.errors import BotError

EVENT_MAX_BYTES: Final = 65_536
"""The largest event the spec allows (federation form, canonical JSON, with signatures)."""

MAX_PLAINTEXT_BYTES: Final = 40_000
"""The most a message's content may take as JSON, so the encrypted event stays under the limit.

The plaintext nio encrypts is the content plus {"type":"m.room.message","room_id":…} (room id
at most 255 bytes): content + 330 bytes at most. A Megolm message adds a version byte, the
message index (≤ 5 bytes), AES-CBC padding (≤ 16), an 8-byte MAC and a 64-byte signature, and
is base64-encoded: (40,000 + 330 + 94) × 4/3 ≈ 53,900 bytes of ciphertext. That leaves about
11.6 KB for the rest of the event: algorithm, sender_key, session_id, device_id, room_id,
sender, type, origin_server_ts, depth, prev_events, auth_events, hashes, signatures, which
usually take 1-2 KB and a few KB when a room's DAG forks. An unencrypted room has far more room.
"""

OTHER_FIELDS_BYTES: Final = 2_048
"""What a reply's content holds besides its text, at most: msgtype, format, m.mentions,
m.relates_to, Chavion's stream and turn keys, each twice in an edit, with ids of the longest
length the spec allows (255 bytes). `reply_bytes_bound` adds it to the text's size."""

HTML_FORMAT: Final = "org.matrix.custom.html"


class ContentTooLarge(BotError):
    """A content that would not fit in one event even as plain text: split the text first."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the event content is {size:,} bytes as JSON even without its HTML, over the"
            f" {limit:,} bytes one encrypted event can carry; split the text first"
            " (bots.text.splitting.split_message)"
        )
        self.size = size
        self.limit = limit


def content_bytes(content: Mapping[str, Any]) -> int:
    """The size of `content` as JSON the way nio sends it (ASCII-only, so one byte a char)."""
    return len(json.dumps(dict(content), separators=(",", ":")))


def reply_bytes_bound(body: str, html: str | None = None) -> int:
    """The most `content_bytes` can be for a reply carrying `body` (and `html` as its
    formatted_body), in any form bots.matrix.convert.reply_content builds: the largest is an edit,
    which carries the text twice (the "* " fallback and m.new_content). Everything else in
    the content is covered by OTHER_FIELDS_BYTES."""
    text: dict[str, Any] = {"body": "* " + body}
    new_content: dict[str, Any] = {"body": body}
    if html is not None:
        text.update(format=HTML_FORMAT, formatted_body="* " + html)
        new_content.update(format=HTML_FORMAT, formatted_body=html)
    text["m.new_content"] = new_content
    return content_bytes(text) + OTHER_FIELDS_BYTES


def fit_content(content: dict[str, Any], max_bytes: int = MAX_PLAINTEXT_BYTES) -> dict[str, Any]:
    """`content` itself when it fits in `max_bytes`; else a copy without its HTML
    (`format` and `formatted_body`, in m.new_content too) so the plain text still goes out.

    Raises ContentTooLarge when even the plain text does not fit. `content`
    is never changed.
    """
    if content_bytes(content) <= max_bytes:
        return content
    plain = _without_html(content)
    new_content = content.get("m.new_content")
    if isinstance(new_content, Mapping):
        plain["m.new_content"] = _without_html(new_content)
    size = content_bytes(plain)
    if size > max_bytes:
        raise ContentTooLarge(size, max_bytes)
    return plain


def _without_html(content: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in content.items() if key not in ("format", "formatted_body")}


MEDIA_KEYS_BYTES: Final = 1_024
"""What an attachment's `url` or `file` (key, iv, hash, address) adds to a content, at most."""
CUT_MARK: Final = "…"


def fit_voice_content(
    content: dict[str, Any], max_bytes: int = MAX_PLAINTEXT_BYTES
) -> dict[str, Any]:
    """A voice message's content with room for its media keys: `content` itself when it
    fits, else a copy whose text fallback (`body`) is cut, marked with "…". The audio is the
    message; the whole text goes out as text anyway (voice comes after the text)."""
    budget = max_bytes - MEDIA_KEYS_BYTES
    if content_bytes(content) <= budget:
        return content
    body = str(content.get("body", ""))
    low, high = 0, len(body)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if content_bytes({**content, "body": body[:middle] + CUT_MARK}) <= budget:
            low = middle
        else:
            high = middle - 1
    cut = {**content, "body": body[:low] + CUT_MARK}
    if content_bytes(cut) > budget:
        raise ContentTooLarge(content_bytes(cut), budget)
    return cut
