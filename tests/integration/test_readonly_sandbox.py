"""Differential test of the read-only classifier (issue 15): every everyday command the
corpus expects read-only, and that `decide()` auto-approves, is really run, and must not
attempt a single write.

Each command runs as `bash --noprofile --norc -c COMMAND` in a fixed, minimal environment,
inside a bubblewrap sandbox where `/` is bound read-only (so an attempted write fails with
EROFS instead of happening), with a scratch tree (a git repository, an /etc-like tree, logs)
as its working directory, under `strace -f`. The trace, not the exit status, is the verdict:
an open for writing or creating, or any unlink, rename, mkdir, chmod, chown, truncate, link
or utime call, on any path but /dev/null, /dev/tty and the process's own fds, fails the
command's row. Commands that need a service absent here (docker, systemd) may fail to run;
they only must not write. Nothing is mocked: real bwrap, real strace, real tools.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from executor.policy import Verdict, decide
from executor.wrapper import FIXED_VARIABLES
from tests.unit.test_policy_corpus import CONFIG, HOST, OPERATOR, READ_ONLY, Entry

pytestmark = pytest.mark.integration

FIXED_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SCRATCH_PARENT = "/srv" if os.path.isdir("/srv") else "/tmp"
"""A directory every Debian has; /tmp (the sandbox's own tmpfs) where there is no /srv."""
SCRATCH = f"{SCRATCH_PARENT}/scratch"
"""Where the scratch tree appears inside the sandbox (a read-only bind)."""
TIMEOUT = 20.0
"""Per command: `top`, `vmstat 1 2` and friends finish well within it."""
WORKERS = 4

WRITING_CALLS = frozenset(
    {
        "creat",
        "truncate",
        "ftruncate",
        "fallocate",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "mkdir",
        "mkdirat",
        "rmdir",
        "chmod",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "chown",
        "fchown",
        "lchown",
        "fchownat",
        "symlink",
        "symlinkat",
        "link",
        "linkat",
        "utime",
        "utimes",
        "utimensat",
        "futimesat",
        "mknod",
        "mknodat",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "mount",
        "umount2",
    }
)
"""Calls that change the file system whatever their arguments."""
OPEN_CALLS = frozenset({"open", "openat", "openat2"})
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
TRACED = "%file,ftruncate,fchmod,fchown,fsetxattr,fremovexattr,fallocate"
"""strace's -e trace=: every call that names a path, and the fd-based writers."""
HARMLESS_PATHS = ("/dev/null", "/dev/tty", "/dev/stdout", "/dev/stderr")
HARMLESS_PREFIXES = ("/proc/self/fd/", "/dev/fd/")
_OWN_THREAD_NAME = re.compile(r"^/proc/(self|thread-self)(/task/\d+)?/comm$")
"""A thread naming itself (dig, host): the process's own state, not the file system."""

_CALL = re.compile(r"^(?:\[pid\s+\d+\]\s*|\d+\s+)?(\w+)\((.*)$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_FD_PATH = re.compile(r"\b\d+<([^>]*)>")


def attempted_writes(trace: str) -> list[str]:
    """The trace lines that attempted a write outside the harmless paths (strace -f -y)."""
    found = []
    for line in trace.splitlines():
        match = _CALL.match(line.strip())
        if match is None:
            continue  # resumed calls, signals, exits: the call's own line was judged
        call, rest = match.groups()
        if call in OPEN_CALLS:
            flags = _QUOTED.sub('""', rest)  # a path may hold commas or flag-like words
            if not any(flag in flags for flag in WRITE_FLAGS):
                continue
            if "O_TMPFILE" in flags:
                continue  # an unnamed file that vanishes at close (apt); linkat would show
        elif call not in WRITING_CALLS:
            continue
        paths = _QUOTED.findall(rest) + _FD_PATH.findall(rest)
        if paths and all(_harmless(path) for path in paths):
            continue
        found.append(line.strip())
    return found


def _harmless(path: str) -> bool:
    return (
        path in HARMLESS_PATHS
        or path.startswith(HARMLESS_PREFIXES)
        or _OWN_THREAD_NAME.match(path) is not None
    )


# ============================================================================================
# The sandbox and the scratch tree.


def sandbox_argv(scratch: Path, trace_fd: int, command: str) -> list[str]:
    """bwrap (/ read-only, private /tmp, fixed environment) around strace around bash."""
    home = f"{SCRATCH}/home"
    return [
        "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--ro-bind", "/proc", "/proc",
        "--tmpfs", "/tmp",
        "--tmpfs", "/var/tmp",
        *(("--tmpfs", "/srv") if SCRATCH_PARENT == "/srv" else ()),
        "--ro-bind", str(scratch), SCRATCH,
        *(("--remount-ro", "/srv") if SCRATCH_PARENT == "/srv" else ()),
        "--unshare-pid",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--chdir", f"{SCRATCH}/app",
        "--clearenv",
        "--setenv", "PATH", FIXED_PATH,
        "--setenv", "HOME", home,
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "TERM", "dumb",
        *(w for name, value in FIXED_VARIABLES for w in ("--setenv", name, value)),
        "--",
        "strace", "-f", "-qq", "-y", "-o", f"/dev/fd/{trace_fd}", "-e", f"trace={TRACED}",
        "bash", "--noprofile", "--norc", "-c", command,
    ]  # fmt: skip


def build_scratch(root: Path) -> None:
    """A small world to read: an /etc-like tree, logs, a git repository with a remote."""
    files = {
        "etc/hosts": "127.0.0.1 localhost\n10.0.0.2 web1\n",
        "etc/passwd": "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/bin/sh\n",
        "etc/shells": "/bin/sh\n/bin/bash\n/bin/sh\n",
        "etc/nginx/nginx.conf": "events {}\nhttp { include sites-enabled/*; }\n",
        "etc/nginx/sites-enabled/default": "server { listen 80; }\n",
        "var/log/syslog": "Dec  3 10:00:00 web1 kernel: error: disk\nDec  3 10:01:00 ok\n",
        "var/log/app.log": "started\nerror: x\n",
        "app/README.md": "# app\n",
        "app/src/main.py": "print('hi')\n",
        "home/.keep": "",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    with gzip.open(root / "var/log/syslog.2.gz", "wt") as old:
        old.write("old\n")
    app = str(root / "app")
    _git(root, "init", "-q", "--bare", str(root / "remote.git"))
    _git(root, "-C", app, "init", "-q")
    _git(root, "-C", app, "add", "-A")
    _git(root, "-C", app, "commit", "-qm", "first")
    _git(root, "-C", app, "remote", "add", "origin", f"{SCRATCH}/remote.git")
    (root / "app/README.md").write_text("# app, changed\n", encoding="utf-8")


def _git(home: Path, *args: str) -> None:
    """git with a fixed identity and no user config (HOME is the scratch tree)."""
    identity = ("-c", "init.defaultBranch=main", "-c", "user.name=t", "-c", "user.email=t@t")
    subprocess.run(
        ["git", *identity, *args],
        check=True,
        capture_output=True,
        env={"PATH": FIXED_PATH, "HOME": str(home)},
    )


@dataclass(frozen=True)
class Run:
    """What one sandboxed command did: its exit status and the writes it attempted."""

    status: int | None
    writes: list[str]
    traced_calls: int
    output: str


def run_sandboxed(scratch: Path, command: str) -> Run:
    """Runs `command` in the sandbox under strace and reads the trace back."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as trace:
        process = subprocess.Popen(
            sandbox_argv(scratch, trace.fileno(), command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(trace.fileno(),),
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=TIMEOUT)
            status: int | None = process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            status = None
        trace.seek(0)
        text = trace.read()
    calls = sum(1 for line in text.splitlines() if _CALL.match(line.strip()))
    return Run(status, attempted_writes(text), calls, output.decode(errors="replace")[-2000:])


# ============================================================================================
# Fixtures: the tools (installed on demand as root), the scratch tree, every run at once.


def _install(packages: list[str]) -> str | None:
    """apt-get install as root; the reason it could not, or None."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{' and '.join(packages)} missing, and not root with apt-get to install them"
    apt = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(apt, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
        result = subprocess.run(apt, capture_output=True, env=env, text=True)
        if result.returncode != 0:
            return f"apt-get install {' '.join(packages)} failed: {result.stderr[-300:]}"
    return None


@pytest.fixture(scope="session")
def scratch_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [
        package
        for package, tool in (("bubblewrap", "bwrap"), ("strace", "strace"))
        if shutil.which(tool) is None
    ]
    if missing and (problem := _install(missing)):
        pytest.skip(problem)
    root = tmp_path_factory.mktemp("readonly-sandbox")
    build_scratch(root)
    probe = run_sandboxed(root, "true")
    if probe.status != 0 or probe.traced_calls == 0:
        pytest.skip(f"bwrap/strace cannot run a traced sandbox here: {probe.output[-300:]}")
    return root


AUTO_APPROVED = [
    entry
    for entry in READ_ONLY
    if decide(entry.command, HOST, OPERATOR, CONFIG).verdict is Verdict.ALLOW
]


@pytest.fixture(scope="session")
def runs(scratch_tree: Path) -> dict[str, Run]:
    """Every auto-approved everyday command, run once, a few at a time."""
    commands = [entry.command for entry in AUTO_APPROVED]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(
            zip(commands, pool.map(lambda c: run_sandboxed(scratch_tree, c), commands), strict=True)
        )


def _read_only_params() -> Iterator[object]:
    for entry in READ_ONLY:
        yield pytest.param(entry, id=entry.test_id)


# ============================================================================================
# The tests.


@pytest.mark.parametrize("entry", list(_read_only_params()))
def test_an_auto_approved_everyday_command_attempts_no_write(
    entry: Entry, runs: dict[str, Run]
) -> None:
    if entry not in AUTO_APPROVED:
        pytest.skip("not auto-approved by the classifier: nothing runs unasked")
    run = runs[entry.command]
    assert run.traced_calls > 0, f"nothing traced: {run.output}"
    assert not run.writes, (
        f"{entry.command!r} was auto-approved but attempted writes:\n"
        + "\n".join(run.writes[:20])
        + f"\n(exit {run.status}; output: {run.output[-500:]})"
    )


WRITERS = [
    ("redirection", f"echo x > {SCRATCH}/app/out", f"{SCRATCH}/app/out"),
    ("sort-output", f"sort -o {SCRATCH}/etc/hosts {SCRATCH}/etc/hosts", "hosts"),
    ("touch-tmp", "touch /tmp/x", "/tmp/x"),
    ("rm", f"rm -f {SCRATCH}/etc/passwd", "unlink"),
    ("mkdir", f"mkdir {SCRATCH}/new", "mkdir"),
    ("chmod", f"chmod 600 {SCRATCH}/etc/hosts", "chmod"),
    ("append", f"echo x >> {SCRATCH}/var/log/app.log", "O_APPEND"),
    ("child-process", f"bash -c 'cp {SCRATCH}/etc/hosts {SCRATCH}/copy'", "copy"),
    ("named-temp-file", "mktemp", "/tmp/tmp."),
    ("other-process-name", "echo x > /proc/1/comm", "/proc/1/comm"),
]


@pytest.mark.parametrize(("command", "evidence"), [pytest.param(c, e, id=i) for i, c, e in WRITERS])
def test_the_trace_catches_a_command_that_writes(
    scratch_tree: Path, command: str, evidence: str
) -> None:
    """The detector itself: writes (refused with EROFS or not) show up in the trace."""
    run = run_sandboxed(scratch_tree, command)
    assert any(evidence in line for line in run.writes), (run.writes, run.output)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param("echo x > /dev/null", id="dev-null"),
        pytest.param("ls /nonexistent 2>/dev/null || true", id="stderr-to-null"),
        pytest.param(f"cat {SCRATCH}/etc/hosts", id="plain-read"),
        pytest.param("exec 3>&1; echo x >&3", id="own-fd"),
    ],
)
def test_the_trace_does_not_flag_reading(scratch_tree: Path, command: str) -> None:
    run = run_sandboxed(scratch_tree, command)
    assert run.traced_calls > 0
    assert run.writes == []


def test_a_write_fails_inside_the_sandbox(scratch_tree: Path) -> None:
    """Defense in depth: the sandbox refuses what the trace reports (EROFS)."""
    run = run_sandboxed(scratch_tree, f"echo x > {SCRATCH}/app/out; echo status=$?")
    assert "Read-only file system" in run.output
    assert not (scratch_tree / "app/out").exists()
