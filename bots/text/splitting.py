"""Model output → Matrix messages: chunks that each fit one event, cut where a reader would.

A chunk must fit in one event however it is sent: as a message, or as the final edit of a
streamed answer, which carries `body` and its HTML twice (see bots.matrix.event_size). The HTML can
be many times the text (code escapes `<` and `&`, a table repeats its headers, nio writes
every non-ASCII character in six bytes), so no fixed number of bytes per chunk is safe:
`split_message` measures the content each chunk makes (`content_bytes_bound`, rendered by
bots.text.markdown) and keeps it within MAX_PLAINTEXT_BYTES. Chunks end at paragraphs, then
lines, then characters (never inside a UTF-8 character); a code block cut in two is closed at
the end of one chunk and re-opened with its language in the next, so each chunk renders on
its own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bots.matrix.event_size import MAX_PLAINTEXT_BYTES, OTHER_FIELDS_BYTES, reply_bytes_bound
from bots.text.markdown import FENCE, fence_language, markdown_to_html

DEFAULT_CHUNK_BYTES = (MAX_PLAINTEXT_BYTES - OTHER_FIELDS_BYTES) // 4
"""9,488: about the most text an edit with HTML can carry (four copies); only a first guess,
each chunk is measured."""
MIN_CHUNK_BYTES = 64
MIN_CONTENT_BYTES = 4_096
"""The smallest content budget `split_message` accepts: one character always fits in it."""

_EMPTY_BYTES = reply_bytes_bound("", "")  # what a reply takes before its text
_FULL_ENOUGH = 0.95  # a chunk filling this share of the budget need not be longer


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def content_bytes_bound(chunk: str) -> int:
    """The most a reply carrying `chunk` and its HTML can take (bots.matrix.event_size)."""
    return reply_bytes_bound(chunk, markdown_to_html(chunk))


@dataclass(frozen=True)
class _Fence:
    """An open code block: what closes it and what re-opens it in the next chunk."""

    marker: str
    lang: str

    @property
    def reopen_cost(self) -> int:
        return _size(self.marker + self.lang) + 1

    @property
    def close_cost(self) -> int:
        return _size(self.marker) + 1


@dataclass(frozen=True)
class _Segment:
    """A line, or a piece of one too long for a chunk, with the code block around it."""

    text: str
    glue: str  # "\n" before a line, "" before the rest of a line cut in pieces
    before: _Fence | None  # the code block this segment starts inside
    after: _Fence | None  # the code block still open after it
    size: int  # the bytes it adds to a chunk (see make)

    @staticmethod
    def make(text: str, glue: str, before: _Fence | None, after: _Fence | None) -> _Segment:
        return _Segment(text, glue, before, after, len(glue) + _size(text))

    @property
    def blank_line(self) -> bool:
        return self.glue == "\n" and not self.text.strip()


def split_message(
    text: str,
    limit_bytes: int = DEFAULT_CHUNK_BYTES,
    *,
    max_content_bytes: int = MAX_PLAINTEXT_BYTES,
) -> list[str]:
    """`text` in chunks that each fit in one event; [] for blank text.

    Every chunk is at most `limit_bytes` bytes of UTF-8, and a reply carrying it with its
    HTML takes at most `max_content_bytes` as JSON in any form, even as an edit
    (`content_bytes_bound`: the real size of what is sent, body and HTML twice). Chunks are
    filled greedily: the run of lines within `limit_bytes` is rendered and measured, and if
    it is too big, the longest run that fits is found by an interpolation search over its
    paragraph breaks, then over its lines; only a line too big alone is cut (`_chunk`).
    Measuring is what lets a chunk be as long as the event allows: a fixed ratio of text to
    event safe for every text (a table of short rows under a long header, a code line of
    `<` or control characters) would make ordinary prose needlessly short.
    """
    if limit_bytes < MIN_CHUNK_BYTES:
        raise ValueError(f"limit_bytes must be at least {MIN_CHUNK_BYTES}")
    if max_content_bytes < MIN_CONTENT_BYTES:
        raise ValueError(f"max_content_bytes must be at least {MIN_CONTENT_BYTES}")
    if not text.strip():
        return []
    if _size(text) <= limit_bytes and content_bytes_bound(text) <= max_content_bytes:
        return [text]
    segments = _segments(text, limit_bytes)
    chunks: list[str] = []
    start = 0
    guess = limit_bytes
    while start < len(segments):
        if segments[start].blank_line:
            start += 1  # blank lines between two messages say nothing, even inside code
            continue
        end, next_start, guess = _chunk(segments, start, limit_bytes, max_content_bytes, guess)
        chunks.append(_render(segments[start:end]))
        start = next_start
    return chunks


def _segments(text: str, limit: int) -> list[_Segment]:
    segments: list[_Segment] = []
    fence: _Fence | None = None
    for index, line in enumerate(text.split("\n")):
        before = fence
        match = FENCE.match(line)
        if fence is None:
            # A backtick fence's info string cannot contain a backtick (that is inline code).
            if match and not (match["marker"][0] == "`" and "`" in match["info"]):
                fence = _Fence(match["marker"], fence_language(match["info"]))
        elif (
            match
            and match["marker"][0] == fence.marker[0]
            and len(match["marker"]) >= len(fence.marker)
            and not match["info"].strip()
        ):
            fence = None
        glue = "\n" if index else ""
        overhead = 0
        if before or fence:
            overhead = (before.reopen_cost if before else 0) + max(
                f.close_cost for f in (before, fence) if f
            )
        if _size(line) + overhead <= limit:
            segments.append(_Segment.make(line, glue, before, fence))
            continue
        pieces = _pieces(line, max(limit - overhead, 4))
        for number, piece in enumerate(pieces):
            last = number == len(pieces) - 1
            segments.append(
                _Segment.make(piece, glue if number == 0 else "", before, fence if last else before)
            )
    return segments


def _pieces(line: str, room: int) -> list[str]:
    """Cut a line into pieces of at most `room` bytes, at a space when one is near the end."""
    data = line.encode("utf-8")
    pieces: list[str] = []
    start = 0
    while len(data) - start > room:
        cut = start + room
        while (data[cut] & 0xC0) == 0x80:  # a UTF-8 continuation byte: inside a character
            cut -= 1
        head = data[start:cut].decode("utf-8")
        space = head.rfind(" ")
        if space >= len(head) // 2:
            head = head[: space + 1]
        pieces.append(head)
        start += _size(head)
    pieces.append(data[start:].decode("utf-8"))
    return pieces


def _fill(segments: list[_Segment], start: int, limit: int) -> int:
    """The end of the longest run from `start` within `limit` bytes of text, its code block
    closed if open."""
    first = segments[start]
    used = (first.before.reopen_cost if first.before else 0) + _size(first.text)
    end = start + 1
    while end < len(segments):
        segment = segments[end]
        grown = used + segment.size
        if grown + (segment.after.close_cost if segment.after else 0) > limit:
            break
        used = grown
        end += 1
    return end


def _render(run: list[_Segment]) -> str:
    first, last = run[0], run[-1]
    parts = [f"{first.before.marker}{first.before.lang}\n"] if first.before else []
    parts.append(first.text)
    parts.extend(segment.glue + segment.text for segment in run[1:])
    if last.after:
        parts.append(f"\n{last.after.marker}")
    return "".join(parts)


def _trim(segments: list[_Segment], start: int, end: int) -> int:
    """The end of the run [start, end) without the blank lines (outside code) at its end."""
    while end - start > 1 and segments[end - 1].blank_line and segments[end - 1].after is None:
        end -= 1
    return end


def _chunk(
    segments: list[_Segment], start: int, limit: int, budget: int, guess: int
) -> tuple[int, int, int]:
    """The chunk from `start`: where it ends, where the next one starts, and a guess of the
    next chunk's bytes of text (this chunk's share of text in its content).

    The candidates are the runs within `limit` bytes of text (`_fill`). When the text goes
    on, the chunk is the most paragraphs that fit; if not even the first one fits, or there
    is no paragraph break, the most lines (`_largest_fitting` measures them, trying first
    the run of about `guess` bytes). A line too big for an event alone is cut in pieces (in
    place) that fill most of an event each.
    """
    end = _fill(segments, start, limit)
    offsets = [0]  # offsets[k]: the bytes of text of the run to start + k
    for segment in segments[start:end]:
        offsets.append(offsets[-1] + segment.size)
    sizes: dict[int, int] = {}

    def size(stop: int) -> int:
        if stop not in sizes:
            run = segments[start : _trim(segments, start, stop)]
            sizes[stop] = content_bytes_bound(_render(run))
        return sizes[stop]

    def offset(stop: int) -> int:
        return offsets[stop - start]

    def chunk(found: int, next_start: int) -> tuple[int, int, int]:
        share = offset(found) / max(size(found) - _EMPTY_BYTES, 1)
        return _trim(segments, start, found), next_start, int(share * (budget - _EMPTY_BYTES))

    if end < len(segments):
        breaks = [k for k in range(start + 1, end) if segments[k].blank_line]
        if breaks:
            found = _largest_fitting(breaks, size, offset, budget, guess)
            if found is not None:
                return chunk(found, found + 1)
            end = breaks[0]  # the first paragraph alone is too big: cut it between lines
    found = _largest_fitting(range(start + 1, end + 1), size, offset, budget, guess)
    if found is not None:
        return chunk(found, found)
    first = size(start + 1)  # not even the first segment fits: cut it
    while first > budget:
        _cut_segment(segments, start, first, budget)
        first = content_bytes_bound(_render(segments[start : start + 1]))
    return start + 1, start + 1, limit


def _largest_fitting(
    ends: Sequence[int],
    size: Callable[[int], int],
    offset: Callable[[int], int],
    budget: int,
    guess: int,
) -> int | None:
    """The largest of `ends` (ascending) whose run fits in `budget`, or None; a run that
    fills 95% of it, or is within 1.5% of the text of one that does not fit, will do.

    The first end tried is the one nearest `guess` bytes of text. Then, since the content
    grows about in proportion to the text (`offset`), each guess interpolates between the
    longest run known to fit and the shortest known not to (extrapolates, while none is
    known not to); a guess that does not halve that interval is followed by a bisection.
    With the last chunk's proportion as the first guess, one render usually does it.
    """
    low, high = -1, len(ends)  # ends[low] fits (-1: the empty run); ends[high] does not
    low_offset, low_size = 0, _EMPTY_BYTES
    high_offset = high_size = 0  # known once high < len(ends)
    probe = min(max(bisect_right(ends, guess, key=offset) - 1, 0), len(ends) - 1)
    bisect = False
    while True:
        width = high - low
        probe_offset, probe_size = offset(ends[probe]), size(ends[probe])
        if probe_size <= budget:
            low, low_offset, low_size = probe, probe_offset, probe_size
            if probe_size >= _FULL_ENOUGH * budget:
                break
        else:
            high, high_offset, high_size = probe, probe_offset, probe_size
        if high - low <= 1 or (
            low >= 0 and high < len(ends) and high_offset - low_offset <= low_offset // 64
        ):
            break
        if high == len(ends):  # all known runs fit: extrapolate from the longest
            wanted = low_offset * (budget - _EMPTY_BYTES) / max(low_size - _EMPTY_BYTES, 1)
        elif bisect or high_size <= low_size:
            wanted = (low_offset + high_offset) / 2
        else:
            share = (budget - low_size) / (high_size - low_size)
            wanted = low_offset + share * (high_offset - low_offset)
        probe = min(max(bisect_right(ends, wanted, key=offset) - 1, low + 1), high - 1)
        bisect = (high - low) * 2 > width
    return ends[low] if low >= 0 else None


def _cut_segment(segments: list[_Segment], index: int, size: int, budget: int) -> None:
    """Cut a segment too big for an event alone, with the rest of its line (up to 16 pieces
    of it), into pieces of the share of the text the budget allows, less 10%."""
    segment = segments[index]
    text_bytes = _size(segment.text)
    share = text_bytes * (budget - OTHER_FIELDS_BYTES) // max(size - OTHER_FIELDS_BYTES, 1)
    room = max(4, min(text_bytes - 1, share * 9 // 10))
    stop = index + 1
    while stop < len(segments) and stop - index < 16 and segments[stop].glue == "":
        stop += 1
    pieces = _pieces("".join(piece.text for piece in segments[index:stop]), room)
    if _size(pieces[0]) >= text_bytes:
        raise ValueError(f"max_content_bytes={budget} cannot hold {segment.text!r}")
    last = len(pieces) - 1
    segments[index:stop] = [
        _Segment.make(
            piece,
            segment.glue if number == 0 else "",
            segment.before,
            segments[stop - 1].after if number == last else segment.before,
        )
        for number, piece in enumerate(pieces)
    ]
