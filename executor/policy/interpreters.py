"""Commands that run code: shells (`sh -c`, `bash script`), `eval`, `source`, awk, and
language interpreters (`python -c`, `perl -e`, `node -e`...).

Shell code is parsed and walked; other languages' code is scanned for shell commands, fork
bombs and reverse shells; code fed on stdin is judged by where it came from.
"""

from __future__ import annotations

from executor.policy.analyzer import Analyzer, Handler
from executor.policy.knowledge import (
    AWKS,
    CODE_FLAGS,
    CRITICAL_FILES,
    INTERPRETER_RE,
    SHELLS,
    STDIN_PATHS,
    VALUE_FLAGS,
    word_set,
)
from executor.policy.registry import Registry
from executor.policy.values import NO_STREAM, OTHER_STREAM, Arg, Frame, Stream, parse_options

CODE_RUNNERS: Registry[Handler] = Registry()
code_runner = CODE_RUNNERS.register


@code_runner(*SHELLS)
def run_shell(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """sh/bash/...: `-c code`, a script file, or code fed on stdin."""
    args = argv[1:]
    command_mode = stdin_mode = False
    i = 0
    while i < len(args):
        a = args[i]
        if a.dynamic:
            break
        v = a.value
        if v in ("-", "--"):
            i += 1
            stdin_mode = stdin_mode or v == "-"
            break
        if v in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if v.startswith("--"):
            i += 1
            continue
        if v[:1] in ("-", "+") and len(v) > 1:
            letters = v[1:]
            if v[0] == "-" and "c" in letters:
                command_mode = True
            if v[0] == "-" and "s" in letters:
                stdin_mode = True
            i += 2 if letters[-1] in "oO" else 1
            continue
        break
    rest = args[i:]
    if name != "bash":
        analyzer.fact(
            argv,
            frame.text,
            f"runs its code under {name}, a shell the policy does not model (it models bash, "
            "which runs every command)",
        )
    if frame.net:
        analyzer.forbid(
            "reverse-shell", frame.text, "connects a shell to the network (a reverse shell)"
        )
    if frame.env_problem:  # BASH_ENV, ENV, SHELLOPTS, PS4...: a shell runs code from them
        analyzer.approve(
            "environment",
            frame.text,
            f"{frame.env_problem}; a shell reads its environment at start-up and can run "
            "code from it",
        )
    if command_mode and not stdin_mode:
        if not rest:
            analyzer.fact(argv, frame.text, "has -c but no command")
            return OTHER_STREAM
        params = tuple(rest[1:]) or (argv[0],)
        return analyzer.code_arg(rest[0], frame, name, positional=params, stdin=stdin)
    if rest and not stdin_mode:
        script = rest[0]
        if script.dynamic:
            return analyzer.dynamic_code(script, frame, name)
        if script.value in STDIN_PATHS:
            return analyzer.stdin_code(stdin, frame, name, shell_like=True)
        analyzer.fact(argv, frame.text, f"runs the script {script.value}, which can't be checked")
        return OTHER_STREAM
    return analyzer.stdin_code(stdin, frame, name, shell_like=True)


@code_runner("eval")
def run_eval(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """eval: its arguments joined are shell code, run in this shell's variables."""
    args = argv[1:]
    if not args:
        return NO_STREAM
    dynamic = [a for a in args if a.dynamic]
    if dynamic:
        worst = max(dynamic, key=lambda a: a.taint)
        return analyzer.dynamic_code(worst, frame, "shell")
    code = " ".join(a.value for a in args)
    return analyzer.nested(code, frame, positional=analyzer.positional, stdin=stdin, share_env=True)


@code_runner("source", ".")
def run_source(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """source/.: a file of shell code; only stdin can be read, a file can't be checked."""
    if len(argv) < 2:
        analyzer.fact(argv, frame.text, "is missing a file")
        return OTHER_STREAM
    script = argv[1]
    if script.dynamic:
        return analyzer.dynamic_code(script, frame, "shell")
    if script.value in STDIN_PATHS:
        return analyzer.stdin_code(stdin, frame, "the shell", shell_like=True)
    analyzer.fact(argv, frame.text, f"runs the script {script.value}, which can't be checked")
    return OTHER_STREAM


@code_runner(family=INTERPRETER_RE.fullmatch)
def run_interpreter(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """python/perl/node...: inline code is scanned, stdin code judged by its origin."""
    m = INTERPRETER_RE.fullmatch(name)
    family = m.group("family") if m else name
    code_flags = CODE_FLAGS.get(family, frozenset())
    code_letters = {f[1] for f in code_flags if len(f) == 2}
    value_flags = VALUE_FLAGS.get(family, frozenset())
    args = argv[1:]
    codes: list[Arg] = []
    in_place = False
    use_stdin = False
    script: Arg | None = None
    i = 0
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic or not v.startswith("-"):
            if family == "deno" and v == "eval" and i + 1 < len(args):
                codes.append(args[i + 1])
                i += 2
                break
            script = a
            break
        if v == "-":
            use_stdin = True
            break
        if v == "--":
            script = args[i + 1] if i + 1 < len(args) else None
            break
        if v in code_flags:
            if i + 1 < len(args):
                codes.append(args[i + 1])
            i += 2
            continue
        if v == "-m" and family in ("python", "pypy"):
            module = args[i + 1].value if i + 1 < len(args) else "?"
            analyzer.fact(argv, frame.text, f"runs the {family} module {module}")
            return OTHER_STREAM
        if v in value_flags:
            i += 2
            continue
        if not v.startswith("--") and family in ("perl", "ruby"):
            letters = v[1:]
            if "i" in letters:
                in_place = True
            if letters and letters[-1] in code_letters:
                if i + 1 < len(args):
                    codes.append(args[i + 1])
                i += 2
                continue
        i += 1
    if frame.net:
        analyzer.forbid(
            "reverse-shell",
            frame.text,
            "connects an interpreter to the network (a reverse shell)",
        )
    if frame.env_problem:  # PYTHONSTARTUP, PERL5OPT, NODE_OPTIONS...: code from outside
        analyzer.approve(
            "environment",
            frame.text,
            f"{frame.env_problem}; an interpreter reads its environment and can load code from it",
        )
    label = f"{family} code"
    if in_place:
        for a in args[i:]:
            for p in analyzer.resolve(a):
                if p is not None and p in CRITICAL_FILES:
                    analyzer.forbid("critical-file", frame.text, f"edits {p} in place")
    if codes:
        for code in codes:
            if code.dynamic:
                analyzer.dynamic_code(code, frame, family)
            else:
                analyzer.scan_code(code.value, frame)
        analyzer.fact(argv, frame.text, f"runs {label}")
        return OTHER_STREAM
    if use_stdin or script is None:
        return analyzer.stdin_code(stdin, frame, family, shell_like=False)
    if script.dynamic:
        return analyzer.dynamic_code(script, frame, family)
    if script.value in STDIN_PATHS:
        return analyzer.stdin_code(stdin, frame, family, shell_like=False)
    analyzer.fact(argv, frame.text, f"runs the script {script.value}, which can't be checked")
    return OTHER_STREAM


@code_runner(*AWKS)
def run_awk(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """awk: its program is scanned for `system()` and pipes to shells."""
    o = parse_options(argv[1:], word_set("-F -v -f --file --assign --field-separator -i --include"))
    if "-f" not in o.values and "--file" not in o.values and o.positionals:
        program = o.positionals[0]
        if not program.dynamic:
            analyzer.scan_code(program.value, frame)
    return analyzer.leaf(name, argv, frame, stdin)
