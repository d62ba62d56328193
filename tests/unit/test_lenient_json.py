"""What the lenient readers of models' JSON (plans, splits) share."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from bots.tasks.lenient_json import (
    MAX_DECODE_TRIES,
    MAX_DEPTH,
    kind_of,
    norm_key,
    objects,
    scan_json,
)


@pytest.mark.parametrize(
    ("key", "normal"),
    [
        ("steps", "steps"),
        ("Steps", "steps"),
        (" Sub-Tasks ", "sub_tasks"),
        ("merge by", "merge_by"),
    ],
)
def test_keys_are_compared_however_models_spell_them(key: str, normal: str) -> None:
    assert norm_key(key) == normal


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "null"),
        (True, "true/false"),
        ("x", "text"),
        (3, "a number"),
        (2.5, "a number"),
        ([], "a list"),
        ({}, "an object"),
    ],
)
def test_a_value_is_named_for_the_error_sent_back(value: Any, kind: str) -> None:
    assert kind_of(value) == kind


def test_objects_are_found_outermost_first_in_document_order() -> None:
    value = {"a": {"b": 1}, "c": [{"d": 2}, 3, [{"e": 4}]]}
    assert list(objects(value)) == [value, {"b": 1}, {"d": 2}, {"e": 4}]


def test_objects_nested_beyond_reason_are_not_searched() -> None:
    value: Any = {"deep": True}
    for _ in range(MAX_DEPTH + 5):
        value = {"x": value}
    assert {"deep": True} not in list(objects(value))


def _has(key: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda candidate: key in candidate


@pytest.mark.parametrize(
    ("text", "key", "found"),
    [
        ('prose {"steps": []} more', "steps", {"steps": []}),
        ('```json\n{"a": 1}\n```\nthen {"steps": [1]}', "steps", {"steps": [1]}),
        ('{"plan": {"steps": [2]}}', "steps", {"steps": [2]}),
        ('{"steps": [1]} {"steps": [2]}', "steps", {"steps": [1]}),
        ('{"steps": [1,]}', "steps", None),
        ("awk '{print $1}' and {{ jinja }}", "steps", None),
        ('{"cmd": "a\nb", "steps": []}', "steps", {"cmd": "a\nb", "steps": []}),
        ("no json at all", "steps", None),
    ],
    ids=[
        "in prose",
        "after another object",
        "nested",
        "the first of two",
        "a trailing comma is not forgiven here",
        "braces that start no object",
        "raw line breaks in strings",
        "nothing",
    ],
)
def test_scan_json_finds_the_first_object_accepted(
    text: str, key: str, found: dict[str, Any] | None
) -> None:
    assert scan_json(text, _has(key)) == found


def test_scan_json_tells_of_failures_and_top_level_values() -> None:
    errors: list[int] = []
    values: list[object] = []
    text = '{"x": } ["a", "b"] {"parts": [1]}'
    found = scan_json(
        text,
        _has("parts"),
        starts=re.compile(r"""\{(?=\s*["'}])|\[(?=\s*["'{\]])"""),
        on_error=lambda position, _exc: errors.append(position),
        on_value=values.append,
    )
    assert found == {"parts": [1]}
    assert errors == [0]
    assert values == [["a", "b"]]


def test_scan_json_stops_after_the_tries_or_characters_allowed() -> None:
    braces = '{"a": ' * (MAX_DECODE_TRIES + 5) + ' {"steps": []}'
    assert scan_json(braces, _has("steps")) is None
    unclosed = '{"a": "' + "x" * 5_000 + ' {"steps": []}'
    assert scan_json(unclosed, _has("steps"), max_scanned=10) is None
    assert scan_json(unclosed, _has("steps")) == {"steps": []}
