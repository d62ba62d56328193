"""Voice on the wire, offline: an `m.audio` event's content → `AudioAttachment` (Element
Web's and Element X's shapes, encrypted and plain, odd shapes read as absent), a clip →
the voice content Chavion sends, and a downloaded body → plain bytes or a clear refusal."""

from __future__ import annotations

from typing import Any

import pytest
from nio.crypto.attachments import encrypt_attachment

from bots.errors import MatrixError
from bots.events import AUDIO_KEY, VOICE_MARKER
from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import (
    EventMemory,
    RoomFacts,
    audio_attachment,
    read_message,
    voice_content,
)
from bots.matrix.event_size import (
    CUT_MARK,
    MAX_PLAINTEXT_BYTES,
    MEDIA_KEYS_BYTES,
    content_bytes,
    fit_voice_content,
)
from bots.matrix.media import media_keys, plain_bytes, readable_size, refuse_stated_size
from bots.message import AudioAttachment, Reply
from bridge.speech import VoiceClip
from tests.support.person import element_voice_content
from tests.unit.test_matrix_convert import event

ROOM = RoomID("!council:hs")
MASTER = UserID("@master:hs")
MXC = "mxc://hs/abc"
WAVEFORM = [0, 256, 1024, 512] * 10
FILE = {
    "v": "v2",
    "key": {"kty": "oct", "alg": "A256CTR", "ext": True, "k": "KEY", "key_ops": ["encrypt"]},
    "iv": "IV",
    "hashes": {"sha256": "HASH"},
    "url": MXC,
}


def element_x(**extra: Any) -> dict[str, Any]:
    """Element X (matrix-rust-sdk / ruma): the file name as body, `filename`, the unstable
    audio details and voice marker, no MSC1767 text or file blocks."""
    return {
        "msgtype": "m.audio",
        "body": "voice-message.ogg",
        "filename": "voice-message.ogg",
        "url": MXC,
        "info": {"duration": 2300, "mimetype": "audio/ogg", "size": 5120},
        AUDIO_KEY: {"duration": 2300, "waveform": WAVEFORM},
        VOICE_MARKER: {},
        **extra,
    }


def web(media: dict[str, Any]) -> dict[str, Any]:
    return element_voice_content(media, size=5120, duration_ms=2300, waveform=WAVEFORM)


VOICE = AudioAttachment(MXC, "audio/ogg", 5120, 2300, voice=True)
ENCRYPTED_VOICE = AudioAttachment(MXC, "audio/ogg", 5120, 2300, voice=True, encryption=FILE)
NO_URL = {k: v for k, v in element_x().items() if k != "url"}

ATTACHMENTS = [
    # id, content, what it reads as
    ("Element Web, plain room", web({"url": MXC}), VOICE),
    ("Element Web, encrypted room", web({"file": FILE}), ENCRYPTED_VOICE),
    ("Element X, plain room", element_x(), VOICE),
    (
        "Element X, encrypted room",
        {**NO_URL, "file": FILE},
        ENCRYPTED_VOICE,
    ),
    (
        "a mimetype with its codec",
        element_x(info={"duration": 2300, "mimetype": "audio/ogg; codecs=opus", "size": 5120}),
        AudioAttachment(MXC, "audio/ogg; codecs=opus", 5120, 2300, voice=True),
    ),
    (
        "a shared audio file, not a voice message",
        {k: v for k, v in element_x().items() if k != VOICE_MARKER},
        AudioAttachment(MXC, "audio/ogg", 5120, 2300, voice=False),
    ),
    ("no info: size and duration unknown", element_x(info=None), AudioAttachment(MXC, voice=True)),
    (
        "info not an object",
        element_x(info="big"),
        AudioAttachment(MXC, voice=True),
    ),
    (
        "a size or duration that is no positive number reads as unknown",
        element_x(info={"size": "5120", "duration": -1, "mimetype": "audio/ogg"}),
        AudioAttachment(MXC, "audio/ogg", voice=True),
    ),
    (
        "a float duration reads as unknown",
        element_x(info={"duration": 2.5}),
        AudioAttachment(MXC, voice=True),
    ),
    ("not m.audio", {**element_x(), "msgtype": "m.file"}, None),
    ("no url nor file", NO_URL, None),
    ("a url that is no mxc address", element_x(url="https://example.org/a.ogg"), None),
    ("a url that is not text", element_x(url=7), None),
    ("an encrypted file without its url", {**NO_URL, "file": {**FILE, "url": None}}, None),
    ("a file that is not an object, no url", {**NO_URL, "file": "x"}, None),
]


@pytest.mark.parametrize(
    ("content", "audio"), [r[1:] for r in ATTACHMENTS], ids=[r[0] for r in ATTACHMENTS]
)
def test_an_audio_message_reads_as_its_attachment(
    content: dict[str, Any], audio: AudioAttachment | None
) -> None:
    assert audio_attachment(content) == audio


def test_a_voice_message_reaches_handlers_with_its_attachment() -> None:
    message = read_message(
        event(web({"file": FILE}), event_id="$voice"),
        RoomFacts(ROOM, encrypted=True),
        EventMemory(),
        lambda _: 100,
    )
    assert message is not None
    assert (message.msgtype, message.body, message.audio) == (
        "m.audio",
        "Voice message",
        ENCRYPTED_VOICE,
    )
    assert message.spoken_in is None


CLIP = VoiceClip(b"OggS" + bytes(60), 4200, tuple(WAVEFORM))


@pytest.mark.parametrize(
    ("reply", "relation"),
    [
        (Reply(ROOM, "the report"), None),
        (
            Reply(ROOM, "the report", reply_to=EventID("$q")),
            {"m.in_reply_to": {"event_id": "$q"}},
        ),
        (
            Reply(ROOM, "the report", thread_root=EventID("$root"), reply_to=EventID("$q")),
            {
                "rel_type": "m.thread",
                "event_id": "$root",
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": "$q"},
            },
        ),
    ],
    ids=["top level", "a reply", "in a thread"],
)
def test_a_clip_is_sent_with_elements_voice_keys(reply: Reply, relation: Any) -> None:
    reply = Reply(
        reply.room_id,
        reply.body,
        html="<b>the report</b>",
        notice=False,
        mention=(MASTER,),
        thread_root=reply.thread_root,
        reply_to=reply.reply_to,
    )
    content = voice_content(reply, CLIP)
    expected: dict[str, Any] = {
        "msgtype": "m.audio",
        "body": "the report",
        "m.mentions": {"user_ids": [MASTER]},
        "info": {"mimetype": "audio/ogg", "size": 64, "duration": 4200},
        AUDIO_KEY: {"duration": 4200, "waveform": WAVEFORM},
        VOICE_MARKER: {},
    }
    if relation is not None:
        expected["m.relates_to"] = relation
    assert content == expected


def test_what_chavion_sends_reads_back_as_a_voice_message() -> None:
    content = {**voice_content(Reply(ROOM, "the report"), CLIP), **media_keys(MXC, FILE)}
    assert audio_attachment(content) == AudioAttachment(
        MXC, "audio/ogg", 64, 4200, voice=True, encryption={**FILE, "url": MXC}
    )
    assert audio_attachment({**content, **media_keys(MXC, None)}) is not None


@pytest.mark.parametrize(
    ("keys", "media"),
    [
        (None, {"url": MXC}),
        ({}, {"url": MXC}),
        ({"iv": "IV"}, {"file": {"iv": "IV", "url": MXC}}),
    ],
    ids=["plain", "no keys is plain", "encrypted"],
)
def test_an_upload_is_pointed_at_by_url_or_file(keys: Any, media: dict[str, Any]) -> None:
    assert media_keys(MXC, keys) == media


# ---- download: the limits and the keys ---------------------------------------------------

PLAIN = b"OggS" + bytes(range(256)) * 8
CIPHER, KEYS = encrypt_attachment(PLAIN)
CHANGED = CIPHER[:-1] + bytes([CIPHER[-1] ^ 1])
"""The ciphertext with one bit flipped (whatever its random last byte was)."""
LIMIT = 4096


def attachment(size: int = len(PLAIN), encryption: dict[str, Any] | None = None) -> AudioAttachment:
    return AudioAttachment(MXC, "audio/ogg", size, 1000, voice=True, encryption=encryption)


def with_keys(**changes: Any) -> dict[str, Any]:
    return {**KEYS, "url": MXC, **changes}


def test_a_plain_attachment_is_its_body() -> None:
    assert plain_bytes(attachment(), PLAIN, LIMIT) == PLAIN


def padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)


@pytest.mark.parametrize(
    "keys",
    [
        with_keys(),
        with_keys(hashes={"sha256": padded(KEYS["hashes"]["sha256"])}, iv=padded(KEYS["iv"])),
        with_keys(hashes={"sha256": KEYS["hashes"]["sha256"].replace("+", "-").replace("/", "_")}),
    ],
    ids=["as nio and Element write them", "padded base64", "URL-safe base64 hash"],
)
def test_an_encrypted_attachment_decrypts_with_its_keys(keys: dict[str, Any]) -> None:
    assert CIPHER != PLAIN
    assert plain_bytes(attachment(encryption=keys), CIPHER, LIMIT) == PLAIN


@pytest.mark.parametrize(
    ("size", "refused"),
    [(0, False), (LIMIT, False), (LIMIT + 1, True)],
    ids=["unknown: the body is checked after", "at the limit", "one byte over"],
)
def test_only_a_stated_size_over_the_limit_is_refused_before_fetching(
    size: int, refused: bool
) -> None:
    try:
        refuse_stated_size(attachment(size=size), LIMIT)
    except MatrixError:
        assert refused
    else:
        assert not refused


REFUSALS = [
    # id, what is checked, the message's words
    (
        "a stated size over the limit: refused before fetching",
        lambda: refuse_stated_size(attachment(size=LIMIT + 1), LIMIT),
        "the audio file is 4097 bytes, more than the 4096 bytes allowed; it was not downloaded",
    ),
    (
        "a body over the limit whatever was stated",
        lambda: plain_bytes(attachment(size=10), PLAIN + bytes(LIMIT), LIMIT),
        "the audio file is 6 KB, more than the 4 KB allowed",
    ),
    (
        "a ciphertext changed on the way",
        lambda: plain_bytes(attachment(encryption=with_keys()), CHANGED, LIMIT),
        "its SHA-256 hash does not match",
    ),
    (
        "a ciphertext cut short",
        lambda: plain_bytes(attachment(encryption=with_keys()), CIPHER[:100], LIMIT),
        "its SHA-256 hash does not match",
    ),
    (
        "a hash that is no base64",
        lambda: plain_bytes(
            attachment(encryption=with_keys(hashes={"sha256": "not base64!"})), CIPHER, LIMIT
        ),
        "its SHA-256 hash does not match",
    ),
    (
        "no key",
        lambda: plain_bytes(attachment(encryption=with_keys(key={})), CIPHER, LIMIT),
        "lacks the key, the iv or the sha256 hash",
    ),
    (
        "no hash",
        lambda: plain_bytes(attachment(encryption=with_keys(hashes=None)), CIPHER, LIMIT),
        "lacks the key, the iv or the sha256 hash",
    ),
    (
        "an iv that is not text",
        lambda: plain_bytes(attachment(encryption=with_keys(iv=7)), CIPHER, LIMIT),
        "lacks the key, the iv or the sha256 hash",
    ),
    (
        "a key that is no base64",
        lambda: plain_bytes(attachment(encryption=with_keys(key={"k": "!!!"})), CIPHER, LIMIT),
        "cannot be decrypted",
    ),
]


@pytest.mark.parametrize(
    ("check", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_an_attachment_is_refused_with_a_clear_sentence(check: Any, words: str) -> None:
    with pytest.raises(MatrixError, match=r"^the audio file ") as refused:
        check()
    assert words in str(refused.value)


@pytest.mark.parametrize(
    ("size", "said"),
    [(0, "0 bytes"), (1023, "1023 bytes"), (1024, "1 KB"), (20 * 1024**2, "20.0 MB")],
)
def test_sizes_read_as_a_person_says_them(size: int, said: str) -> None:
    assert readable_size(size) == said


# ---- the text fallback of a long voice message -------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["a" * 50_000, "디스크 사용량 보고\n" * 4_000, "🎙️" * 10_000],
    ids=["ascii", "hangul and newlines", "emoji"],
)
def test_a_long_fallback_is_cut_to_leave_room_for_the_media_keys(body: str) -> None:
    content = voice_content(Reply(ROOM, body, reply_to=EventID("$q")), CLIP)
    fitted = fit_voice_content(content)
    kept = fitted["body"].removesuffix(CUT_MARK)
    assert fitted["body"].endswith(CUT_MARK)
    assert body.startswith(kept)
    assert {**fitted, "body": ""} == {**content, "body": ""}  # only the body changed
    sent = {**fitted, **media_keys(MXC, with_keys())}
    assert content_bytes(sent) <= MAX_PLAINTEXT_BYTES
    longer = {**fitted, "body": body[: len(kept) + 1] + CUT_MARK}
    assert content_bytes(longer) > MAX_PLAINTEXT_BYTES - MEDIA_KEYS_BYTES  # the longest that fits


def test_a_fallback_that_fits_is_sent_as_it_is() -> None:
    content = voice_content(Reply(ROOM, "The disk is 40% full."), CLIP)
    assert fit_voice_content(content) is content
