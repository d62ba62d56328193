"""Reading Ogg/Opus streams: is it one, and how long is it, from the stream itself.

The duration is what Element shows and what the event states, so it is read, not guessed:
the last page's granule position counts 48 kHz samples, minus the pre-skip the OpusHead
packet declares (RFC 7845). Every page's CRC is checked, so a truncated or damaged file is
refused here with a clear word instead of failing later in a decoder.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from bridge.errors import SpeechError

OGG_CAPTURE = b"OggS"
OPUS_HEAD = b"OpusHead"
OPUS_RATE = 48_000
_PAGE_HEADER = 27


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC = _crc_table()


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, no reflection, zero start)."""
    crc = 0
    table = _CRC
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


@dataclass(frozen=True)
class OggOpusInfo:
    pre_skip: int
    """Samples (at 48 kHz) the decoder drops at the start."""
    input_rate: int
    """The rate the audio had before encoding (informative only; Opus is always 48 kHz)."""
    channels: int
    last_granule: int
    pages: int

    @property
    def duration_ms(self) -> int:
        return max(0, self.last_granule - self.pre_skip) * 1000 // OPUS_RATE


def _refuse(why: str) -> SpeechError:
    return SpeechError(f"The audio is not a readable Ogg/Opus file: {why}.")


def read_ogg_opus(data: bytes) -> OggOpusInfo:
    """Check `data` is a whole Ogg/Opus stream and read its header and length.

    Raises SpeechError saying what is wrong (not Ogg, Ogg but not Opus, truncated, damaged).
    """
    if not data:
        raise _refuse("it is empty")
    if data[:4] != OGG_CAPTURE:
        raise _refuse("it does not start with an Ogg page")
    offset = pages = 0
    last_granule = -1
    head: bytes | None = None
    while offset < len(data):
        if data[offset : offset + 4] != OGG_CAPTURE:
            raise _refuse(f"page {pages + 1} does not start where the previous one ends")
        if offset + _PAGE_HEADER > len(data):
            raise _refuse("it is cut off inside a page header")
        granule = struct.unpack_from("<q", data, offset + 6)[0]
        segments = data[offset + 26]
        table_end = offset + _PAGE_HEADER + segments
        if table_end > len(data):
            raise _refuse("it is cut off inside a page header")
        lacing = data[offset + _PAGE_HEADER : table_end]
        end = table_end + sum(lacing)
        if end > len(data):
            raise _refuse("it is cut off (the last page is incomplete)")
        page = bytearray(data[offset:end])
        stated = struct.unpack_from("<I", page, 22)[0]
        page[22:26] = b"\0\0\0\0"
        if ogg_crc(bytes(page)) != stated:
            raise _refuse(f"page {pages + 1} is damaged (checksum mismatch)")
        if pages == 0:
            head = data[table_end:end]
        if granule != -1:
            last_granule = granule
        pages += 1
        offset = end
    if head is None or not head.startswith(OPUS_HEAD):
        codec = "Vorbis" if head is not None and head[1:7] == b"vorbis" else "not Opus"
        raise _refuse(f"it is Ogg but the codec is {codec}")
    if len(head) < 19:
        raise _refuse("its OpusHead header is too short")
    channels = head[9]
    pre_skip, input_rate = struct.unpack_from("<HI", head, 10)
    if pages < 3 or last_granule < 0:  # OpusHead and OpusTags pages come first (RFC 7845)
        raise _refuse("it has no audio pages")
    return OggOpusInfo(pre_skip, input_rate, channels, last_granule, pages)


def ogg_opus_duration_ms(data: bytes) -> int:
    """The stream's length in milliseconds, read from the stream (see the module note)."""
    return read_ogg_opus(data).duration_ms


def looks_like_ogg(data: bytes) -> bool:
    return data[:4] == OGG_CAPTURE
