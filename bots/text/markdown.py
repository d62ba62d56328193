"""Model markdown → the HTML Element shows in `formatted_body`: pure, escaped, linear.

The HTML covers what every Element app renders; tables (which Element X does not render)
become bullet lists. Everything from the model is escaped: it can never inject markup.
Rendering takes time linear in the text, whatever it holds: quotes and lists nest at most
_MAX_NESTING deep (deeper ones show as text), emphasis and code spans are matched in one
pass over their delimiters. The fence rules live here; `bots.text.splitting` reads code
blocks the same way when it cuts one in two.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from itertools import zip_longest

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<marker>`{3,64}(?!`)|~{3,64}(?!~))(?P<info>.*)$")
"""A code fence line: its indent, its marker (three or more ` or ~) and its info string."""
_LANG = re.compile(r"[^\w+#.-]")


def fence_language(info: str) -> str:
    """The language a fence's info string names ("python {linenos}" → "python"), made safe
    for a class name and for re-opening the block: at most 32 word-ish characters."""
    words = info.split()
    return _LANG.sub("", words[0])[:32] if words else ""


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
        elif FENCE.match(line):
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
        FENCE.match(line)
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
    opener = FENCE.match(lines[index])
    assert opener is not None
    marker, indent = opener["marker"], len(opener["indent"])
    lang = fence_language(opener["info"])
    body: list[str] = []
    index += 1
    while index < len(lines):
        closer = FENCE.match(lines[index])
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
