"""Parse shell command lines into a syntax tree, without running or expanding anything.

The command policy has to see every simple command a shell *would* run: the ones in pipes and
lists, in subshells and braces, in `$(...)`, backticks and `<(...)`, in here-documents and in
`if`/`while`/`for`/`case`. This is a careful subset of bash's grammar. Whatever it cannot read
raises `ShellSyntaxError`, so the policy can fail closed instead of guessing; `lenient=True` asks
for a best-effort tree anyway (unclosed quotes and groups are closed at the end of the input) so the
policy can still spot a forbidden command in input it will not allow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal, TypeAlias

from executor.errors import ExecutorError

MAX_NESTING = 40
"""Deepest nesting of groups and substitutions we read; deeper input is refused, not recursed."""

PartKind: TypeAlias = Literal["lit", "param", "cmdsub", "arith", "procsub", "tilde"]


class ShellSyntaxError(ExecutorError):
    """The input is not shell we can read reliably; the message says what and where."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


# --------------------------------------------------------------------------------------------
# The tree


@dataclass(frozen=True)
class Part:
    """One piece of a word: literal text, or an expansion the shell only performs at run time.

    `text` is the literal text (``lit``), the parameter name (``param``), the user name
    (``tilde``) or the raw source (the others). `op` is the parameter operator (``":-"``,
    ``"#"``, ``"length"``, ``"indirect"`` ...) or the direction of a process substitution.
    """

    kind: PartKind
    text: str
    quoted: bool = False
    op: str = ""
    script: Script | None = None
    arg: Word | None = None


@dataclass(frozen=True)
class Word:
    """A shell word as written (`raw`) and as parts, before any expansion."""

    parts: tuple[Part, ...]
    raw: str

    @property
    def literal(self) -> str | None:
        """The word after quote removal, or None if it contains any expansion."""
        if all(p.kind == "lit" for p in self.parts):
            return "".join(p.text for p in self.parts)
        return None

    @property
    def unquoted_literal(self) -> bool:
        """True for plain words like `ls` or `/etc/*`: no quotes, escapes or expansions."""
        return all(p.kind == "lit" and not p.quoted for p in self.parts)

    @property
    def has_glob(self) -> bool:
        """Whether unquoted glob characters make the shell expand this word into file names."""
        return any(
            p.kind == "lit" and not p.quoted and _GLOB_CHARS.search(p.text) for p in self.parts
        )

    def scripts(self) -> Iterator[Script]:
        """Every command or process substitution inside this word, outermost first."""
        for part in self.parts:
            if part.script is not None:
                yield part.script
            if part.arg is not None:
                yield from part.arg.scripts()


@dataclass(frozen=True)
class Redirect:
    """`fd op target`, e.g. ``2>&1``, ``>/dev/null``, ``<<EOF`` (with its body in `heredoc`)."""

    op: str
    target: Word
    fd: str = ""
    heredoc: Word | None = None


@dataclass(frozen=True)
class Assignment:
    """``NAME=value`` or ``NAME=(items...)`` (then `value` is None)."""

    name: str
    value: Word | None
    items: tuple[Word, ...] = ()
    append: bool = False
    raw: str = ""


@dataclass(frozen=True)
class SimpleCommand:
    """Assignments, words and redirections: one program (or builtin) the shell runs."""

    words: tuple[Word, ...]
    assignments: tuple[Assignment, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Group:
    """``( list )`` (a subshell) or ``{ list; }``."""

    body: Script
    subshell: bool
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class FunctionDef:
    """``name() compound`` or ``function name compound``."""

    name: str
    body: Command
    text: str = ""


@dataclass(frozen=True)
class If:
    """``if c; then b; elif c; then b; else b; fi``."""

    clauses: tuple[tuple[Script, Script], ...]
    orelse: Script | None = None
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Loop:
    """``while c; do b; done`` or, with `until`, ``until c; do b; done``."""

    condition: Script
    body: Script
    until: bool = False
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class For:
    """``for var in items; do b; done``; `items` None means ``"$@"``; `header` for ``((;;))``."""

    var: str
    items: tuple[Word, ...] | None
    body: Script
    header: Word | None = None
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class CaseArm:
    """``pattern | pattern) body ;;``."""

    patterns: tuple[Word, ...]
    body: Script


@dataclass(frozen=True)
class Case:
    """``case word in arms esac``."""

    word: Word
    arms: tuple[CaseArm, ...]
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class TestExpr:
    """``[[ ... ]]`` or, with `arith`, ``(( ... ))``: evaluated by the shell, no program runs."""

    words: tuple[Word, ...]
    arith: bool = False
    redirects: tuple[Redirect, ...] = ()
    text: str = ""


Command: TypeAlias = SimpleCommand | Group | FunctionDef | If | Loop | For | Case | TestExpr


@dataclass(frozen=True)
class Pipeline:
    """``[!] cmd | cmd | ...``."""

    commands: tuple[Command, ...]
    negated: bool = False
    text: str = ""


@dataclass(frozen=True)
class AndOr:
    """``pipeline && pipeline || pipeline``, possibly run in the background with ``&``."""

    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...] = ()
    background: bool = False
    text: str = ""

    @property
    def pipelines(self) -> tuple[Pipeline, ...]:
        """All pipelines in order, without the operators."""
        return (self.first, *(p for _, p in self.rest))


@dataclass(frozen=True)
class Script:
    """A list of and-or lists, separated by ``;``, ``&`` or newlines."""

    items: tuple[AndOr, ...]
    text: str = ""


def parse(source: str, *, lenient: bool = False) -> Script:
    """Parse `source` as a shell script; raise ShellSyntaxError if it can't be read reliably."""
    return _Parser(source, lenient=lenient, depth=0).parse()


def iter_commands(script: Script) -> Iterator[Command]:
    """Every command in `script`, depth first, including those inside words and bodies."""
    for item in script.items:
        for pipeline in item.pipelines:
            for command in pipeline.commands:
                yield from _iter_command(command)


def iter_simple_commands(script: Script) -> Iterator[SimpleCommand]:
    """Every simple command the script contains anywhere, in source order."""
    for command in iter_commands(script):
        if isinstance(command, SimpleCommand):
            yield command


def _iter_command(command: Command) -> Iterator[Command]:
    yield command
    words: list[Word] = []
    bodies: list[Script] = []
    if isinstance(command, SimpleCommand):
        words.extend(command.words)
        for a in command.assignments:
            words.extend([a.value] if a.value is not None else [])
            words.extend(a.items)
    elif isinstance(command, Group):
        bodies.append(command.body)
    elif isinstance(command, FunctionDef):
        yield from _iter_command(command.body)
    elif isinstance(command, If):
        for cond, body in command.clauses:
            bodies.extend((cond, body))
        if command.orelse is not None:
            bodies.append(command.orelse)
    elif isinstance(command, Loop):
        bodies.extend((command.condition, command.body))
    elif isinstance(command, For):
        words.extend(command.items or ())
        if command.header is not None:
            words.append(command.header)
        bodies.append(command.body)
    elif isinstance(command, Case):
        words.append(command.word)
        for arm in command.arms:
            words.extend(arm.patterns)
            bodies.append(arm.body)
    else:
        words.extend(command.words)
    if not isinstance(command, FunctionDef):
        for redirect in command.redirects:
            words.append(redirect.target)
            if redirect.heredoc is not None:
                words.append(redirect.heredoc)
    for word in words:
        for sub in word.scripts():
            yield from iter_commands(sub)
    for body in bodies:
        yield from iter_commands(body)


# --------------------------------------------------------------------------------------------
# Helpers other modules use


def decode_escapes(text: str, *, mode: Literal["ansi", "echo", "printf"] = "ansi") -> str:
    """Decode backslash escapes as `$'...'` (ansi), `echo -e` or `printf` would.

    Needed to see through `$'\\x72\\x6d'` (that is `rm`) and `printf 'r\\x6d'`.
    """
    out: list[str] = []
    i = 0
    n = len(text)
    simple = {
        "a": "\a",
        "b": "\b",
        "e": "\x1b",
        "E": "\x1b",
        "f": "\f",
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "v": "\v",
        "\\": "\\",
    }
    if mode == "ansi":
        simple.update({"'": "'", '"': '"', "?": "?"})
    elif mode == "printf":
        simple.update({'"': '"'})
    while i < n:
        c = text[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "c":
            if mode == "ansi" and i + 2 < n:
                out.append(chr(ord(text[i + 2]) & 0x1F))
                i += 3
            elif mode == "ansi":
                out.append("\\c")
                i += 2
            else:  # echo / printf %b: \c stops all further output
                break
        elif nxt in "01234567":
            start = i + 1
            if mode == "echo" and nxt == "0":
                start = i + 2
            m = re.compile(r"[0-7]{1,3}").match(text, start)
            digits = m.group() if m else ""
            out.append(chr(int(digits, 8) & 0xFF) if digits else "\0")
            i = start + len(digits)
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            m = re.compile(rf"[0-9A-Fa-f]{{1,{width}}}").match(text, i + 2)
            if m is None:
                out.append("\\" + nxt)
                i += 2
            else:
                code = int(m.group(), 16)
                out.append(chr(code) if code <= 0x10FFFF else "\ufffd")
                i = m.end()
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out)


def brace_expand(text: str, limit: int = 256) -> list[str]:
    """Bash brace expansion of unquoted literal text: ``/{etc,usr}`` and ``{1..3}``.

    Stops at `limit` results so a hostile ``{a,b}{a,b}...`` can't blow up.
    """
    return _brace(text, limit)[:limit]


def _brace(text: str, limit: int) -> list[str]:
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            return [text]
        j = _matching_brace(text, i)
        if j < 0:
            return [text]
        inner = text[i + 1 : j]
        alternatives = _split_top_commas(inner)
        if len(alternatives) < 2:
            ranged = _brace_range(inner)
            alternatives = ranged if ranged is not None else []
        if len(alternatives) >= 2 or (alternatives and "," not in inner):
            pre, post = text[:i], text[j + 1 :]
            results: list[str] = []
            tails = _brace(post, limit)
            for alt in alternatives:
                for head in _brace(alt, limit):
                    for tail in tails:
                        results.append(pre + head + tail)
                        if len(results) >= limit:
                            return results
            return results
        i += 1


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for k in range(start, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return -1


def _split_top_commas(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    last = 0
    for k, c in enumerate(text):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[last:k])
            last = k + 1
    parts.append(text[last:])
    return parts


_RANGE_NUM = re.compile(r"(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?")
_RANGE_CHR = re.compile(r"([A-Za-z])\.\.([A-Za-z])(?:\.\.(-?\d+))?")


def _brace_range(inner: str) -> list[str] | None:
    m = _RANGE_NUM.fullmatch(inner)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        step = abs(int(m.group(3) or 1)) or 1
        if abs(b - a) // step > 1000:
            return None
        rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [str(v) for v in rng]
    m = _RANGE_CHR.fullmatch(inner)
    if m:
        a, b = ord(m.group(1)), ord(m.group(2))
        step = abs(int(m.group(3) or 1)) or 1
        rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [chr(v) for v in rng]
    return None


# --------------------------------------------------------------------------------------------
# The parser

_GLOB_CHARS = re.compile(r"[*?\[]")
_RESERVED = frozenset(
    {
        "!",
        "{",
        "}",
        "[[",
        "]]",
        "case",
        "coproc",
        "do",
        "done",
        "elif",
        "else",
        "esac",
        "fi",
        "for",
        "function",
        "if",
        "in",
        "select",
        "then",
        "time",
        "until",
        "while",
    }
)
_RESERVED_RE = re.compile(r"(\[\[|\]\]|[!{}]|[a-z]+)(?=[ \t\n;&|()<>]|$)")
_REDIR_RE = re.compile(r"(\d+|\{[A-Za-z_][A-Za-z0-9_]*\})?(<<<|<<-|<<|<>|<&|<|>>|>&|>\||>|&>>|&>)")
_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-]")
_PARAM_OP_RE = re.compile(r":-|:=|:\?|:\+|-|=|\?|\+|##|#|%%|%|//|/#|/%|/|\^\^|\^|,,|,|:|@")
_FUNCDEF_PARENS = re.compile(r"\([ \t]*\)")
_TILDE_RE = re.compile(r"~([A-Za-z0-9._-]*)(?=/|$|[ \t\n;&|()<>])")
_TEST_OP_RE = re.compile(r"&&|\|\||[<>()!|&]")
_DECLARATIONS = frozenset({"declare", "typeset", "local", "export", "readonly"})
_LIST_OPS = (";;&", ";;", ";&", ")")


class _Parts:
    """Collects the parts of a word, merging runs of literal characters cheaply."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.buf: list[str] = []
        self.buf_quoted = False

    def lit(self, text: str, quoted: bool) -> None:
        if self.buf and self.buf_quoted != quoted:
            self._flush()
        self.buf.append(text)
        self.buf_quoted = quoted

    def add(self, part: Part) -> None:
        self._flush()
        self.parts.append(part)

    def _flush(self) -> None:
        if self.buf:
            self.parts.append(Part("lit", "".join(self.buf), self.buf_quoted))
            self.buf = []

    def build(self) -> tuple[Part, ...]:
        self._flush()
        return tuple(self.parts)


class _Parser:
    """A hand-written recursive-descent parser over the source string (bash is context-bound)."""

    def __init__(self, src: str, *, lenient: bool, depth: int) -> None:
        if depth > MAX_NESTING:
            raise ShellSyntaxError("commands are nested too deeply to check", 0)
        self.src = src
        self.n = len(src)
        self.pos = 0
        self.lenient = lenient
        self.depth = depth
        self.nest = 0
        self.heredoc_jump: dict[int, int] = {}

    # ---- small helpers

    def error(self, message: str) -> ShellSyntaxError:
        return ShellSyntaxError(message, self.pos)

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.src[i] if i < self.n else ""

    def at(self, s: str) -> bool:
        return self.src.startswith(s, self.pos)

    def describe(self) -> str:
        if self.pos >= self.n:
            return "end of input"
        reserved = self.peek_reserved()
        if reserved is not None:
            return repr(reserved)
        for op in ("&&", "||", ";;", "|&", ";&"):
            if self.at(op):
                return repr(op)
        return repr(self.src[self.pos])

    def enter(self) -> None:
        self.nest += 1
        if self.nest + self.depth > MAX_NESTING:
            raise self.error("commands are nested too deeply to check")

    def leave(self) -> None:
        self.nest -= 1

    def skip_blanks(self) -> None:
        src, n = self.src, self.n
        while self.pos < n:
            c = src[self.pos]
            if c in " \t":
                self.pos += 1
            elif c == "\\" and self.peek(1) == "\n":
                self.pos += 2
            elif c == "#":
                j = src.find("\n", self.pos)
                self.pos = n if j < 0 else j
            else:
                break

    def consume_newline(self) -> None:
        p = self.pos
        self.pos = self.heredoc_jump.pop(p, p + 1)

    def skip_linebreaks(self) -> None:
        while True:
            self.skip_blanks()
            if self.peek() == "\n":
                self.consume_newline()
            else:
                return

    def peek_reserved(self) -> str | None:
        m = _RESERVED_RE.match(self.src, self.pos)
        if m and m.group(1) in _RESERVED:
            return m.group(1)
        return None

    def expect_reserved(self, word: str) -> None:
        if self.peek_reserved() == word:
            self.pos += len(word)
            return
        if self.lenient and self.pos >= self.n:
            return
        raise self.error(f"expected {word!r}, found {self.describe()}")

    def expect_close(self, token: str, message: str) -> None:
        if self.at(token):
            self.pos += len(token)
        elif not (self.lenient and self.pos >= self.n):
            raise self.error(message)

    def at_stop(self, stops: frozenset[str]) -> bool:
        if self.pos >= self.n:
            return True
        for op in _LIST_OPS:
            if op in stops and self.at(op):
                return True
        reserved = self.peek_reserved()
        return reserved is not None and reserved in stops

    def at_redirect(self) -> bool:
        m = _REDIR_RE.match(self.src, self.pos)
        if m is None:
            return False
        return not (m.group(2) in ("<", ">") and self.src.startswith("(", m.end()))

    # ---- lists, pipelines, commands

    def parse(self) -> Script:
        script = self.parse_list(frozenset(), top=True)
        if self.pos < self.n:
            raise self.error(f"unexpected {self.describe()}")
        return script

    def parse_list(self, stops: frozenset[str], *, top: bool = False) -> Script:
        self.enter()
        start = self.pos
        items: list[AndOr] = []
        while True:
            self.skip_linebreaks()
            if self.at_stop(stops):
                break
            save = self.pos
            try:
                item = self.parse_and_or()
            except ShellSyntaxError as exc:
                if not (top and self.lenient):
                    raise
                self.pos = max(exc.position, save) + 1
                continue
            self.skip_blanks()
            c = self.peek()
            if c == "&":
                self.pos += 1
                items.append(replace(item, background=True))
                continue
            if c == ";" and not (self.at(";;") or self.at(";&")):
                self.pos += 1
                items.append(item)
                continue
            if c == "\n":
                self.consume_newline()
                items.append(item)
                continue
            items.append(item)
            if self.at_stop(stops):
                break
            if top and self.lenient:
                self.pos += 1
                continue
            raise self.error(f"unexpected {self.describe()}")
        self.leave()
        return Script(tuple(items), self.src[start : self.pos].strip())

    def parse_and_or(self) -> AndOr:
        start = self.pos
        first = self.parse_pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while True:
            self.skip_blanks()
            if self.at("&&") or self.at("||"):
                op = self.src[self.pos : self.pos + 2]
                self.pos += 2
                self.skip_linebreaks()
                rest.append((op, self.parse_pipeline()))
            else:
                break
        return AndOr(first, tuple(rest), False, self.src[start : self.pos].strip())

    def parse_pipeline(self) -> Pipeline:
        self.skip_blanks()
        start = self.pos
        negated = False
        while True:
            reserved = self.peek_reserved()
            if reserved == "!":
                negated = not negated
                self.pos += 1
                self.skip_blanks()
            elif reserved == "time":
                self.pos += 4
                self.skip_blanks()
                if re.compile(r"-p(?=[ \t\n;&|()<>]|$)").match(self.src, self.pos):
                    self.pos += 2
                    self.skip_blanks()
            else:
                break
        commands = [self.parse_command()]
        while True:
            self.skip_blanks()
            if self.at("|") and not self.at("||"):
                self.pos += 2 if self.at("|&") else 1
                self.skip_linebreaks()
                commands.append(self.parse_command())
            else:
                break
        return Pipeline(tuple(commands), negated, self.src[start : self.pos].strip())

    def parse_command(self) -> Command:
        self.skip_blanks()
        if self.pos >= self.n:
            raise self.error("expected a command, found end of input")
        if self.at("(("):
            save = self.pos
            try:
                return self.parse_arith_command()
            except ShellSyntaxError:
                self.pos = save
        if self.peek() == "(":
            return self.parse_group(subshell=True)
        reserved = self.peek_reserved()
        if reserved == "{":
            return self.parse_group(subshell=False)
        if reserved == "if":
            return self.parse_if()
        if reserved in ("while", "until"):
            return self.parse_loop(reserved)
        if reserved in ("for", "select"):
            return self.parse_for(reserved)
        if reserved == "case":
            return self.parse_case()
        if reserved == "[[":
            return self.parse_test()
        if reserved == "function":
            return self.parse_function_keyword()
        if reserved == "coproc":
            self.pos += len("coproc")
            self.skip_blanks()
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[ \t]+(?=[{(])").match(self.src, self.pos)
            if m:
                self.pos = m.end()
            return self.parse_command()
        if reserved is not None and reserved not in ("in", "!", "time"):
            raise self.error(f"unexpected {reserved!r}")
        if self.peek() in ";&|)\n" and not self.at_redirect():
            raise self.error(f"expected a command before {self.describe()}")
        return self.parse_simple()

    def parse_redirects(self) -> tuple[Redirect, ...]:
        redirects: list[Redirect] = []
        while True:
            self.skip_blanks()
            if self.at_redirect():
                redirects.append(self.parse_redirect())
            else:
                return tuple(redirects)

    def parse_group(self, *, subshell: bool) -> Group:
        start = self.pos
        self.pos += 1
        if subshell:
            body = self.parse_list(frozenset({")"}))
            self.expect_close(")", "unclosed '('")
        else:
            body = self.parse_list(frozenset({"}"}))
            self.expect_reserved("}")
        redirects = self.parse_redirects()
        return Group(body, subshell, redirects, self.src[start : self.pos].strip())

    def parse_if(self) -> If:
        start = self.pos
        self.pos += 2
        clauses: list[tuple[Script, Script]] = []
        cond = self.parse_list(frozenset({"then"}))
        self.expect_reserved("then")
        body = self.parse_list(frozenset({"elif", "else", "fi"}))
        clauses.append((cond, body))
        orelse: Script | None = None
        while True:
            reserved = self.peek_reserved()
            if reserved == "elif":
                self.pos += 4
                cond = self.parse_list(frozenset({"then"}))
                self.expect_reserved("then")
                body = self.parse_list(frozenset({"elif", "else", "fi"}))
                clauses.append((cond, body))
            elif reserved == "else":
                self.pos += 4
                orelse = self.parse_list(frozenset({"fi"}))
                self.expect_reserved("fi")
                break
            else:
                self.expect_reserved("fi")
                break
        redirects = self.parse_redirects()
        return If(tuple(clauses), orelse, redirects, self.src[start : self.pos].strip())

    def parse_loop(self, keyword: str) -> Loop:
        start = self.pos
        self.pos += len(keyword)
        cond = self.parse_list(frozenset({"do"}))
        self.expect_reserved("do")
        body = self.parse_list(frozenset({"done"}))
        self.expect_reserved("done")
        redirects = self.parse_redirects()
        return Loop(cond, body, keyword == "until", redirects, self.src[start : self.pos].strip())

    def parse_do_body(self) -> Script:
        reserved = self.peek_reserved()
        if reserved == "do":
            self.pos += 2
            body = self.parse_list(frozenset({"done"}))
            self.expect_reserved("done")
            return body
        if reserved == "{":
            return self.parse_group(subshell=False).body
        if self.lenient and self.pos >= self.n:
            return Script(())
        raise self.error(f"expected 'do', found {self.describe()}")

    def parse_for(self, keyword: str) -> For:
        start = self.pos
        self.pos += len(keyword)
        self.skip_blanks()
        if self.at("(("):
            self.pos += 2
            header = self.parse_arith_body("))")
            self.skip_blanks()
            if self.peek() == ";":
                self.pos += 1
            self.skip_linebreaks()
            body = self.parse_do_body()
            redirects = self.parse_redirects()
            text = self.src[start : self.pos].strip()
            return For("", None, body, header, redirects, text)
        m = _NAME_RE.match(self.src, self.pos)
        if m is None:
            raise self.error(f"expected a variable name after {keyword!r}")
        var = m.group()
        self.pos = m.end()
        self.skip_linebreaks()
        items: list[Word] | None = None
        if self.peek_reserved() == "in":
            self.pos += 2
            items = []
            while True:
                self.skip_blanks()
                if self.pos >= self.n or self.peek() in ";\n":
                    break
                word = self.read_word()
                if word is None:
                    raise self.error(f"unexpected {self.describe()} in 'for' list")
                items.append(word)
            if self.peek() == ";":
                self.pos += 1
        elif self.peek() == ";":
            self.pos += 1
        self.skip_linebreaks()
        body = self.parse_do_body()
        redirects = self.parse_redirects()
        text = self.src[start : self.pos].strip()
        return For(var, None if items is None else tuple(items), body, None, redirects, text)

    def parse_case(self) -> Case:
        start = self.pos
        self.pos += 4
        self.skip_blanks()
        word = self.read_word()
        if word is None:
            raise self.error("expected a word after 'case'")
        self.skip_linebreaks()
        self.expect_reserved("in")
        arms: list[CaseArm] = []
        while True:
            self.skip_linebreaks()
            if self.peek_reserved() == "esac":
                self.pos += 4
                break
            if self.pos >= self.n:
                if self.lenient:
                    break
                raise self.error("expected 'esac', found end of input")
            if self.peek() == "(":
                self.pos += 1
            patterns: list[Word] = []
            while True:
                self.skip_blanks()
                pattern = self.read_word()
                if pattern is None:
                    raise self.error(f"expected a case pattern, found {self.describe()}")
                patterns.append(pattern)
                self.skip_blanks()
                if self.peek() == "|":
                    self.pos += 1
                    continue
                if self.peek() == ")":
                    self.pos += 1
                    break
                raise self.error(f"expected ')' after a case pattern, found {self.describe()}")
            body = self.parse_list(frozenset({";;", ";&", ";;&", "esac"}))
            arms.append(CaseArm(tuple(patterns), body))
            self.skip_blanks()
            for terminator in (";;&", ";;", ";&"):
                if self.at(terminator):
                    self.pos += len(terminator)
                    break
        redirects = self.parse_redirects()
        return Case(word, tuple(arms), redirects, self.src[start : self.pos].strip())

    def parse_test(self) -> TestExpr:
        start = self.pos
        self.pos += 2
        words: list[Word] = []
        while True:
            self.skip_linebreaks()
            if self.pos >= self.n:
                if self.lenient:
                    break
                raise self.error("expected ']]', found end of input")
            if self.peek_reserved() == "]]":
                self.pos += 2
                break
            m = _TEST_OP_RE.match(self.src, self.pos)
            if m:
                words.append(Word((Part("lit", m.group(), True),), m.group()))
                self.pos = m.end()
                continue
            word = self.read_word()
            if word is None:
                raise self.error(f"unexpected {self.describe()} in '[['")
            words.append(word)
        redirects = self.parse_redirects()
        return TestExpr(tuple(words), False, redirects, self.src[start : self.pos].strip())

    def parse_arith_command(self) -> TestExpr:
        start = self.pos
        self.pos += 2
        body = self.parse_arith_body("))")
        redirects = self.parse_redirects()
        return TestExpr((body,), True, redirects, self.src[start : self.pos].strip())

    def parse_function_keyword(self) -> FunctionDef:
        start = self.pos
        self.pos += len("function")
        self.skip_blanks()
        name_start = self.pos
        while self.pos < self.n and self.src[self.pos] not in " \t\n;&|()<>":
            self.pos += 1
        name = self.src[name_start : self.pos]
        if not name:
            raise self.error("expected a function name after 'function'")
        self.skip_blanks()
        m = _FUNCDEF_PARENS.match(self.src, self.pos)
        if m:
            self.pos = m.end()
        self.skip_linebreaks()
        body = self.parse_command()
        return FunctionDef(name, body, self.src[start : self.pos].strip())

    def parse_simple(self) -> Command:
        start = self.pos
        words: list[Word] = []
        assignments: list[Assignment] = []
        redirects: list[Redirect] = []
        while True:
            self.skip_blanks()
            if self.pos >= self.n:
                break
            if self.at_redirect():
                redirects.append(self.parse_redirect())
                continue
            c = self.peek()
            if c in "\n;&|)":
                break
            if c == "(":
                if len(words) == 1 and not assignments and not redirects:
                    name = words[0].literal
                    m = _FUNCDEF_PARENS.match(self.src, self.pos)
                    if m and name and words[0].unquoted_literal:
                        self.pos = m.end()
                        self.skip_linebreaks()
                        body = self.parse_command()
                        return FunctionDef(name, body, self.src[start : self.pos].strip())
                raise self.error("unexpected '('")
            word_start = self.pos
            word = self.read_word()
            if word is None:
                raise self.error(f"unexpected {self.describe()}")
            if not words:
                assignment = self.as_assignment(word, word_start)
                if assignment is not None:
                    assignments.append(assignment)
                    continue
            elif (
                self.peek() == "("
                and words[0].literal in _DECLARATIONS
                and _ASSIGN_RE.fullmatch(word.raw)
            ):
                word = self.read_array_word(word, word_start)
            words.append(word)
        if not (words or assignments or redirects):
            raise self.error(f"expected a command, found {self.describe()}")
        text = self.src[start : self.pos].strip()
        return SimpleCommand(tuple(words), tuple(assignments), tuple(redirects), text)

    def as_assignment(self, word: Word, word_start: int) -> Assignment | None:
        if not word.parts or word.parts[0].kind != "lit" or word.parts[0].quoted:
            return None
        first = word.parts[0]
        m = _ASSIGN_RE.match(first.text)
        if m is None:
            return None
        name = m.group(1)
        append = bool(m.group(3))
        rest = first.text[m.end() :]
        if not rest and len(word.parts) == 1 and self.peek() == "(":
            items = self.read_array_items()
            return Assignment(name, None, items, append, self.src[word_start : self.pos])
        value_parts = ((Part("lit", rest),) if rest else ()) + word.parts[1:]
        return Assignment(name, Word(value_parts, word.raw[m.end() :]), (), append, word.raw)

    def read_array_items(self) -> tuple[Word, ...]:
        self.pos += 1
        items: list[Word] = []
        while True:
            self.skip_linebreaks()
            if self.peek() == ")":
                self.pos += 1
                return tuple(items)
            if self.pos >= self.n:
                if self.lenient:
                    return tuple(items)
                raise self.error("unclosed array '('")
            word = self.read_word()
            if word is None:
                raise self.error(f"unexpected {self.describe()} in an array")
            items.append(word)

    def read_array_word(self, word: Word, word_start: int) -> Word:
        items = self.read_array_items()
        parts: list[Part] = [*word.parts, Part("lit", "(", True)]
        for k, item in enumerate(items):
            if k:
                parts.append(Part("lit", " ", True))
            parts.extend(item.parts)
        parts.append(Part("lit", ")", True))
        return Word(tuple(parts), self.src[word_start : self.pos])

    # ---- redirections and here-documents

    def parse_redirect(self) -> Redirect:
        m = _REDIR_RE.match(self.src, self.pos)
        if m is None:  # pragma: no cover - callers check at_redirect first
            raise self.error("expected a redirection")
        fd, op = m.group(1) or "", m.group(2)
        self.pos = m.end()
        self.skip_blanks()
        target = self.read_word()
        if target is None:
            if self.lenient and self.pos >= self.n:
                target = Word((), "")
            else:
                raise self.error(f"redirection {op!r} without a target")
        heredoc: Word | None = None
        if op in ("<<", "<<-"):
            heredoc = self.read_heredoc(target, strip_tabs=op == "<<-")
        return Redirect(op, target, fd, heredoc)

    def read_heredoc(self, delimiter: Word, *, strip_tabs: bool) -> Word:
        literal = delimiter.literal
        quoted = literal is None or any(p.quoted for p in delimiter.parts)
        delim = literal if literal is not None else re.sub(r"['\"\\]", "", delimiter.raw)
        line_end = self.find_line_end(self.pos)
        if line_end is None:
            if self.lenient:
                return Word((), "")
            raise self.error("here-document without a body")
        p = self.heredoc_jump.get(line_end, line_end + 1)
        lines: list[str] = []
        end: int | None = None
        while True:
            e = self.src.find("\n", p)
            line = self.src[p:] if e < 0 else self.src[p:e]
            check = line.lstrip("\t") if strip_tabs else line
            if check == delim:
                end = self.n if e < 0 else e + 1
                break
            if e < 0:
                break
            lines.append(check)
            p = e + 1
        if end is None:
            if not self.lenient:
                raise self.error(f"here-document not closed by {delim!r}")
            lines.append(self.src[p:])
            end = self.n
        self.heredoc_jump[line_end] = end
        body = "".join(line + "\n" for line in lines)
        if quoted:
            return Word((Part("lit", body, True),) if body else (), body)
        sub = _Parser(body, lenient=self.lenient, depth=self.depth + self.nest + 1)
        parts = _Parts()
        sub.read_dq_content(parts, heredoc=True)
        return Word(parts.build(), body)

    def find_line_end(self, pos: int) -> int | None:
        """Where the current logical line ends: here-document bodies start after it."""
        src, n = self.src, self.n
        p = pos
        while p < n:
            c = src[p]
            if c == "\\":
                p += 2
                continue
            if c == "'":
                j = src.find("'", p + 1)
                if j < 0:
                    return None
                p = j + 1
                continue
            if c in '"`':
                q = p + 1
                while q < n and src[q] != c:
                    q += 2 if src[q] == "\\" else 1
                if q >= n:
                    return None
                p = q + 1
                continue
            if c == "#" and (p == 0 or src[p - 1] in " \t\n;&|()<>"):
                j = src.find("\n", p)
                if j < 0:
                    return None
                p = j
                continue
            if c == "\n":
                return p
            p += 1
        return None

    # ---- words

    def read_word(self) -> Word | None:
        start = self.pos
        parts = _Parts()
        src = self.src
        while self.pos < self.n:
            c = src[self.pos]
            if c in " \t\n;&|)":
                break
            if c in "<>":
                if self.peek(1) == "(":
                    self.read_procsub(parts)
                    continue
                break
            if c == "(":
                break
            if c == "\\":
                nxt = self.peek(1)
                if nxt == "\n":
                    self.pos += 2
                elif nxt == "":
                    parts.lit("\\", False)
                    self.pos += 1
                else:
                    parts.lit(nxt, True)
                    self.pos += 2
            elif c == "'":
                self.read_squote(parts)
            elif c == '"':
                self.read_dquote(parts)
            elif c == "$":
                self.read_dollar(parts, quoted=False)
            elif c == "`":
                self.read_backtick(parts, in_dquote=False)
            elif c == "~" and self.pos == start:
                m = _TILDE_RE.match(src, self.pos)
                if m:
                    parts.add(Part("tilde", m.group(1)))
                    self.pos = m.end()
                else:
                    parts.lit("~", False)
                    self.pos += 1
            elif c in "@!*+?" and self.peek(1) == "(":
                self.read_extglob(parts)
            else:
                parts.lit(c, False)
                self.pos += 1
        if self.pos == start:
            return None
        return Word(parts.build(), src[start : self.pos])

    def read_squote(self, parts: _Parts) -> None:
        j = self.src.find("'", self.pos + 1)
        if j < 0:
            if not self.lenient:
                raise self.error("unclosed single quote")
            j = self.n
        parts.lit(self.src[self.pos + 1 : j], True)
        self.pos = min(j + 1, self.n)

    def read_dquote(self, parts: _Parts) -> None:
        self.pos += 1
        parts.lit("", True)  # "" is still a (quoted, empty) word
        self.read_dq_content(parts, heredoc=False)

    def read_dq_content(self, parts: _Parts, *, heredoc: bool) -> None:
        src = self.src
        specials = "$`\\" if heredoc else '$`"\\'
        while True:
            if self.pos >= self.n:
                if heredoc or self.lenient:
                    return
                raise self.error("unclosed double quote")
            c = src[self.pos]
            if c == '"' and not heredoc:
                self.pos += 1
                return
            if c == "\\":
                nxt = self.peek(1)
                if nxt and nxt in specials:
                    parts.lit(nxt, True)
                    self.pos += 2
                elif nxt == "\n":
                    self.pos += 2
                else:
                    parts.lit("\\", True)
                    self.pos += 1
            elif c == "$":
                self.read_dollar(parts, quoted=True)
            elif c == "`":
                self.read_backtick(parts, in_dquote=True)
            else:
                parts.lit(c, True)
                self.pos += 1

    def read_ansi_c(self, parts: _Parts) -> None:
        self.pos += 2
        start = self.pos
        src = self.src
        while True:
            if self.pos >= self.n:
                if not self.lenient:
                    raise self.error("unclosed $'...' quote")
                body = src[start:]
                break
            c = src[self.pos]
            if c == "\\":
                self.pos += 2
                continue
            if c == "'":
                body = src[start : self.pos]
                self.pos += 1
                break
            self.pos += 1
        parts.lit(decode_escapes(body, mode="ansi"), True)

    def read_dollar(self, parts: _Parts, *, quoted: bool) -> None:
        src = self.src
        start = self.pos
        nxt = self.peek(1)
        if nxt == "'" and not quoted:
            self.read_ansi_c(parts)
            return
        if nxt == '"' and not quoted:
            self.pos += 1
            self.read_dquote(parts)
            return
        if self.at("$(("):
            try:
                self.pos += 3
                body = self.parse_arith_body("))")
            except ShellSyntaxError:
                self.pos = start
            else:
                parts.add(Part("arith", src[start : self.pos], quoted, arg=body))
                return
        if nxt == "(":
            self.pos += 2
            script = self.parse_list(frozenset({")"}))
            self.expect_close(")", "unclosed '$('")
            parts.add(Part("cmdsub", src[start : self.pos], quoted, script=script))
            return
        if nxt == "[":
            self.pos += 2
            body = self.parse_arith_body("]")
            parts.add(Part("arith", src[start : self.pos], quoted, arg=body))
            return
        if nxt == "{":
            self.read_braced_param(parts, quoted=quoted)
            return
        m = _NAME_RE.match(src, self.pos + 1)
        if m:
            parts.add(Part("param", m.group(), quoted))
            self.pos = m.end()
            return
        if nxt and nxt in "0123456789@*#?$!-":
            parts.add(Part("param", nxt, quoted))
            self.pos += 2
            return
        parts.lit("$", quoted)
        self.pos += 1

    def read_braced_param(self, parts: _Parts, *, quoted: bool) -> None:
        src = self.src
        self.pos += 2
        prefix = ""
        if (
            self.peek() == "#"
            and self.peek(1) not in ("}", "")
            and _PARAM_NAME_RE.match(src, self.pos + 1)
        ):
            prefix = "length"
            self.pos += 1
        elif self.peek() == "!" and self.peek(1) not in ("}", ""):
            prefix = "indirect"
            self.pos += 1
        m = _PARAM_NAME_RE.match(src, self.pos)
        if m is None:
            if self.pos >= self.n:
                raise self.error("unclosed '${'")
            raise self.error("bad parameter expansion")
        name = m.group()
        self.pos = m.end()
        extra: list[Part] = []
        if self.peek() == "[":
            self.pos += 1
            subscript = self.parse_arith_body("]")
            extra.extend(subscript.parts)
        if prefix == "indirect" and self.peek() in ("*", "@") and self.peek(1) == "}":
            self.pos += 1
        op = ""
        arg: Word | None = None
        if self.peek() != "}":
            m2 = _PARAM_OP_RE.match(src, self.pos)
            if m2 is None:
                if self.pos >= self.n and not self.lenient:
                    raise self.error("unclosed '${'")
                if self.pos < self.n:
                    raise self.error("bad parameter expansion")
            else:
                op = m2.group()
                self.pos = m2.end()
                arg = self.read_param_arg()
        self.expect_close("}", "unclosed '${'")
        if extra:
            arg = Word(tuple(extra) + (arg.parts if arg else ()), arg.raw if arg else "")
        parts.add(Part("param", name, quoted, op=prefix or op, arg=arg))

    def read_param_arg(self) -> Word:
        start = self.pos
        parts = _Parts()
        depth = 0
        src = self.src
        while True:
            if self.pos >= self.n:
                if self.lenient:
                    break
                raise self.error("unclosed '${'")
            c = src[self.pos]
            if c == "}" and depth == 0:
                break
            if c == "{":
                depth += 1
                parts.lit(c, False)
                self.pos += 1
            elif c == "}":
                depth -= 1
                parts.lit(c, False)
                self.pos += 1
            elif c == "\\":
                nxt = self.peek(1)
                if nxt == "\n":
                    self.pos += 2
                else:
                    parts.lit(nxt or "\\", True)
                    self.pos += 2 if nxt else 1
            elif c == "'":
                self.read_squote(parts)
            elif c == '"':
                self.read_dquote(parts)
            elif c == "$":
                self.read_dollar(parts, quoted=False)
            elif c == "`":
                self.read_backtick(parts, in_dquote=False)
            else:
                parts.lit(c, False)
                self.pos += 1
        return Word(parts.build(), src[start : self.pos])

    def parse_arith_body(self, closer: str) -> Word:
        start = self.pos
        parts = _Parts()
        depth = 0
        src = self.src
        end = self.pos
        while True:
            if self.pos >= self.n:
                if self.lenient:
                    end = self.n
                    break
                raise self.error("unclosed arithmetic expression")
            if depth == 0 and self.at(closer):
                end = self.pos
                self.pos += len(closer)
                break
            c = src[self.pos]
            if c == "(":
                depth += 1
                parts.lit(c, False)
                self.pos += 1
            elif c == ")":
                if depth == 0:
                    raise self.error("unbalanced ')' in an arithmetic expression")
                depth -= 1
                parts.lit(c, False)
                self.pos += 1
            elif c == "$":
                self.read_dollar(parts, quoted=True)
            elif c == "`":
                self.read_backtick(parts, in_dquote=True)
            elif c == '"':
                self.read_dquote(parts)
            elif c == "'":
                self.read_squote(parts)
            elif c == "\\":
                nxt = self.peek(1)
                parts.lit(nxt, True)
                self.pos += 2
            else:
                parts.lit(c, False)
                self.pos += 1
        return Word(parts.build(), src[start:end])

    def read_backtick(self, parts: _Parts, *, in_dquote: bool) -> None:
        src = self.src
        start = self.pos
        self.pos += 1
        buf: list[str] = []
        escapable = '$`\\"' if in_dquote else "$`\\"
        while True:
            if self.pos >= self.n:
                if not self.lenient:
                    raise self.error("unclosed backquote")
                break
            c = src[self.pos]
            if c == "`":
                self.pos += 1
                break
            if c == "\\" and self.peek(1) and self.peek(1) in escapable:
                buf.append(self.peek(1))
                self.pos += 2
            else:
                buf.append(c)
                self.pos += 1
        inner = "".join(buf)
        try:
            script = _Parser(inner, lenient=self.lenient, depth=self.depth + self.nest + 1).parse()
        except ShellSyntaxError as exc:
            raise ShellSyntaxError(f"{exc.message} inside backquotes", start) from exc
        parts.add(Part("cmdsub", src[start : self.pos], quoted=in_dquote, script=script))

    def read_procsub(self, parts: _Parts) -> None:
        src = self.src
        start = self.pos
        direction = src[self.pos]
        self.pos += 2
        script = self.parse_list(frozenset({")"}))
        self.expect_close(")", f"unclosed '{direction}('")
        parts.add(Part("procsub", src[start : self.pos], False, op=direction, script=script))

    def read_extglob(self, parts: _Parts) -> None:
        start = self.pos
        depth = 0
        src = self.src
        while self.pos < self.n:
            c = src[self.pos]
            if c == "\\":
                self.pos += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    pattern = src[start : self.pos]
                    # zsh reads `*(e:'cmd':)` as a glob qualifier that runs cmd: don't guess.
                    if re.search(r"[:$`'\"]", pattern) and not self.lenient:
                        raise ShellSyntaxError(
                            "unsupported glob pattern (in zsh it could run commands)", start
                        )
                    parts.lit(pattern, False)
                    return
            self.pos += 1
        if not self.lenient:
            raise self.error("unclosed extended glob '('")
        parts.lit(src[start:], False)
