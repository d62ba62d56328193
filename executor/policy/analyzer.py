"""The walker: every simple command a shell would run, in pipes, lists, subshells,
substitutions, here-documents, `sh -c` strings and wrappers, with what flows between them.

It records findings (forbid/approve) and facts (what runs, and whether it only reads). What a
wrapper does and what each command risks are registered elsewhere (`wrappers`, `interpreters`,
`checks`) and handed in, so this module does not depend on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TypeAlias

from executor import shell
from executor.policy.config import PolicyConfig
from executor.policy.constructs import (
    Finding,
    builtin_finding,
    compound_findings,
    reason,
    simple_findings,
)
from executor.policy.embedded import embedded_code
from executor.policy.expansion import MAX_VARIANTS, Expander
from executor.policy.forkbombs import is_fork_bomb_function, is_spawn_loop
from executor.policy.hazards import env_hit, service_hits, write_hits
from executor.policy.knowledge import (
    ASSIGN_ARG,
    CODE_ENV,
    FORK_RE,
    HARMLESS_SINKS,
    LOOP_RE,
    METADATA_ONLY,
    NAME_RE,
    NAME_TAKERS,
    REVERSE_SHELL_RE,
    RMTREE_RE,
    SHELL_SPAWN_RE,
    STANDARD_ENV,
    STRING_RE,
)
from executor.policy.output import command_output
from executor.policy.patterns import match_words
from executor.policy.readonly import readonly_problem
from executor.policy.registry import Registry
from executor.policy.state import Check
from executor.policy.values import (
    FORBID,
    NO_STREAM,
    OTHER_STREAM,
    Arg,
    Frame,
    Hit,
    Piece,
    Stream,
    StreamKind,
    Value,
    cap_values,
    dedupe_values,
    frame_problem,
    hides_code,
    join_origins,
    join_streams,
    normalize_path,
)
from executor.shell import (
    AndOr,
    Case,
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
    ShellSyntaxError,
    SimpleCommand,
    TestExpr,
    Word,
)

MAX_CODE_DEPTH = 8
"""Deepest nesting of code in code (`sh -c "eval '...'"`) that is checked, not refused."""
MAX_WRAPPERS = 16
"""Longest chain of wrappers (`sudo env nice timeout ...`) that is checked."""


class Analyzer(Expander):
    """Walks a parsed script, collecting findings (forbid/approve) and the commands it runs.

    Commands that run other commands (sudo, env, xargs, sh -c...) are handed to `handlers`;
    each command's forbid-list checks come from `checks`. Both are looked up by name.
    """

    def __init__(
        self, cfg: PolicyConfig, handlers: Registry[Handler], checks: Registry[Check]
    ) -> None:
        super().__init__(cfg)
        self.handlers = handlers
        self.checks = checks

    def pieces(self, part: Part) -> list[Piece]:
        """`~+` is $PWD and `~-` is $OLDPWD, not the homes of users `+` and `-`:
        `cd / && rm -rf ~+/*` deletes everything under /."""
        if part.kind == "tilde" and part.text[:1] in ("+", "-"):
            values = self.lookup("PWD") if part.text == "+" else [Value(None)]
            return [Piece(v.text, True, v.text is not None) for v in values]
        return super().pieces(part)

    # ---- scripts and compound commands

    def run(self, script: Script) -> None:
        self.script(script, NO_STREAM)

    def script(self, script: Script, stdin: Stream) -> Stream:
        out = NO_STREAM
        for item in script.items:
            out = join_streams(out, self.and_or(item, stdin))
        return out

    def and_or(self, ao: AndOr, stdin: Stream) -> Stream:
        saved = self.cwds
        steps = [("", ao.first), *ao.rest]
        out = NO_STREAM
        if ao.background:
            self.cond += 1
        for idx, (op, pipeline) in enumerate(steps):
            if op:
                self.cond += 1
            self.last_cd = None
            out = join_streams(out, self.pipeline(pipeline, stdin))
            if op:
                self.cond -= 1
            cd, self.last_cd = self.last_cd, None
            if cd is not None and len(pipeline.commands) == 1:
                following = steps[idx + 1][0] if idx + 1 < len(steps) else ";"
                self.cwds = cd if following == "&&" else self.cwds | cd
        if ao.background:
            self.cond -= 1
            self.cwds = saved
        return out

    def pipeline(self, pipeline: Pipeline, stdin: Stream) -> Stream:
        saved, saved_text = self.cwds, self.pipe_text
        if len(pipeline.commands) > 1:
            self.pipe_text = pipeline.text
        stream = stdin
        for command in pipeline.commands:
            stream = self.command(command, stream)
        self.pipe_text = saved_text
        if len(pipeline.commands) > 1:
            self.cwds = saved
            self.last_cd = None
        return stream

    def command(self, command: Command, stdin: Stream) -> Stream:
        self.budget.tick()
        if isinstance(command, SimpleCommand):
            return self.simple(command, stdin)
        for finding in compound_findings(command):
            name = command.name if isinstance(command, FunctionDef) else ""
            shadows = bool(name) and self.is_command_name(name)
            self.construct(
                finding._replace(hides_code=finding.hides_code or shadows), command.text, name
            )
        if isinstance(command, FunctionDef):
            if is_fork_bomb_function(command):
                self.forbid(
                    "fork-bomb",
                    command.text,
                    "is a fork bomb: it keeps copying itself until the machine freezes",
                )
            self.cond += 1
            self.command(command.body, NO_STREAM)
            self.cond -= 1
            return NO_STREAM
        stdin = self.compound_redirects(command.redirects, command.text, stdin)
        saved = self.cwds
        out = NO_STREAM
        if isinstance(command, Group):
            out = self.script(command.body, stdin)
            if command.subshell:
                self.cwds = saved
            return out
        self.cond += 1
        if isinstance(command, If):
            for cond, body in command.clauses:
                out = join_streams(out, self.script(cond, stdin))
                out = join_streams(out, self.script(body, stdin))
            if command.orelse is not None:
                out = join_streams(out, self.script(command.orelse, stdin))
        elif isinstance(command, Loop):
            if is_spawn_loop(command.condition, command.body, command.until):
                self.forbid(
                    "fork-bomb",
                    command.text,
                    "is a fork bomb: an endless loop that keeps starting background processes",
                )
            self.loops += 1
            out = join_streams(
                self.script(command.condition, stdin), self.script(command.body, stdin)
            )
            self.loops -= 1
        elif isinstance(command, For):
            self.loops += 1
            out = self.for_loop(command, stdin)
            self.loops -= 1
        elif isinstance(command, Case):
            self.word_vals(command.word)
            for arm in command.arms:
                for pattern in arm.patterns:
                    self.word_vals(pattern)
                out = join_streams(out, self.script(arm.body, stdin))
        elif isinstance(command, TestExpr):
            saved_where, self.where = self.where, command.text
            operators = {w.literal for w in command.words}
            for word in command.words:
                self.word_vals(word)
                literal = word.literal
                if literal is not None and hides_code(literal):
                    self.stored_code("the test", [Value(literal)], command.text)
            if command.arith or operators & {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}:
                for word in command.words:
                    self.arith_check(word)
            if command.arith:
                self.arith_as_code(command.words[0])
            elif operators & {"<", ">"}:
                # Only bash's `[[` compares with them; in any other shell they redirect.
                self.fact(
                    (), command.text, "compares strings with < or >, which redirect outside bash"
                )
            self.where = saved_where
        self.cond -= 1
        self.cwds = saved | self.cwds
        return out

    def for_loop(self, command: For, stdin: Stream) -> Stream:
        if command.header is not None:
            self.word_vals(command.header)
            header = command.header.raw
            if re.fullmatch(r"[^;]*;\s*;[^;]*", header) and is_spawn_loop(
                None, command.body, False
            ):
                self.forbid(
                    "fork-bomb",
                    command.text,
                    "is a fork bomb: an endless loop that keeps starting background processes",
                )
        if command.var:
            if command.items is None:
                values = [Value(None), Value("", note=f"if ${command.var} is empty")]
            else:
                values = []
                for word in command.items:
                    for alternative in self.expand_word(word):
                        for arg in alternative:
                            values.append(
                                Value(None, taint=arg.taint, origin=arg.origin)
                                if arg.dynamic
                                else Value(arg.value, glob=arg.glob, note=arg.note)
                            )
            self.cond -= 1  # the loop itself always assigns its variable
            self.assign(command.var, cap_values(dedupe_values(values)) or [Value("")])
            self.cond += 1
        return self.script(command.body, stdin)

    def compound_redirects(
        self, redirects: tuple[Redirect, ...], text: str, stdin: Stream
    ) -> Stream:
        if not redirects:
            return stdin
        frame = Frame(text)
        for redirect in redirects:
            stdin = self.redirect(redirect, frame, stdin)
        if frame.writes or frame.secret_input or frame.net:
            self.fact((), text, frame_problem(frame))
        return stdin

    def simple(self, command: SimpleCommand, stdin: Stream) -> Stream:
        saved, self.where = self.where, command.text
        try:
            return self.simple_command(command, stdin)
        finally:
            self.where = saved

    def simple_command(self, command: SimpleCommand, stdin: Stream) -> Stream:
        frame = Frame(command.text)
        self.out_stdin = stdin
        for assignment in command.assignments:
            values = self.assignment_vals(assignment)
            self.stored_code(assignment.name, values, command.text)
            if command.words:
                self.command_env(assignment.name, values, frame)
            else:
                self.assign(assignment.name, values, append=assignment.append)
                if self.shell_variable(assignment.name):
                    self.fact((), command.text, f"changes {assignment.name}")
        for finding in simple_findings(command):
            self.construct(finding, command.text)
        redirected = False
        for redirect in command.redirects:
            before = stdin
            stdin = self.redirect(redirect, frame, stdin)
            redirected = redirected or stdin is not before
        if not command.words:
            if frame.writes or frame.secret_input:
                self.fact((), command.text, frame_problem(frame))
            return stdin if redirected else NO_STREAM
        variants, truncated = self.expand_words(command.words)
        if truncated:
            self.too_complex(command.text, f"{MAX_VARIANTS} ways to expand one command")
        out = NO_STREAM
        for argv in variants:
            if argv:
                out = join_streams(out, self.run_argv(argv, frame, stdin, 0))
        return out

    def redirect(self, redirect: Redirect, frame: Frame, stdin: Stream) -> Stream:
        op = redirect.op
        if op in ("<<", "<<-"):
            body = redirect.heredoc or Word((), "")
            return self.vals_stream(self.word_vals(body), frame.text)
        if op == "<<<":
            vals = [
                v if v.text is None else replace(v, text=v.text + "\n")
                for v in self.word_vals(redirect.target)
            ]
            return self.vals_stream(vals, frame.text)
        literal = redirect.target.literal
        duplicates_fd = literal is not None and (literal.rstrip("-").isdigit() or literal == "-")
        if op in (">&", "<&") and duplicates_fd:
            return stdin
        targets = [a for alternative in self.expand_word(redirect.target) for a in alternative]
        if op in ("<", "<&"):
            return self.input_stream(targets, frame)
        for target in targets:
            self.write_target(target, frame, append=op in (">>", "&>>"))
        if op == "<>":
            return self.input_stream(targets, frame)
        return stdin

    def vals_stream(self, vals: list[Value], text: str) -> Stream:
        if all(v.text is not None for v in vals):
            return Stream(StreamKind.STATIC, "".join(v.text or "" for v in vals)[:50_000], text)
        taint = max((v.taint for v in vals), default=StreamKind.NONE)
        origin = ""
        for v in vals:
            origin = join_origins(origin, v.origin)
        return Stream(max(taint, StreamKind.OTHER), "", join_origins(origin, text))

    def input_stream(self, targets: list[Arg], frame: Frame) -> Stream:
        out = NO_STREAM
        for target in targets:
            if target.dynamic:
                out = join_streams(
                    out, Stream(max(target.taint, StreamKind.OTHER), "", target.origin)
                )
                continue
            for path in self.resolve(target):
                if path == "/dev/null":
                    out = join_streams(out, Stream(StreamKind.STATIC, "", frame.text))
                elif path is not None and path.startswith(("/dev/tcp/", "/dev/udp/")):
                    frame.net = True
                    out = join_streams(out, Stream(StreamKind.DOWNLOAD, "", frame.text))
                else:
                    if path is not None and self.is_secret(path, target.glob):
                        frame.secret_input = path
                    out = join_streams(out, Stream(StreamKind.OTHER, "", frame.text))
        return out if out.kind is not StreamKind.NONE else OTHER_STREAM

    def write_target(self, target: Arg, frame: Frame, *, append: bool = False) -> None:
        if target.dynamic:
            frame.writes.append(target.raw)
            return
        for path in self.resolve(target):
            if path is None:
                frame.writes.append(target.value)
                continue
            if path.startswith(("/dev/tcp/", "/dev/udp/")):
                frame.net = True
            self.hit(frame.text, write_hits(path, target, append=append))
            if path not in HARMLESS_SINKS and not path.startswith("/dev/fd/"):
                frame.writes.append(path)

    # ---- running one argv

    def run_argv(self, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int) -> Stream:
        if depth > MAX_WRAPPERS:
            self.too_complex(frame.text, f"{MAX_WRAPPERS} nested command wrappers")
            return OTHER_STREAM
        head = argv[0]
        if head.dynamic:
            return self.dynamic_head(argv, frame, stdin)
        path = head.value
        name = path.rsplit("/", 1)[-1]
        if re.match(r"/etc/(?:rc\.d/)?init\.d/", path):
            self.hit(frame.text, service_hits(name, argv[1] if len(argv) > 1 else None))
            self.fact(argv, frame.text, "controls a system service")
            return OTHER_STREAM
        handler = self.handlers.lookup(name)
        if handler is not None:
            return handler(self, name, argv, frame, stdin, depth)
        return self.leaf(name, argv, frame, stdin)

    def dynamic_head(self, argv: tuple[Arg, ...], frame: Frame, stdin: Stream) -> Stream:
        head = argv[0]
        if head.taint is StreamKind.DOWNLOAD:
            self.forbid(
                "download-exec", frame.text, "runs a command fetched from the network unseen"
            )
        elif head.taint is StreamKind.DECODED:
            self.forbid("decode-exec", frame.text, "runs a command hidden behind an encoding")
        else:
            self.approve(
                "dynamic-command",
                frame.text,
                f"runs a command whose name is only known at run time ({head.raw})",
            )
        for guess in ("rm", "chmod", "chown", "chgrp", "dd", "shred"):
            guessed = (replace(head, value=guess, dynamic=False), *argv[1:])
            for verdict, rule, what in self.destructive(guess, guessed, frame, stdin):
                if verdict is FORBID:
                    self.forbid(
                        rule,
                        frame.text,
                        f"runs a command chosen at run time ({head.raw}); as `{guess}` it {what}",
                    )
        for k, a in enumerate(argv[1:-1], start=1):
            code = argv[k + 1]
            if re.fullmatch(r"-[a-z]*c", a.value) and not a.dynamic and not code.dynamic:
                self.nested(code.value, frame, positional=None, stdin=NO_STREAM, only_forbid=True)
        self.fact(argv, frame.text, "runs a command whose name is only known at run time")
        return Stream(max(StreamKind.OTHER, stdin.kind), "", join_origins(stdin.origin, frame.text))

    def leaf(self, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream) -> Stream:
        self.hit(frame.text, self.destructive(name, argv, frame, stdin))
        if name == "trap" and len(argv) > 2 and not argv[1].value.startswith("-"):
            self.code_arg(argv[1], frame, "shell", positional=self.positional, stdin=NO_STREAM)
        for code in embedded_code(name, argv, stdin):
            self.nested(code, frame, positional=None, stdin=NO_STREAM, only_forbid=True)
        values = [(a.value, a.dynamic) for a in argv]
        for words, rule in self.forbidden:
            if match_words(words, values):
                self.forbid(f"custom:{rule.pattern}", frame.text, rule.reason)
        if name in NAME_TAKERS:  # `printf -v 'a[$(cmd)]'` and `test -v` evaluate subscripts
            for a in argv[1:]:
                if not a.dynamic and hides_code(a.value):
                    self.stored_code(a.value.split("[", 1)[0], [Value(a.value)], frame.text)
        if name == "let":  # never read-only; its static expressions may still hide code
            for a in argv[1:]:
                if not a.dynamic:
                    self.arith_check(Word((Part("lit", a.value),), a.raw))
        if name in ("cd", "pushd"):
            self.change_dir(argv)
        self.declarations(name, argv)
        problem = readonly_problem(
            name, argv, frame, self.cfg.readonly, self.resolve, self.is_secret
        )
        if problem is None:
            problem = self.recursive_secret(name, argv)
        builtin = builtin_finding(name, [a.value for a in argv[1:]])
        if builtin is not None:
            problem = reason(builtin)
            if builtin.hides_code:
                self.construct(builtin, frame.text)
        self.fact(argv, frame.text, problem)
        return command_output(name, argv, stdin, frame)

    def command_env(self, name: str, values: list[Value], frame: Frame) -> None:
        """`NAME=value cmd` (or `env NAME=value cmd`): only a small harmless set keeps `cmd`
        read-only; variables that load or run code (BASH_ENV, LD_PRELOAD, PATH...) need a
        person whatever `cmd` is."""
        for v in values or [Value("")]:
            hit = env_hit(name, v.text)
            if hit is None:
                continue
            what, loads_code = hit
            frame.env_problem = frame.env_problem or what
            if loads_code:
                self.approve("environment", frame.text, what)
            self.fact((), frame.text, what)
            return

    def shell_variable(self, name: str) -> bool:
        """Whether assigning `name` alone changes later commands: it is exported already
        (the host's env, the standard ones) or bash reads it (PATH, IFS, PS4...)."""
        exported = {n for n, _ in self.cfg.env}
        return bool(CODE_ENV.fullmatch(name)) or name in exported or name in STANDARD_ENV

    def recursive_secret(self, name: str, argv: tuple[Arg, ...]) -> str | None:
        """`grep -r token /srv`: a recursive read of a directory that holds Chavion's own
        secrets (its data dir) reads them too."""
        if not self.secret_paths or name in METADATA_ONLY:
            return None
        flags = [a.value for a in argv[1:] if not a.dynamic and a.value.startswith("-")]
        recursive = name in ("rg", "ag", "ack") or any(
            f in ("--recursive", "--dereference-recursive")
            or re.fullmatch(r"-[A-Za-z]*[rR][A-Za-z]*", f) is not None
            for f in flags
        )
        if not recursive:
            return None
        for a in argv[1:]:
            if a.value.startswith("-") and not a.dynamic:
                continue
            for path in self.resolve(a):
                if path is not None and any(
                    s == path or s.startswith(path.rstrip("/") + "/") for s in self.secret_paths
                ):
                    return f"searches {a.value} recursively, which holds Chavion's secrets"
        return None

    def construct(self, finding: Finding, text: str, name: str = "") -> None:
        """An unmodelled construct: never read-only, and approval where it can hide code."""
        why = reason(finding, name)
        if finding.hides_code:
            self.approve(f"unmodelled:{finding.key}", text, why)
        self.fact((), text, why)

    def is_command_name(self, name: str) -> bool:
        """Whether `name` is a command the policy knows (read-only, wrapper or checked)."""
        return (
            self.handlers.lookup(name) is not None
            or self.checks.lookup(name) is not None
            or any(rule.prefix[0] == name for rule in self.cfg.readonly)
        )

    def change_dir(self, argv: tuple[Arg, ...]) -> None:
        args = [
            a for a in argv[1:] if a.dynamic or not (a.value.startswith("-") and a.value != "-")
        ]
        if not args:
            self.last_cd = frozenset({"/root"})
            return
        target = args[0]
        if target.dynamic or target.value == "-" or target.glob:
            self.last_cd = frozenset({None})
        else:
            self.last_cd = frozenset(self.resolve(target)) or frozenset({None})

    def declarations(self, name: str, argv: tuple[Arg, ...]) -> None:
        args = argv[1:]
        if name in ("export", "declare", "typeset", "local", "readonly"):
            exports = name == "export" or any(
                re.fullmatch(r"-[a-zA-Z]*x[a-zA-Z]*", a.value) for a in args if not a.dynamic
            )
            for a in args:
                m = ASSIGN_ARG.match(a.raw if a.dynamic else a.value)
                if m is None:
                    continue
                hit = env_hit(m.group(1), None if a.dynamic else m.group(3))
                if exports and hit is not None and hit[1]:  # `export PATH=/tmp; ls`
                    self.approve(
                        "environment",
                        self.where or a.raw,
                        f"exports {m.group(1)}, "
                        "which can make every later command load or run other code",
                    )
                values = [Value(None if a.dynamic else m.group(3))]
                self.stored_code(m.group(1), values, " ".join(x.raw for x in argv))
                self.assign(m.group(1), values)
        elif name in ("read", "mapfile", "readarray"):
            for a in args:
                if not a.dynamic and NAME_RE.fullmatch(a.value):
                    self.assign(a.value, [Value(None)])
        elif name == "unset":
            for a in args:
                if not a.dynamic and NAME_RE.fullmatch(a.value):
                    self.env[a.value] = [Value("", note=f"since {a.value} was unset")]
        elif name == "printf" and len(args) >= 2 and args[0].value == "-v" and not args[1].dynamic:
            self.assign(args[1].value, [Value(None)])

    # ---- code: sh -c, eval, interpreters, stdin

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
        if self.depth >= MAX_CODE_DEPTH:
            self.too_complex(frame.text, f"{MAX_CODE_DEPTH} levels of code in code")
            return OTHER_STREAM
        try:
            script = shell.parse(code)
        except ShellSyntaxError as exc:
            if not only_forbid:
                self.approve(
                    "unparseable",
                    frame.text,
                    f"runs shell code that can't be parsed reliably ({exc.message})",
                )
            try:
                script = shell.parse(code, lenient=True)
            except ShellSyntaxError:
                return OTHER_STREAM
        self.keep.append(script)
        sub = self.child(
            positional=positional, share_env=share_env, fresh=fresh, only_forbid=only_forbid
        )
        sub.context = self.context or frame.text
        return sub.script_via(script, stdin, frame.via) if frame.via else sub.script(script, stdin)

    def script_via(self, script: Script, stdin: Stream, via: str) -> Stream:
        """Run `script` with every command marked as running through `via` (sudo, ssh...)."""
        before = len(self.facts)
        out = self.script(script, stdin)
        for k in range(before, len(self.facts)):
            fact = self.facts[k]
            if fact.problem is None:
                self.facts[k] = replace(fact, problem=f"runs through {via}")
        return out

    def code_arg(
        self,
        arg: Arg,
        frame: Frame,
        label: str,
        *,
        positional: tuple[Arg, ...] | None,
        stdin: Stream,
        share_env: bool = False,
    ) -> Stream:
        if arg.dynamic:
            return self.dynamic_code(arg, frame, label)
        return self.nested(
            arg.value, frame, positional=positional, stdin=stdin, share_env=share_env
        )

    def dynamic_code(self, arg: Arg, frame: Frame, label: str) -> Stream:
        self.procsub_code(arg, frame)
        if arg.taint is StreamKind.DOWNLOAD:
            self.forbid("download-exec", frame.text, "runs code downloaded from the network unseen")
        elif arg.taint is StreamKind.DECODED:
            self.forbid("decode-exec", frame.text, "decodes hidden code and runs it")
        else:
            self.approve(
                "dynamic-code",
                frame.text,
                f"runs {label} code that is only known at run time ({arg.raw})",
            )
        self.fact((), frame.text, f"runs {label} code that can't be checked")
        return OTHER_STREAM

    def procsub_code(self, arg: Arg, frame: Frame) -> None:
        """`bash <(echo rm -rf /)`: code read from a process substitution whose output is
        known is judged like `sh -c` code for forbidden commands."""
        m = re.fullmatch(r"<\((.*)\)", arg.raw, re.S)
        if m is None or arg.taint is not StreamKind.STATIC:
            return
        try:
            script = shell.parse(m.group(1))
        except ShellSyntaxError:
            return
        self.keep.append(script)
        stream = self.substitution(script, "<")
        if stream.kind is StreamKind.STATIC:
            self.nested(stream.text, frame, positional=None, stdin=NO_STREAM, only_forbid=True)

    def stdin_code(self, stdin: Stream, frame: Frame, label: str, *, shell_like: bool) -> Stream:
        kind = stdin.kind
        if self.pipe_text and kind is not StreamKind.NONE:
            frame = replace(frame, text=self.pipe_text)
        if kind is StreamKind.DOWNLOAD:
            self.forbid(
                "download-exec",
                frame.text,
                f"pipes code downloaded from the network straight into {label}",
            )
        elif kind is StreamKind.DECODED:
            self.forbid("decode-exec", frame.text, f"decodes hidden code and pipes it into {label}")
        elif kind is StreamKind.STATIC:
            if shell_like:
                self.nested(stdin.text, frame, positional=None, stdin=NO_STREAM)
            else:
                self.scan_code(stdin.text, frame)
        elif kind is StreamKind.OTHER:
            self.approve(
                "pipe-to-shell",
                frame.text,
                f"feeds its input to {label}, so the code it runs can't be checked",
            )
        else:
            self.approve("interactive", frame.text, f"starts an interactive {label}")
        self.fact((), frame.text, f"feeds commands to {label}")
        return OTHER_STREAM

    def scan_code(self, code: str, frame: Frame) -> None:
        """Look inside another language's code for shell commands and classic fork bombs."""
        if FORK_RE.search(code) and LOOP_RE.search(code):
            self.forbid(
                "fork-bomb", frame.text, "is a fork bomb: it starts processes in an endless loop"
            )
        for m in RMTREE_RE.finditer(code):
            path = normalize_path(m.group(2))
            desc = self.danger(path, glob=False)
            if desc:
                self.forbid("recursive-delete", frame.text, f"deletes {desc} recursively")
        if REVERSE_SHELL_RE.search(code) and SHELL_SPAWN_RE.search(code) and "connect" in code:
            self.forbid(
                "reverse-shell",
                frame.text,
                "hands a shell to a network connection (a reverse shell)",
            )
        for k, m in enumerate(STRING_RE.finditer(code)):
            if k >= 50:
                break
            literal = next(g for g in m.groups() if g is not None)
            literal = literal.replace('\\"', '"').replace("\\'", "'").replace("\\\\", "\\")
            if len(literal) >= 2 and re.search(r"[A-Za-z]", literal):
                self.nested(literal, frame, positional=None, stdin=NO_STREAM, only_forbid=True)

    def destructive(
        self, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream
    ) -> list[Hit]:
        check = self.checks.lookup(name)
        return [] if check is None else check(self, argv, stdin)


Handler: TypeAlias = Callable[[Analyzer, str, tuple[Arg, ...], Frame, Stream, int], Stream]
"""A command that runs other commands: called with its name, argv, frame, stdin and depth."""
