"""How a plan's steps are grouped into stages: a table."""

from __future__ import annotations

import pytest

from executor.plan import Step, stages

S, P = False, True  # sequential, parallel

CASES = [
    ("empty plan", [], []),
    ("all in order", [S, S, S], [[0], [1], [2]]),
    ("all parallel", [P, P, P], [[0, 1, 2]]),
    ("a parallel run between ordered steps", [S, P, P, S], [[0], [1, 2], [3]]),
    ("a lone parallel step runs alone", [S, P, S], [[0], [1], [2]]),
    ("two parallel runs split by an ordered step", [P, P, S, P, P], [[0, 1], [2], [3, 4]]),
]


@pytest.mark.parametrize(("marks", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_stages(marks: list[bool], expected: list[list[int]]) -> None:
    steps = [Step("local", f"step {i}", parallel=mark) for i, mark in enumerate(marks)]
    assert stages(steps) == expected
