"""The adversarial corpus (issue 15), read as a spec: on a host that auto-approves read-only
commands, nothing an attacker crafts is ALLOWED, and what a sysadmin reads every day is.

The commands live in `policy_corpus/*.txt` (format in its README): one file per class of
attack, plus `expected-readonly.txt` (must be ALLOWED) and `not-forbidden.txt` (may need
approval, never FORBIDDEN). Every command gets its own test id (`class:line:command`), so a
failure names it. Each dangerous command is also judged inside wrappers a shell unwraps
(`bash -c`, `sh -c`, `eval`, `$( )`, a pipe into bash, a `;`-chain after a read-only
command): hiding it one level down must not make it pass. Nothing here is ever executed.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
import resource
import shlex
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from executor.policy import PolicyConfig, Requester, Verdict, decide

CORPUS = Path(__file__).resolve().parent / "policy_corpus"
SECRET_DATA_DIR = "/srv/chavion/.data"
"""Chavion's data dir as the test config declares it: a secret operand for the policy."""
HOST = "local"
OPERATOR = Requester("@ops:example.org", "operator")
EXPECTED_READONLY = "expected-readonly"
NOT_FORBIDDEN = "not-forbidden"
DOS = "dos"
DOS_SECONDS = 2.0
DOS_MEMORY = 1 << 30
"""A pathological command must be judged within these bounds (issue 15: "bounded judging")."""


def corpus_config() -> PolicyConfig:
    """Auto-approves read-only commands and declares the data dir secret.

    `secret_paths` is being added to PolicyConfig (issue 15); until it exists the config is
    built without it and `test_the_config_declares_the_data_dir_secret` fails instead of
    every row, so the other rows still report what they measure."""
    fields = {field.name for field in dataclasses.fields(PolicyConfig)}
    if "secret_paths" in fields:
        return PolicyConfig(auto_approve_readonly=True, secret_paths=(SECRET_DATA_DIR,))  # type: ignore[call-arg,unused-ignore]
    return PolicyConfig(auto_approve_readonly=True)


CONFIG = corpus_config()


@dataclass(frozen=True)
class Entry:
    """One command of the corpus, where it was read and why it is there."""

    klass: str
    command: str
    why: str
    line: int

    @property
    def test_id(self) -> str:
        flat = " ".join(self.command.split())
        short = flat if len(flat) <= 60 else flat[:57] + "..."
        return f"{self.klass}:{self.line}:{short}"


class CorpusFormatError(ValueError):
    """A corpus file that does not follow the format: named with its file and line."""


def parse_corpus(klass: str, text: str) -> list[Entry]:
    """The entries of one corpus file (format: policy_corpus/README.md)."""
    entries: list[Entry] = []
    why = ""
    block: list[str] | None = None
    block_start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if block is not None:
            if line == ">>>":
                if not block:
                    raise CorpusFormatError(f"{klass}:{block_start}: empty <<< block")
                entries.append(Entry(klass, "\n".join(block), why, block_start))
                block = None
            else:
                block.append(line)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("why:"):
            why = line.removeprefix("why:").strip()
        elif line == "<<<":
            block, block_start = [], number
        elif line == ">>>":
            raise CorpusFormatError(f"{klass}:{number}: >>> without <<<")
        else:
            if not why:
                raise CorpusFormatError(f"{klass}:{number}: a command before any why: line")
            entries.append(Entry(klass, line, why, number))
    if block is not None:
        raise CorpusFormatError(f"{klass}:{block_start}: <<< never closed")
    return entries


def load_corpus() -> dict[str, list[Entry]]:
    """Every corpus file by class (the file's stem)."""
    return {
        path.stem: parse_corpus(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted(CORPUS.glob("*.txt"))
    }


ALL = load_corpus()
DANGEROUS = [
    entry
    for klass, entries in ALL.items()
    if klass not in (EXPECTED_READONLY, NOT_FORBIDDEN)
    for entry in entries
]
READ_ONLY = ALL[EXPECTED_READONLY]


def judge(command: str) -> Verdict:
    return decide(command, HOST, OPERATOR, CONFIG).verdict


def params(entries: list[Entry]) -> list[object]:
    return [pytest.param(entry, id=entry.test_id) for entry in entries]


# ============================================================================================
# The corpus itself: its size and shape.

MINIMUM_PER_CLASS = {
    "interpreter": 40,
    "environment": 40,
    "abbreviation": 60,
    "tool-options": 60,
    "secrets": 60,
    "dos": 25,
    "obfuscated": 40,
    "wrappers": 40,
    "other": 40,
    "redirections": 40,
    "substitutions": 40,
}


def test_the_corpus_is_large_enough_in_every_class() -> None:
    sizes = {klass: len(entries) for klass, entries in ALL.items()}
    assert sum(sizes[klass] for klass in MINIMUM_PER_CLASS) >= 400, sizes
    for klass, minimum in MINIMUM_PER_CLASS.items():
        assert sizes.get(klass, 0) >= minimum, (klass, sizes)
    assert sizes[EXPECTED_READONLY] >= 80
    assert sizes[NOT_FORBIDDEN] >= 10


def test_no_command_is_listed_twice() -> None:
    seen: dict[str, str] = {}
    for entry in (entry for entries in ALL.values() for entry in entries):
        assert entry.command not in seen, (entry.test_id, seen.get(entry.command))
        seen[entry.command] = entry.test_id


FORMAT_CASES = [
    ("one-line", "why: w\nls\n", [("ls", "w", 2)]),
    ("comment-and-blank", "# c\n\nwhy: w\n\nls -l\n", [("ls -l", "w", 5)]),
    ("block", "why: w\n<<<\na\n# kept\nb\n>>>\n", [("a\n# kept\nb", "w", 2)]),
    ("why-changes", "why: 1\na\nwhy: 2\nb\n", [("a", "1", 2), ("b", "2", 4)]),
    ("verbatim-spaces", "why: w\n  ls  \n", [("  ls  ", "w", 2)]),
]


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in FORMAT_CASES]
)
def test_the_corpus_format_is_read_verbatim(
    text: str, expected: list[tuple[str, str, int]]
) -> None:
    got = [(entry.command, entry.why, entry.line) for entry in parse_corpus("c", text)]
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ls\n", id="no-why"),
        pytest.param("why: w\n<<<\nls\n", id="unclosed-block"),
        pytest.param("why: w\n>>>\n", id="stray-close"),
        pytest.param("why: w\n<<<\n>>>\n", id="empty-block"),
    ],
)
def test_a_malformed_corpus_file_is_refused_with_its_line(text: str) -> None:
    with pytest.raises(CorpusFormatError, match=r"^c:\d+: "):
        parse_corpus("c", text)


def test_the_config_declares_the_data_dir_secret() -> None:
    """The data dir is a secret operand (issue 15); PolicyConfig must be able to say so."""
    assert SECRET_DATA_DIR in getattr(CONFIG, "secret_paths", ()), (
        "PolicyConfig has no secret_paths: the data dir cannot be declared secret"
    )


# ============================================================================================
# Dangerous: never ALLOWED.

NOT_DOS = [entry for entry in DANGEROUS if entry.klass != DOS]


@pytest.mark.parametrize("entry", params(NOT_DOS))
def test_no_crafted_command_is_allowed(entry: Entry) -> None:
    verdict = judge(entry.command)
    assert verdict is not Verdict.ALLOW, f"ALLOWED ({entry.why}): {entry.command!r}"


def _judge_worker(conn: Connection) -> None:
    """A spawned process with a memory ceiling: judges the commands it is sent, one by one,
    and sends back each verdict's value or the failure."""
    resource.setrlimit(resource.RLIMIT_AS, (DOS_MEMORY, DOS_MEMORY))
    conn.send("ready")
    while True:
        try:
            command = conn.recv()
        except EOFError:
            return
        try:
            conn.send(judge(command).value)
        except MemoryError:
            conn.send("MemoryError")
        except BaseException as error:  # the parent reports whatever it was
            conn.send(f"{type(error).__name__}: {error}")


class BoundedJudge:
    """`decide()` in a child process, given DOS_SECONDS and DOS_MEMORY per command.

    Spawned, not forked: the suite's other threads (event loops, SSH servers) may hold locks
    a forked child would wait on forever. One child serves every row; it is replaced only
    after a row it failed to judge."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self._conn, child_end = self._context.Pipe()
        self._child = self._context.Process(target=_judge_worker, args=(child_end,), daemon=True)
        self._child.start()
        child_end.close()
        if not self._conn.poll(120) or self._conn.recv() != "ready":
            raise RuntimeError("the judging child did not start")

    def judge(self, command: str) -> str:
        """The verdict's value, or why the child did not return one within the bounds."""
        self._conn.send(command)
        if not self._conn.poll(DOS_SECONDS):
            self.restart()
            return f"no verdict within {DOS_SECONDS} s"
        try:
            outcome = str(self._conn.recv())
        except EOFError:
            self.restart()
            return "the judge died (memory ceiling?)"
        if outcome not in {verdict.value for verdict in Verdict}:
            self.restart()
        return outcome

    def restart(self) -> None:
        self.close()
        self._start()

    def close(self) -> None:
        self._child.kill()
        self._child.join()
        self._conn.close()


@pytest.fixture(scope="module")
def bounded_judge() -> Iterator[BoundedJudge]:
    judge = BoundedJudge()
    yield judge
    judge.close()


@pytest.mark.parametrize("entry", params(ALL[DOS]))
def test_pathological_commands_are_judged_within_bounds_and_not_allowed(
    entry: Entry, bounded_judge: BoundedJudge
) -> None:
    outcome = bounded_judge.judge(entry.command)
    assert outcome in (Verdict.NEEDS_APPROVAL.value, Verdict.FORBID.value), (
        f"{outcome} ({entry.why}): {entry.command[:200]!r}"
    )


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        pytest.param("ls /", Verdict.ALLOW, id="read-only"),
        pytest.param("rm -rf /", Verdict.FORBID, id="forbidden"),
        pytest.param("systemctl restart nginx", Verdict.NEEDS_APPROVAL, id="approval"),
    ],
)
def test_the_bounded_judge_answers_as_decide_does(
    bounded_judge: BoundedJudge, command: str, verdict: Verdict
) -> None:
    """The harness itself: the child's answer is the verdict's value, row after row."""
    assert bounded_judge.judge(command) == verdict.value


# ============================================================================================
# Hiding a dangerous command one level down does not make it pass.


def _variants() -> dict[str, Callable[[str], str]]:
    return {
        "bash-c": lambda c: f"bash -c {shlex.quote(c)}",
        "sh-c": lambda c: f"sh -c {shlex.quote(c)}",
        "eval": lambda c: f"eval {shlex.quote(c)}",
        "command-substitution": lambda c: f'echo "$({c}\n)"',
        "pipe-to-bash": lambda c: f"printf '%s\\n' {shlex.quote(c)} | bash",
        "after-semicolon": lambda c: f"uptime; {c}",
        "after-and": lambda c: f"ls /tmp && {c}",
        "in-subshell": lambda c: f"(cd /var/log && {c}\n)",
    }


VARIANTS = _variants()


@pytest.mark.parametrize("entry", params(NOT_DOS))
def test_a_wrapped_crafted_command_is_not_allowed(entry: Entry) -> None:
    """Every wrapper in VARIANTS around the row's command; the message names each that passed."""
    allowed = [
        f"{name}: {command!r}"
        for name, wrap in VARIANTS.items()
        if judge(command := wrap(entry.command)) is Verdict.ALLOW
    ]
    assert not allowed, f"ALLOWED when wrapped ({entry.why}):\n" + "\n".join(allowed)


SEPARATORS = ("; ", " && ", " | ", "\n")
COMPOSITIONS = 3
"""Random two-level wrappings per row, seeded by the row's id: reproducible, and different
for every row, so the whole corpus covers every pair of wrappers and separators."""


def compose(entry: Entry, rng: random.Random) -> str:
    """An everyday read-only command, a separator, then the row wrapped twice."""
    first, second = rng.choice(list(VARIANTS.values())), rng.choice(list(VARIANTS.values()))
    prefix = rng.choice(READ_ONLY).command
    return f"{prefix}{rng.choice(SEPARATORS)}{second(first(entry.command))}"


@pytest.mark.parametrize("entry", params(NOT_DOS))
def test_a_crafted_command_behind_reading_and_two_wrappers_is_not_allowed(entry: Entry) -> None:
    rng = random.Random(zlib.crc32(entry.test_id.encode()))
    allowed = [
        command
        for command in (compose(entry, rng) for _ in range(COMPOSITIONS))
        if judge(command) is Verdict.ALLOW
    ]
    assert not allowed, f"ALLOWED ({entry.why}):\n" + "\n".join(map(repr, allowed))


# ============================================================================================
# Everyday reading is auto-approved; the issue's false positives are not forbidden.


@pytest.mark.parametrize("entry", params(READ_ONLY))
def test_everyday_read_only_commands_are_allowed(entry: Entry) -> None:
    decision = decide(entry.command, HOST, OPERATOR, CONFIG)
    assert decision.verdict is Verdict.ALLOW, f"{entry.command!r} -> {decision}"


@pytest.mark.parametrize("entry", params(ALL[NOT_FORBIDDEN]))
def test_the_issues_false_positives_are_not_forbidden(entry: Entry) -> None:
    decision = decide(entry.command, HOST, OPERATOR, CONFIG)
    assert decision.verdict is not Verdict.FORBID, f"{entry.command!r} -> {decision}"
