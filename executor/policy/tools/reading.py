"""The one entry from the policy into tool knowledge: judge the words after a tool's name.

Every tool is walked by its spec, except the ones whose command line a spec cannot describe
(ps's three syntaxes: `system_checks.WALKERS`); tools that need a check beyond their spec have
it in `system_checks.BEFORE` (on the raw words) or `AFTER` (on the walk's reading).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from executor.policy.tools.loader import tool_spec
from executor.policy.tools.parser import Reading, read_argv
from executor.policy.tools.system_checks import AFTER, BEFORE, WALKERS
from executor.policy.values import Arg


def read_tool(name: str, args: Sequence[Arg]) -> Reading | None:
    """Judge the words after `name`; None when Chavion knows nothing about the tool."""
    argv = tuple(args)
    walker = WALKERS.get(name)
    if walker is not None:
        return walker(argv)
    spec = tool_spec(name)
    if spec is None:
        return None
    before = BEFORE.get(name)
    problem = before(argv, Reading()) if before is not None else None
    if problem:
        return Reading(problem)
    reading = read_argv(spec, argv)
    after = AFTER.get(name)
    if reading.problem is None and after is not None:
        problem = after(argv, reading)
        if problem:
            return replace(reading, problem=problem)
    return reading
