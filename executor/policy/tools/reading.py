"""The one entry from the policy into tool knowledge: judge the words after a tool's name.

Here every tool is walked by its spec. Tools whose command line a spec cannot describe (ps's
three syntaxes) or that need a check beyond it plug in here (branch ro-tools: system_checks).
"""

from __future__ import annotations

from collections.abc import Sequence

from executor.policy.tools.loader import tool_spec
from executor.policy.tools.parser import Reading, read_argv
from executor.policy.values import Arg


def read_tool(name: str, args: Sequence[Arg]) -> Reading | None:
    """Judge the words after `name`; None when Chavion knows nothing about the tool."""
    spec = tool_spec(name)
    return None if spec is None else read_argv(spec, args)
