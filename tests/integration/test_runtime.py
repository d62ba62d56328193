"""How commands run, on every host: bash (the shell the policy models), a fixed environment,
and the read-only sandbox for what nobody approved.

Against a real OpenSSH sshd whose login shell is dash (scripts/sshd-test), the embedded
server of `local`, and a small asyncssh server that plays a host missing bash or bwrap (it
starts every command in a bubblewrap view of this machine with those files masked).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest

from executor.errors import ExecutorError
from executor.hosts import LOCAL_HOST, HostConfig
from executor.runner import CommandRunner
from executor.sandbox import FIXED_PATH, REFUSED_WRITE_NOTE
from executor.wrapper import FIXED_VARIABLES, wrap_command
from tests.fakes.sshd import SshdServer

pytestmark = pytest.mark.integration

SSHD = "sshd-test"


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """Not under /tmp, which the sandbox replaces whole: it must hide the data dir itself."""
    made = Path(tempfile.mkdtemp(prefix="chavion-test-", dir=Path.home()))
    yield made
    shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="module")
async def runner(sshd: SshdServer, data_dir: Path) -> AsyncIterator[CommandRunner]:
    hosts = [sshd.host, HostConfig(name=LOCAL_HOST)]  # local as Chavion's own user here
    async with CommandRunner(hosts, data_dir=data_dir) as started:
        yield started


HOSTS = [SSHD, LOCAL_HOST]


def exists(path: str | Path) -> bool:
    """What this machine, outside any sandbox, sees."""
    return Path(path).exists()


async def running(pattern: str) -> bool:
    """Whether a process with this command line runs on this machine (pgrep -f)."""
    pgrep = await asyncio.create_subprocess_exec("pgrep", "-f", pattern)
    return await pgrep.wait() == 0


# --- one interpreter: bash, whatever the login shell ------------------------------------------

BASH_READS = {
    # dash reads `$'\'` as "$\" and runs `id`; bash reads one ANSI-C string.
    "ANSI-C quoting": ("echo $'\\'; id; #\\''", "'; id; #'\n"),
    "arithmetic command": ("((x = 6 * 7)); echo $x", "42\n"),
    "brace expansion": ("echo {a,b}{1,2}", "a1 a2 b1 b2\n"),
    "arrays": ("a=(x y z); echo ${#a[@]} ${a[1]}", "3 y\n"),
    "process substitution": ("cat <(echo sub)", "sub\n"),
    "no start-up files": ("shopt -q login_shell || echo not-login; echo $-", "not-login\nhBc\n"),
}


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(("command", "printed"), BASH_READS.values(), ids=BASH_READS)
async def test_commands_run_under_bash_whatever_the_login_shell(
    runner: CommandRunner, host: str, command: str, printed: str
) -> None:
    result = await runner.run(host, command)

    assert (result.stdout, result.stderr, result.exit_status) == (printed, "", 0)


@pytest.mark.parametrize("host", HOSTS)
async def test_the_environment_is_fixed(runner: CommandRunner, host: str) -> None:
    result = await runner.run(host, 'env | cut -d= -f1; echo "path $PATH"')

    *listed, path = result.stdout.splitlines()
    names = set(listed)
    # bash adds PWD, SHLVL and _ itself; LANG, LC_ALL and TZ pass only where set; the fixed
    # variables (GIT_OPTIONAL_LOCKS=0) always.
    fixed = {name for name, _ in FIXED_VARIABLES}
    assert fixed <= names
    assert (
        names
        <= {"PATH", "HOME", "USER", "LOGNAME", "PWD", "SHLVL", "_", "LANG", "LC_ALL", "TZ"} | fixed
    )
    assert path == f"path {FIXED_PATH}"


@pytest.mark.parametrize("host", HOSTS)
async def test_exit_statuses_the_workdir_and_the_hosts_env_still_work(
    runner: CommandRunner, host: str, data_dir: Path
) -> None:
    config = runner.hosts[host]
    async with CommandRunner(
        [replace(config, workdir="/usr/share", env=(("GREETING", "hi there"),))],
        data_dir=data_dir,
    ) as ex:
        result = await ex.run(host, 'pwd; echo "$GREETING"; exit 7')
    assert (result.stdout, result.exit_status) == ("/usr/share\nhi there\n", 7)


WRAPPER_DROPS = {
    "BASH_ENV": "BASH_ENV={hook}",
    "ENV": "ENV={hook}",
    "LD_PRELOAD": "LD_PRELOAD=/nonexistent/hook.so",
    "LD_LIBRARY_PATH": "LD_LIBRARY_PATH=/tmp",
    "PROMPT_COMMAND": "PROMPT_COMMAND=echo hooked",
    "SHELLOPTS": "SHELLOPTS=xtrace",
    "PATH": "PATH=/tmp/evil:/usr/bin:/bin",
    "an exported bash function": "BASH_FUNC_echo%%=() {{ builtin echo hooked; }}",
}


@pytest.mark.parametrize("sandbox", [False, True], ids=["plain", "sandboxed"])
@pytest.mark.parametrize("assignment", WRAPPER_DROPS.values(), ids=WRAPPER_DROPS)
def test_the_wrapper_drops_what_the_login_session_carries(
    tmp_path: Path, assignment: str, sandbox: bool
) -> None:
    """The wrapper run by a real dash, as sshd would, with a hostile environment."""
    hook = tmp_path / "hook"
    hook.write_text(f"echo hooked; touch {tmp_path}/ran\n")
    name, value = assignment.format(hook=hook).split("=", 1)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", name: value}
    kept = (("GREETING", "two  spaces"),)
    wrapped = wrap_command('echo clean; env; echo "$GREETING"', env=kept, sandbox=sandbox)
    with subprocess.Popen(["sleep", "10"], stdout=subprocess.PIPE) as keep_open:
        done = subprocess.run(
            ["setsid", "-w", "/bin/sh", "-c", wrapped],
            stdin=keep_open.stdout,
            capture_output=True,
            text=True,
            env=env,
            timeout=10,
            check=False,
        )
        keep_open.kill()

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("clean\n")
    assert done.stdout.endswith("two  spaces\n")
    assert "LANG=C.UTF-8\n" in done.stdout
    assert f"HOME={tmp_path}\n" in done.stdout
    assert "hooked" not in done.stdout
    assert f"{name}=" not in done.stdout.replace(f"PATH={FIXED_PATH}", "")
    assert not (tmp_path / "ran").exists()


# --- the read-only sandbox --------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
async def test_a_sandboxed_write_fails_and_the_result_says_why(
    runner: CommandRunner, host: str
) -> None:
    target = f"/usr/local/cvx-sandbox-{secrets.token_hex(4)}"

    result = await runner.run(host, f"echo x > {target}", sandboxed=True)

    assert result.sandboxed
    assert result.exit_status == 1
    assert "Read-only file system" in result.stderr
    assert result.notes == (REFUSED_WRITE_NOTE,)
    assert not exists(target)


@pytest.mark.parametrize("host", HOSTS)
async def test_a_read_in_the_sandbox_works_and_says_nothing(
    runner: CommandRunner, host: str
) -> None:
    command = "cat /proc/sys/kernel/hostname; ls / | grep -c ."
    result = await runner.run(host, command, sandboxed=True)

    assert result.ok, result
    assert result.sandboxed
    assert result.stdout.split("\n")[0] == os.uname().nodename
    assert result.notes == ()


@pytest.mark.parametrize("host", HOSTS)
async def test_the_sandbox_has_a_private_tmp_and_keeps_the_network(
    runner: CommandRunner, host: str, sshd: SshdServer
) -> None:
    name = f"/tmp/cvx-private-{secrets.token_hex(4)}"
    connect = f"exec 3<>/dev/tcp/127.0.0.1/{sshd.port} && head -c 4 <&3"

    result = await runner.run(host, f"echo x > {name} && cat {name}; {connect}", sandboxed=True)

    assert result.stdout == "x\nSSH-", result
    assert not exists(name)


async def test_the_sandbox_hides_the_data_dir_on_local(
    runner: CommandRunner, data_dir: Path
) -> None:
    (data_dir / "secret-file").write_text("hush")

    inside = await runner.run(LOCAL_HOST, f"ls -A {data_dir}; echo end", sandboxed=True)
    outside = await runner.run(LOCAL_HOST, f"ls -A {data_dir}")

    assert inside.stdout == "end\n"
    assert "secret-file" in outside.stdout


@pytest.mark.parametrize("host", HOSTS)
async def test_a_timeout_kills_a_sandboxed_command_and_its_children(
    runner: CommandRunner, host: str
) -> None:
    mark = f"{secrets.randbelow(10**6) + 10**6}"  # a sleep nothing else runs

    result = await runner.run(
        host, f"sleep {mark} & sleep {mark}; wait", timeout=0.5, sandboxed=True
    )

    assert result.timed_out
    assert result.duration < 5
    for _ in range(50):
        if not await running(f"sleep {mark}"):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail(f"sleep {mark} survived the sandbox")


async def test_sandbox_off_runs_even_an_auto_approved_command_outside(
    runner: CommandRunner, sshd: SshdServer
) -> None:
    name = f"/tmp/cvx-off-{secrets.token_hex(4)}"
    async with CommandRunner([replace(sshd.host, sandbox="off")]) as ex:
        result = await ex.run(SSHD, f"touch {name}; ls {name} && rm {name}", sandboxed=True)

    assert result.ok
    assert not result.sandboxed
    assert result.notes == ()
    assert result.stdout == f"{name}\n"


# --- hosts without bash or bwrap --------------------------------------------------------------


class _Open(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return False  # no login needed


@contextlib.asynccontextmanager
async def stripped_host(tmp_path: Path, masked: dict[str, str]) -> AsyncIterator[HostConfig]:
    """An SSH host that is this machine with files replaced (path -> the text it shows, or
    "" for gone): each command runs in a bubblewrap view where they are masked."""
    binds: list[str] = []
    for index, (path, text) in enumerate(masked.items()):
        source = Path("/dev/null")
        if text:
            source = tmp_path / f"mask-{index}"
            source.write_text(text)
            source.chmod(0o755)
        binds += ["--ro-bind", str(source), path]

    async def serve(process: asyncssh.SSHServerProcess[bytes]) -> None:
        child = await asyncio.create_subprocess_exec(
            *("bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--ro-bind", "/proc", "/proc"),
            *binds,
            *("--", "/bin/sh", "-c", process.command or "true"),
            stdin=asyncio.subprocess.PIPE,  # kept open: EOF would stop the wrapper's command
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": "/root", "USER": "root", "LOGNAME": "root"},
        )
        assert child.stdout is not None
        assert child.stderr is not None
        out, err = await asyncio.gather(child.stdout.read(), child.stderr.read())
        status = await child.wait()
        process.stdout.write(out)
        process.stderr.write(err)
        process.exit(status)

    key = asyncssh.generate_private_key("ssh-ed25519")
    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_factory=_Open,
        server_host_keys=[key],
        process_factory=serve,
        encoding=None,
    )
    known_hosts = tmp_path / "stripped_known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{acceptor.get_port()} {key.export_public_key().decode()}")
    try:
        yield HostConfig(
            name="stripped",
            address="127.0.0.1",
            port=acceptor.get_port(),
            user=getpass.getuser(),
            known_hosts=known_hosts,
        )
    finally:
        acceptor.close()
        await acceptor.wait_closed()


NO_BASH = {"/usr/bin/bash": ""}
NO_BWRAP = {"/usr/bin/bwrap": ""}
BROKEN_BWRAP = {
    "/usr/bin/bwrap": "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\n"
    "exit 1\n"
}


async def test_a_host_without_bash_gets_a_clear_error(tmp_path: Path) -> None:
    async with (
        stripped_host(tmp_path, NO_BASH) as host,
        CommandRunner([host]) as ex,
    ):
        with pytest.raises(ExecutorError, match="bash is required on stripped"):
            await ex.run(host.name, "echo hi")


SANDBOX_MISSING = {
    # host's sandbox setting, masked files: what happens to an auto-approved command
    "auto, bwrap missing": ("auto", NO_BWRAP, "bubblewrap (bwrap) is not installed there"),
    "auto, bwrap broken": ("auto", BROKEN_BWRAP, "No permissions to creating new namespace"),
    "required, bwrap missing": ("required", NO_BWRAP, None),
    "required, bwrap broken": ("required", BROKEN_BWRAP, None),
}


@pytest.mark.parametrize(("mode", "masked", "note"), SANDBOX_MISSING.values(), ids=SANDBOX_MISSING)
async def test_without_a_working_bwrap_auto_says_so_and_required_refuses(
    tmp_path: Path, mode: str, masked: dict[str, str], note: str | None
) -> None:
    async with (
        stripped_host(tmp_path, masked) as host,
        CommandRunner([replace(host, sandbox=mode)]) as ex,
    ):
        if note is None:
            with pytest.raises(ExecutorError, match="requires the read-only sandbox"):
                await ex.run(host.name, "echo hi", sandboxed=True)
            return
        result = await ex.run(host.name, "echo hi", sandboxed=True)
        unsandboxed = await ex.run(host.name, "echo hi")

    assert result.stdout == "hi\n"
    assert not result.sandboxed
    [said] = result.notes
    assert said.startswith("no read-only sandbox on stripped (")
    assert note in said
    assert unsandboxed.notes == ()  # an approved command never asked for the sandbox


def test_the_test_machine_has_bwrap() -> None:
    """Everything above assumes it (scripts/local-host installs it)."""
    assert os.path.exists("/usr/bin/bwrap")
