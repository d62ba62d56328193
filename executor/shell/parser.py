"""The shell grammar: lists, pipelines, compound commands, simple commands, here-documents.

A hand-written recursive-descent parser over a careful subset of bash. Whatever it cannot read
raises `ShellSyntaxError`, so the policy can fail closed instead of guessing; `lenient=True` asks
for a best-effort tree anyway (unclosed quotes and groups are closed at the end of the input).
"""

from __future__ import annotations

import re
from dataclasses import replace

from executor.shell.cursor import NAME_RE, REDIRECT_RE, PartsBuilder, ShellSyntaxError
from executor.shell.nodes import (
    AndOr,
    Assignment,
    Case,
    CaseArm,
    Command,
    For,
    FunctionDef,
    Group,
    If,
    Loop,
    Part,
    Pipeline,
    Redirect,
    Script,
    SimpleCommand,
    TestExpr,
    Word,
)
from executor.shell.words import WordReader

_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=")
_FUNCDEF_PARENS = re.compile(r"\([ \t]*\)")
_TEST_OP_RE = re.compile(r"&&|\|\||[<>()!|&]")
_DECLARATIONS = frozenset({"declare", "typeset", "local", "export", "readonly"})


def parse(source: str, *, lenient: bool = False) -> Script:
    """Parse `source` as a shell script; raise ShellSyntaxError if it can't be read reliably."""
    return Parser(source, lenient=lenient, depth=0).parse()


class Parser(WordReader):
    """The grammar over the cursor; words are read by `WordReader`."""

    def parse_nested(self, source: str) -> Script:
        return Parser(source, lenient=self.lenient, depth=self.depth + self.nest + 1).parse()

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
            start = self.pos
            self.pos += len("coproc")
            self.skip_blanks()
            m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[ \t]+(?=[{(])").match(self.src, self.pos)
            if m:
                self.pos = m.end()
            inner = self.parse_command()
            text = self.src[start : self.pos].strip()
            body = Script((AndOr(Pipeline((inner,), False, text), (), False, text),), text)
            return Group(body, True, (), text, coproc=True)
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
        m = NAME_RE.match(self.src, self.pos)
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
        listed = None if items is None else tuple(items)
        return For(var, listed, body, None, redirects, text, select=keyword == "select")

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
        m = REDIRECT_RE.match(self.src, self.pos)
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
        sub = Parser(body, lenient=self.lenient, depth=self.depth + self.nest + 1)
        parts = PartsBuilder()
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
