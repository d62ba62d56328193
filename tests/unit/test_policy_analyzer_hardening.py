"""The analyzer's hardening (issue 15), read as a spec: on a host that auto-approves
read-only commands, none of these is ALLOWED. Each class is a table of (command, verdict,
a fragment of the reason): the verdict says how bad it is, the reason says why, and the
approver reads that reason.

Every command is only a string handed to the pure `decide`; nothing is ever executed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bots.execution.progress import approval_prompt
from bots.settings.loading import parse_settings
from bots.settings.paths import DATA_DIR_ENV, EXAMPLE_CONFIG
from executor import shell
from executor.policy import Decision, HostPolicy, PolicyConfig, Requester, Verdict, decide
from executor.policy.constructs import UNMODELLED
from executor.policy.hazards import env_hit, is_secret
from executor.shell import For, Group, SimpleCommand
from tests.unit.test_exec_progress import make_request

F = Verdict.FORBID
A = Verdict.NEEDS_APPROVAL
OK = Verdict.ALLOW
AUTO = PolicyConfig(auto_approve_readonly=True)
ADMIN = Requester("@root:example.org", "admin")
DATA_DIR = "/srv/chavion/.data"
WITH_DATA_DIR = PolicyConfig(auto_approve_readonly=True, secret_paths=(DATA_DIR,))


def judge(command: str, config: PolicyConfig = AUTO) -> Decision:
    return decide(command, "local", ADMIN, config)


Row = tuple[str, Verdict, str]

# ---- 1. bash constructs the walker does not fully model (constructs.UNMODELLED)
UNMODELLED_ROWS: list[tuple[str, Row]] = [
    ("ansi-c-quote", ("echo $'\\'; rm -rf --no-preserve-root /; #\\''", A, "only bash reads")),
    ("ansi-c-quote", ("echo $'it\\'s'", A, "another shell would end the string")),
    ("arith-command", ("((rm -rf /x))", A, "evaluates `(( … ))` as arithmetic")),
    ("arith-command", ("(( 1 + 2 ))", A, "POSIX sh would run it")),
    ("arith-command", ("((x = a[$(id)]))", A, "")),
    ("test-v", ("[[ -v a[$(id)] ]]", A, "[[ -v name[…] ]]")),
    ("test-v", ("[[ -v a[1] ]]", A, "subscript bash evaluates")),
    ("prompt-expansion", ("echo ${x@P}", A, "as a prompt")),
    ("indirect-expansion", ("echo ${!x}", A, "indirect expansion")),
    ("indirect-expansion", ("read -r x < /etc/hostname; echo ${!x}", A, "indirect")),
    ("coproc", ("coproc cat", A, "coprocess")),
    ("coproc", ("coproc NAME { cat; }", A, "coprocess")),
    ("select", ("select x in a b; do echo $x; done", A, "select")),
    ("file-substitution", ("echo $(</etc/hostname)", A, "$(<file)")),
    ("file-substitution", ("echo $(</etc/shadow)", A, "")),
    ("process-substitution", ("cat <(ls)", A, "process substitution")),
    ("process-substitution", ("echo <(ls)", A, "process substitution")),
    ("process-substitution", ("diff <(ls /a) <(ls /b)", A, "process substitution")),
    ("here-string", ("cat <<< hi", A, "here-string")),
    ("here-string", ("grep x <<< 'a x'", A, "here-string")),
    ("fd-variable", ("exec {fd}>/tmp/x", A, "")),
    ("locale-string", ('echo $"hello"', A, "message catalog")),
    ("function", ("ls(){ echo; }; ls", A, "defines the shell function ls()")),
    ("function", ("function cat { echo; }; cat /etc/hostname", A, "shell function cat()")),
    ("function", ("f(){ echo; }; f", A, "shell function f()")),
    ("shopt", ("shopt -s expand_aliases; echo", A, "shell options")),
    ("set", ("set -o posix; echo", A, "shell options")),
    ("set", ("set", A, "prints every variable")),
    ("enable", ("enable -n echo", A, "builtins")),
    ("enable", ("enable -f /tmp/x.so ls", A, "loads shell builtins")),
    ("alias", ("alias ll='ls -l'", A, "aliases")),
    ("unalias", ("unalias ll", A, "aliases")),
    ("hash", ("hash -p /tmp/x ls; ls", A, "which program a command name runs")),
    ("trap", ("trap 'id' DEBUG", A, "trap")),
    ("declare", ("declare -n r=x; echo $r", A, "attributes")),
    ("export", ("export X=1", A, "exports")),
    ("readonly", ("readonly X=1", A, "read-only")),
    ("local", ("local x=1", A, "local")),
    ("read", ("read x < /etc/hostname", A, "reads input")),
    ("mapfile", ("mapfile -C 'id' -c 1 a < /etc/hostname", A, "callback")),
    ("getopts", ("getopts ab opt", A, "options into variables")),
    ("let", ("let x=1+2", A, "arithmetic")),
    ("exec", ("exec </etc/hostname", A, "open files")),
    ("compgen", ("compgen -C id x", A, "completion")),
    ("complete", ("complete -C id x", A, "completion")),
    ("bind", ("bind -x '\"\\C-x\": id'", A, "binds keys")),
    ("fc", ("fc -s", A, "history")),
    ("ulimit", ("ulimit -n 10", A, "resource limits")),
    ("umask", ("umask 000", A, "creation mask")),
    ("source", ("source /etc/hostname", A, "")),
    ("source", (". /etc/hostname", A, "")),
    ("ansi-c-quote", ("sh -c \"echo \\$'\\\\'; rm -rf /x; #\\\\''\"", A, "only bash")),
    ("arith-command", ("dash -c '((rm -rf /x))'", A, "POSIX sh would run it")),
    ("alias", ("shopt -s expand_aliases; alias ls='rm -rf /x'; ls", A, "aliases")),
    ("exec", ("exec 3>/tmp/f", A, "writes to /tmp/f")),
    ("function", ("builtin cd /tmp; cat(){ :; }; cat x", A, "cat()")),
]


@pytest.mark.parametrize(
    ("command", "verdict", "fragment"),
    [row for _, row in UNMODELLED_ROWS],
    ids=[f"{key}:{row[0]}" for key, row in UNMODELLED_ROWS],
)
def test_constructs_the_policy_does_not_model_are_never_read_only(
    command: str, verdict: Verdict, fragment: str
) -> None:
    decision = judge(command)
    assert decision.verdict is verdict, decision
    assert fragment in decision.reason


def test_every_unmodelled_construct_has_a_row() -> None:
    """The list in constructs.UNMODELLED is the spec: each entry is shown to hold."""
    assert set(UNMODELLED) == {key for key, _ in UNMODELLED_ROWS}


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("ls(){ rm -rf /x; }; ls", "ls()"),
        ("ls(){ echo; }; ls", "ls()"),
        ("echo ${!x}", "indirect"),
        ("enable -f /tmp/x.so ls", "loads"),
        ("hash -p /tmp/x ls", "hash"),
        ("alias ls=id", "aliases"),
    ],
)
def test_constructs_that_can_hide_code_need_a_person_even_in_allowlist_mode(
    command: str, fragment: str
) -> None:
    """An approval finding (not only "not read-only"): allowlist mode refuses it outright."""
    config = PolicyConfig(mode="allowlist", allowlist=("*",), auto_approve_readonly=True)
    decision = judge(command, config)
    assert decision.verdict is F, decision
    assert fragment in decision.reason


@pytest.mark.parametrize(
    "command",
    ["echo $'a\\tb'", "printf '%s\\n' x", "echo $((1 + 2))", "[[ -f /etc/hostname ]]"],
)
def test_what_bash_reads_like_any_shell_stays_read_only(command: str) -> None:
    assert judge(command).verdict is OK


# ---- 2. environment into programs and nested shells
ENVIRONMENT: list[Row] = [
    ("echo 'rm -rf /' | BASH_ENV=/dev/stdin bash -c :", A, "sets BASH_ENV"),
    ("BASH_ENV=/tmp/x bash -c :", A, "sets BASH_ENV"),
    ("ENV=/tmp/x sh -c :", A, "sets ENV"),
    ("X=1 sh -c 'echo hi'", A, "a shell reads its environment at start-up"),
    ("X=1 bash -c 'ls'", A, "sets X"),
    ("LD_PRELOAD=/tmp/x.so ls", A, "load or run other code"),
    ("LD_LIBRARY_PATH=/tmp ls", A, "sets LD_LIBRARY_PATH"),
    ("PATH=/tmp ls", A, "sets PATH"),
    ("PATH=/tmp sh -c ls", A, "sets PATH"),
    ("PROMPT_COMMAND=id bash -i", A, "PROMPT_COMMAND"),
    ("PS4='$(id)' bash -xc :", A, ""),
    ("SHELLOPTS=xtrace PS4='$(id)' bash -c :", A, ""),
    ("BASHOPTS=extglob bash -c :", A, "BASHOPTS"),
    ("GCONV_PATH=/tmp iconv -f x /etc/hostname", A, "GCONV_PATH"),
    ("GIT_PAGER='sh -c id' git log", A, "GIT_PAGER"),
    ("GIT_EXTERNAL_DIFF=/tmp/x git diff", A, "GIT_EXTERNAL_DIFF"),
    ("PAGER=/tmp/x man ls", A, "PAGER"),
    ("LESSOPEN='|id %s' less /etc/hostname", A, "LESSOPEN"),
    ("MANPAGER=/tmp/x man ls", A, "MANPAGER"),
    ("EDITOR=/tmp/x crontab -l", A, "EDITOR"),
    ("PYTHONSTARTUP=/tmp/x python3 -c 1", A, "sets PYTHONSTARTUP"),
    ("FOO=1 python3 -c 1", A, "an interpreter reads its environment"),
    ("GLIBC_TUNABLES=x ls", A, "GLIBC_TUNABLES"),
    ("FOO=bar ls", A, "sets FOO for the command"),
    ("LC_ALL=/tmp/x ls", A, "sets LC_ALL"),
    ("COLUMNS=$(id) ls", A, ""),
    ("TZ=:/etc/shadow date", A, "sets TZ"),
    ("TZ=/proc/self/fd/0 date", A, "sets TZ"),
    ("env LD_PRELOAD=/tmp/x ls", A, "LD_PRELOAD"),
    ("env PATH=/tmp ls", A, "PATH"),
    ("env BASH_ENV=/tmp/x bash -c :", A, "BASH_ENV"),
    ("env FOO=1 sh -c ls", A, "a shell reads its environment"),
    ("env -i PATH=/tmp ls", A, "PATH"),
    ("export PATH=/tmp; ls", A, "exports PATH"),
    ("export BASH_ENV=/tmp/x; bash -c :", A, "exports BASH_ENV"),
    ("declare -x LD_PRELOAD=/tmp/x; ls", A, "exports LD_PRELOAD"),
    ("PATH=/tmp; ls", A, "changes PATH"),
    ("IFS=/; ls", A, "changes IFS"),
    ("BASH_XTRACEFD=1; ls", A, "changes BASH_XTRACEFD"),
]


@pytest.mark.parametrize(("command", "verdict", "fragment"), ENVIRONMENT)
def test_environment_for_programs_and_nested_shells(
    command: str, verdict: Verdict, fragment: str
) -> None:
    decision = judge(command)
    assert decision.verdict is verdict, decision
    assert fragment in decision.reason


@pytest.mark.parametrize(
    "command",
    [
        "LC_ALL=C ls",
        "LANG=C.UTF-8 ls -l",
        "LC_TIME=en_US.UTF-8 date",
        "TZ=UTC date",
        "TZ=Europe/Paris date",
        "COLUMNS=200 ps aux",
        "TERM=dumb ls",
        "NO_COLOR=1 ls",
        "SYSTEMD_PAGER= systemctl status nginx",
        "SYSTEMD_PAGER=cat journalctl -n 5",
        "PAGER=cat git log -1",
        "x=1; echo $x",
        "LC_ALL=C.UTF-8 bash -c ls",
    ],
)
def test_harmless_variables_keep_a_command_read_only(command: str) -> None:
    decision = judge(command)
    assert decision.verdict is OK, decision


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("LC_ALL", "C", None),
        ("LC_ALL", None, "sets LC_ALL"),  # only known at run time
        ("TZ", "../../etc/shadow", "sets TZ"),
        ("PAGER", "less", "load or run other code"),
        ("SYSTEMD_PAGER", "less", "load or run other code"),
        ("COLUMNS", "80", None),
        ("COLUMNS", "x", "sets COLUMNS"),
        ("NO_COLOR", "$(id)", "sets NO_COLOR"),
    ],
)
def test_the_harmless_set_is_harmless_only_with_harmless_values(
    name: str, value: str | None, expected: str | None
) -> None:
    hit = env_hit(name, value)
    assert (hit is None) == (expected is None)
    if hit is not None and expected is not None:
        assert expected in hit[0]


# ---- 3. secrets as operands
SECRETS: list[Row] = [
    ("cat /proc/1/root/etc/shadow", A, "may hold secrets"),
    ("cat /proc/1/root/etc/hostname", A, "may hold secrets"),
    ("cat /proc/self/root/etc/ssh/ssh_host_ed25519_key", A, ""),
    ("cat /proc/1/cwd/config.yaml", A, "secrets"),
    ("cat /proc/1/fd/3", A, "secrets"),
    ("cat /proc/self/fd/0", A, ""),
    ("cat /proc/1/environ", A, "secrets"),
    ("cat /proc/self/environ", A, "secrets"),
    ("cat /proc/1/task/1/environ", A, "secrets"),
    ("cat /proc/1/mem", A, "secrets"),
    ("cat /proc/1/map_files/x", A, "secrets"),
    ("tail /proc/*/environ", A, ""),
    ("cat /etc/shadow", A, "secrets"),
    ("cat /etc/shadow-", A, "secrets"),
    ("cat /etc/shadow.bak", A, "secrets"),
    ("cat /etc/shadow~", A, "secrets"),
    ("cat /etc/shadow.dpkg-old", A, "secrets"),
    ("cat /etc/gshadow", A, "secrets"),
    ("cat /etc/gshadow-", A, "secrets"),
    ("cat /var/backups/shadow.bak", A, "secrets"),
    ("cat /var/backups/gshadow.bak", A, "secrets"),
    ("cat /etc/security/opasswd", A, "secrets"),
    ("cat /etc/ssh/ssh_host_ed25519_key", A, "secrets"),
    ("cat /etc/ssh/ssh_host_rsa_key", A, "secrets"),
    ("cat /etc/letsencrypt/live/example.org/privkey.pem", A, "secrets"),
    ("cat /dev/sda", A, "secrets"),
    ("head -c 512 /dev/nvme0n1", A, "secrets"),
    ("cat /dev/mapper/root", A, "secrets"),
    ("cat /dev/dm-0", A, "secrets"),
    ("cat /dev/mem", A, "secrets"),
    ("cat /dev/kmem", A, "secrets"),
    ("cat /dev/port", A, "secrets"),
    ("cat /proc/kcore", A, "secrets"),
    ("strings /dev/sda1", A, "secrets"),
    ("cat /tmp/../etc/shadow", A, "secrets"),
    ("cat /etc/ssh/../shadow", A, "secrets"),
    ("cd /tmp && cat ../etc/shadow", A, "secrets"),
    ("cat ../../../../etc/shadow", A, "secrets"),
    ("cat < /etc/shadow", A, "secrets"),
    ("x=$(</etc/shadow)", A, "secrets"),
    ("xargs -a /etc/shadow echo", A, "secrets"),
    ("xargs --arg-file=/proc/1/environ echo", A, "secrets"),
]


@pytest.mark.parametrize(("command", "verdict", "fragment"), SECRETS)
def test_secrets_are_never_read_without_a_person(
    command: str, verdict: Verdict, fragment: str
) -> None:
    decision = judge(command)
    assert decision.verdict is verdict, decision
    assert fragment in decision.reason


DATA_DIR_READS: list[Row] = [
    (f"cat {DATA_DIR}/secrets/macaroon_secret_key", A, "secrets"),
    (f"cat {DATA_DIR}/synapse/signing.key", A, "secrets"),
    (f"head {DATA_DIR}/accounts/master.json", A, "secrets"),
    (f"cat {DATA_DIR}/*/*", A, "secrets"),
    (f"cat {DATA_DIR}/secrets/*", A, "secrets"),
    (f"grep token {DATA_DIR}/accounts/executor.json", A, "secrets"),
    ("cat /srv/chavion/.data/../.data/secrets/macaroon_secret_key", A, "secrets"),
    (f"cd {DATA_DIR} && cat secrets/macaroon_secret_key", A, "secrets"),
    (f"cat < {DATA_DIR}/secrets/macaroon_secret_key", A, "secrets"),
    (f"xargs -a {DATA_DIR}/secrets/macaroon_secret_key echo", A, "secrets"),
    ("cat /srv/chavion/.d*/secrets/macaroon_secret_key", A, "secrets"),
    ("grep -r macaroon /srv", A, "recursively, which holds Chavion's secrets"),
    ("grep -R token /srv/chavion", A, "recursively"),
    ("cd /srv && grep -ri token .", A, "recursively"),
    ("rg token /", A, ""),
]


@pytest.mark.parametrize(("command", "verdict", "fragment"), DATA_DIR_READS)
def test_chavions_own_data_dir_is_a_secret(command: str, verdict: Verdict, fragment: str) -> None:
    decision = judge(command, WITH_DATA_DIR)
    assert decision.verdict is verdict, decision
    assert fragment in decision.reason


@pytest.mark.parametrize(
    "command",
    [
        f"ls -l {DATA_DIR}",
        f"stat {DATA_DIR}/secrets",
        "cat /srv/chavion/README",
        "cat /etc/hostname",
        "grep -r listen /etc/nginx",
    ],
)
def test_beside_the_data_dir_and_names_only_stay_read_only(command: str) -> None:
    assert judge(command, WITH_DATA_DIR).verdict is OK


def test_a_host_override_keeps_the_data_dir_secret() -> None:
    config = PolicyConfig(
        auto_approve_readonly=True,
        secret_paths=(DATA_DIR,),
        hosts={"local": HostPolicy(workdir="/srv")},
    )
    assert judge("cat chavion/.data/secrets/macaroon_secret_key", config).verdict is A


@pytest.mark.parametrize(
    ("path", "glob", "secret"),
    [
        ("/etc/shadow", False, True),
        ("/etc/shadow.orig", False, True),
        ("/etc/passwd", False, False),
        ("/etc/passwd-", False, False),
        ("/proc/1/status", False, False),
        ("/proc/cpuinfo", False, False),
        ("/proc/self/root", False, True),
        ("/dev/null", False, False),
        ("/dev/sda", False, True),
        ("../etc/shadow", False, True),
        ("/etc/sha*", True, True),
        ("/dev/sd*", True, True),
        ("/etc/host*", True, False),
    ],
)
def test_is_secret(path: str, glob: bool, secret: bool) -> None:
    assert is_secret(path, glob) is secret


def test_is_secret_with_secret_paths() -> None:
    assert is_secret(f"{DATA_DIR}/x", False, (DATA_DIR,))
    assert is_secret(DATA_DIR, False, (DATA_DIR,))
    assert not is_secret(f"{DATA_DIR}x", False, (DATA_DIR,))


# ---- 4. the obfuscated catastrophic
CATASTROPHIC: list[Row] = [
    ("rm -rf \"$(printf '\\x2f')\"", F, "deletes the root filesystem"),
    ("rm -rf \"$(printf '/')\"", F, "root filesystem"),
    ("rm -rf $(echo /)", F, "root filesystem"),
    ("rm -rf \"$(echo -e '\\x2f')\"", F, "root filesystem"),
    ("bash <(echo rm -rf /)", F, "root filesystem"),
    ("sh <(printf 'rm -rf /')", F, "root filesystem"),
    ("source <(echo rm -rf /)", F, "root filesystem"),
    (". <(echo rm -rf /)", F, "root filesystem"),
    ("sh <<< 'rm -rf /'", F, "root filesystem"),
    ("bash <<< 'rm -rf --no-preserve-root /'", F, "root filesystem"),
    ("rm -rf /proc/1/root/", F, "through /proc/1/root"),
    ("rm -rf /proc/self/root/etc", F, "/etc"),
    ("rm -rf /proc/*/root/usr", F, "/usr"),
    ("chmod -R 777 /proc/1/root/", F, ""),
    ("rm -rf /tmp/../../..", F, "root filesystem"),
    ("rm -rf /usr/../", F, "root filesystem"),
    ("rm -rf //./etc/..", F, "root filesystem"),
    ("cd / && rm -rf ~+/*", F, "everything under /"),
    ("rm -rf ${HOME%/*}/..", A, "computed at run time"),
    ('rm -rf "$(cat /tmp/target)"', A, "computed at run time"),
    ('rm -rf "$DIR"', A, "computed at run time"),
    ("rm -rf ~-", A, "computed at run time"),
    ("source /dev/stdin", A, ""),
    ("echo 'rm -rf /x' | bash", A, ""),
    ("sh -c '((rm -rf /))'", F, "root filesystem"),
    ("builtin source <(echo rm -rf /)", F, "root filesystem"),
    ("eval \"$(printf 'rm -rf /')\"", F, "root filesystem"),
    ("command eval 'rm -rf /'", F, "root filesystem"),
    ("builtin exec rm -rf /", F, "root filesystem"),
    ("\\rm -rf /", F, "root filesystem"),
    ("env -C /proc/1/root rm -rf *", F, "everything under /"),
]


@pytest.mark.parametrize(("command", "verdict", "fragment"), CATASTROPHIC)
def test_the_obfuscated_catastrophic(command: str, verdict: Verdict, fragment: str) -> None:
    decision = judge(command)
    assert decision.verdict is verdict, decision
    assert fragment in decision.reason


@pytest.mark.parametrize(
    "command",
    ["rm -rf ${HOME%/*}/..", 'rm -rf "$(cat /tmp/target)"', 'x=$(id); rm -r "$x"'],
)
def test_a_computed_rm_target_carries_a_warning_for_the_approver(command: str) -> None:
    decision = judge(command)
    assert decision.verdict is A
    assert any("computed at run time" in w for w in decision.warnings), decision


def test_the_warning_is_in_the_approval_prompt() -> None:
    command = 'rm -rf "$(cat /tmp/target)"'
    decision = judge(command)
    request = make_request(command, host="local")
    prompt = approval_prompt(
        request, reason=decision.reason, expires_in=60, warnings=decision.warnings
    )
    assert "⚠️ the target of this `rm -r` is computed at run time" in prompt.body
    assert "computed at run time" in prompt.html


def test_a_plain_rm_carries_no_warning() -> None:
    assert judge("rm -rf /tmp/build").warnings == ()


# ---- 5. wrappers with writing or executing options
WRAPPERS: list[Row] = [
    ("xargs -a /etc/shadow echo", A, "secrets"),
    ("xargs -a/etc/shadow echo", A, "secrets"),
    ("/usr/bin/time -o /tmp/x ls", A, "writes its timing to /tmp/x"),
    ("command time --output=/tmp/x ls", A, "writes"),
    ("env time -a -o /tmp/x ls", A, "writes"),
    ("env time --output=/etc/passwd ls", F, "/etc/passwd"),
    ("timeout --bogus 5 ls", A, "does not know"),
    ("nice --bogus ls", A, "does not know"),
    ("stdbuf --bogus ls", A, "does not know"),
    ("ionice -c3 -p 1", A, "acts on other processes"),
    ("ionice -c3 -P 1 ls", A, "acts on other processes"),
    ("env -S 'rm -rf /'", F, "root filesystem"),
    ("env --split-string='cat /etc/shadow'", A, "secrets"),
    ("env -C / rm -rf *", F, "everything under /"),
    ("env --chdir=/ rm -rf *", F, "everything under /"),
    ("env -C /tmp ls", A, "another directory"),
    ("setsid ls", A, "setsid"),
    ("flock /tmp/x ls", A, "creates its lock file"),
    ("watch ls", A, "over and over"),
    ("nohup ls", A, "nohup.out"),
    ("script -c ls", A, "typescript"),
    ("script /tmp/x", A, "typescript"),
    ("busybox ls", A, "busybox's own ls"),
    ("toybox cat /etc/hostname", A, "toybox's own cat"),
    ("busybox rm -rf /", F, "root filesystem"),
]


@pytest.mark.parametrize(("command", "verdict", "fragment"), WRAPPERS)
def test_wrappers_with_writing_or_executing_options(
    command: str, verdict: Verdict, fragment: str
) -> None:
    decision = judge(command)
    assert decision.verdict is verdict, decision
    assert fragment in decision.reason


@pytest.mark.parametrize(
    "command",
    [
        "timeout 5 ls",
        "timeout --foreground -k 2 5 ls",
        "timeout --signal=KILL 5 ls",
        "nice -n 10 ls",
        "ionice -c3 ls",
        "stdbuf -oL ls",
        "xargs -a /etc/hostname echo",
        "time ls",
    ],
)
def test_wrappers_used_plainly_stay_read_only(command: str) -> None:
    decision = judge(command)
    assert decision.verdict is OK, decision


def test_the_corpus_holds_no_allowed_command() -> None:
    rows = [
        *(row for _, row in UNMODELLED_ROWS),
        *ENVIRONMENT,
        *SECRETS,
        *CATASTROPHIC,
        *WRAPPERS,
    ]
    assert len(rows) >= 150
    allowed = [c for c, _, _ in rows if judge(c).verdict is OK]
    allowed += [c for c, _, _ in DATA_DIR_READS if judge(c, WITH_DATA_DIR).verdict is OK]
    assert allowed == []


def test_settings_give_the_policy_the_resolved_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    data["data_dir"] = str(tmp_path / "state" / ".." / "state")
    settings = parse_settings(data, EXAMPLE_CONFIG)
    expected = str((tmp_path / "state").resolve())
    assert settings.execution.policy.secret_paths == (expected,)
    assert settings.execution.policy.for_host("local").secret_paths == (expected,)
    decision = decide(
        f"cat {expected}/secrets/macaroon_secret_key", "local", ADMIN, settings.execution.policy
    )
    assert decision.verdict is not OK
    assert "secrets" in decision.reason


# ---- the parser keeps what bash does with these constructs
@pytest.mark.parametrize(
    ("source", "kind", "flag"),
    [
        ("coproc cat", Group, "coproc"),
        ("coproc NAME { cat; }", Group, "coproc"),
        ("select x in a b; do echo $x; done", For, "select"),
    ],
)
def test_the_parser_marks_coproc_and_select(source: str, kind: type, flag: str) -> None:
    [command] = shell.parse(source).items[0].first.commands
    assert isinstance(command, kind)
    assert getattr(command, flag) is True


@pytest.mark.parametrize(
    ("source", "flag"),
    [("( cat )", "coproc"), ("for x in a b; do echo $x; done", "select")],
)
def test_plain_subshells_and_loops_are_not_marked(source: str, flag: str) -> None:
    [command] = shell.parse(source).items[0].first.commands
    assert getattr(command, flag) is False


@pytest.mark.parametrize(
    ("word", "tilde"), [("~+/x", "+"), ("~-", "-"), ("~+2", "+2"), ("~root", "root"), ("~", "")]
)
def test_tilde_prefixes_pwd_and_oldpwd_are_tildes(word: str, tilde: str) -> None:
    [command] = shell.parse(f"ls {word}").items[0].first.commands
    assert isinstance(command, SimpleCommand)
    part = command.words[1].parts[0]
    assert (part.kind, part.text) == ("tilde", tilde)
