"""The core tool specs against the real tools on this machine: every long option a spec calls
complete resolves, abbreviated, to the option the tool itself picks (or both find it
ambiguous), and every short option a spec knows exists.

Each try runs the real tool in a bubblewrap sandbox (`/` read-only, private `/tmp`, no
network), so a spec that is wrong cannot write anything while it is being found out.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

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
ROOT = ["--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"]
ROOT += ["--unshare-net", "--die-with-parent"]
SANDBOX = [*ROOT, "--chdir", "/tmp"]

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


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under `root`: size, modification time and contents."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def words_for(spec: ToolSpec) -> list[list[str]]:
    """Candidate words for a tool: each option (abbreviated too, clustered, with a value),
    writing ones included, so the judged-read-only samples are the interesting ones."""
    pool: list[list[str]] = [["--"], ["-"], ["b.txt"], ["sub"]]
    for opt in spec.options:
        for name in opt.names:
            value = sorted(opt.choices)[0] if opt.choices else "c.txt"
            if name.startswith("--"):
                short = name[: max(3, len(name) - 2)]
                if opt.takes_value:
                    pool += [[f"{name}={value}"], [f"{short}={value}"], [name, value]]
                elif opt.kind == "optional":
                    pool += [[name], [f"{name}={value}"]]
                else:
                    pool += [[name], [short]]
            elif opt.takes_value:
                pool += [[name + value], [name, value]]
            else:
                pool += [[name], [name + "n"], [name + "o"]]
    return pool


@pytest.mark.parametrize(("tool", "spec"), list(installed(CORE)))
def test_commands_judged_read_only_write_nothing(tool: str, spec: ToolSpec, tmp_path: Path) -> None:
    """Differential: random command lines the spec finds read-only, run for real against a
    scratch tree (the only writable place in the sandbox), change nothing in it."""
    assert BWRAP is not None
    rng = random.Random(f"{tool}-15")
    (tmp_path / "sub").mkdir()
    for name, text in (("a.txt", "b 2\na 1\n"), ("b.txt", "x\n"), ("sub/c.txt", "c\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    pool = words_for(spec)
    tried = 0
    for first in pool:  # every option in every form at least once, with a random companion
        words = [*first, *rng.choice(pool)]
        words += [] if spec.operands == "none" else ["a.txt"]
        if read_argv(spec, tuple(literal_arg(w) for w in words)).problem is not None:
            continue
        before = snapshot(tmp_path)
        scratch = ["--bind", str(tmp_path), "/tmp/s", "--chdir", "/tmp/s"]
        done = subprocess.run(
            [BWRAP, *ROOT, *scratch, "timeout", "2", tool, *words],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
            env={"LANG": "C", "LC_ALL": "C", "PATH": "/usr/bin:/bin"},
            check=False,
        )
        assert not done.stderr.startswith("bwrap:"), done.stderr
        assert snapshot(tmp_path) == before, f"`{tool} {' '.join(words)}` wrote"
        tried += 1
    assert tried, f"no read-only sample for {tool}"
