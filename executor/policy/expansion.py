"""Expanding words as bash would, as far as can be known before run time: quotes, escapes,
variables assigned in the command itself, `${x:-...}`, braces, field splitting, and `$(...)`.

Each word expands to its possible values (capped); what only run time knows stays marked as
dynamic, with the taint of where it came from (a download, a decoder).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import NamedTuple

from executor import shell
from executor.policy.knowledge import ARITH_NAME, GLOB_RE, STANDARD_ENV
from executor.policy.limits import MAX_BRACE_WORDS, TooComplex
from executor.policy.state import AnalysisState
from executor.policy.values import (
    MAX_ALTERNATIVES,
    NO_STREAM,
    Arg,
    Frame,
    Piece,
    Stream,
    StreamKind,
    Value,
    and_phrases,
    cap_values,
    capped_values,
    dedupe_values,
    hides_code,
    join_origins,
)
from executor.shell import Part, Script, Word


def is_plain_number(text: str) -> bool:
    """Text bash reads as a number in arithmetic (empty counts as 0), so no code hides in it."""
    return bool(re.fullmatch(r"\s*[-+]?(?:0[xX][0-9a-fA-F]+|\d+)\s*", text)) or not text.strip()


_BRACE_RANGE = re.compile(r"\{(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?\}")
"""A numeric brace range, `{1..100000000}`: counted before it is expanded."""

MAX_VARIANTS = 64
"""Most argument lists one simple command may expand to; beyond, a person must check it."""


MAX_ARITH_DEPTH = 64
"""Deepest parentheses in one arithmetic expansion that are judged (bash nests far deeper)."""


def paren_depth(text: str) -> int:
    """The deepest nesting of `(` in `text`, quotes not considered (enough for a bound)."""
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest


class Expander(AnalysisState):
    """Expansion over the analysis state. Substitutions and stored code are run by the walker
    (`Analyzer`), through the two methods it provides."""

    # ---- what the walker provides

    def script(self, script: Script, stdin: Stream) -> Stream:
        """Walk `script` (a substitution's body) with `stdin`; its output stream."""
        raise NotImplementedError

    def nested(
        self,
        code: str,
        frame: Frame,
        *,
        positional: tuple[Arg, ...] | None,
        stdin: Stream,
        share_env: bool = False,
        fresh: bool = False,
        only_forbid: bool = False,
    ) -> Stream:
        """Parse and walk shell code held in a value (`x='$(cmd)'`, arithmetic text)."""
        raise NotImplementedError

    # ---- variables and arithmetic

    def stored_code(self, name: str, values: list[Value], text: str) -> None:
        """`x='$(cmd)'` runs nothing yet, but `${x@P}` or `$((x))` later would run `cmd`."""
        for v in values:
            if v.text is not None and hides_code(v.text):
                self.approve(
                    "stored-code",
                    text,
                    f"stores shell code in ${name}, which bash can run on a later expansion",
                )
                self.nested(v.text, Frame(text), positional=None, stdin=NO_STREAM, only_forbid=True)
                return

    def arith_check(self, word: Word) -> None:
        """Bash evaluates the values of variables in arithmetic as expressions again, so
        `x='a[$(cmd)]'; echo $((x))` runs `cmd`: values must be plain numbers we can see."""
        names: set[str] = set()
        unsafe = False
        for part in word.parts:
            if part.kind == "lit":
                names.update(m.group(1) for m in ARITH_NAME.finditer(part.text))
            elif part.kind == "param":
                names.add(part.text)
            elif part.kind == "cmdsub" and part.script is not None:
                stream = self.substitution(part.script, "")
                unsafe = (
                    unsafe
                    or stream.kind is not StreamKind.STATIC
                    or not is_plain_number(stream.text)
                )
        unsafe = unsafe or any(self.arith_unsafe(name, 4) for name in names)
        if unsafe:
            self.approve(
                "arithmetic",
                self.where or word.raw,
                "evaluates a value only known at run time as arithmetic, "
                "which can run commands hidden in it",
            )

    def arith_as_code(self, word: Word) -> None:
        """`$((true && mkfs /dev/sda))` is arithmetic to bash, but shells disagree on such
        edge cases: if the text would be a forbidden command, refuse it anyway."""
        if re.search(r"[A-Za-z]{2}", word.raw):
            frame = Frame(self.where or word.raw)
            self.nested(word.raw, frame, positional=None, stdin=NO_STREAM, only_forbid=True)

    def arith_unsafe(self, name: str, depth: int) -> bool:
        if name in self.env:
            values = self.env[name]
        elif name.isdigit() and self.positional is not None:
            values = self.lookup(name)
        else:
            return False  # unset, a standard variable or a special parameter: a number
        for v in values:
            if v.text is None:
                return True
            if hides_code(v.text):
                self.stored_code(name, [v], self.where)
                return True
            if not is_plain_number(v.text):
                inner = {m.group(1) for m in ARITH_NAME.finditer(v.text)}
                if (
                    depth <= 0
                    or "[" in v.text
                    or any(self.arith_unsafe(n, depth - 1) for n in inner if n != name)
                ):
                    return True
        return False

    def assignment_vals(self, assignment: shell.Assignment) -> list[Value]:
        if self.loops and _doubles(assignment):
            # The walk reads a loop's body once; bash runs it until memory runs out.
            self.too_complex(
                self.where or assignment.name, "a value that doubles on every pass of a loop"
            )
        if assignment.value is not None:
            return self.word_vals(assignment.value)
        texts: list[str] = []
        unknown: Value | None = None
        for item in assignment.items:
            for v in self.word_vals(item):
                if v.text is None:
                    unknown = v
                else:
                    texts.append(v.text)
        return [unknown] if unknown is not None else [Value(" ".join(texts))]

    def assign(self, name: str, values: list[Value], *, append: bool = False) -> None:
        self.budget.tick()
        new: Iterable[Value] = values
        if append and name in self.env:
            new = self.joined(self.env[name], values, plain=True)
        if self.cond:
            new = itertools.chain(self.env[name] if name in self.env else self.lookup(name), new)
        kept = capped_values(new)
        for v in kept:
            if v.text:
                self.budget.spend(len(v.text))
        self.env[name] = kept

    def lookup(self, name: str) -> list[Value]:
        if name in self.env:
            return list(self.env[name])
        if name.isdigit() or name in ("@", "*"):
            if self.positional is None:
                return [Value(None), Value("", note=f"if ${name} is empty")]
            if name in ("@", "*"):
                args = self.positional[1:]
                if any(a.dynamic for a in args):
                    return [Value(None, taint=max(a.taint for a in args))]
                return [Value(" ".join(a.value for a in args))]
            index = int(name)
            if index < len(self.positional):
                a = self.positional[index]
                if a.dynamic:
                    return [Value(None, taint=a.taint, origin=a.origin)]
                return [Value(a.value, glob=a.glob, note=a.note)]
            return [Value("", note=f"${name} is empty")]
        if name in ("#", "?", "$", "!", "-"):
            return [Value(None)]
        if name == "HOME":
            return [Value("/root"), Value(None)]
        if name == "PWD":
            return [Value(c) for c in self.cwds]
        if name in STANDARD_ENV:
            return [Value(None)]
        return [Value(None), Value("", note=f"if ${name} is unset")]

    def param(self, part: Part) -> list[Value]:
        name, op = part.text, part.op
        # Always evaluate the argument: `${a[$(cmd)]}` and `${x:-$(cmd)}` run `cmd`.
        arg = self.word_vals(part.arg) if part.arg is not None else [Value("")]
        base = self.lookup(name)
        if part.arg is not None and op in ("", ":"):  # a subscript or offset: arithmetic
            self.arith_check(part.arg)
        if op == "" and part.arg is not None:  # an array element: unknown
            return [Value(None)]
        if op == "@" and part.arg is not None and part.arg.literal == "P":
            if any(v.text is None or hides_code(v.text) for v in base):
                for v in base:
                    self.stored_code(name, [v], self.where)
                self.approve(
                    "dynamic-code",
                    self.where,
                    f"expands ${name} as a prompt, which runs any commands in it",
                )
            return [Value(None)]
        if op == "":
            return base
        if op == "length":
            return [Value(None)]
        if op == "indirect":
            return [Value(None), Value("", note=f"if ${{!{name}}} is empty")]
        out: list[Value] = []
        if op in (":-", "-", ":=", "="):
            for v in base:
                if v.text == "":
                    out.extend(
                        replace(d, note=and_phrases(d.note, f"if ${name} is unset")) for d in arg
                    )
                else:
                    out.append(v)
            if op in (":=", "="):
                self.assign(name, out)
        elif op in (":?", "?"):
            out = [v for v in base if v.text != ""] or [Value(None)]
        elif op in (":+", "+"):
            for v in base:
                if v.text != "":
                    out.extend(arg)
                if v.text is None or v.text == "":
                    out.append(Value(""))
        else:
            out = [v if v.text == "" else Value(None, taint=v.taint, origin=v.origin) for v in base]
        return cap_values(dedupe_values(out))

    def pieces(self, part: Part) -> list[Piece]:
        if part.kind == "lit":
            glob = not part.quoted and bool(GLOB_RE.search(part.text))
            return [Piece(part.text, part.quoted, True, glob)]
        if part.kind == "tilde":
            home = "/root" if part.text in ("", "root") else f"/home/{part.text}"
            return [Piece(home, True, True)]
        if part.kind == "param":
            out: list[Piece] = []
            for v in self.param(part):
                expands = not part.quoted and v.text is not None and bool(GLOB_RE.search(v.text))
                glob = v.glob or expands
                out.append(Piece(v.text, part.quoted, False, glob, v.note, v.taint, v.origin))
            return out
        if part.kind in ("cmdsub", "procsub") and part.script is not None:
            stream = self.substitution(part.script, part.op)
            if part.kind == "cmdsub" and stream.kind is StreamKind.STATIC:
                text = stream.text.rstrip("\n")
                glob = not part.quoted and bool(GLOB_RE.search(text))
                return [Piece(text, part.quoted, False, glob, "", StreamKind.STATIC, stream.origin)]
            return [Piece(None, True, False, False, "", stream.kind, stream.origin)]
        if part.arg is not None:  # arithmetic: run its substitutions, the value is a number
            if paren_depth(part.arg.raw) > MAX_ARITH_DEPTH:
                self.too_complex(
                    self.where or part.text,
                    f"{MAX_ARITH_DEPTH} levels of parentheses in arithmetic",
                )
            self.word_vals(part.arg)
            self.arith_check(part.arg)
            self.arith_as_code(part.arg)
        return [Piece(None, part.quoted, False)]

    def substitution(self, script: Script, direction: str) -> Stream:
        self.budget.tick()
        key = id(script)
        cached = self.sub_cache.get(key)
        if cached is not None:
            return cached
        self.keep.append(script)
        saved = self.cwds
        stdin = NO_STREAM
        if direction == ">":
            stdin = Stream(max(StreamKind.OTHER, self.out_stdin.kind), "", self.out_stdin.origin)
        outer_stdin = self.out_stdin
        self.cond += 1
        out = self.script(script, stdin)
        self.cond -= 1
        self.cwds = saved
        self.out_stdin = outer_stdin
        out = replace(out, origin=join_origins(out.origin, script.text))
        self.sub_cache[key] = out
        return out

    def word_vals(self, word: Word) -> list[Value]:
        """The possible values of `word` as one string each (no field splitting)."""
        self.budget.tick()
        combos = [Value("")]
        for part in word.parts:
            pieces = [Value(p.text, p.glob, p.note, p.taint, p.origin) for p in self.pieces(part)]
            combos = capped_values(self.joined(combos, pieces))
        for v in combos:
            if v.text:
                self.budget.spend(len(v.text))
        return combos

    def joined(
        self, heads: list[Value], tails: list[Value], *, plain: bool = False
    ) -> Iterator[Value]:
        """Every head followed by every tail, built lazily, each checked against the limits
        (`plain`: text and glob only, as `x+=` stores them)."""
        held = 0
        for c in heads:
            for p in tails:
                text = None if c.text is None or p.text is None else c.text + p.text
                if text is not None:
                    self.budget.value(len(text))
                    held += len(text)
                    self.budget.step(held)
                if plain:
                    yield Value(text, c.glob or p.glob)
                    continue
                yield Value(
                    text,
                    c.glob or p.glob,
                    and_phrases(c.note, p.note),
                    max(c.taint, p.taint),
                    join_origins(c.origin, p.origin),
                )

    def expand_word(self, word: Word) -> list[list[Arg]]:
        """The possible expansions of `word`, each a list of fields (arguments)."""
        self.budget.tick()
        if word.parts and word.unquoted_literal:
            text = word.literal or ""
            values = self.brace_expand(text) if "{" in text else [text]
            for v in values:
                self.budget.spend(len(v))
            return [[Arg(v, word.raw, glob=bool(GLOB_RE.search(v))) for v in values]]
        sequences: list[list[Piece]] = [[]]
        for part in word.parts:
            pieces = self.pieces(part)
            if len(pieces) == 1:  # the usual case: no copies, so long words stay linear
                for s in sequences:
                    s.append(pieces[0])
                continue
            sequences = [[*s, p] for s in sequences for p in pieces]
            if len(sequences) > MAX_ALTERNATIVES:  # keep an unknown stand-in for what was cut off
                sequences = [*sequences[: MAX_ALTERNATIVES - 1], [Piece(None, True, False)]]
        return [self.fields(seq, word) for seq in sequences]

    def brace_expand(self, text: str) -> list[str]:
        """Bash's brace expansion of `text`, all of it or a finding: a silently shortened
        list would hide the words past the cut (`cat /etc/{x1,…,x300,shadow}`)."""
        for m in _BRACE_RANGE.finditer(text):
            first, last, step = m.group(1), m.group(2), m.group(3) or "1"
            if max(len(first), len(last), len(step)) > 18:
                raise TooComplex(f"{MAX_BRACE_WORDS} words from one brace expansion")
            self.budget.braces(abs(int(last) - int(first)) // (abs(int(step)) or 1) + 1)
        self.budget.brace_text(text)
        try:
            values = shell.brace_expand(text, MAX_BRACE_WORDS + 1)
        except RecursionError:
            raise TooComplex("braces nested too deeply") from None
        self.budget.braces(len(values))
        return values

    def ifs(self) -> str:
        values = self.env.get("IFS")
        if values and len(values) == 1 and values[0].text is not None:
            return values[0].text
        return " \t\n"

    def fields(self, sequence: list[Piece], word: Word) -> list[Arg]:
        ifs = self.ifs()
        splitter = re.compile(f"[{re.escape(ifs)}]+") if ifs else None
        out: list[Arg] = []
        text: list[str] = []
        state = {"dyn": False, "glob": False, "keep": False}
        meta = {"note": "", "origin": ""}
        taint = [StreamKind.NONE]

        def flush() -> None:
            value = "".join(text)
            if state["keep"] or state["dyn"] or value:
                self.budget.spend(len(value))
                dynamic = state["dyn"]
                out.append(
                    Arg(
                        word.raw if dynamic else value,
                        word.raw,
                        dynamic,
                        state["glob"] and not dynamic,
                        meta["note"],
                        taint[0],
                        meta["origin"],
                    )
                )
            text.clear()
            state.update(dyn=False, glob=False, keep=False)

        for piece in sequence:
            meta["note"] = and_phrases(meta["note"], piece.note)
            meta["origin"] = join_origins(meta["origin"], piece.origin)
            taint[0] = max(taint[0], piece.taint)
            if piece.text is None:
                state["dyn"] = True
                state["keep"] = True
                continue
            if piece.quoted or piece.literal:
                text.append(piece.text)
                state["keep"] = state["keep"] or piece.quoted or bool(piece.text)
                state["glob"] = state["glob"] or piece.glob
                continue
            chunks = splitter.split(piece.text) if splitter else [piece.text]
            for k, chunk in enumerate(chunks):
                if k:
                    flush()
                text.append(chunk)
                if chunk:
                    state["keep"] = True
                    state["glob"] = state["glob"] or piece.glob
        flush()
        return out

    def expand_words(self, words: tuple[Word, ...]) -> tuple[list[tuple[Arg, ...]], bool]:
        """The argument lists of one simple command (the walker's one way to read its words).

        Each list is built as a chain of shared prefixes and joined once at the end, so 64
        lists of 5,000 words cost 64 × 5,000, not a copy of every list at every word."""
        self.budget.command()
        variants: list[_Prefix | None] = [None]
        truncated = False
        for word in words:
            alternatives = self.expand_word(word)
            new = [
                _Prefix(v, a, (v.length if v else 0) + len(a))
                for v in variants
                for a in alternatives
            ]
            if len(new) > MAX_VARIANTS:
                truncated = True
                new = new[:MAX_VARIANTS]
            variants = list(new)
            self.budget.args(max((v.length for v in new), default=0))
        return [_joined(v) for v in variants], truncated


def _doubles(assignment: shell.Assignment) -> bool:
    """`a=$a$a` or `a+=$a`: the variable at least doubles each time this runs."""
    if assignment.value is None:
        return False
    name = assignment.name
    uses = sum(p.kind == "param" and p.text == name for p in assignment.value.parts)
    return uses >= 2 or (assignment.append and uses >= 1)


class _Prefix(NamedTuple):
    """The first words of an argument list: what came before, then these arguments."""

    before: _Prefix | None
    args: list[Arg]
    length: int


def _joined(prefix: _Prefix | None) -> tuple[Arg, ...]:
    chunks: list[list[Arg]] = []
    while prefix is not None:
        chunks.append(prefix.args)
        prefix = prefix.before
    return tuple(arg for chunk in reversed(chunks) for arg in chunk)
