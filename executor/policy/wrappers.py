"""Commands that run another command: sudo, su, env, xargs, parallel, find -exec, watch, ssh,
at, script, tmux/screen, `ip netns exec`, `docker exec`, and the simple option-only wrappers.

Each unwraps its argv and hands the inner command back to the analyzer, marked as running
through it (which is never read-only).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import replace

from executor import shell
from executor.policy.analyzer import Analyzer, Handler
from executor.policy.constructs import UNMODELLED
from executor.policy.embedded import embedded_code
from executor.policy.hazards import env_hit, is_broad
from executor.policy.knowledge import (
    ASSIGN_ARG,
    FIND_NAME_TESTS,
    FIND_NARROWING,
    FIND_NEGATION,
    SIMPLE_WRAPPERS,
    SUDO_VALUE_OPTS,
    WrapperSpec,
    word_set,
)
from executor.policy.registry import Registry
from executor.policy.values import (
    NO_STREAM,
    OTHER_STREAM,
    Arg,
    Frame,
    Stream,
    StreamKind,
    frame_problem,
    join_streams,
    literal_arg,
    parse_options,
)

WRAPPERS: Registry[Handler] = Registry()
wrapper = WRAPPERS.register


@wrapper(*SIMPLE_WRAPPERS)
def run_wrapped(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """Wrappers that only take options before the command they run (nice, timeout, nohup...)."""
    spec = SIMPLE_WRAPPERS[name]
    args = argv[1:]
    i = 0
    skipped = 0
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic:
            break
        if v == "--":
            i += 1
            break
        if v.startswith("-") and len(v) > 1:
            if v in spec.shell_opts:
                if i + 1 < len(args):
                    sub = replace(frame, via=frame.via or name)
                    analyzer.fact(argv, frame.text, spec.why or f"runs through {name}")
                    return analyzer.code_arg(
                        args[i + 1], sub, "shell", positional=None, stdin=stdin
                    )
                i += 1
                continue
            i += wrapper_option(analyzer, name, spec, args, i, frame)
            continue
        if skipped < spec.positionals:
            skipped += 1
            i += 1
            continue
        break
    inner = args[i:]
    sub = frame
    if spec.kind != "transparent":
        analyzer.fact(argv, frame.text, spec.why or f"runs through {name}")
        sub = replace(frame, via=frame.via or name)
    if not inner:
        if name != "exec":
            analyzer.fact(argv, frame.text, spec.alone or f"runs {name} without a command")
        elif frame.writes or frame.secret_input or frame.net:  # `exec 3>file`
            analyzer.fact(argv, frame.text, frame_problem(frame))
        else:  # `exec </file`: every later command reads from it
            analyzer.fact(argv, frame.text, UNMODELLED["exec"])
        return NO_STREAM
    return analyzer.run_argv(tuple(inner), sub, stdin, depth + 1)


def wrapper_option(
    analyzer: Analyzer, name: str, spec: WrapperSpec, args: tuple[Arg, ...], i: int, frame: Frame
) -> int:
    """Judge the option at `args[i]` of a simple wrapper; how many arguments it takes.

    `time -o FILE` writes FILE; `ionice -p PID` acts on other processes; an option a
    transparent wrapper is not known to take makes the command more than reading."""
    v = args[i].value
    key = v.split("=", 1)[0] if v.startswith("--") else v
    attached = not v.startswith("--") and len(v) > 2 and v[:2] in spec.value_opts
    if attached:
        key = v[:2]
    takes_next = key in spec.value_opts and not attached and "=" not in v
    value: Arg | None = None
    if takes_next and i + 1 < len(args):
        value = args[i + 1]
    elif key in spec.value_opts:
        text = v.split("=", 1)[1] if "=" in v and v.startswith("--") else v[2:]
        value = replace(args[i], value=text, raw=text)
    if name == "time" and key in ("-o", "--output") and value is not None:
        analyzer.write_target(value, frame, append=False)
        if frame.writes:
            analyzer.fact((), frame.text, f"writes its timing to {frame.writes[-1]}")
    elif key in spec.changes:
        analyzer.fact((), frame.text, f"acts on other processes ({name} {v})")
    elif (
        spec.flags is not None
        and key not in spec.value_opts
        and key not in spec.flags
        and key not in ("--help", "--version")
    ):
        analyzer.fact((), frame.text, f"uses {v}, an option of {name} the policy does not know")
    return 2 if takes_next else 1


@wrapper("sudo", "sudoedit")
def run_sudo(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """sudo/sudoedit: the inner command runs as root; with `-s`/`-i`, its words are shell code."""
    args = argv[1:]
    i = 0
    shell_mode = edit = False
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic or not v.startswith("-") or v == "-":
            break
        if v == "--":
            i += 1
            break
        if v in SUDO_VALUE_OPTS:
            i += 2
            continue
        if v.startswith("--"):
            shell_mode = shell_mode or v in ("--shell", "--login")
            edit = edit or v == "--edit"
            i += 1
            continue
        if v[:2] in SUDO_VALUE_OPTS and len(v) > 2:
            i += 1
            continue
        letters = v[1:]
        shell_mode = shell_mode or "s" in letters or "i" in letters
        edit = edit or "e" in letters
        i += 2 if f"-{letters[-1]}" in SUDO_VALUE_OPTS else 1
    inner = args[i:]
    sub = replace(frame, via=frame.via or "sudo")
    if name == "sudoedit" or edit:
        analyzer.fact(argv, frame.text, "edits files as root")
        return OTHER_STREAM
    if not inner:
        analyzer.fact(argv, frame.text, "opens a root shell" if shell_mode else "runs sudo itself")
        return OTHER_STREAM
    if shell_mode:
        dynamic = [a for a in inner if a.dynamic]
        if dynamic:
            return analyzer.dynamic_code(dynamic[0], sub, "shell")
        code = " ".join(a.value for a in inner)
        return analyzer.nested(code, sub, positional=None, stdin=stdin)
    return analyzer.run_argv(tuple(inner), sub, stdin, depth + 1)


@wrapper("su", "runuser")
def run_su(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """su/runuser: `-c code` runs shell code as another user; `runuser -u user cmd` runs cmd."""
    args = argv[1:]
    code: Arg | None = None
    direct: tuple[Arg, ...] | None = None
    i = 0
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic:
            i += 1
            continue
        if v in ("-c", "--command", "--session-command"):
            code = args[i + 1] if i + 1 < len(args) else None
            i += 2
            continue
        if v.startswith(("--command=", "--session-command=")):
            code = replace(a, value=v.split("=", 1)[1])
            i += 1
            continue
        if name == "runuser" and v in ("-u", "--user"):
            j = i + 2
            while j < len(args) and not args[j].dynamic and args[j].value.startswith("-"):
                if args[j].value == "--":
                    j += 1
                    break
                j += 1
            direct = tuple(args[j:])
            break
        if v in ("-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w"):
            i += 2
            continue
        if v.startswith("-") and not v.startswith("--") and len(v) > 2 and v.endswith("c"):
            code = args[i + 1] if i + 1 < len(args) else None
            i += 2
            continue
        i += 1
    sub = replace(frame, via=frame.via or name)
    if direct:
        return analyzer.run_argv(direct, sub, stdin, depth + 1)
    if code is not None:
        return analyzer.code_arg(code, sub, "shell", positional=None, stdin=stdin)
    analyzer.fact(argv, frame.text, "opens a shell as another user")
    return OTHER_STREAM


@wrapper("env")
def run_env(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """env: assignments (sensitive ones noted), `-S` split strings, then the command it runs."""
    args = argv[1:]
    i = 0
    split: str | None = None
    problem = ""
    chdir: Arg | None = None
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic:
            break
        if v == "--":
            i += 1
            continue
        if v in ("-C", "--chdir") or (v.startswith(("--chdir=", "-C")) and v != "-C"):
            value = v.split("=", 1)[1] if v.startswith("--chdir=") else v[2:]
            chdir = args[i + 1] if v in ("-C", "--chdir") and i + 1 < len(args) else None
            chdir = chdir or replace(a, value=value, raw=value)
            i += 2 if v in ("-C", "--chdir") else 1
            continue
        if v in ("-u", "--unset"):
            i += 2
            continue
        if v in ("-S", "--split-string"):
            split = args[i + 1].value if i + 1 < len(args) else ""
            i += 2
            break
        if v.startswith("--split-string="):
            split = v.split("=", 1)[1]
            i += 1
            break
        if v.startswith("-") and not v.startswith("--") and "S" in v:
            split = v[v.index("S") + 1 :] or (args[i + 1].value if i + 1 < len(args) else "")
            i += 1 if v[v.index("S") + 1 :] else 2
            break
        if v.startswith("-"):
            i += 1
            continue
        m = ASSIGN_ARG.match(v)
        if m:
            hit = env_hit(m.group(1), m.group(3))
            if hit is not None:
                problem = problem or hit[0]
                if hit[1]:
                    analyzer.approve("environment", frame.text, hit[0])
            i += 1
            continue
        break
    inner: list[Arg] = []
    if split is not None:
        try:
            inner.extend(literal_arg(w) for w in shlex.split(split))
        except ValueError:
            analyzer.approve("unparseable", frame.text, "has an env -S string that can't be read")
    inner.extend(args[i:])
    if not inner:
        analyzer.fact(argv, frame.text, "prints the environment, which may hold secrets")
        return OTHER_STREAM
    sub = replace(frame, env_problem=problem) if problem else frame
    if problem:
        analyzer.fact(argv, frame.text, problem)
    if chdir is None:
        return analyzer.run_argv(tuple(inner), sub, stdin, depth + 1)
    # `env -C / rm -rf *`: the command runs in that directory.
    saved = analyzer.cwds
    analyzer.cwds = frozenset(analyzer.resolve(chdir)) or frozenset({None})
    analyzer.fact(argv, frame.text, f"runs a command in another directory ({chdir.raw})")
    try:
        return analyzer.run_argv(tuple(inner), sub, stdin, depth + 1)
    finally:
        analyzer.cwds = saved


@wrapper("busybox", "toybox")
def run_busybox(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """busybox/toybox: `busybox rm -rf /` is `rm -rf /`, judged as such for the forbid list;
    but an applet's options are not the GNU tool's the read-only list describes, so it is
    never read-only."""
    if len(argv) > 1 and not argv[1].dynamic and not argv[1].value.startswith("-"):
        applet = argv[1].value
        analyzer.fact(argv, frame.text, f"runs {name}'s own {applet}, whose options differ")
        sub = replace(frame, via=frame.via or f"{name}'s own {applet}")
        return analyzer.run_argv(argv[1:], sub, stdin, depth + 1)
    return analyzer.leaf(name, argv, frame, stdin)


@wrapper("command")
def run_command(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """command: `command rm` runs rm; `command -v` only looks a name up."""
    args = argv[1:]
    i = 0
    lookup = False
    while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
        if args[i].value == "--":
            i += 1
            break
        lookup = lookup or bool(set(args[i].value[1:]) & {"v", "V"})
        i += 1
    if lookup or not args[i:]:
        return analyzer.leaf(name, argv, frame, stdin)
    return analyzer.run_argv(tuple(args[i:]), frame, stdin, depth + 1)


XARGS_LONG_OPTIONS = (
    "--arg-file",
    "--delimiter",
    "--eof",
    "--exit",
    "--help",
    "--interactive",
    "--max-args",
    "--max-chars",
    "--max-lines",
    "--max-procs",
    "--no-run-if-empty",
    "--null",
    "--open-tty",
    "--process-slot-var",
    "--replace",
    "--show-limits",
    "--verbose",
    "--version",
)
"""findutils 4.9's xargs: getopt_long takes any unique prefix (`--arg=F` is `--arg-file=F`)."""


def unique_long_option(word: str, names: Sequence[str]) -> str | None:
    """`word` (`--arg=F`) with its option spelled out as getopt_long resolves it, or None when
    the prefix matches no option or several."""
    name, eq, value = word.partition("=")
    if name in names:
        return word
    matches = [n for n in names if n.startswith(name)]
    if len(matches) != 1:
        return None
    return matches[0] + eq + value


@wrapper("xargs")
def run_xargs(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """xargs: runs its command with arguments read from stdin, or each item for `-I`."""
    args = argv[1:]
    value_opts = word_set(
        "-a --arg-file -d --delimiter -E -L -l -n --max-args -P --max-procs -s --max-chars"
        " --process-slot-var --max-lines"
    )
    i = 0
    token: str | None = None
    from_file = False
    source_file: Arg | None = None
    delimiter: str | None = None
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic or not v.startswith("-") or v == "-":
            break
        if v == "--":
            i += 1
            break
        if v.startswith("--"):
            full = unique_long_option(v, XARGS_LONG_OPTIONS)
            if full is None:
                analyzer.fact(
                    argv, frame.text, f"uses `{v}`, which xargs does not resolve to one option"
                )
                return OTHER_STREAM
            v = full
            a = replace(a, value=v)
        if v == "-I":
            token = args[i + 1].value if i + 1 < len(args) else "{}"
            i += 2
            continue
        if v.startswith("-I"):
            token = v[2:]
        elif v == "-i" or v.startswith("--replace"):
            token = v.split("=", 1)[1] if "=" in v else "{}"
        elif v.startswith("-i"):
            token = v[2:]
        if v in ("-a", "--arg-file") or v.startswith(("--arg-file=", "-a")):
            from_file = True
            if v in ("-a", "--arg-file"):
                source_file = args[i + 1] if i + 1 < len(args) else None
            else:
                text = v.split("=", 1)[1] if v.startswith("--") else v[2:]
                source_file = replace(a, value=text, raw=text)
        if v in ("-0", "--null"):
            delimiter = "\0"
        if v in ("-d", "--delimiter") and i + 1 < len(args):
            delimiter = shell.decode_escapes(args[i + 1].value, mode="printf")
        i += 2 if v in value_opts else 1
    if source_file is not None:
        xargs_file(analyzer, source_file, frame)
    inner = tuple(args[i:]) or (literal_arg("echo"),)
    source = OTHER_STREAM if from_file else stdin
    if analyzer.pipe_text and not from_file:
        frame = replace(frame, text=analyzer.pipe_text)
    items = stream_items(source, delimiter)
    variants: list[tuple[Arg, ...]]
    if token:
        variants = [tuple(substitute(a, token, item) for a in inner) for item in items]
    else:
        variants = [inner + tuple(items)]
    out = NO_STREAM
    for variant in variants:
        out = join_streams(out, analyzer.run_argv(variant, frame, NO_STREAM, depth + 1))
    return out


def xargs_file(analyzer: Analyzer, source: Arg, frame: Frame) -> None:
    """`xargs -a FILE` reads FILE: a secret there is shown as arguments of the command."""
    if source.dynamic:
        analyzer.fact((), frame.text, "reads its arguments from a file chosen at run time")
        return
    for path in analyzer.resolve(source):
        if analyzer.is_secret(path or source.value, source.glob):
            analyzer.fact((), frame.text, f"reads {source.value}, which may hold secrets")
            return


@wrapper("parallel")
def run_parallel(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """parallel: runs its command for each `:::` item or stdin line."""
    args = list(argv[1:])
    value_opts = word_set(
        "-j --jobs -N -n --max-args -S --sshlogin -I --colsep -d --delimiter --joblog"
        " --results --tmpdir --timeout --delay -L --halt"
    )
    i = 0
    while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
        i += 2 if args[i].value in value_opts else 1
    rest = args[i:]
    marker = next((k for k, a in enumerate(rest) if a.value in (":::", "::::")), None)
    analyzer.fact(argv, frame.text, "runs commands through parallel")
    sub = replace(frame, via=frame.via or name)
    if marker is None:
        inner, items = rest, stream_items(stdin, None)
    else:
        inner = rest[:marker]
        items = [a for a in rest[marker + 1 :] if a.value not in (":::", "::::")][:8]
    if not inner:
        return OTHER_STREAM
    out = NO_STREAM
    for item in items or [literal_arg("")]:
        if any("{}" in a.value for a in inner):
            variant = tuple(substitute(a, "{}", item) for a in inner)
        else:
            variant = (*inner, item)
        out = join_streams(out, analyzer.run_argv(variant, sub, NO_STREAM, depth + 1))
    return out


@wrapper("find")
def run_find(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """find: `-delete` without narrowing tests, `-exec` commands, `-fprint` writes."""
    args = argv[1:]
    i = 0
    while (
        i < len(args)
        and not args[i].dynamic
        and (args[i].value in ("-H", "-L", "-P") or args[i].value.startswith(("-O", "-D")))
    ):
        i += 2 if args[i].value == "-D" else 1
    starts: list[Arg] = []
    while i < len(args) and (
        args[i].dynamic
        or not (args[i].value.startswith("-") or args[i].value in ("(", "!", ")", ","))
    ):
        starts.append(args[i])
        i += 1
    starts = starts or [literal_arg(".")]
    expr = args[i:]
    words = [a.value for a in expr if not a.dynamic]
    narrowed = find_narrows(words)
    if "-delete" in words and not narrowed:
        for start in starts:
            for path in analyzer.resolve(start):
                desc = None if path is None else analyzer.danger(path, start.glob)
                if desc:
                    analyzer.forbid("recursive-delete", frame.text, f"deletes everything in {desc}")
    j = 0
    while j < len(expr):
        a = expr[j]
        writes = ("-fprint", "-fprint0", "-fprintf", "-fls")
        if not a.dynamic and a.value in writes and j + 1 < len(expr):
            analyzer.write_target(expr[j + 1], frame)
        if a.dynamic or a.value not in ("-exec", "-execdir", "-ok", "-okdir"):
            j += 1
            continue
        k = j + 1
        inner: list[Arg] = []
        while k < len(expr) and (expr[k].dynamic or expr[k].value not in (";", "+")):
            inner.append(expr[k])
            k += 1
        for start in starts:
            found = start
            if narrowed and not start.dynamic:
                found = replace(start, value=start.value.rstrip("/") + "/{found}", glob=False)
            variant = tuple(substitute(x, "{}", found) for x in inner)
            if variant:
                analyzer.run_argv(variant, frame, NO_STREAM, depth + 1)
        j = k + 1
    out = analyzer.leaf(name, argv, frame, stdin)
    if narrowed:
        return out
    # Unfiltered, find prints its start paths first: `find / | xargs rm -rf` reaches `/`.
    return replace(out, lines=tuple(s.value for s in starts if not s.dynamic))


@wrapper("watch")
def run_watch(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """watch: runs its command (shell code unless `-x`) over and over."""
    args = argv[1:]
    i = 0
    direct = False
    while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
        v = args[i].value
        direct = direct or v in ("-x", "--exec")
        i += 2 if v in ("-n", "--interval", "-q", "--equexit") else 1
    rest = args[i:]
    analyzer.fact(argv, frame.text, "runs a command over and over")
    sub = replace(frame, via=frame.via or name)
    if not rest:
        return OTHER_STREAM
    if direct:
        return analyzer.run_argv(tuple(rest), sub, stdin, depth + 1)
    dynamic = [a for a in rest if a.dynamic]
    if dynamic:
        return analyzer.dynamic_code(dynamic[0], sub, "shell")
    return analyzer.nested(" ".join(a.value for a in rest), sub, positional=None, stdin=NO_STREAM)


@wrapper("ssh")
def run_ssh(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """ssh: a remote command is shell code on another host, judged like local code."""
    for code in embedded_code(name, argv, stdin):
        analyzer.nested(code, frame, positional=None, stdin=NO_STREAM, only_forbid=True)
    args = argv[1:]
    value_opts = word_set("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B")
    i = 0
    while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
        v = args[i].value
        i += 2 if v in value_opts else 1
    if i >= len(args):
        analyzer.fact(argv, frame.text, "runs ssh")
        return OTHER_STREAM
    host, rest = args[i], args[i + 1 :]
    analyzer.fact(argv, frame.text, f"runs on another host ({host.value})")
    if not rest:
        analyzer.approve("interactive", frame.text, "opens an interactive session on another host")
        return OTHER_STREAM
    sub = replace(frame, via=frame.via or "ssh")
    dynamic = [a for a in rest if a.dynamic]
    if dynamic:
        return analyzer.dynamic_code(dynamic[0], sub, "remote shell")
    code = " ".join(a.value for a in rest)
    return analyzer.nested(code, sub, positional=None, stdin=stdin, fresh=True)


@wrapper("at", "batch")
def run_at(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """at/batch: commands from stdin run later; listing and removing jobs only read."""
    o = parse_options(argv[1:], word_set("-f -q -t"))
    if o.has("l") or o.has("d") or o.has("r") or o.has("c"):
        return analyzer.leaf(name, argv, frame, stdin)
    analyzer.fact(argv, frame.text, "schedules commands to run later")
    if "-f" in o.values:
        return OTHER_STREAM
    return analyzer.stdin_code(stdin, frame, name, shell_like=True)


@wrapper("script")
def run_script(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """script: `-c code` runs shell code under a recorded terminal; it always writes the
    recording (to `typescript` unless a file is named)."""
    args = argv[1:]
    analyzer.fact(argv, frame.text, "records the session into a file (typescript by default)")
    for k, a in enumerate(args):
        if a.value in ("-c", "--command") and k + 1 < len(args):
            return analyzer.code_arg(args[k + 1], frame, "shell", positional=None, stdin=stdin)
        if a.value.startswith("--command="):
            return analyzer.code_arg(
                replace(a, value=a.value.split("=", 1)[1]),
                frame,
                "shell",
                positional=None,
                stdin=stdin,
            )
    return analyzer.leaf(name, argv, frame, stdin)


@wrapper("tmux", "screen")
def run_multiplexer(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """tmux/screen: commands run in a new window or session."""
    analyzer.fact(argv, frame.text, f"runs commands in {name}")
    sub = replace(frame, via=frame.via or name)
    args = [a for a in argv[1:] if not a.dynamic]
    if name == "screen":
        value_opts = word_set("-S -c -e -h -p -s -t -T -X -L -Logfile")
        i = 0
        while i < len(args) and args[i].value.startswith("-"):
            i += 2 if args[i].value in value_opts else 1
        if args[i:]:
            return analyzer.run_argv(tuple(args[i:]), sub, stdin, depth + 1)
        return OTHER_STREAM
    words = [a.value for a in args if not a.value.startswith("-")]
    if len(words) > 1:
        analyzer.nested(
            " ".join(words[1:]), sub, positional=None, stdin=NO_STREAM, only_forbid=True
        )
    return OTHER_STREAM


@wrapper("ip")
def run_ip(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """ip: `ip netns exec` and `ip vrf exec` run a command; the rest is ip itself."""
    words = [a.value for a in argv]
    for k in range(1, len(words) - 2):
        if words[k] in ("netns", "vrf") and words[k + 1] == "exec":
            analyzer.fact(argv, frame.text, f"runs a command in the {words[k]} {words[k + 2]}")
            inner = argv[k + 3 :]
            if not inner:
                return OTHER_STREAM
            sub = replace(frame, via=frame.via or f"ip {words[k]} exec")
            return analyzer.run_argv(inner, sub, stdin, depth + 1)
    return analyzer.leaf(name, argv, frame, stdin)


@wrapper("docker", "podman", "nerdctl", "kubectl", "lxc", "incus")
def run_container(
    analyzer: Analyzer, name: str, argv: tuple[Arg, ...], frame: Frame, stdin: Stream, depth: int
) -> Stream:
    """docker/podman/kubectl... exec: the command runs inside a container."""
    args = argv[1:]
    words = [a.value for a in args]
    inner: tuple[Arg, ...] = ()
    if name in ("kubectl", "lxc", "incus") and "exec" in words and "--" in words:
        inner = tuple(args[words.index("--") + 1 :])
    elif name in ("docker", "podman", "nerdctl") and (
        words[:1] == ["exec"] or words[:2] == ["container", "exec"]
    ):
        start = words.index("exec") + 1
        value_opts = word_set("-e --env --env-file -u --user -w --workdir --detach-keys")
        i = start
        while i < len(args) and not args[i].dynamic and args[i].value.startswith("-"):
            i += 2 if args[i].value in value_opts else 1
        inner = tuple(args[i + 1 :])
    if not inner:
        return analyzer.leaf(name, argv, frame, stdin)
    analyzer.fact(argv, frame.text, "runs a command inside a container")
    sub = replace(frame, via=frame.via or f"{name} exec")
    return analyzer.run_argv(inner, sub, stdin, depth + 1)


def stream_items(stream: Stream, delimiter: str | None) -> list[Arg]:
    """The arguments xargs/parallel would build from `stream`."""
    if stream.kind is StreamKind.STATIC:
        text = stream.text
        if delimiter is not None:
            words = [w for w in text.split(delimiter) if w]
        else:
            try:
                words = shlex.split(text)
            except ValueError:
                words = text.split()
        return [literal_arg(w) for w in words[:32]] or [literal_arg("")]
    unknown = Arg("{input}", "{input}", dynamic=True, taint=stream.kind, origin=stream.origin)
    return [*(literal_arg(line) for line in stream.lines), unknown]


def substitute(arg: Arg, token: str, item: Arg) -> Arg:
    """`arg` with `token` replaced by `item` (xargs -I, find -exec {}); dynamic if it is."""
    if arg.dynamic or token not in arg.value:
        return arg
    if item.dynamic:
        return Arg(arg.value, arg.raw, True, False, arg.note, item.taint, item.origin)
    return replace(arg, value=arg.value.replace(token, item.value), glob=arg.glob or item.glob)


def find_narrows(words: list[str]) -> bool:
    """Whether find's tests pick only some files (`-name '*'` or a negation picks all)."""
    if any(w in FIND_NEGATION for w in words):
        return False
    for k, w in enumerate(words):
        if w not in FIND_NARROWING:
            continue
        value = words[k + 1] if k + 1 < len(words) else ""
        if w in FIND_NAME_TESTS and (is_broad(value) or value in (".*", "/*", "*/*")):
            continue
        return True
    return False
