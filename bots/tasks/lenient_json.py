"""What the lenient readers of models' JSON share (plans, splits): models write keys every
way (`Steps`, `merge-by`, `sub tasks`), nest the object they mean inside another, and put
the wrong kind of value where one is expected, which the error sent back must name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

MAX_DEPTH = 32
"""How deep `objects` looks: an answer nested deeper is no plan anyone meant."""


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
