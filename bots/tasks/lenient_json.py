"""What the lenient readers of models' JSON share (plans, splits): models write keys every
way (`Steps`, `merge-by`, `sub tasks`), nest the object they mean inside another, put JSON
anywhere in prose (fenced or not), and put the wrong kind of value where one is expected,
which the error sent back must name.

`scan_json` is the one search: every place a JSON value may start is tried, in order, and
the first object (outermost first, nested ones looked into) that the reader's `accept`
takes is the answer. It stays cheap on a pathological answer (thousands of brackets).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

MAX_DEPTH = 32
"""How deep `objects` looks: an answer nested deeper is no plan anyone meant."""
MAX_DECODE_TRIES = 2_000
"""Start positions tried at most: keeps an answer of thousands of braces cheap."""
OBJECT_START = re.compile(r"""\{(?=\s*["'}])""")
"""Where a JSON object may start: `{` before a key or `}` (not `{print $1}` or `{{`)."""
TRAILING_COMMA = re.compile(r",\s*([}\]])")
"""A comma before a closing bracket: a common slip of small models, forgiven by one retry."""

OnError = Callable[[int, json.JSONDecodeError], None]
"""Told of each failed decode: where it started and the decoder's error."""


def scan_json(
    text: str,
    accept: Callable[[Mapping[str, Any]], bool],
    *,
    starts: re.Pattern[str] = OBJECT_START,
    on_error: OnError | None = None,
    on_value: Callable[[object], None] | None = None,
    max_scanned: int | None = None,
) -> Mapping[str, Any] | None:
    """The first object in `text` that `accept` takes, else None.

    Every match of `starts` is tried as the start of a JSON value (raw line breaks in strings
    allowed: heredocs); after a value the search goes on past it, after a failure from the
    next character. `on_value` sees each top-level value decoded (a reader that falls back to
    something other than an object), `on_error` each failure. At most `MAX_DECODE_TRIES`
    starts are tried and, when given, `max_scanned` characters read by failed tries.
    """
    decoder = json.JSONDecoder(strict=False)
    position = _next_start(starts, text, 0)
    tries = 0
    scanned = 0
    while position != -1 and tries < MAX_DECODE_TRIES:
        if max_scanned is not None and scanned >= max_scanned:
            break
        tries += 1
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            if on_error is not None:
                on_error(position, exc)
            scanned += exc.pos - position
            position = _next_start(starts, text, position + 1)
            continue
        except RecursionError:
            scanned += len(text) - position
            position = _next_start(starts, text, position + 1)
            continue
        for candidate in objects(value):
            if accept(candidate):
                return candidate
        if on_value is not None:
            on_value(value)
        position = _next_start(starts, text, end)
    return None


def _next_start(starts: re.Pattern[str], text: str, at: int) -> int:
    match = starts.search(text, at)
    return -1 if match is None else match.start()


def objects(value: object, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """Every object in a decoded value, outermost first, in document order."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from objects(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item, depth + 1)


def norm_key(key: object) -> str:
    """A key as compared: `Sub-Tasks`, `sub tasks` and `sub_tasks` are one."""
    return str(key).strip().lower().replace("-", "_").replace(" ", "_")


def kind_of(value: object) -> str:
    """What a value is, in the words of an error sent back to the model."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object"
