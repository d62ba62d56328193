"""Reading a JSON body against its fields: every problem is a 400 naming the field.

Lenient where it costs nothing (unknown fields are ignored, the SOP's spellings accepted),
strict on what the port needs (types, choices, ranges), so a port never sees a bad value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from bridge.http.ports import ApiError
from bridge.http.table import Field

_TYPE_WORDS = {"string": "a string", "integer": "an integer", "object": "a JSON object"}


async def read_json(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); 413 over `max_bytes`, 400 otherwise."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise ApiError(413, too_large(length, max_bytes))
    raw = await request.read()  # aiohttp's client_max_size stops a body without a length
    if len(raw) > max_bytes:
        raise ApiError(413, too_large(len(raw), max_bytes))
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the body must be a JSON object, not {type(data).__name__}")
    return data


def too_large(length: int | None, max_bytes: int) -> str:
    """The 413 message: how big, and the limit."""
    size = f"{length} bytes" if length is not None else "too large"
    return f"the body is {size}; the limit is {max_bytes} bytes"


def parse_fields(
    data: Mapping[str, Any], fields: Sequence[Field], prefix: str = ""
) -> dict[str, Any]:
    """Each field's value by its canonical name (defaults filled in), or ApiError 400."""
    out: dict[str, Any] = {}
    for f in fields:
        name = prefix + f.name
        value, present = _lookup(data, f)
        if not present or value is None:
            if f.required:
                raise ApiError(400, f"`{name}` is required", name)
            out[f.name] = f.default
            continue
        out[f.name] = _check(value, f, name)
    return out


def _lookup(data: Mapping[str, Any], f: Field) -> tuple[Any, bool]:
    for key in (f.name, *f.aliases):
        if key in data:
            return data[key], True
    return None, False


def _check(value: Any, f: Field, name: str) -> Any:
    if f.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"`{name}` must be an integer, not {_json_type(value)}", name)
        if (f.low is not None and value < f.low) or (f.high is not None and value > f.high):
            raise ApiError(400, f"`{name}` must be within {f.low}..{f.high}, not {value}", name)
        return value
    if f.kind == "object":
        if not isinstance(value, dict):
            raise ApiError(400, f"`{name}` must be a JSON object, not {_json_type(value)}", name)
        return parse_fields(value, f.fields, prefix=name + ".") if f.fields else value
    if not isinstance(value, str):
        raise ApiError(
            400, f"`{name}` must be {_TYPE_WORDS[f.kind]}, not {_json_type(value)}", name
        )
    if f.choices:
        word = value.strip().lower()
        if word not in f.choices:
            raise ApiError(
                400, f"`{name}` must be one of {', '.join(f.choices)}, not {value!r}", name
            )
        return word
    if f.nonempty and not value.strip():
        raise ApiError(400, f"`{name}` must not be empty", name)
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
