"""Ogg/Opus reading: the duration comes from the stream, and anything that is not a whole
Ogg/Opus stream is refused with a sentence saying what is wrong."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bridge.errors import SpeechError
from bridge.speech.ogg import looks_like_ogg, ogg_crc, ogg_opus_duration_ms, read_ogg_opus

DATA = Path(__file__).parent / "speech_data"
TONE = (DATA / "tone-1s.opus").read_bytes()
"""1 s of 440 Hz at 48 kHz, encoded by opusenc."""
VORBIS = (DATA / "tone-0.5s.ogg").read_bytes()
"""0.5 s encoded by ffmpeg's libvorbis."""


def page(packet: bytes, *, granule: int, sequence: int, flags: int = 0) -> bytes:
    """One Ogg page holding one packet (< 255 * 255 bytes), CRC filled in."""
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    header = b"OggS" + struct.pack("<BBqIIIB", 0, flags, granule, 1, sequence, 0, len(lacing))
    raw = bytearray(header + lacing + packet)
    raw[22:26] = struct.pack("<I", ogg_crc(bytes(raw)))
    return bytes(raw)


def opus_head(pre_skip: int = 312, rate: int = 24_000) -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, rate, 0, 0)


def synthetic(last_granule: int, pre_skip: int = 312) -> bytes:
    return (
        page(opus_head(pre_skip), granule=0, sequence=0, flags=2)
        + page(b"OpusTags" + b"\0" * 8, granule=0, sequence=1)
        + page(b"\xfc" + b"\0" * 40, granule=last_granule // 2, sequence=2)
        + page(b"\xfc" + b"\0" * 40, granule=last_granule, sequence=3, flags=4)
    )


def test_a_real_opusenc_file_reads_as_one_second() -> None:
    info = read_ogg_opus(TONE)
    assert (info.channels, info.pre_skip, info.input_rate) == (1, 312, 48_000)
    assert info.duration_ms == 1000
    assert ogg_opus_duration_ms(TONE) == 1000


@pytest.mark.parametrize(
    ("last_granule", "pre_skip", "expected_ms"),
    [
        (48_000 + 312, 312, 1000),
        (312, 312, 0),
        (48 * 2_500 + 3840, 3840, 2500),
        (47, 0, 0),
        (100, 312, 0),
    ],
    ids=["one-second", "empty-audio", "big-pre-skip", "under-a-millisecond", "granule-below-skip"],
)
def test_duration_is_last_granule_minus_pre_skip_at_48k(
    last_granule: int, pre_skip: int, expected_ms: int
) -> None:
    assert ogg_opus_duration_ms(synthetic(last_granule, pre_skip)) == expected_ms


def damaged(data: bytes) -> bytes:
    middle = bytearray(data)
    middle[len(data) // 2] ^= 0x55
    return bytes(middle)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "it is empty"),
        (b"RIFF\x24\0\0\0WAVEfmt ", "does not start with an Ogg page"),
        (b"\x1aE\xdf\xa3 webm", "does not start with an Ogg page"),
        (TONE[:20], "cut off inside a page header"),
        (TONE[: len(TONE) - 100], "cut off (the last page is incomplete)"),
        (damaged(TONE), "damaged (checksum mismatch)"),
        (TONE + b"garbage!", "does not start where the previous one ends"),
        (VORBIS, "the codec is Vorbis"),
        (page(b"\x80theora" + b"\0" * 30, granule=0, sequence=0), "the codec is not Opus"),
        (page(b"OpusHead\x01", granule=0, sequence=0), "OpusHead header is too short"),
        (
            page(opus_head(), granule=0, sequence=0) + page(b"OpusTags", granule=0, sequence=1),
            "no audio pages",
        ),
    ],
    ids=[
        "empty",
        "wav",
        "webm",
        "truncated-header",
        "truncated-page",
        "flipped-byte",
        "trailing-junk",
        "ogg-vorbis",
        "ogg-theora",
        "short-opus-head",
        "headers-only",
    ],
)
def test_what_is_not_a_whole_ogg_opus_stream_is_refused_saying_why(data: bytes, says: str) -> None:
    with pytest.raises(SpeechError) as raised:
        read_ogg_opus(data)
    message = str(raised.value)
    assert message.startswith("The audio is not a readable Ogg/Opus file: ")
    assert message.endswith(f"{says}.")


@pytest.mark.parametrize(
    ("data", "expected"),
    [(TONE, True), (VORBIS, True), (b"OggS", True), (b"RIFF", False), (b"", False)],
    ids=["opus", "vorbis", "capture-only", "wav", "empty"],
)
def test_looks_like_ogg_checks_the_capture_pattern_only(data: bytes, expected: bool) -> None:
    assert looks_like_ogg(data) is expected


def test_the_crc_matches_the_known_check_value() -> None:
    # CRC-32/MPEG-2 without its init and final xor: the Ogg variant; check value of "123456789".
    assert ogg_crc(b"123456789") == 0x89A1897F
