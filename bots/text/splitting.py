"""Model output → Matrix messages: split to fit one event, and markdown → the HTML Element shows.

A chunk must fit in one event however it is sent: as a message, or as the final edit of a
streamed answer, which carries `body` and its HTML twice (see bots.matrix.event_size). The HTML can
be many times the text (code escapes `<` and `&`, a table repeats its headers, nio writes
every non-ASCII character in six bytes), so no fixed number of bytes per chunk is safe:
`split_message` measures the content each chunk makes (`content_bytes_bound`) and keeps it
within MAX_PLAINTEXT_BYTES. Chunks end at paragraphs, then lines, then characters (never
inside a UTF-8 character); a code block cut in two is closed at the end of one chunk and
re-opened with its language in the next, so each chunk renders on its own.

The HTML covers what every Element app renders; tables (which Element X does not render)
become bullet lists. Everything from the model is escaped: it can never inject markup.
Rendering takes time linear in the text, whatever it holds: quotes and lists nest at most
_MAX_NESTING deep (deeper ones show as text), emphasis and code spans are matched in one
pass over their delimiters.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest

from bots.matrix.event_size import MAX_PLAINTEXT_BYTES, OTHER_FIELDS_BYTES, reply_bytes_bound

DEFAULT_CHUNK_BYTES = (MAX_PLAINTEXT_BYTES - OTHER_FIELDS_BYTES) // 4
"""9,488: about the most text an edit with HTML can carry (four copies); only a first guess,
each chunk is measured."""
MIN_CHUNK_BYTES = 64
MIN_CONTENT_BYTES = 4_096
"""The smallest content budget `split_message` accepts: one character always fits in it."""

_EMPTY_BYTES = reply_bytes_bound("", "")  # what a reply takes before its text
_FULL_ENOUGH = 0.95  # a chunk filling this share of the budget need not be longer

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<marker>`{3,64}(?!`)|~{3,64}(?!~))(?P<info>.*)$")
_LANG = re.compile(r"[^\w+#.-]")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def content_bytes_bound(chunk: str) -> int:
    """The most a reply carrying `chunk` and its HTML can take (bots.matrix.event_size)."""
    return reply_bytes_bound(chunk, markdown_to_html(chunk))


# ---------------------------------------------------------------------------------------------
# Splitting


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
        match = _FENCE.match(line)
        if fence is None:
            # A backtick fence's info string cannot contain a backtick (that is inline code).
            if match and not (match["marker"][0] == "`" and "`" in match["info"]):
                info = match["info"].split()
                fence = _Fence(match["marker"], _LANG.sub("", info[0])[:32] if info else "")
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


# ---------------------------------------------------------------------------------------------
# Markdown → HTML

_HEADING = re.compile(r" {0,3}(#{1,6})[ \t]+")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_QUOTE = re.compile(r"^ {0,3}> ?")
_ITEM = re.compile(r"^(?P<indent> *)(?:(?P<bullet>[-*+])|(?P<number>\d{1,9})[.)])(?:[ \t]+|$)")
_TABLE_RULE = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_BLOCK_START = frozenset("`~#-*_>+0123456789")  # what a line starting a block starts with
_MAX_NESTING = 16
"""Quotes and lists nested deeper show as text: no recursion limit, HTML in proportion."""
_MAX_HEADER_CHARS = 80
"""A table header is repeated in every row of the list it becomes, so a long one is cut."""

_STASH_OPEN, _STASH_CLOSE = "\ue000", "\ue001"
_STASHED = re.compile(f"{_STASH_OPEN}(\\d+){_STASH_CLOSE}")
_TICKS = re.compile(r"`+")
_TOKEN = re.compile(
    r"(?P<ticks>`+)"
    r"|\\(?P<escaped>[\\`*_{}\[\]()#+\-.!~|<>])"
    r"|(?P<link>\[(?P<label>[^\[\]\n]+)\]\((?P<url>[^\s()]+(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:[ \t]+\"[^\"]*\")?\))"
    r"|<(?P<autolink>(?:https?|mailto):[^\s<>]+)>"
)
_SAFE_URL = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)
_MARKUP = re.compile(r"[`\\\[<*_~]")  # text without these is only escaped


def markdown_to_html(text: str) -> str:
    """The subset of markdown Element renders, as escaped HTML for `formatted_body`."""
    clean = text.replace("\r\n", "\n").replace("\r", "\n")
    clean = clean.replace(_STASH_OPEN, "").replace(_STASH_CLOSE, "")
    return "".join(_blocks(clean.split("\n")))


def _blocks(lines: list[str], depth: int = 0) -> list[str]:
    """`depth`: how many quotes and list items these lines are inside."""
    nest = depth < _MAX_NESTING
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif _FENCE.match(line):
            index = _code_block(lines, index, out)
        elif heading := _heading(line):
            level, title = heading
            out.append(f"<h{level}>{_inline(title)}</h{level}>")
            index += 1
        elif _RULE.match(line):
            out.append("<hr>")
            index += 1
        elif nest and _QUOTE.match(line):
            quoted: list[str] = []
            while index < len(lines) and _QUOTE.match(lines[index]):
                quoted.append(_QUOTE.sub("", lines[index], count=1))
                index += 1
            out.append(f"<blockquote>{''.join(_blocks(quoted, depth + 1))}</blockquote>")
        elif _is_table(lines, index):
            index = _table(lines, index, out)
        elif nest and _ITEM.match(line) and _indent(line) <= 3:
            index = _list(lines, index, out, depth)
        else:
            paragraph = [line.strip()]
            index += 1
            while (
                index < len(lines)
                and lines[index].strip()
                and not _starts_block(lines, index, nest)
            ):
                paragraph.append(lines[index].strip())
                index += 1
            out.append(f"<p>{_lines(paragraph)}</p>")
    return out


def _lines(paragraph: list[str]) -> str:
    """A paragraph's lines, inline markup rendered, joined by line breaks."""
    joined = "\n".join(paragraph)
    if not _MARKUP.search(joined):
        return _text(joined).replace("\n", "<br>")
    return "<br>".join(_inline(line) for line in paragraph)


def _starts_block(lines: list[str], index: int, nest: bool) -> bool:
    line = lines[index]
    if line.lstrip(" ")[:1] not in _BLOCK_START and "|" not in line:
        return False  # the common case, decided at once
    return bool(
        _FENCE.match(line)
        or _heading(line)
        or _RULE.match(line)
        or (nest and _QUOTE.match(line))
        or (nest and _ITEM.match(line) and _indent(line) <= 3)
        or _is_table(lines, index)
    )


def _heading(line: str) -> tuple[int, str] | None:
    """An ATX heading's level and title, without a closing run of #s."""
    match = _HEADING.match(line)
    if match is None:
        return None
    title = line[match.end() :].rstrip(" \t")
    bare = title.rstrip("#")
    if not bare:
        title = ""
    elif bare != title and bare[-1] in " \t":
        title = bare.rstrip(" \t")
    return len(match[1]), title


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _code_block(lines: list[str], index: int, out: list[str]) -> int:
    opener = _FENCE.match(lines[index])
    assert opener is not None
    marker, indent = opener["marker"], len(opener["indent"])
    info = opener["info"].split()
    lang = _LANG.sub("", info[0])[:32] if info else ""
    body: list[str] = []
    index += 1
    while index < len(lines):
        closer = _FENCE.match(lines[index])
        if (
            closer
            and closer["marker"][0] == marker[0]
            and len(closer["marker"]) >= len(marker)
            and not closer["info"].strip()
        ):
            index += 1
            break
        line = lines[index]
        body.append(line[min(indent, _indent(line)) :])
        index += 1
    css = f' class="language-{lang}"' if lang else ""
    code = _text("".join(f"{line}\n" for line in body))
    out.append(f"<pre><code{css}>{code}</code></pre>")
    return index


def _is_table(lines: list[str], index: int) -> bool:
    return (
        index + 1 < len(lines)
        and "|" in lines[index]
        and "|" in lines[index + 1]
        and bool(_TABLE_RULE.match(lines[index + 1]))
    )


def _cells(line: str) -> list[str]:
    row = line.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(row)]


def _table(lines: list[str], index: int, out: list[str]) -> int:
    """A table as a bullet list, one row a line ("col1: a; col2: b"): Element X shows no tables."""
    headers = [
        _inline(header if len(header) <= _MAX_HEADER_CHARS else header[:_MAX_HEADER_CHARS] + "…")
        for header in _cells(lines[index])
    ]
    index += 2
    rows: list[str] = []
    while index < len(lines) and lines[index].strip() and "|" in lines[index]:
        pairs = zip_longest(headers, _cells(lines[index]), fillvalue="")
        parts = [
            f"{header}: {_inline(cell)}" if header else _inline(cell)
            for header, cell in pairs
            if cell
        ]
        if parts:
            rows.append(f"<li>{'; '.join(parts)}</li>")
        index += 1
    if rows:
        out.append(f"<ul>{''.join(rows)}</ul>")
    return index


def _list(lines: list[str], index: int, out: list[str], depth: int) -> int:
    """One list, its items' indented lines rendered as blocks (so nested lists nest)."""
    first = _ITEM.match(lines[index])
    assert first is not None
    ordered = first["number"] is not None
    base = len(first["indent"])
    items: list[list[str]] = []
    content_indent = 0
    loose = False
    while index < len(lines):
        line = lines[index]
        item = _ITEM.match(line)
        if not line.strip():
            following = next((k for k in range(index + 1, len(lines)) if lines[k].strip()), None)
            if following is None or not _continues_list(lines[following], base, ordered):
                break
            loose = True
            items[-1].append("")
        elif item and _indent(line) <= base and (item["number"] is not None) == ordered:
            items.append([line[item.end() :]])
            content_indent = item.end()
        elif _indent(line) > base:
            items[-1].append(line[min(_indent(line), content_indent) :])
        else:
            break
        index += 1
    rendered = []
    for lines_of_item in items:
        blocks = _blocks(lines_of_item, depth + 1)
        if not loose:
            blocks = [_unwrap_paragraph(block) for block in blocks]
        rendered.append(f"<li>{''.join(blocks)}</li>")
    start = int(first["number"]) if ordered else 1
    tag = "ol" if ordered else "ul"
    attributes = f' start="{start}"' if start != 1 else ""
    out.append(f"<{tag}{attributes}>{''.join(rendered)}</{tag}>")
    return index


def _continues_list(line: str, base: int, ordered: bool) -> bool:
    item = _ITEM.match(line)
    if item and _indent(line) <= base:
        return (item["number"] is not None) == ordered
    return _indent(line) > base


def _unwrap_paragraph(block: str) -> str:
    if block.startswith("<p>") and block.endswith("</p>"):
        return block[3:-4]
    return block


def _text(text: str) -> str:
    """Escaped for a text node: quotes need no escaping there (attributes use html.escape)."""
    return html.escape(text, quote=False)


def _inline(text: str) -> str:
    """Code spans, escapes and links set aside first, the rest escaped, then emphasis.

    One left-to-right scan: a run of backticks opens a code span closed by the next run of
    the same length (looked up, not searched for), else it is literal text."""
    if not _MARKUP.search(text):
        return _text(text)
    stash: list[str] = []

    def keep(fragment: str) -> str:
        stash.append(fragment)
        return f"{_STASH_OPEN}{len(stash) - 1}{_STASH_CLOSE}"

    runs: dict[int, list[int]] = {}
    for run in _TICKS.finditer(text):
        runs.setdefault(len(run[0]), []).append(run.start())
    parts: list[str] = []
    position = 0
    while match := _TOKEN.search(text, position):
        parts.append(text[position : match.start()])
        position = match.end()
        if ticks := match["ticks"]:
            starts = runs.get(len(ticks), [])
            following = bisect_left(starts, position)
            if following == len(starts):
                parts.append(ticks)
                continue
            code = text[position : starts[following]]
            position = starts[following] + len(ticks)
            if len(code) > 2 and code[0] == code[-1] == " ":
                code = code[1:-1]
            parts.append(keep(f"<code>{_text(code)}</code>"))
        elif match["escaped"]:
            parts.append(keep(_text(match["escaped"])))
        elif match["link"]:
            url = match["url"]
            if not _SAFE_URL.match(url):
                parts.append(keep(_inline(match["label"])))
            else:
                parts.append(keep(f'<a href="{html.escape(url)}">{_inline(match["label"])}</a>'))
        else:
            url = match["autolink"]
            parts.append(keep(f'<a href="{html.escape(url)}">{_text(url)}</a>'))
    parts.append(text[position:])
    marked = _emphasis(_text("".join(parts)), keep)
    return _restore(marked, stash)


@dataclass(frozen=True)
class _Delimiter:
    """One way to mark emphasis: its mark, and where it can open and close (zero-width
    patterns, so every position is found, overlapping ones too)."""

    mark: str
    opens: re.Pattern[str]
    closes: re.Pattern[str]


def _delimiter(mark: str, opens: str, closes: str) -> _Delimiter:
    return _Delimiter(mark, re.compile(opens), re.compile(closes))


# In the order they are applied; a span's text must start and end with a non-space, and
# underscores do not mark emphasis inside a word (snake_case_name).
_EMPHASIS: tuple[tuple[tuple[_Delimiter, ...], str, str], ...] = (
    (
        (_delimiter("***", r"(?=\*\*\*\S)", r"(?<=\S)(?=\*\*\*)"),),
        "<strong><em>",
        "</em></strong>",
    ),
    (
        (
            _delimiter("**", r"(?=\*\*\S)", r"(?<=\S)(?=\*\*)"),
            _delimiter("__", r"(?<![\w_])(?=__\S)", r"(?<=\S)(?=__(?![\w_]))"),
        ),
        "<strong>",
        "</strong>",
    ),
    ((_delimiter("~~", r"(?=~~\S)", r"(?<=\S)(?=~~)"),), "<del>", "</del>"),
    (
        (
            _delimiter("*", r"(?<!\*)(?=\*[^\s*])", r"(?<=[^\s*])(?=\*(?!\*))"),
            _delimiter("_", r"(?<![\w_])(?=_[^\s_])", r"(?<=[^\s_])(?=_(?![\w_]))"),
        ),
        "<em>",
        "</em>",
    ),
)
_MAX_EMPHASIS_NESTING = 8  # spans inside spans deeper than this stay text
_EMPHASIS_MARK = re.compile(r"[*_~]")


def _emphasis(text: str, keep: Callable[[str], str], depth: int = 0) -> str:
    """Bold, strike, italic; each span set aside at once so tags always nest properly."""
    if depth >= _MAX_EMPHASIS_NESTING or not _EMPHASIS_MARK.search(text):
        return text
    for delimiters, open_tag, close_tag in _EMPHASIS:
        text = "\n".join(
            _spans(line, delimiters, open_tag, close_tag, keep, depth) for line in text.split("\n")
        )
    return text


def _spans(
    line: str,
    delimiters: tuple[_Delimiter, ...],
    open_tag: str,
    close_tag: str,
    keep: Callable[[str], str],
    depth: int,
) -> str:
    """Each span from the leftmost opener to the nearest closer after it, in linear time.

    All the places a span can open or close are found first; openers are then taken left to
    right, each closed by the first closer at least one character after it. A delimiter with
    no closer after an opener has none after any later one either, so it is done."""
    openers = sorted(
        (match.start(), kind)
        for kind, delimiter in enumerate(delimiters)
        if delimiter.mark in line
        for match in delimiter.opens.finditer(line)
    )
    if not openers:
        return line
    closers = [[match.start() for match in d.closes.finditer(line)] for d in delimiters]
    next_closer = [0] * len(delimiters)
    exhausted: set[int] = set()
    out: list[str] = []
    done = 0  # the line before `done` is in `out`
    for position, kind in openers:
        length = len(delimiters[kind].mark)
        positions, candidate = closers[kind], next_closer[kind]
        if position < done or kind in exhausted:
            continue
        while candidate < len(positions) and positions[candidate] < position + length + 1:
            candidate += 1
        if candidate == len(positions):
            exhausted.add(kind)
            continue
        next_closer[kind] = candidate
        close = positions[candidate]
        inner = _emphasis(line[position + length : close], keep, depth + 1)
        out.append(line[done:position])
        out.append(keep(f"{open_tag}{inner}{close_tag}"))
        done = close + length
    out.append(line[done:])
    return "".join(out)


def _restore(text: str, stash: list[str]) -> str:
    return _STASHED.sub(lambda match: _restore(stash[int(match[1])], stash), text)
