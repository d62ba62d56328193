"""The parser's cursor over the source: position, look-ahead, blanks, reserved words, errors.

Shared by the word reader and the grammar; it knows bash's lexical rules (which words are
reserved, what starts a redirection) but builds no tree.
"""

from __future__ import annotations

import re

from executor.errors import ExecutorError
from executor.shell.nodes import Part

MAX_NESTING = 40
"""Deepest nesting of groups and substitutions we read; deeper input is refused, not recursed."""


class ShellSyntaxError(ExecutorError):
    """The input is not shell we can read reliably; the message says what and where."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


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
REDIRECT_RE = re.compile(
    r"(\d+|\{[A-Za-z_][A-Za-z0-9_]*\})?(<<<|<<-|<<|<>|<&|<|>>|>&|>\||>|&>>|&>)"
)
_LIST_OPS = (";;&", ";;", ";&", ")")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A shell variable name."""


class PartsBuilder:
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


class Cursor:
    """A position in the source, with bash's lexical look-ahead (bash is context-bound)."""

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
        m = REDIRECT_RE.match(self.src, self.pos)
        if m is None:
            return False
        return not (m.group(2) in ("<", ">") and self.src.startswith("(", m.end()))
