"""Model output → Matrix messages: split to fit one event, and markdown → the HTML Element shows.

A Matrix event is at most 65,536 bytes with `body`, `formatted_body` and the signatures, and
the HTML is roughly twice the text, so a chunk's body is kept near 24,000 bytes. Chunks are
cut at paragraphs, then lines, then characters (never inside a UTF-8 character); a code
block cut in two is closed at the end of one chunk and re-opened with its language in the
next, so each chunk renders on its own.

The HTML covers what every Element app renders; tables (which Element X does not render)
become bullet lists. Everything from the model is escaped: it can never inject markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import zip_longest

DEFAULT_CHUNK_BYTES = 24_000
MIN_CHUNK_BYTES = 64

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<marker>`{3,}|~{3,})(?P<info>.*)$")
_LANG = re.compile(r"[^\w+#.-]")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


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

    @property
    def blank_line(self) -> bool:
        return self.glue == "\n" and not self.text.strip()


def split_message(text: str, limit_bytes: int = DEFAULT_CHUNK_BYTES) -> list[str]:
    """`text` in chunks of at most `limit_bytes` UTF-8 bytes each; [] for blank text."""
    if limit_bytes < MIN_CHUNK_BYTES:
        raise ValueError(f"limit_bytes must be at least {MIN_CHUNK_BYTES}")
    if not text.strip():
        return []
    if _size(text) <= limit_bytes:
        return [text]
    segments = _segments(text, limit_bytes)
    chunks: list[str] = []
    start = 0
    while start < len(segments):
        if segments[start].blank_line:
            start += 1  # blank lines between two messages say nothing, even inside code
            continue
        end = _fill(segments, start, limit_bytes)
        next_start = end
        if end < len(segments):
            # Full: end at the last paragraph break inside the chunk, if there is one.
            paragraph_break = next(
                (k for k in range(end - 1, start, -1) if segments[k].blank_line), None
            )
            if paragraph_break is not None:
                end, next_start = paragraph_break, paragraph_break + 1
        while end - start > 1 and segments[end - 1].blank_line and segments[end - 1].after is None:
            end -= 1
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
        overhead = (before.reopen_cost if before else 0) + max(
            (f.close_cost for f in (before, fence) if f), default=0
        )
        if _size(line) + overhead <= limit:
            segments.append(_Segment(line, glue, before, fence))
            continue
        pieces = _pieces(line, max(limit - overhead, 4))
        for number, piece in enumerate(pieces):
            last = number == len(pieces) - 1
            segments.append(
                _Segment(piece, glue if number == 0 else "", before, fence if last else before)
            )
    return segments


def _pieces(line: str, room: int) -> list[str]:
    """Cut a line into pieces of at most `room` bytes, at a space when one is near the end."""
    pieces: list[str] = []
    while _size(line) > room:
        data = line.encode("utf-8")
        cut = room
        while (data[cut] & 0xC0) == 0x80:  # a UTF-8 continuation byte: inside a character
            cut -= 1
        head = data[:cut].decode("utf-8")
        space = head.rfind(" ")
        if space >= len(head) // 2:
            head = head[: space + 1]
        pieces.append(head)
        line = line[len(head) :]
    pieces.append(line)
    return pieces


def _fill(segments: list[_Segment], start: int, limit: int) -> int:
    """The end of the longest run from `start` that fits, its code block closed if open."""
    first = segments[start]
    used = (first.before.reopen_cost if first.before else 0) + _size(first.text)
    end = start + 1
    while end < len(segments):
        segment = segments[end]
        grown = used + _size(segment.glue) + _size(segment.text)
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


# ---------------------------------------------------------------------------------------------
# Markdown → HTML

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_QUOTE = re.compile(r"^ {0,3}> ?")
_ITEM = re.compile(r"^(?P<indent> *)(?:(?P<bullet>[-*+])|(?P<number>\d{1,9})[.)])(?:[ \t]+|$)")
_TABLE_RULE = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

_STASH_OPEN, _STASH_CLOSE = "\ue000", "\ue001"
_STASHED = re.compile(f"{_STASH_OPEN}(\\d+){_STASH_CLOSE}")
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?<!`)(?P=ticks)(?!`))"
    r"|\\(?P<escaped>[\\`*_{}\[\]()#+\-.!~|<>])"
    r"|(?P<link>\[(?P<label>[^\[\]\n]+)\]\((?P<url>[^\s()]+(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:[ \t]+\"[^\"]*\")?\))"
    r"|<(?P<autolink>(?:https?|mailto):[^\s<>]+)>"
)
_SAFE_URL = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)
_BOLD_ITALIC = re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|(?<![\w_])__(?=\S)(.+?)(?<=\S)__(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_ITALIC = re.compile(
    r"(?<!\*)\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?!\*)|(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])"
)


def markdown_to_html(text: str) -> str:
    """The subset of markdown Element renders, as escaped HTML for `formatted_body`."""
    clean = text.replace("\r\n", "\n").replace("\r", "\n")
    clean = clean.replace(_STASH_OPEN, "").replace(_STASH_CLOSE, "")
    return "".join(_blocks(clean.split("\n")))


def _blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif _FENCE.match(line):
            index = _code_block(lines, index, out)
        elif heading := _HEADING.match(line):
            level = len(heading[1])
            out.append(f"<h{level}>{_inline(heading[2])}</h{level}>")
            index += 1
        elif _RULE.match(line):
            out.append("<hr>")
            index += 1
        elif _QUOTE.match(line):
            quoted: list[str] = []
            while index < len(lines) and _QUOTE.match(lines[index]):
                quoted.append(_QUOTE.sub("", lines[index], count=1))
                index += 1
            out.append(f"<blockquote>{''.join(_blocks(quoted))}</blockquote>")
        elif _is_table(lines, index):
            index = _table(lines, index, out)
        elif _ITEM.match(line) and _indent(line) <= 3:
            index = _list(lines, index, out)
        else:
            paragraph = [line.strip()]
            index += 1
            while index < len(lines) and lines[index].strip() and not _starts_block(lines, index):
                paragraph.append(lines[index].strip())
                index += 1
            out.append(f"<p>{'<br>'.join(_inline(part) for part in paragraph)}</p>")
    return out


def _starts_block(lines: list[str], index: int) -> bool:
    line = lines[index]
    return bool(
        _FENCE.match(line)
        or _HEADING.match(line)
        or _RULE.match(line)
        or _QUOTE.match(line)
        or (_ITEM.match(line) and _indent(line) <= 3)
        or _is_table(lines, index)
    )


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
    code = html.escape("".join(f"{line}\n" for line in body))
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
    headers = _cells(lines[index])
    index += 2
    rows: list[str] = []
    while index < len(lines) and lines[index].strip() and "|" in lines[index]:
        pairs = zip_longest(headers, _cells(lines[index]), fillvalue="")
        parts = [
            f"{_inline(header)}: {_inline(cell)}" if header else _inline(cell)
            for header, cell in pairs
            if cell
        ]
        if parts:
            rows.append(f"<li>{'; '.join(parts)}</li>")
        index += 1
    if rows:
        out.append(f"<ul>{''.join(rows)}</ul>")
    return index


def _list(lines: list[str], index: int, out: list[str]) -> int:
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
        blocks = _blocks(lines_of_item)
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


def _inline(text: str) -> str:
    """Code spans, escapes and links set aside first, the rest escaped, then emphasis."""
    stash: list[str] = []

    def keep(fragment: str) -> str:
        stash.append(fragment)
        return f"{_STASH_OPEN}{len(stash) - 1}{_STASH_CLOSE}"

    def token(match: re.Match[str]) -> str:
        if match["code"]:
            code = match["code_text"]
            if len(code) > 2 and code[0] == code[-1] == " ":
                code = code[1:-1]
            return keep(f"<code>{html.escape(code)}</code>")
        if match["escaped"]:
            return keep(html.escape(match["escaped"]))
        if match["link"]:
            url = match["url"]
            if not _SAFE_URL.match(url):
                return keep(_inline(match["label"]))
            return keep(f'<a href="{html.escape(url)}">{_inline(match["label"])}</a>')
        url = match["autolink"]
        return keep(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')

    marked = _emphasis(html.escape(_INLINE.sub(token, text)), keep)
    return _restore(marked, stash)


def _emphasis(text: str, keep: Callable[[str], str]) -> str:
    """Bold, strike, italic; each match set aside at once so tags always nest properly."""

    def wrap(open_tag: str, close_tag: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            inner = next(group for group in match.groups() if group is not None)
            return keep(f"{open_tag}{_emphasis(inner, keep)}{close_tag}")

        return replace

    text = _BOLD_ITALIC.sub(wrap("<strong><em>", "</em></strong>"), text)
    text = _BOLD.sub(wrap("<strong>", "</strong>"), text)
    text = _STRIKE.sub(wrap("<del>", "</del>"), text)
    return _ITALIC.sub(wrap("<em>", "</em>"), text)


def _restore(text: str, stash: list[str]) -> str:
    return _STASHED.sub(lambda match: _restore(stash[int(match[1])], stash), text)
