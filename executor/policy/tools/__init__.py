"""What Chavion knows about each tool's arguments, to call a command read-only by allowlist.

`spec` is the model, `loader` reads `executor/policy/data/tools/*.yaml` (once, cached),
`parser` walks one argv against a spec the way the tool itself would, `reading.read_tool` is
the entry the policy calls.
"""

from __future__ import annotations

from executor.policy.tools.loader import TOOLS_DIR, load_tool_file, tool_spec, tool_specs
from executor.policy.tools.parser import Reading, read_argv
from executor.policy.tools.reading import read_tool
from executor.policy.tools.spec import Opt, Subcommands, ToolSpec, Verb

__all__ = [
    "TOOLS_DIR",
    "Opt",
    "Reading",
    "Subcommands",
    "ToolSpec",
    "Verb",
    "load_tool_file",
    "read_argv",
    "read_tool",
    "tool_spec",
    "tool_specs",
]
