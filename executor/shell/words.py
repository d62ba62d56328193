"""Reading one shell word: quotes, escapes, `$` expansions, backquotes, globs.

Words hold whole scripts (`$(...)`, `<(...)`, backquotes), so the reader calls back into the
grammar through two methods the parser provides; it never imports the parser.
"""

from __future__ import annotations

import re

from executor.shell.cursor import NAME_RE, Cursor, PartsBuilder, ShellSyntaxError
from executor.shell.expansions import decode_escapes
from executor.shell.nodes import Part, Script, Word

_PARAM_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-]")
_PARAM_OP_RE = re.compile(r":-|:=|:\?|:\+|-|=|\?|\+|##|#|%%|%|//|/#|/%|/|\^\^|\^|,,|,|:|@")
_TILDE_RE = re.compile(r"~([+-]\d*|[A-Za-z0-9._-]*)(?=/|$|[ \t\n;&|()<>])")


class WordReader(Cursor):
    """Reads words at the cursor; the grammar (`Parser`) supplies the scripts inside them."""

    # ---- what the grammar provides

    def parse_list(self, stops: frozenset[str], *, top: bool = False) -> Script:
        """A command list up to one of `stops`: what `$(...)` and `<(...)` hold."""
        raise NotImplementedError

    def parse_nested(self, source: str) -> Script:
        """A whole script in a text of its own (a backquote's body), one level deeper."""
        raise NotImplementedError

    # ---- words

    def read_word(self) -> Word | None:
        start = self.pos
        parts = PartsBuilder()
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

    def read_squote(self, parts: PartsBuilder) -> None:
        j = self.src.find("'", self.pos + 1)
        if j < 0:
            if not self.lenient:
                raise self.error("unclosed single quote")
            j = self.n
        parts.lit(self.src[self.pos + 1 : j], True)
        self.pos = min(j + 1, self.n)

    def read_dquote(self, parts: PartsBuilder) -> None:
        self.pos += 1
        parts.lit("", True)  # "" is still a (quoted, empty) word
        self.read_dq_content(parts, heredoc=False)

    def read_dq_content(self, parts: PartsBuilder, *, heredoc: bool) -> None:
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

    def read_ansi_c(self, parts: PartsBuilder) -> None:
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

    def read_dollar(self, parts: PartsBuilder, *, quoted: bool) -> None:
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
        m = NAME_RE.match(src, self.pos + 1)
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

    def read_braced_param(self, parts: PartsBuilder, *, quoted: bool) -> None:
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
        parts = PartsBuilder()
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
        parts = PartsBuilder()
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

    def read_backtick(self, parts: PartsBuilder, *, in_dquote: bool) -> None:
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
            script = self.parse_nested(inner)
        except ShellSyntaxError as exc:
            raise ShellSyntaxError(f"{exc.message} inside backquotes", start) from exc
        parts.add(Part("cmdsub", src[start : self.pos], quoted=in_dquote, script=script))

    def read_procsub(self, parts: PartsBuilder) -> None:
        src = self.src
        start = self.pos
        direction = src[self.pos]
        self.pos += 2
        script = self.parse_list(frozenset({")"}))
        self.expect_close(")", f"unclosed '{direction}('")
        parts.add(Part("procsub", src[start : self.pos], False, op=direction, script=script))

    def read_extglob(self, parts: PartsBuilder) -> None:
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
