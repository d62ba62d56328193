"""The SSH executor against a real OpenSSH sshd (scripts/sshd-test) and its embedded server.

Nothing is mocked: commands run as the `chavion-test` user of a loopback sshd, or as the
current user through the embedded asyncssh server that serves the `local` host.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from executor.errors import (
    AuthFailed,
    ConnectionLost,
    HostKeyMismatch,
    HostUnreachable,
    RunInterrupted,
    UnknownHost,
)
from executor.hosts import LOCAL_HOST, HostConfig, load_hosts
from executor.masking import MASK
from executor.plan import Step, run_plan
from executor.runner import CommandRunner, Limits, RunHandle, StreamName, cut_marker
from executor.ssh import EmbeddedServer
from tests.fakes.sshd import SshdServer, running_sshd

pytestmark = pytest.mark.integration

SECRET = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def server() -> Iterator[SshdServer]:
    with running_sshd() as started:
        yield started


@pytest.fixture(scope="module")
def host(server: SshdServer) -> HostConfig:
    return replace(server.host, max_concurrent=20)


@pytest.fixture(scope="module")
async def executor(host: HostConfig) -> AsyncIterator[CommandRunner]:
    async with CommandRunner([host], secrets=[SECRET], limits=Limits(kill_grace=5)) as started:
        yield started


class PidWatcher:
    """An on_output callback that notices the first line of stdout: the PID a command printed."""

    def __init__(self) -> None:
        self.chunks: list[tuple[StreamName, str]] = []
        self.printed = asyncio.Event()
        self.complained = asyncio.Event()  # the first stderr chunk

    async def __call__(self, stream: StreamName, text: str) -> None:
        self.chunks.append((stream, text))
        if stream == "stdout":
            self.printed.set()
        else:
            self.complained.set()

    @property
    def pid(self) -> int:
        return int(next(text for stream, text in self.chunks if stream == "stdout").split()[0])


# A background child that outlives a plain kill of the shell: only killing the whole
# process group gets rid of it. It prints its PID, then the command waits for it.
LONG_COMMAND = "sleep 30 & echo $!; wait"


async def is_running(executor: CommandRunner, host: str, pid: int) -> bool:
    """Asks the host itself; a zombie has exited and only awaits its parent's reaping."""
    result = await executor.run(
        host,
        f"if [ -d /proc/{pid} ] && ! grep -q '^State:[[:space:]]*Z' /proc/{pid}/status; "
        "then echo running; else echo gone; fi",
    )
    assert result.exit_status == 0, result
    return result.stdout.strip() == "running"


async def started(handle: RunHandle, watcher: PidWatcher) -> int:
    """Waits until the command printed its PID (or ended, which the caller then sees)."""
    printed = asyncio.ensure_future(watcher.printed.wait())
    ended = asyncio.ensure_future(handle.wait())
    _, pending = await asyncio.wait({printed, ended}, return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()  # wait() shields the command: this only drops our waiter
    if not watcher.printed.is_set():
        pytest.fail(f"the command ended before printing its PID: {await ended}")
    return watcher.pid


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_private_key(path: Path, mode: int = 0o600) -> Path:
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    path.write_bytes(key)
    path.chmod(mode)
    return path


def some_other_host_key() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


# --- running commands -------------------------------------------------------------------------


async def test_a_command_returns_stdout_stderr_and_exit_status(
    executor: CommandRunner, host: HostConfig
) -> None:
    result = await executor.run(host.name, "echo out; echo err >&2; whoami; exit 3")

    assert result.stdout == "out\nchavion-test\n"
    assert result.stderr == "err\n"
    assert result.exit_status == 3
    assert result.exit_signal is None
    assert not result.ok
    assert (result.timed_out, result.cancelled, result.truncated) == (False, False, False)
    assert result.host == host.name


async def test_output_streams_to_the_callback_while_the_command_runs(
    executor: CommandRunner, host: HostConfig
) -> None:
    watcher = PidWatcher()
    handle = executor.start(host.name, "echo first; echo note >&2; sleep 30", on_output=watcher)

    # The command cannot end for 30 s, so both lines arrived while it ran. The two streams
    # travel apart, so stderr may come after stdout: wait for both before cancelling.
    await asyncio.wait_for(asyncio.gather(watcher.printed.wait(), watcher.complained.wait()), 10)
    assert not handle.done()
    handle.cancel()
    result = await handle.wait()

    assert ("stdout", "first\n") in watcher.chunks
    assert ("stderr", "note\n") in watcher.chunks
    assert result.stdout == "first\n"
    assert result.cancelled


async def test_a_host_from_the_config_runs_in_its_workdir_with_its_environment(
    server: SshdServer,
) -> None:
    config = {
        "name": "web",
        "address": "127.0.0.1",
        "port": server.port,
        "user": server.user,
        "key": str(server.client_key),
        "known_hosts": str(server.known_hosts),
        "workdir": "/tmp",
        "env": {"GREETING": "hello world"},
    }
    hosts = load_hosts([config])

    async with CommandRunner(hosts.values()) as executor:
        result = await executor.run("web", 'pwd; echo "$GREETING"')

    assert result.stdout == "/tmp\nhello world\n"


async def test_twenty_commands_in_parallel_take_far_less_than_twenty_in_a_row(
    executor: CommandRunner, host: HostConfig
) -> None:
    command = "sleep 0.1"
    await executor.run(host.name, "true")  # connected before timing
    began = time.perf_counter()
    for _ in range(3):
        assert (await executor.run(host.name, command)).ok
    one = (time.perf_counter() - began) / 3

    began = time.perf_counter()
    results = await asyncio.gather(*(executor.run(host.name, command) for _ in range(20)))
    parallel = time.perf_counter() - began

    assert all(result.ok for result in results)
    assert parallel < 20 * one / 3, (parallel, one)


async def test_the_per_host_limit_holds_commands_back(server: SshdServer) -> None:
    host = replace(server.host, max_concurrent=2)
    async with CommandRunner([host]) as executor:
        await executor.run(host.name, "true")
        began = time.perf_counter()
        await asyncio.gather(*(executor.run(host.name, "sleep 0.2") for _ in range(4)))
        elapsed = time.perf_counter() - began

    assert elapsed >= 0.4  # two rounds of two


async def test_the_global_limit_holds_commands_back(server: SshdServer) -> None:
    async with CommandRunner([server.host], limits=Limits(max_concurrent=1)) as executor:
        await executor.run(server.host.name, "true")
        began = time.perf_counter()
        await asyncio.gather(*(executor.run(server.host.name, "sleep 0.2") for _ in range(3)))
        elapsed = time.perf_counter() - began

    assert elapsed >= 0.6  # one at a time


# --- stopping commands ------------------------------------------------------------------------


async def test_a_timeout_kills_the_remote_process(
    executor: CommandRunner, host: HostConfig
) -> None:
    watcher = PidWatcher()

    result = await executor.run(host.name, LONG_COMMAND, timeout=0.5, on_output=watcher)

    assert result.timed_out
    assert not result.cancelled
    assert result.exit_signal == "TERM"
    assert result.exit_status is None
    assert result.duration < 5
    assert not await is_running(executor, host.name, watcher.pid)


async def test_a_command_that_ignores_term_is_killed_after_the_grace_period(
    executor: CommandRunner, host: HostConfig
) -> None:
    watcher = PidWatcher()

    # Ignored signals stay ignored across exec, so the sleep ignores TERM as well.
    result = await executor.run(
        host.name, "trap '' TERM; " + LONG_COMMAND, timeout=0.3, on_output=watcher
    )

    assert result.timed_out
    assert not await is_running(executor, host.name, watcher.pid)


async def test_cancel_kills_the_remote_process(executor: CommandRunner, host: HostConfig) -> None:
    watcher = PidWatcher()
    handle = executor.start(host.name, LONG_COMMAND, on_output=watcher)
    pid = await started(handle, watcher)
    assert await is_running(executor, host.name, pid)

    handle.cancel()
    result = await handle.wait()

    assert result.cancelled
    assert not result.timed_out
    assert result.stdout == f"{pid}\n"
    assert not await is_running(executor, host.name, pid)


async def test_cancelling_the_task_that_runs_a_command_kills_it(
    executor: CommandRunner, host: HostConfig
) -> None:
    watcher = PidWatcher()
    task = asyncio.ensure_future(executor.run(host.name, LONG_COMMAND, on_output=watcher))
    await asyncio.wait_for(watcher.printed.wait(), 10)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert not await is_running(executor, host.name, watcher.pid)


async def test_a_command_cancelled_while_queued_never_runs(server: SshdServer) -> None:
    host = replace(server.host, max_concurrent=1)
    async with CommandRunner([host]) as executor:
        watcher = PidWatcher()
        busy = executor.start(host.name, LONG_COMMAND, on_output=watcher)
        await started(busy, watcher)
        queued = executor.start(host.name, "echo should not run")

        queued.cancel()
        result = await queued.wait()
        busy.cancel()
        await busy.wait()

    assert result.cancelled
    assert result.stdout == ""
    assert result.exit_status is None


# --- output -----------------------------------------------------------------------------------


async def test_long_output_keeps_head_and_tail_and_marks_the_cut(host: HostConfig) -> None:
    full = "".join(f"{number}\n" for number in range(1, 20001))
    async with CommandRunner([host], limits=Limits(output_limit=1000)) as executor:
        result = await executor.run(host.name, "seq 1 20000")

    assert result.truncated
    assert result.stdout == full[:500] + cut_marker(len(full) - 1000) + full[-500:]
    assert "characters cut" in cut_marker(1)
    assert result.exit_status == 0


async def test_secrets_are_masked_in_results_and_streamed_output(
    executor: CommandRunner, host: HostConfig
) -> None:
    watcher = PidWatcher()
    command = (
        f"echo 'token {SECRET}'; "
        "echo 'clone https://deploy:s3cr3t-pw@git.example.com/repo.git' >&2; "
        "printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\\nAAAAkeymaterial\\n"
        "-----END OPENSSH PRIVATE KEY-----\\n'"
    )

    result = await executor.run(host.name, command, on_output=watcher)

    everything = result.command + result.stdout + result.stderr + str(watcher.chunks)
    for leaked in (SECRET, "s3cr3t-pw", "AAAAkeymaterial"):
        assert leaked not in everything
    assert result.stdout.startswith(f"token {MASK}\n")
    assert f"https://deploy:{MASK}@git.example.com" in result.stderr
    assert result.exit_status == 0


# --- connections ------------------------------------------------------------------------------


async def test_commands_reuse_one_connection(server: SshdServer) -> None:
    async with CommandRunner([server.host]) as executor:
        first = await executor.run(server.host.name, "echo $SSH_CONNECTION")
        second = await executor.run(server.host.name, "echo $SSH_CONNECTION")

        assert executor.connections_opened(server.host.name) == 1
    # The server saw both commands come from the same client port.
    assert first.stdout == second.stdout != ""


# Prints the pid of the sshd process serving this connection: the parent of the session
# leader (the session id is field 6 of /proc/PID/stat, the parent field 4).
SSHD_OF_THIS_CONNECTION = "leader=$(cut -d' ' -f6 /proc/$$/stat); cut -d' ' -f4 /proc/$leader/stat"


async def test_a_connection_dropped_while_running_kills_its_command_and_is_reopened(
    server: SshdServer,
) -> None:
    kill_own_connection = f"sleep 30 & echo $!; kill -9 $({SSHD_OF_THIS_CONNECTION}); wait"
    async with CommandRunner([server.host]) as executor:
        watcher = PidWatcher()
        with pytest.raises(ConnectionLost, match="broke while the command ran"):
            await executor.run(server.host.name, kill_own_connection, on_output=watcher)

        after = await executor.run(server.host.name, "echo again")

        assert after.stdout == "again\n"
        assert executor.connections_opened(server.host.name) == 2
        assert not await is_running(executor, server.host.name, watcher.pid)


async def test_a_connection_dropped_while_idle_is_replaced_without_an_error(
    server: SshdServer,
) -> None:
    async with CommandRunner([server.host]) as executor:
        serving = await executor.run(server.host.name, SSHD_OF_THIS_CONNECTION)
        os.kill(int(serving.stdout), signal.SIGKILL)

        after = await executor.run(server.host.name, "echo still here")

        assert after.stdout == "still here\n"
        assert executor.connections_opened(server.host.name) == 2


async def test_a_wrong_host_key_is_refused_with_a_readable_error(
    server: SshdServer, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{server.port} {some_other_host_key()}\n")
    host = replace(server.host, known_hosts=known_hosts)

    async with CommandRunner([host]) as executor:
        with pytest.raises(HostKeyMismatch, match="host key is not the one in"):
            await executor.run(host.name, "true")
        assert executor.connections_opened(host.name) == 0


async def test_trust_on_first_use_records_the_key_once_but_never_overrides_one(
    server: SshdServer, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    strict = replace(server.host, known_hosts=empty)
    empty.write_text("")
    async with CommandRunner([strict]) as executor:
        with pytest.raises(HostKeyMismatch):
            await executor.run(strict.name, "true")

    tofu = replace(strict, trust_on_first_use=True)
    async with CommandRunner([tofu]) as executor:
        assert (await executor.run(tofu.name, "true")).ok
    assert empty.read_text() == server.known_hosts.read_text()

    empty.write_text(f"[127.0.0.1]:{server.port} {some_other_host_key()}\n")
    async with CommandRunner([tofu]) as executor:
        with pytest.raises(HostKeyMismatch):
            await executor.run(tofu.name, "true")


async def test_an_unreachable_host_fails_quickly_with_a_clear_error(server: SshdServer) -> None:
    host = replace(server.host, name="nowhere", port=closed_port())
    async with CommandRunner([host]) as executor:
        began = time.perf_counter()
        with pytest.raises(HostUnreachable, match=r"nowhere .*Connection refused") as caught:
            await executor.run(host.name, "true")

    assert time.perf_counter() - began < 2
    assert caught.value.__cause__ is None  # no asyncssh or socket type leaks out


async def test_a_key_the_server_does_not_know_is_refused(
    server: SshdServer, tmp_path: Path
) -> None:
    host = replace(server.host, key_path=write_private_key(tmp_path / "stranger"))
    async with CommandRunner([host]) as executor:
        with pytest.raises(AuthFailed, match="refused the login"):
            await executor.run(host.name, "true")


async def test_a_private_key_readable_by_others_is_not_used(
    server: SshdServer, tmp_path: Path
) -> None:
    host = replace(server.host, key_path=write_private_key(tmp_path / "open", mode=0o644))
    async with CommandRunner([host]) as executor:
        with pytest.raises(AuthFailed, match="chmod 600"):
            await executor.run(host.name, "true")


async def test_an_unknown_host_name_is_rejected(executor: CommandRunner) -> None:
    with pytest.raises(UnknownHost, match="unknown host 'nope'"):
        executor.start("nope", "true")


# --- the embedded server for `local` ----------------------------------------------------------


async def test_local_runs_commands_as_the_current_user(tmp_path: Path) -> None:
    async with CommandRunner([HostConfig(name=LOCAL_HOST)], data_dir=tmp_path) as executor:
        result = await executor.run(LOCAL_HOST, "id -un; echo $HOME")

    assert result.stdout == f"{getpass.getuser()}\n{Path.home()}\n"
    assert result.exit_status == 0


async def test_local_kills_timed_out_and_disconnected_commands(tmp_path: Path) -> None:
    async with CommandRunner([HostConfig(name=LOCAL_HOST)], data_dir=tmp_path) as executor:
        watcher = PidWatcher()
        result = await executor.run(LOCAL_HOST, LONG_COMMAND, timeout=0.3, on_output=watcher)
        assert result.timed_out
        assert not await is_running(executor, LOCAL_HOST, watcher.pid)

        watcher = PidWatcher()
        handle = executor.start(LOCAL_HOST, LONG_COMMAND, on_output=watcher)
        pid = await started(handle, watcher)
        await executor.disconnect(LOCAL_HOST)
        with pytest.raises(ConnectionLost):
            await handle.wait()
        assert not await is_running(executor, LOCAL_HOST, pid)


async def test_the_embedded_server_is_checked_against_its_known_hosts(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "keys")
    reached = await server.start(HostConfig(name=LOCAL_HOST))
    try:
        assert reached.address == "127.0.0.1"
        assert reached.port == server.port
        assert reached.known_hosts is not None
        assert not reached.trust_on_first_use
        assert reached.key_path is not None
        assert reached.key_path.stat().st_mode & 0o077 == 0

        forged = tmp_path / "forged_known_hosts"
        forged.write_text(f"[127.0.0.1]:{reached.port} {some_other_host_key()}\n")
        as_remote = replace(reached, name="embedded")
        async with CommandRunner(
            [as_remote, replace(as_remote, name="forged", known_hosts=forged)]
        ) as ex:
            assert (await ex.run("embedded", "id -un")).stdout == f"{getpass.getuser()}\n"
            with pytest.raises(HostKeyMismatch):
                await ex.run("forged", "true")
    finally:
        await server.close()


async def test_the_embedded_server_keeps_its_host_key_across_restarts(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = EmbeddedServer(keys)
    reached = await first.start(HostConfig(name=LOCAL_HOST))
    await first.close()
    assert reached.known_hosts is not None
    key_before = reached.known_hosts.read_text().split(" ", 1)[1]

    second = EmbeddedServer(keys)
    reached = await second.start(HostConfig(name=LOCAL_HOST))
    await second.close()
    assert reached.known_hosts is not None

    assert reached.known_hosts.read_text().split(" ", 1)[1] == key_before


# --- a connection that breaks while a command starts --------------------------------------------


class FlakyLog:
    """What a FlakyServer saw, and where it breaks: ("open" | "exec", connection number)."""

    def __init__(self, breaks: tuple[str, int]) -> None:
        self.breaks = breaks
        self.connections = 0
        self.execs: list[int] = []
        """The connection number of every exec request that reached the server."""


class FlakySession(asyncssh.SSHServerSession[bytes]):
    def __init__(self, log: FlakyLog, number: int, conn: asyncssh.SSHServerConnection) -> None:
        self._log, self._number, self._conn = log, number, conn
        self._chan: asyncssh.SSHServerChannel[bytes] | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self._chan = chan

    def exec_requested(self, command: str) -> bool:
        self._log.execs.append(self._number)
        if self._log.breaks == ("exec", self._number):
            self._conn.abort()  # the command "runs", and the connection dies before the reply
            return False
        return True

    def session_started(self) -> None:
        assert self._chan is not None
        self._chan.write(b"ran\n")
        self._chan.exit(0)


class FlakyServer(asyncssh.SSHServer):
    """An SSH server (no login needed) that answers every command with "ran", and breaks
    its connection number n when a channel opens or when the exec request arrives."""

    def __init__(self, log: FlakyLog) -> None:
        self._log = log
        self._number = 0
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._log.connections += 1
        self._number, self._conn = self._log.connections, conn

    def begin_auth(self, username: str) -> bool:
        return False

    def session_requested(self) -> FlakySession | bool:
        assert self._conn is not None
        if self._log.breaks == ("open", self._number):
            self._conn.abort()  # before the channel is open: nothing could have been sent
            return False
        return FlakySession(self._log, self._number, self._conn)


@contextlib.asynccontextmanager
async def flaky_host(
    tmp_path: Path, breaks: tuple[str, int]
) -> AsyncIterator[tuple[HostConfig, FlakyLog]]:
    log = FlakyLog(breaks)
    key = asyncssh.generate_private_key("ssh-ed25519")
    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_factory=lambda: FlakyServer(log),
        server_host_keys=[key],
        encoding=None,
    )
    port = acceptor.get_port()
    known_hosts = tmp_path / "flaky_known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {key.export_public_key().decode()}")
    host = HostConfig(
        name="flaky",
        address="127.0.0.1",
        port=port,
        user=getpass.getuser(),
        known_hosts=known_hosts,
    )
    try:
        yield host, log
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def test_a_connection_lost_after_the_command_was_sent_is_never_retried(
    tmp_path: Path,
) -> None:
    async with flaky_host(tmp_path, ("exec", 1)) as (host, log), CommandRunner([host]) as executor:
        with pytest.raises(ConnectionLost, match="may have started") as lost:
            await executor.run(host.name, "systemctl restart app && ./migrate.sh")
        assert not isinstance(lost.value, RunInterrupted)

        assert log.execs == [1]  # sent once: no second copy on a new connection
        assert executor.connections_opened(host.name) == 1
        after = await executor.run(host.name, "echo next")  # the next command reconnects
        assert after.stdout == "ran\n"
        assert log.execs == [1, 2]


async def test_a_connection_lost_before_the_channel_opened_is_replaced_and_runs_once(
    tmp_path: Path,
) -> None:
    async with flaky_host(tmp_path, ("open", 1)) as (host, log), CommandRunner([host]) as executor:
        result = await executor.run(host.name, "echo once")

        assert result.stdout == "ran\n"
        assert log.execs == [2]
        assert executor.connections_opened(host.name) == 2


async def test_a_command_cut_off_by_a_lost_connection_keeps_what_it_printed(
    tmp_path: Path,
) -> None:
    async with CommandRunner([HostConfig(name=LOCAL_HOST)], data_dir=tmp_path) as executor:
        watcher = PidWatcher()
        handle = executor.start(LOCAL_HOST, "sleep 30 & echo $! started; wait", on_output=watcher)
        pid = await started(handle, watcher)
        await executor.disconnect(LOCAL_HOST)

        with pytest.raises(RunInterrupted, match="broke while the command ran") as lost:
            await handle.wait()
        assert lost.value.partial.stdout == f"{pid} started\n"
        assert lost.value.partial.exit_status is None
        assert not await is_running(executor, LOCAL_HOST, pid)


# --- plans -------------------------------------------------------------------------------------


async def test_a_plan_runs_in_order_with_its_parallel_steps_together(tmp_path: Path) -> None:
    log = tmp_path / "plan.log"
    mark = f"echo {{}} >> {log}"
    steps = [
        Step(LOCAL_HOST, mark.format("first")),
        Step(LOCAL_HOST, f"{mark.format('a-start')}; sleep 0.5; {mark.format('a-end')}", True),
        Step(LOCAL_HOST, f"{mark.format('b-start')}; sleep 0.5; {mark.format('b-end')}", True),
        Step(LOCAL_HOST, mark.format("last")),
    ]
    async with CommandRunner([HostConfig(name=LOCAL_HOST)], data_dir=tmp_path) as executor:
        results = await run_plan(executor, steps)
    assert all(r is not None and r.ok for r in results)
    lines = log.read_text().split()
    assert lines[0] == "first"
    assert lines[-1] == "last"
    # Both parallel steps had started before either finished.
    assert max(lines.index("a-start"), lines.index("b-start")) < min(
        lines.index("a-end"), lines.index("b-end")
    )


async def test_a_failed_step_stops_the_plan(tmp_path: Path) -> None:
    steps = [Step(LOCAL_HOST, "true"), Step(LOCAL_HOST, "exit 3"), Step(LOCAL_HOST, "true")]
    async with CommandRunner([HostConfig(name=LOCAL_HOST)], data_dir=tmp_path) as executor:
        results = await run_plan(executor, steps)
    assert [r.exit_status if r else None for r in results] == [0, 3, None]
