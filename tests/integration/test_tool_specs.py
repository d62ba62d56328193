"""The core tool specs against the real tools on this machine: every long option a spec calls
complete resolves, abbreviated, to the option the tool itself picks (or both find it
ambiguous), and every short option a spec knows exists.

Each try runs the real tool in a bubblewrap sandbox (`/` read-only, private `/tmp`, no
network), so a spec that is wrong cannot write anything while it is being found out.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from executor.policy.tools import read_argv, tool_specs
from executor.policy.tools.spec import ToolSpec
from executor.policy.values import literal_arg

BWRAP = shutil.which("bwrap")
CORE = [
    *("sort", "uniq", "cat", "grep", "tac", "head", "tail", "wc", "nl", "zcat", "cut", "column"),
    *("diff", "cmp", "ls", "stat", "file", "du", "df", "md5sum", "realpath", "readlink"),
    *("basename", "dirname", "namei", "getfacl", "strings", "uname", "hostname", "whoami", "id"),
    *("groups", "w", "who", "last", "nproc", "locale"),
]
SANDBOX = ["--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"]
SANDBOX += ["--chdir", "/tmp", "--unshare-net", "--die-with-parent"]

pytestmark = pytest.mark.skipif(BWRAP is None, reason="bubblewrap is not installed")


def real(tool: str, word: str) -> str:
    """The first line the tool prints on stderr for `tool WORD /dev/null`."""
    assert BWRAP is not None
    try:
        done = subprocess.run(
            [BWRAP, *SANDBOX, "timeout", "2", tool, word, "/dev/null"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
            env={"LANG": "C", "LC_ALL": "C", "PATH": "/usr/bin:/bin"},
            check=False,
        )
    except subprocess.TimeoutExpired:  # it took the option and kept running (tail -F)
        return ""
    return done.stderr.partition("\n")[0]


def installed(names: list[str]) -> Iterator[object]:
    for name in names:
        if shutil.which(name) is not None:
            yield pytest.param(name, tool_specs()[name], id=name)


def boundaries(longs: list[str]) -> set[str]:
    """The prefixes where resolution changes: each option's shortest unique one and the one
    before it (ambiguous or another option's), so every answer is checked where it turns."""
    out: set[str] = set()
    for name in longs:
        for k in range(3, len(name) + 1):
            if sum(n.startswith(name[:k]) for n in longs) == 1:
                out.update({name[:k], name[: k - 1]} if k > 3 else {name[:k]})
                break
    return out


@pytest.mark.parametrize(("tool", "spec"), list(installed(CORE)))
def test_long_option_abbreviations_resolve_like_the_tool(tool: str, spec: ToolSpec) -> None:
    if not spec.complete:
        pytest.skip("the spec takes no abbreviations")
    longs = sorted({n for o in spec.options for n in o.names if n.startswith("--")})
    wrong: list[str] = []
    for prefix in sorted(boundaries(longs)):
        word = prefix + "=ZZ"
        ours = read_argv(spec, (literal_arg(word),)).problem or ""
        theirs = real(tool, word)
        ambiguous = ("ambiguous" in ours) != ("ambiguous" in theirs)
        unknown = ("an option Chavion does not know" in ours) != ("unrecognized" in theirs)
        if ambiguous or unknown:
            wrong.append(f"{word}: ours {ours!r}, {tool} says {theirs!r}")
        elif "doesn't allow an argument" in theirs and "takes none" not in ours:
            full = theirs.split("'")[1]
            if f"(`{full}`)" not in ours and "gives a value" not in ours:
                wrong.append(f"{word}: {tool} reads it as {full}, ours {ours!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("tool", "spec"), list(installed(CORE)))
def test_every_short_option_a_spec_knows_exists(tool: str, spec: ToolSpec) -> None:
    shorts = sorted({n for o in spec.options for n in o.names if len(n) == 2 and n[1] not in "?-"})
    missing = [n for n in shorts if "invalid option" in real(tool, n)]
    assert not missing, f"{tool} does not know {missing}"
