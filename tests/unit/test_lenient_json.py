"""What the lenient readers of models' JSON (plans, splits) share."""

from __future__ import annotations

from typing import Any

import pytest

from bots.tasks.lenient_json import MAX_DEPTH, kind_of, norm_key, objects


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
