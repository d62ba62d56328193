"""The values the analysis passes around: streams, expanded words and arguments, command frames.

Frozen where they can be, with the small pure helpers that combine them (joining streams,
capping alternatives, reading options), so every other part of the analysis shares one vocabulary.
"""

from __future__ import annotations

import enum
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from executor.policy.model import Verdict


class StreamKind(enum.IntEnum):
    """What flows through a pipe or out of a substitution, from harmless to dangerous to run."""

    NONE = 0
    STATIC = 1  # text known before run time
    OTHER = 2  # some program's output
    DECODED = 3  # decoded or unscrambled text (base64 -d, xxd -r, rev...)
    DOWNLOAD = 4  # fetched from the network


@dataclass(frozen=True)
class Stream:
    """A stream's kind, its text when static, what produced it, and lines known to be in it."""

    kind: StreamKind = StreamKind.NONE
    text: str = ""
    origin: str = ""
    lines: tuple[str, ...] = ()


NO_STREAM = Stream()
OTHER_STREAM = Stream(StreamKind.OTHER)


def join_origins(a: str, b: str) -> str:
    """Both origins, for reasons that say where a stream came from (bounded in length)."""
    if not a:
        return b
    if not b or b in a:
        return a
    return (a + " | " + b)[-2000:]


def join_streams(a: Stream, b: Stream) -> Stream:
    """One stream from two (a list's outputs): static only if both are, else the worse kind."""
    if a.kind is StreamKind.NONE:
        return b
    if b.kind is StreamKind.NONE:
        return a
    origin = join_origins(a.origin, b.origin)
    if a.kind is StreamKind.STATIC and b.kind is StreamKind.STATIC:
        return Stream(StreamKind.STATIC, (a.text + b.text)[:50_000], origin)
    return Stream(max(a.kind, b.kind, StreamKind.OTHER), "", origin, (a.lines + b.lines)[:32])


@dataclass(frozen=True)
class Value:
    """One possible value of an expansion; `text` None means it is only known at run time."""

    text: str | None
    glob: bool = False
    note: str = ""
    taint: StreamKind = StreamKind.NONE
    origin: str = ""


@dataclass(frozen=True)
class Piece:
    """One part of a word after expansion, before field splitting joins parts into arguments."""

    text: str | None
    quoted: bool
    literal: bool
    glob: bool = False
    note: str = ""
    taint: StreamKind = StreamKind.NONE
    origin: str = ""


@dataclass(frozen=True)
class Arg:
    """One argument after expansion. Dynamic ones keep their source text as `value`."""

    value: str
    raw: str
    dynamic: bool = False
    glob: bool = False
    note: str = ""
    taint: StreamKind = StreamKind.NONE
    origin: str = ""


def literal_arg(value: str) -> Arg:
    """An argument known exactly, as if written unquoted."""
    return Arg(value, value)


@dataclass(frozen=True)
class Fact:
    """A command that will run, and why it is not read-only (None when it is)."""

    argv: tuple[Arg, ...]
    text: str
    problem: str | None


@dataclass
class Frame:
    """What one simple command does besides its argv: redirections, environment, wrappers."""

    text: str
    writes: list[str] = field(default_factory=list)
    secret_input: str = ""
    net: bool = False
    env_problem: str = ""
    via: str = ""


class Hit(NamedTuple):
    """What a check found in one command: the verdict, its rule, and what the command does."""

    verdict: Verdict
    rule: str
    what: str


FORBID = Verdict.FORBID
APPROVE = Verdict.NEEDS_APPROVAL
MAX_ALTERNATIVES = 64
"""Most values one word may expand to; more become a single unknown."""


def and_phrases(a: str, b: str) -> str:
    """Two notes as one phrase (`if $X is unset and if $Y is empty`), without repeats."""
    if not a:
        return b
    if not b or b in a:
        return a
    return f"{a} and {b}"


def with_note(what: str, note: str) -> str:
    """`what` with the condition under which it happens, if any."""
    return f"{what} ({note})" if note else what


def normalize_path(path: str) -> str:
    """`path` without `//`, `.` and `..`, so `/usr/../etc` is judged as `/etc`."""
    squeezed = re.sub("/+", "/", path)
    normal = posixpath.normpath(squeezed)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    return normal


def cap_values(values: list[Value]) -> list[Value]:
    """At most MAX_ALTERNATIVES values; what is cut off is replaced by an unknown, never dropped."""
    if len(values) <= MAX_ALTERNATIVES:
        return values
    return [*values[: MAX_ALTERNATIVES - 1], Value(None)]


def hides_code(text: str) -> bool:
    """Text that bash would run if it were expanded again (prompt or arithmetic expansion)."""
    return bool(re.search(r"\$\(|`|[<>]\(", text))


def capped_values(values: Iterable[Value]) -> list[Value]:
    """`cap_values(dedupe_values(list(values)))`, but it stops reading `values` once the cap
    is known to be reached: a lazy product of 64 × 64 alternatives then builds ~65, not 4096."""
    seen: set[Value] = set()
    out: list[Value] = []
    for v in values:
        if v in seen:
            continue
        seen.add(v)
        out.append(v)
        if len(out) > MAX_ALTERNATIVES:
            return [*out[: MAX_ALTERNATIVES - 1], Value(None)]
    return out


def dedupe_values(values: list[Value]) -> list[Value]:
    """`values` without repeats, in order."""
    seen: set[Value] = set()
    out: list[Value] = []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


@dataclass
class Options:
    """GNU-style options of one command: flags as written, values, and the positional rest."""

    flags: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    positionals: list[Arg] = field(default_factory=list)

    def has(self, short: str = "", long: str = "") -> bool:
        """Whether the short letter (also inside `-rf`) or the long option was given."""
        for f in self.flags:
            if long and (f == f"--{long}" or f.startswith(f"--{long}=")):
                return True
            if short and f.startswith("-") and not f.startswith("--") and short in f[1:]:
                return True
        return False


def parse_options(args: Sequence[Arg], value_opts: frozenset[str] = frozenset()) -> Options:
    """Read `args` GNU-style; `value_opts` take the next argument as their value."""
    out = Options()
    i = 0
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic or not v.startswith("-") or v == "-":
            out.positionals.append(a)
            i += 1
            continue
        if v == "--":
            out.positionals.extend(args[i + 1 :])
            break
        out.flags.append(v)
        if v in value_opts and i + 1 < len(args):
            out.values[v] = args[i + 1].value
            i += 2
            continue
        if "=" in v and v.startswith("--"):
            key, _, value = v.partition("=")
            out.values[key] = value
        i += 1
    return out


def frame_problem(frame: Frame) -> str:
    """Why a frame's redirections or connections are more than reading."""
    if frame.writes:
        return f"writes to {frame.writes[0]}"
    if frame.secret_input:
        return f"reads {frame.secret_input}, which holds secrets"
    return "opens a network connection"


def quote(text: str, limit: int = 80) -> str:
    """`text` as inline code for the chat room, on one line and shortened."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    if "`" in flat:
        return f"`` {flat} ``"
    return f"`{flat}`"
