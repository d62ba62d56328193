"""Expansions bash performs on text it already knows: backslash escapes and braces.

The parser needs them for `$'...'` and the policy for `echo -e`, `printf` and `{a,b}` words;
both are pure string functions with bounded output.
"""

from __future__ import annotations

import re
from typing import Literal


def decode_escapes(text: str, *, mode: Literal["ansi", "echo", "printf"] = "ansi") -> str:
    """Decode backslash escapes as `$'...'` (ansi), `echo -e` or `printf` would.

    Needed to see through `$'\\x72\\x6d'` (that is `rm`) and `printf 'r\\x6d'`.
    """
    out: list[str] = []
    i = 0
    n = len(text)
    simple = {
        "a": "\a",
        "b": "\b",
        "e": "\x1b",
        "E": "\x1b",
        "f": "\f",
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "v": "\v",
        "\\": "\\",
    }
    if mode == "ansi":
        simple.update({"'": "'", '"': '"', "?": "?"})
    elif mode == "printf":
        simple.update({'"': '"'})
    while i < n:
        c = text[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "c":
            if mode == "ansi" and i + 2 < n:
                out.append(chr(ord(text[i + 2]) & 0x1F))
                i += 3
            elif mode == "ansi":
                out.append("\\c")
                i += 2
            else:  # echo / printf %b: \c stops all further output
                break
        elif nxt in "01234567":
            start = i + 1
            if mode == "echo" and nxt == "0":
                start = i + 2
            m = re.compile(r"[0-7]{1,3}").match(text, start)
            digits = m.group() if m else ""
            out.append(chr(int(digits, 8) & 0xFF) if digits else "\0")
            i = start + len(digits)
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            m = re.compile(rf"[0-9A-Fa-f]{{1,{width}}}").match(text, i + 2)
            if m is None:
                out.append("\\" + nxt)
                i += 2
            else:
                code = int(m.group(), 16)
                out.append(chr(code) if code <= 0x10FFFF else "\ufffd")
                i = m.end()
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


def brace_expand(text: str, limit: int = 256) -> list[str]:
    """Bash brace expansion of unquoted literal text: ``/{etc,usr}`` and ``{1..3}``.

    Stops at `limit` results so a hostile ``{a,b}{a,b}...`` can't blow up.
    """
    return _brace(text, limit)[:limit]


def _brace(text: str, limit: int) -> list[str]:
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            return [text]
        j = _matching_brace(text, i)
        if j < 0:
            return [text]
        inner = text[i + 1 : j]
        alternatives = _split_top_commas(inner)
        if len(alternatives) < 2:
            ranged = _brace_range(inner)
            alternatives = ranged if ranged is not None else []
        if len(alternatives) >= 2 or (alternatives and "," not in inner):
            pre, post = text[:i], text[j + 1 :]
            results: list[str] = []
            tails = _brace(post, limit)
            for alt in alternatives:
                for head in _brace(alt, limit):
                    for tail in tails:
                        results.append(pre + head + tail)
                        if len(results) >= limit:
                            return results
            return results
        i += 1


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for k in range(start, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return -1


def _split_top_commas(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    last = 0
    for k, c in enumerate(text):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[last:k])
            last = k + 1
    parts.append(text[last:])
    return parts


_RANGE_NUM = re.compile(r"(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?")
_RANGE_CHR = re.compile(r"([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?")


def _brace_range(inner: str) -> list[str] | None:
    m = _RANGE_NUM.fullmatch(inner)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        step = abs(int(m.group(3) or 1)) or 1
        if abs(b - a) // step > 1000:
            return None
        rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [str(v) for v in rng]
    m = _RANGE_CHR.fullmatch(inner)
    if m:
        a, b = ord(m.group(1)), ord(m.group(2))
        step = abs(int(m.group(3) or 1)) or 1
        rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [chr(v) for v in rng]
    return None
