"""Read-only by allowlist: the tool-spec format, the argv walk, and the core tools' specs.

A command is read-only only if every option it uses is a known read-only option of its tool
(long options matched the way the tool matches them), its subcommand is read-only and the
files it reads are not secret. These tables are the specification.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from executor.policy import (
    DEFAULT_READONLY,
    Decision,
    PolicyConfig,
    ReadOnlyRule,
    Requester,
    Verdict,
    decide,
)
from executor.policy.model import PolicyConfigError
from executor.policy.tools import (
    TOOLS_DIR,
    load_tool_file,
    read_argv,
    read_tool,
    tool_spec,
    tool_specs,
)
from executor.policy.tools.spec import ToolSpec
from executor.policy.values import Arg, literal_arg

OK = Verdict.ALLOW
A = Verdict.NEEDS_APPROVAL
OPERATOR = Requester("@ops:example.org", "operator")
AUTO = PolicyConfig(auto_approve_readonly=True)


def judge(command: str, config: PolicyConfig = AUTO) -> Decision:
    return decide(command, "web1", OPERATOR, config)


def args(*words: str) -> tuple[Arg, ...]:
    return tuple(literal_arg(w) for w in words)


# ---- the walk, on a made-up tool that has every feature ------------------------------------

DEMO = """
demo:
  complete: true
  numbers: true
  options:
    -r --reverse: flag
    -n --numeric: flag
    -k --key: value
    --color: optional
    -f --file: file
    -R --recursive: recursive
    -d --directories: [read, skip]
    -o --output: {refuse: writes its output to a file}
    --stable: flag
    --sort: value
  refuse-operands:
    secret: names a secret
positional:
  style: posix
  options:
    -a: flag
    -v: value
exact:
  options:
    --output-format: value
    -x: flag
  operands: text
few:
  options:
    -x: flag
  max-operands: 1
  operand-pattern: "+*"
svc:
  complete: true
  options:
    --failed: flag
    -H --host: {refuse: runs the command on another machine}
  subcommands:
    shared-options: true
    verbs:
      status: {operands: text}
      list-units: {operands: text}
      stop start: {refuse: changes services}
vcs:
  options:
    -C: value
  subcommands:
    resolve: unique-prefix
    required: true
    verbs:
      log:
        options:
          --oneline: flag
          -n: value
      lock: {refuse: locks the repository}
      show: {}
ipr:
  style: iproute2
  operands: text
  options:
    -batch: {refuse: runs commands from a file}
    -brief: flag
    -family: value
  subcommands:
    resolve: first-prefix
    verbs:
      address:
        subcommands:
          resolve: first-prefix
          verbs:
            add: {refuse: adds an address}
            delete: {refuse: deletes an address}
            show list lst: {}
      addrlabel: {}
      route: {}
      vrf:
        subcommands:
          resolve: first-prefix
          verbs:
            exec: {refuse: runs a command}
            show: {}
tr3:
  attached: false
  options:
    -L: value
    -a: flag
    -o: {refuse: writes its output to a file}
  operands: paths
nothing:
  style: none
  operands: text
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ToolSpec]:
    path = tmp_path_factory.mktemp("specs") / "demo.yaml"
    path.write_text(DEMO, encoding="utf-8")
    return load_tool_file(path)


@pytest.mark.parametrize(
    ("tool", "words", "problem"),
    [
        pytest.param("demo", "-rn x", None, id="short-cluster"),
        pytest.param("demo", "-k2 x", None, id="attached-value"),
        pytest.param("demo", "-k 2 x", None, id="separate-value"),
        pytest.param("demo", "-ko x", None, id="cluster-value-is-not-an-option"),
        pytest.param("demo", "-k -o x", None, id="value-word-starting-with-dash"),
        pytest.param("demo", "--key=2 x", None, id="long-attached"),
        pytest.param("demo", "--key 2 x", None, id="long-separate"),
        pytest.param("demo", "--rev --num x", None, id="unique-prefixes"),
        pytest.param("demo", "--col x", None, id="optional-without-value"),
        pytest.param("demo", "--color=always x", None, id="optional-with-value"),
        pytest.param("demo", "x -r", None, id="options-after-operands"),
        pytest.param("demo", "-- -o", None, id="double-dash-ends-options"),
        pytest.param("demo", "-5 x", None, id="number-option"),
        pytest.param("demo", "-d skip x", None, id="choice-allowed"),
        pytest.param(
            "demo", "-o f x", "uses `-o`, which writes its output to a file", id="refused"
        ),
        pytest.param(
            "demo",
            "-ro f",
            "uses `-o` in `-ro`, which writes its output to a file",
            id="in-cluster",
        ),
        pytest.param(
            "demo",
            "--o=f x",
            "uses `--o=f` (`--output`), which writes its output to a file",
            id="prefix-of-refused",
        ),
        pytest.param(
            "demo",
            "--s x",
            "an abbreviation demo finds ambiguous (--sort, --stable)",
            id="ambiguous",
        ),
        pytest.param("demo", "--st x", None, id="prefix-unique-among-similar"),
        pytest.param(
            "demo",
            "--bogus x",
            "uses `--bogus`, an option Chavion does not know to be read-only for demo",
            id="unknown-long",
        ),
        pytest.param("demo", "-q x", "uses `-q`, an option Chavion does not know", id="unknown"),
        pytest.param("demo", "-d recurse x", "a value Chavion does not know", id="choice-refused"),
        pytest.param("demo", "--reverse=1 x", "gives a value to `--reverse`", id="flag-with-value"),
        pytest.param("demo", "-k", "gives `-k` no value", id="missing-value"),
        pytest.param("demo", "secret", "uses `secret`, which names a secret", id="refused-operand"),
        pytest.param("positional", "-a x -v y", None, id="posix-options-end-at-operand"),
        pytest.param("positional", "-v -a x", None, id="posix-value-option"),
        pytest.param("exact", "--output-format=x", None, id="exact-long"),
        pytest.param(
            "exact",
            "--out=x",
            "uses `--out=x`, an option Chavion does not know to be read-only for exact",
            id="incomplete-spec-takes-no-prefix",
        ),
        pytest.param("few", "+x", None, id="pattern-and-count"),
        pytest.param(
            "few",
            "+x +y",
            "has 2 operands; with more than 1, few does more than read",
            id="too-many",
        ),
        pytest.param("few", "y", "uses the operand `y`, which Chavion does not know", id="pattern"),
        pytest.param("svc", "status nginx", None, id="verb"),
        pytest.param("svc", "--failed status", None, id="option-before-verb"),
        pytest.param("svc", "status --failed", None, id="shared-option-after-verb"),
        pytest.param("svc", "", None, id="no-verb-is-the-default"),
        pytest.param(
            "svc",
            "--failed stop nginx",
            "uses `stop`, which changes services",
            id="option-moves-the-verb",
        ),
        pytest.param("svc", "stat", "uses the subcommand `stat`", id="exact-verbs-only"),
        pytest.param("svc", "--ho=x status", "(`--host`), which runs the command", id="prefix"),
        pytest.param("vcs", "-C /srv log --oneline -n 5", None, id="verb-spec-parses-the-rest"),
        pytest.param("vcs", "lo", "an abbreviation vcs finds ambiguous (log, lock)", id="ambig"),
        pytest.param("vcs", "sh", None, id="unique-prefix-verb"),
        pytest.param("vcs", "loc", "uses `loc` (`lock`), which locks the repository", id="prefix"),
        pytest.param("vcs", "log -C x", "uses `-C`, an option Chavion does not know", id="own"),
        pytest.param("vcs", "-C /srv", "names no subcommand of vcs", id="required-verb"),
        pytest.param("ipr", "-br a", None, id="iproute-brief-address"),
        pytest.param("ipr", "-b a", "uses `-b` (`-batch`), which runs commands", id="b-is-batch"),
        pytest.param("ipr", "--brief a s", None, id="double-dash-word"),
        pytest.param("ipr", "-- a s", None, id="double-dash-ends-keyword-options"),
        pytest.param("ipr", "-- a d x", "uses `d` (`delete`)", id="verbs-after-double-dash"),
        pytest.param("ipr", "-f inet a", None, id="first-prefix-value"),
        pytest.param("ipr", "a d x", "uses `d` (`delete`), which deletes an address", id="a-d"),
        pytest.param("ipr", "a l", None, id="a-l-is-list"),
        pytest.param("ipr", "addrl", None, id="longer-prefix"),
        pytest.param("ipr", "vrf e default ls", "uses `e` (`exec`), which runs a command", id="e"),
        pytest.param("ipr", "x", "uses the subcommand `x`", id="unknown-object"),
        pytest.param("tr3", "-aL 2 /srv", None, id="separate-values"),
        pytest.param("tr3", "-Lo 2 f", "uses `-o` in `-Lo`", id="each-value-takes-next-word"),
        pytest.param("nothing", "-o --output x", None, id="no-options-at-all"),
    ],
)
def test_the_walk_reads_argv_the_way_the_tool_does(
    demo: dict[str, ToolSpec], tool: str, words: str, problem: str | None
) -> None:
    reading = read_argv(demo[tool], args(*words.split()))
    if problem is None:
        assert reading.problem is None, reading
    else:
        assert problem in (reading.problem or ""), reading


@pytest.mark.parametrize(
    ("tool", "words", "expected"),
    [
        pytest.param("demo", "-f pats -R x y", (("pats",), ("x", "y"), True), id="files"),
        pytest.param("demo", "--file=pats x", (("pats",), ("x",), False), id="attached-file"),
        pytest.param("tr3", "-L 2 /srv", ((), ("/srv",), False), id="paths"),
        pytest.param("exact", "a b", ((), (), False), id="text-is-not-files"),
    ],
)
def test_the_walk_returns_what_the_command_reads(
    demo: dict[str, ToolSpec], tool: str, words: str, expected: object
) -> None:
    reading = read_argv(demo[tool], args(*words.split()))
    got = (
        tuple(a.value for a in reading.files),
        tuple(a.value for a in reading.operands),
        reading.recursive,
    )
    assert got == expected


def test_the_walk_names_the_verbs_it_resolved(demo: dict[str, ToolSpec]) -> None:
    assert read_argv(demo["ipr"], args("a", "l")).verbs == ("address", "show")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param("$x", "only known at run time ($x), which could be an option", id="bare"),
        pytest.param('"$x"', "only known at run time", id="quoted"),
        pytest.param('"/var/$x"', None, id="starts-with-a-path"),
        pytest.param("log$x", None, id="starts-with-a-letter"),
    ],
)
def test_run_time_arguments_may_be_options_unless_they_start_literally(
    demo: dict[str, ToolSpec], raw: str, problem: str | None
) -> None:
    reading = read_argv(demo["tr3"], (Arg(raw, raw, dynamic=True),))
    assert (reading.problem is None) if problem is None else problem in (reading.problem or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("t: {style: dos}", "style must be one of", id="style"),
        pytest.param("t: {options: {-x: maybe}}", "the kind must be one of", id="kind"),
        pytest.param("t: {options: {x: flag}}", "is not a list of option names", id="name"),
        pytest.param("t: {options: {-x: flag, -x --ex: flag}}", "listed twice", id="twice"),
        pytest.param("t: {operands: some}", "operands must be one of", id="operands"),
        pytest.param("t: {colour: true}", "unknown keys", id="unknown-key"),
        pytest.param("t: {like: nope}", "names no tool specified above it", id="like"),
        pytest.param("t: {max-operands: -1}", "max-operands", id="count"),
        pytest.param("t: {subcommands: {verbs: {a: {refuse: 1}}}}", "refused verb", id="verb"),
        pytest.param("t: {subcommands: {resolve: any, verbs: {}}}", "resolve must be", id="res"),
        pytest.param("t: {options: {-o: {refuse: ''}}}", "the kind must be one of", id="reason"),
        pytest.param("- a", "expected a mapping", id="not-a-mapping"),
    ],
)
def test_a_broken_spec_names_the_file_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyConfigError, match=message) as info:
        load_tool_file(path)
    assert str(path) in str(info.value)


def test_specs_are_read_once_and_every_shipped_file_loads() -> None:
    assert tool_specs() is tool_specs()
    names = {n for p in TOOLS_DIR.glob("*.yaml") for n in yaml.safe_load(p.read_text()) or {}}
    assert set(tool_specs()) == names
    assert tool_spec("sort") is tool_specs()["sort"]


def test_the_walk_is_linear_in_the_number_of_arguments() -> None:
    spec = tool_spec("ls")
    assert spec is not None
    many = args(*(["-l", "--all", "--hum"] * 2_000), "/srv")
    started = time.perf_counter()
    assert read_argv(spec, many).problem is None
    assert time.perf_counter() - started < 1.0


# ---- the core tools, through decide() ----------------------------------------------------


def ro(row_id: str, command: str) -> object:
    return pytest.param(command, OK, "", id=f"ro-{row_id}")


def not_ro(row_id: str, command: str, reason: str = "") -> object:
    return pytest.param(command, A, reason, id=f"not-ro-{row_id}")


CORE_ROWS = [
    # sort: every abbreviation of --output / --compress-program, clusters, files0
    ro("sort", "sort -rn -k2,2 -t: /etc/passwd"),
    ro("sort-key-o", "sort -ko /tmp/x"),
    ro("sort-check", "sort --check=quiet /tmp/x"),
    not_ro("sort-o", "sort -o /etc/passwd /tmp/x", "uses `-o`, which writes its output"),
    not_ro("sort-ro", "sort -ro/etc/passwd /tmp/x", "`-o` in `-ro/etc/passwd`"),
    not_ro("sort-o-abbrev", "sort --o=/etc/passwd /tmp/x", "(`--output`), which writes"),
    not_ro("sort-ou", "sort --ou /etc/passwd /tmp/x", "(`--output`)"),
    not_ro("sort-co", "sort --co=sh /tmp/x", "(`--compress-program`), which runs a program"),
    not_ro("sort-T", "sort -T /tmp /tmp/x", "writes temporary files"),
    not_ro("sort-files0", "sort --files0-from=/tmp/list", "reads the names of its files"),
    not_ro("sort-f0-abbrev", "sort --files0=/tmp/list", "(`--files0-from`)"),
    not_ro("sort-fi-ambiguous", "sort --fi=/tmp/list", "ambiguous (--field-separator, --files0"),
    not_ro("sort-unknown", "sort --frobnicate /tmp/x", "an option Chavion does not know"),
    not_ro("sort-random-source-secret", "sort --random-source=/etc/shadow x", "secrets"),
    # uniq: a second operand is written
    ro("uniq", "uniq -c /tmp/x"),
    not_ro("uniq-out", "uniq /tmp/x /tmp/y", "with more than 1, uniq does more than read"),
    # cat & co.
    ro("cat", "cat -A /etc/hosts"),
    not_ro("cat-shadow", "cat /etc/shadow", "reads /etc/shadow, which may hold secrets"),
    not_ro("cat-unknown", "cat --frob /etc/hosts", "does not know"),
    ro("tac", "tac /var/log/syslog"),
    ro("head-n", "head -n 5 /etc/hosts"),
    ro("head-num", "head -5 /etc/hosts"),
    ro("tail-follow-name", "tail --follow=name /var/log/syslog"),
    ro("tail-F", "tail -F -n 20 /var/log/syslog"),
    not_ro("tail-presume", "tail ---presume-input-tty /var/log/syslog"),
    ro("wc", "wc -l /var/log/syslog"),
    not_ro("wc-files0", "wc --files0-from=/tmp/list", "reads the names of its files"),
    not_ro("wc-files0-abbrev", "wc --f=/tmp/list", "(`--files0-from`)"),
    ro("nl", "nl -ba /etc/hosts"),
    ro("cut", "cut -d: -f1,3 /etc/passwd"),
    ro("column", "column -t -s: /etc/passwd"),
    ro("zcat", "zcat /var/log/syslog.2.gz"),
    ro("diff", "diff -u /etc/hosts /etc/hosts.bak"),
    ro("diff-recursive", "diff -r /srv/a /srv/b"),
    not_ro("diff-recursive-etc", "diff -r /etc /srv/etc", "recursively, which holds secrets"),
    not_ro("diff-three", "diff a b c", "with more than 2, diff does more than read"),
    ro("cmp", "cmp -l /tmp/a /tmp/b"),
    # grep family
    ro("grep", "grep -rn --include='*.conf' listen /etc/nginx/"),
    ro("grep-context", "grep -3 -i error /var/log/syslog"),
    ro("grep-color", "grep --col=always error /var/log/syslog"),
    ro("grep-d-skip", "grep -d skip x /srv/*.conf"),
    not_ro("grep-d-recurse", "grep -d recurse root /etc", "`-d recurse`, a value Chavion"),
    not_ro("grep-dir-recurse", "grep --directories=recurse root /etc", "a value Chavion"),
    not_ro("grep-recursive-etc", "grep -r root /etc", "searches /etc recursively"),
    not_ro("grep-R-etc", "grep -R root /", "recursively"),
    not_ro("grep-f-shadow", "grep -f /etc/shadow x /tmp/y", "reads /etc/shadow"),
    not_ro("grep-exclude-from", "grep --exclude-from=/root/.ssh/id_rsa x /tmp", "secrets"),
    not_ro("grep-r-cwd-unknown", "grep -r root", "the current directory recursively, and it"),
    not_ro("grep-r-cwd-etc", "cd /etc && grep -r root", "directory recursively, which holds"),
    ro("grep-r-cwd-srv", "cd /srv && grep -r root"),
    not_ro("grep-e-then-files", "grep -e root /etc/shadow", "reads /etc/shadow"),
    ro("grep-pattern-is-not-a-file", "grep /etc/shadow /tmp/x"),
    not_ro("glob-may-be-an-option", "grep x *.log", "may match a file named like an option"),
    ro("glob-dot-slash", "grep x ./*.log"),
    ro("glob-after-double-dash", "grep -- x *.log"),
    ro("egrep", "egrep -o 'a|b' /tmp/x"),
    ro("fgrep", "fgrep -c x /tmp/x"),
    ro("zgrep", "zgrep -i error /var/log/syslog.2.gz"),
    not_ro("zgrep-r", "zgrep -r x /srv", "does not know"),
    # find: the expression language
    ro("find", "find /var/log -name '*.gz' -mtime +30 -size +1M -print"),
    ro("find-newer", "find . -newermt 2024-01-01 -type f -ls"),
    ro("find-ops", "find /srv \\( -name a -o -name b \\) ! -empty -printf '%p\\n'"),
    not_ro("find-delete", "find /tmp -name x -delete", "deletes files"),
    not_ro("find-exec", "find /tmp -exec ls {} \\;", "runs a command on the files it finds"),
    not_ro("find-fls", "find /tmp -fls /tmp/out"),
    not_ro("find-files0", "find -files0-from /tmp/list", "reads its start points"),
    not_ro("find-unknown", "find /tmp -frob", "does not know"),
    # tree: not getopt
    ro("tree", "tree -L 2 -a /srv"),
    ro("tree-cluster", "tree -aL 2 /srv"),
    not_ro("tree-o", "tree -o /tmp/out /srv", "writes its output to a file"),
    not_ro("tree-Lo", "tree -Lo 2 /tmp/out /srv", "`-o` in `-Lo`"),
    not_ro("tree-R", "tree -R -H . -L 1 /srv", "writes an HTML file"),
    not_ro("tree-fromfile", "tree --fromfile /tmp/list", "reads the names"),
    # files' metadata: names, not contents (secret paths may be looked at)
    ro("ls", "ls -la --time-style=long-iso /root/.ssh"),
    ro("ls-abbrev", "ls --hum --alm /srv"),
    not_ro("ls-ambiguous", "ls --al /srv", "ambiguous (--all, --almost-all)"),
    ro("stat", "stat -c %s /etc/shadow"),
    ro("file", "file -b /etc/shadow"),
    not_ro("file-files-from", "file -f /etc/shadow", "reads the names"),
    not_ro("file-compile", "file -C -m /tmp/magic", "writes a compiled magic file"),
    not_ro("file-preserve", "file -p /tmp/x", "access times"),
    ro("du", "du -sh --max-depth=1 /var/lib/docker"),
    not_ro("du-files0", "du --files0-from=/etc/shadow", "reads the names"),
    ro("df", "df -hT --output=source,pcent"),
    ro("md5sum", "md5sum /etc/ssh/ssh_host_ed25519_key"),
    ro("sha256sum-check", "sha256sum -c --quiet SHA256SUMS"),
    ro("realpath", "realpath --relative-to=/srv /srv/app/x"),
    ro("readlink", "readlink -f /proc/self/exe"),
    ro("basename", "basename -s .conf /etc/nginx/nginx.conf"),
    ro("dirname", "dirname /etc/nginx/nginx.conf"),
    ro("namei", "namei -l /etc/ssl/private/x.key"),
    ro("lsattr", "lsattr -d /srv"),
    ro("getfacl", "getfacl -R /srv"),
    ro("strings", "strings -n 8 /usr/bin/ls"),
    not_ro("strings-response-file", "strings @/etc/shadow", "Chavion does not know"),
    # text, builtins, identity
    ro("echo", "echo -e 'a\\tb' --help"),
    ro("printf", "printf '%s\\n' a b"),
    not_ro("printf-v", "printf -v x %s y", "assigns its output to a shell variable"),
    ro("test", "test -f /etc/hosts"),
    ro("bracket", "[ -d /srv ]"),
    not_ro("test-v", "test -v name", "evaluates array subscripts"),
    ro("true", "true"),
    ro("sleep", "sleep 1"),
    ro("type", "type -a ls"),
    ro("which", "which -a ls"),
    ro("whereis", "whereis -b ls"),
    ro("command-v", "command -v ls"),
    ro("uptime", "uptime -p"),
    ro("uname", "uname -a"),
    ro("hostname", "hostname -f"),
    ro("hostname-abbrev", "hostname --fq"),
    not_ro("hostname-set", "hostname newname", "the operand `newname`"),
    not_ro("hostname-file", "hostname -F /etc/hostname", "sets the host name"),
    not_ro("hostname-boot", "hostname --bo x", "(`--boot`), which sets the host name"),
    ro("whoami", "whoami"),
    ro("id", "id -un www-data"),
    ro("groups", "groups root"),
    ro("w", "w -h"),
    ro("who", "who -b"),
    not_ro("who-shadow", "who /etc/shadow", "secrets"),
    ro("last", "last -10 -F"),
    ro("nproc", "nproc --all"),
    ro("locale", "locale -a"),
    ro("cd", "cd /srv && ls"),
]


@pytest.mark.parametrize(("command", "verdict", "reason"), CORE_ROWS)
def test_core_tools_are_read_only_only_with_read_only_options(
    command: str, verdict: Verdict, reason: str
) -> None:
    decision = judge(command)
    assert decision.verdict is verdict, decision
    assert reason in decision.reason, decision
    if verdict is A:
        assert "only reads" not in decision.reason


def test_a_listed_tool_without_a_spec_is_read_only_only_without_options() -> None:
    config = PolicyConfig(readonly=(ReadOnlyRule.of("mytool"),), auto_approve_readonly=True)
    assert judge("mytool report.txt", config).verdict is OK
    refused = judge("mytool -x report.txt", config)
    assert refused.verdict is A
    assert "uses `-x`, and Chavion knows no option of mytool to be read-only" in refused.reason
    assert judge("mytool /etc/shadow", config).verdict is A
    assert judge("mytool $X", config).verdict is A


@pytest.mark.parametrize(
    "rule",
    [
        ReadOnlyRule.of("sort"),
        ReadOnlyRule.of("sort -o"),
        ReadOnlyRule.of("find", "-name"),
        ReadOnlyRule.of("tree -o"),
    ],
)
def test_a_configured_list_never_makes_a_writing_option_read_only(rule: ReadOnlyRule) -> None:
    config = PolicyConfig(readonly=(rule,), auto_approve_readonly=True)
    for command in ("sort -o /tmp/y /tmp/x", "find /tmp -delete", "tree -o /tmp/y /srv"):
        assert judge(command, config).verdict is A


def test_a_configured_deny_glob_takes_read_only_status_away() -> None:
    config = PolicyConfig(readonly=(ReadOnlyRule.of("ls", "-R*"),), auto_approve_readonly=True)
    assert judge("ls -la /srv", config).verdict is OK
    assert "the read-only list refuses" in judge("ls -R /srv", config).reason


def test_the_shipped_list_names_only_tools_with_a_spec() -> None:
    for rule in DEFAULT_READONLY:
        name = rule.prefix[0]
        assert read_tool(name, ()) is not None, name
