"""SSH transport: a pool of client connections, and the embedded server for the `local` host.

The only module of Chavion that imports asyncssh. Every asyncssh failure is turned into an
`ExecutorError` here, so callers never see library types.

Commands run under the kill-on-EOF wrapper of executor/wrapper.py: bash with a fixed
environment, in the read-only sandbox (executor/sandbox.py) when the caller asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import io
import logging
import os
import signal
import socket
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import asyncssh

from executor.errors import (
    AuthFailed,
    ConnectionLost,
    ConnectTimeout,
    ExecutorError,
    HostKeyMismatch,
    HostUnreachable,
)
from executor.hosts import HostConfig
from executor.local_user import LOGIN_SHELL, LocalUser, check_switch, current_user, local_user
from executor.sandbox import SandboxSupport, parse_probe, probe_command
from executor.wrapper import wrap_command

log = logging.getLogger(__name__)

READ_SIZE: Final = 65536
KEEPALIVE_COUNT_MAX: Final = 3
PROBE_TIMEOUT: Final = 10.0
"""Seconds the sandbox check of a new connection may take."""


@dataclass(frozen=True)
class ExitInfo:
    """How a remote command ended: an exit status, a signal name (e.g. "TERM"), or neither."""

    status: int | None
    signal: str | None


def _label(host: HostConfig) -> str:
    return f"{host.name} ({_user(host)}@{host.address}:{host.port})"


def _user(host: HostConfig) -> str:
    return host.user or getpass.getuser()


class RemoteProcess:
    """A command running over a pooled connection.

    Reads return b"" at end of stream. `stop()` and `abort()` both end the command on the
    server (see the module docstring); `stop()` lets its exit status arrive, `abort()` does not
    wait for anything.
    """

    def __init__(
        self,
        host: HostConfig,
        process: asyncssh.SSHClientProcess[bytes],
        conn: asyncssh.SSHClientConnection,
    ) -> None:
        self._host = host
        self._process = process
        self._conn = conn
        self._aborted = False

    async def read_stdout(self) -> bytes:
        return await self._read(self._process.stdout)

    async def read_stderr(self) -> bytes:
        return await self._read(self._process.stderr)

    async def _read(self, reader: asyncssh.SSHReader[bytes]) -> bytes:
        try:
            return await reader.read(READ_SIZE)
        except (asyncssh.Error, OSError) as exc:
            if self._aborted:
                return b""
            raise self._lost(exc) from None

    async def wait(self) -> ExitInfo:
        """Waits until the channel is closed; raises ConnectionLost if the connection broke."""
        try:
            await self._process.wait_closed()
        except (asyncssh.Error, OSError) as exc:
            raise self._lost(exc) from None
        exit_signal = self._process.exit_signal
        if exit_signal is not None:
            return ExitInfo(status=None, signal=exit_signal[0])
        status = self._process.exit_status
        if status is not None and status >= 0:
            return ExitInfo(status=status, signal=None)
        if self._conn.is_closed() and not self._aborted:
            raise self._lost(None)
        return ExitInfo(status=None, signal=None)

    def stop(self) -> None:
        """Sends EOF: the remote wrapper then kills the command's process group."""
        with contextlib.suppress(asyncssh.Error, OSError):
            self._process.stdin.write_eof()

    def abort(self) -> None:
        """Closes the channel without waiting; the server's EOF to the wrapper kills the group."""
        self._aborted = True
        with contextlib.suppress(asyncssh.Error, OSError):
            self._process.close()

    def _lost(self, exc: BaseException | None) -> ConnectionLost:
        reason = f": {_reason(exc)}" if exc is not None else ""
        return ConnectionLost(
            f"the connection to {_label(self._host)} broke while the command ran{reason}; "
            "its output is incomplete"
        )


class SSHPool:
    """One kept-alive connection per host, shared by all its commands, reopened when it breaks.

    A command on an open connection costs ~5 ms, a new connection ~100 ms: hence the reuse.
    """

    def __init__(self) -> None:
        self._connections: dict[str, asyncssh.SSHClientConnection] = {}
        self._connecting: dict[str, asyncio.Future[asyncssh.SSHClientConnection]] = {}
        self._opened: Counter[str] = Counter()
        self._support: dict[str, tuple[asyncssh.SSHClientConnection, SandboxSupport]] = {}
        self._probing: dict[str, asyncio.Lock] = {}

    def connections_opened(self, host_name: str) -> int:
        """How many connections were made to the host so far (reuse keeps this at 1)."""
        return self._opened[host_name]

    def is_connected(self, host_name: str) -> bool:
        conn = self._connections.get(host_name)
        return conn is not None and not conn.is_closed()

    async def sandbox_support(self, host: HostConfig) -> SandboxSupport:
        """Whether the host can run the read-only sandbox: checked once per connection (a
        reconnect may meet a reinstalled host), as the user commands run as."""
        async with self._probing.setdefault(host.name, asyncio.Lock()):  # one check at once
            conn = await self._connection(host)
            known = self._support.get(host.name)
            if known is not None and known[0] is conn:
                return known[1]
            support = await self._probe(host, conn)
            if support.lasting:
                self._support[host.name] = (conn, support)
            return support

    async def _probe(self, host: HostConfig, conn: asyncssh.SSHClientConnection) -> SandboxSupport:
        try:
            done = await conn.run(probe_command(), timeout=PROBE_TIMEOUT, encoding="utf-8")
        except asyncssh.TimeoutError:
            took = f"the sandbox check took over {PROBE_TIMEOUT:g} s"
            return SandboxSupport(False, took, lasting=False)
        except (asyncssh.Error, OSError) as exc:
            raise ExecutorError(
                f"cannot check the read-only sandbox on {_label(host)}: {_reason(exc)}"
            ) from None
        return parse_probe(str(done.stdout or "") + str(done.stderr or ""))

    async def start(
        self, host: HostConfig, command: str, *, sandbox: bool = False
    ) -> RemoteProcess:
        """Starts `command` (wrapped, see executor/wrapper.py) on the host, inside the
        read-only sandbox when `sandbox` (the caller checked sandbox_support first).

        The command is sent at most once. A connection found dead while the channel opens
        (the channel demonstrably never opened, so the command was never sent) is replaced
        once; if that one fails too, HostUnreachable. Once the exec request may have left, a
        broken connection raises ConnectionLost and nothing is retried: the command may be
        running on the host. So ConnectionLost always means "state unknown".
        """
        if host.address is None:
            raise ValueError(f"host {host.name!r} has no address; resolve it first")
        wrapped = wrap_command(
            command,
            workdir=host.workdir,
            env=host.env,
            sandbox=sandbox,
            hidden=host.hidden_paths,
        )
        for attempt in (1, 2):
            conn = await self._connection(host)
            try:
                process = await _open_process(conn, wrapped)
            except asyncssh.ChannelOpenError as exc:
                if exc.code == asyncssh.OPEN_REQUEST_SESSION_FAILED and conn.is_closed():
                    # asyncssh's answer to an exec request whose reply never came.
                    self._discard(host.name, conn)
                    raise self._maybe_started(host, exc) from None
                if exc.code != asyncssh.OPEN_CONNECT_FAILED and not conn.is_closed():
                    raise ExecutorError(
                        f"{_label(host)} refused to start the command: {_reason(exc)}"
                    ) from None
                stale = exc  # the server never opened the channel: nothing was sent
            except (asyncssh.Error, OSError) as exc:
                self._discard(host.name, conn)
                raise self._maybe_started(host, exc) from None
            else:
                return RemoteProcess(host, process, conn)
            self._discard(host.name, conn)
            if attempt == 2:  # nothing was sent: so the host, not a command, is the problem
                raise HostUnreachable(
                    f"the connection to {_label(host)} broke again before the command could be "
                    f"sent: {_reason(stale)}"
                )
            log.info("connection to %s is gone (%s); reconnecting", host.name, _reason(stale))
        raise AssertionError("unreachable")

    @staticmethod
    def _maybe_started(host: HostConfig, exc: BaseException) -> ConnectionLost:
        return ConnectionLost(
            f"the connection to {_label(host)} broke while the command was being started "
            f"({_reason(exc)}); it may have started there, so it is not sent again: "
            "check the host"
        )

    async def disconnect(self, host_name: str) -> None:
        """Closes the host's connection; the next command opens a new one."""
        conn = self._connections.pop(host_name, None)
        if conn is not None:
            conn.close()
            with contextlib.suppress(asyncssh.Error, OSError):
                await conn.wait_closed()

    async def close(self) -> None:
        for pending in self._connecting.values():
            pending.cancel()
        for name in list(self._connections):
            await self.disconnect(name)

    async def reach(self, host: HostConfig) -> None:
        """Opens the host's connection, or finds it open, and runs nothing (`/health`): the
        host answers and accepts the login. Raises `ExecutorError` (the connect errors)."""
        await self._connection(host)

    async def _connection(self, host: HostConfig) -> asyncssh.SSHClientConnection:
        """The host's open connection; concurrent callers share one connection attempt."""
        conn = self._connections.get(host.name)
        if conn is not None and not conn.is_closed():
            return conn
        pending = self._connecting.get(host.name)
        if pending is None:
            pending = asyncio.ensure_future(_connect(host))
            self._connecting[host.name] = pending
            pending.add_done_callback(lambda done: self._connected(host.name, done))
        return await asyncio.shield(pending)

    def _connected(
        self, host_name: str, done: asyncio.Future[asyncssh.SSHClientConnection]
    ) -> None:
        self._connecting.pop(host_name, None)
        if done.cancelled() or done.exception() is not None:
            return
        self._connections[host_name] = done.result()
        self._opened[host_name] += 1

    def _discard(self, host_name: str, conn: asyncssh.SSHClientConnection) -> None:
        if self._connections.get(host_name) is conn:
            del self._connections[host_name]
        conn.close()


async def _open_process(
    conn: asyncssh.SSHClientConnection, command: str
) -> asyncssh.SSHClientProcess[bytes]:
    """Opens the channel; if the caller is cancelled meanwhile, the late channel is closed."""
    opening = asyncio.ensure_future(conn.create_process(command, encoding=None))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_late_process)
        raise


def _close_late_process(opening: asyncio.Future[asyncssh.SSHClientProcess[bytes]]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


async def _connect(host: HostConfig) -> asyncssh.SSHClientConnection:
    key = _client_key(host)
    known_hosts = _known_hosts_path(host)
    trust_new_key = host.trust_on_first_use and not _lists_host(known_hosts, host)
    if not trust_new_key and not known_hosts.is_file():
        raise HostKeyMismatch(
            f"cannot check the host key of {_label(host)}: {known_hosts} does not exist "
            "(add the key with ssh-keyscan, or set trust_on_first_use for this host)"
        )
    try:
        async with asyncio.timeout(host.connect_timeout):
            conn = await asyncssh.connect(
                host.address,
                host.port,
                username=_user(host),
                known_hosts=None if trust_new_key else str(known_hosts),
                client_keys=[key] if key is not None else (),
                agent_path=None if key is not None else (),
                config=None,
                gss_host=None,
                preferred_auth="publickey",
                connect_timeout=host.connect_timeout,
                keepalive_interval=host.keepalive_interval,
                keepalive_count_max=KEEPALIVE_COUNT_MAX,
            )
    except TimeoutError:
        raise ConnectTimeout(
            f"{_label(host)} did not answer within {host.connect_timeout:g} s"
        ) from None
    except asyncssh.HostKeyNotVerifiable as exc:
        raise HostKeyMismatch(
            f"refused to connect to {_label(host)}: its host key is not the one in "
            f"{known_hosts} ({_reason(exc)}). If the server was reinstalled, replace the "
            "entry; otherwise someone may be intercepting the connection"
        ) from None
    except asyncssh.PermissionDenied as exc:
        raise AuthFailed(
            f"{_label(host)} refused the login with {host.key_path or 'the default keys'}: "
            f"{_reason(exc)}"
        ) from None
    except asyncssh.DisconnectError as exc:
        raise HostUnreachable(
            f"{_label(host)} closed the connection during login: {_reason(exc)}"
        ) from None
    except (asyncssh.Error, OSError) as exc:
        raise HostUnreachable(f"cannot connect to {_label(host)}: {_reason(exc)}") from None
    if trust_new_key:
        _record_host_key(known_hosts, host, conn)
    log.info("connected to %s", _label(host))
    return conn


def _known_hosts_path(host: HostConfig) -> Path:
    return host.known_hosts or Path("~/.ssh/known_hosts").expanduser()


def _client_key(host: HostConfig) -> asyncssh.SSHKey | None:
    """Loads the configured key, refusing what OpenSSH would refuse, with a readable reason."""
    if host.key_path is None:
        return None
    path = host.key_path
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuthFailed(
                f"private key {path} of host {host.name} is accessible by others "
                f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
            )
        return asyncssh.read_private_key(path)
    except OSError as exc:
        raise AuthFailed(f"cannot read private key {path} of host {host.name}: {exc}") from None
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise AuthFailed(
            f"cannot use private key {path} of host {host.name} "
            f"(it must be unencrypted): {_reason(exc)}"
        ) from None


def _host_pattern(host: HostConfig) -> str:
    assert host.address is not None
    return host.address if host.port == 22 else f"[{host.address}]:{host.port}"


def _lists_host(known_hosts: Path, host: HostConfig) -> bool:
    """Whether known_hosts has any key for the host (then trust-on-first-use must not apply)."""
    if not known_hosts.is_file():
        return False
    assert host.address is not None
    try:
        matches = asyncssh.read_known_hosts(str(known_hosts)).match(
            host.address, host.address, None if host.port == 22 else host.port
        )
    except (asyncssh.Error, OSError, ValueError) as exc:
        raise HostKeyMismatch(f"cannot read {known_hosts}: {_reason(exc)}") from None
    host_keys, ca_keys = matches[0], matches[1]
    return bool(host_keys or ca_keys)


def _record_host_key(
    known_hosts: Path, host: HostConfig, conn: asyncssh.SSHClientConnection
) -> None:
    key = conn.get_server_host_key()
    if key is None:
        conn.close()
        raise HostKeyMismatch(f"{_label(host)} sent no host key to record")
    algorithm, data = key.export_public_key().decode().split()[:2]
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    with known_hosts.open("a") as file:
        file.write(f"{_host_pattern(host)} {algorithm} {data}\n")
    log.warning(
        "trusted the host key of %s on first use (%s %s); recorded in %s",
        _label(host),
        algorithm,
        key.get_fingerprint(),
        known_hosts,
    )


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "no reason given"
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason
    if isinstance(exc, socket.gaierror) and exc.strerror:
        return exc.strerror
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)  # not asyncio's "Connect call failed (...)"
    return str(exc) or type(exc).__name__


# --- the embedded server for `local` ----------------------------------------------------------

_HOST_KEY_FILE: Final = "ssh_host_ed25519_key"
_CLIENT_KEY_FILE: Final = "client_ed25519_key"
_KNOWN_HOSTS_FILE: Final = "known_hosts"


class EmbeddedServer:
    """An SSH server on loopback that runs commands as the host's `run_as` user (see
    executor/local_user.py), or as the user Chavion runs as when that is None.

    Lets a fresh install use the executor on `local` without setting up sshd. Only the
    client key generated next to the host key may log in, only as the current user, and
    only to run commands (no shell, pty, forwarding or SFTP). Commands get a clean login-like
    environment, not Chavion's own (which holds API keys). `hidden` directories (Chavion's
    data dir) are covered by an empty tmpfs in the read-only sandbox.
    """

    def __init__(
        self,
        key_dir: Path,
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        hidden: tuple[str, ...] = (),
    ) -> None:
        self._key_dir = key_dir
        self._address = address
        self._port = port
        self._hidden = hidden
        self._user = getpass.getuser()
        self._runs_as: LocalUser = current_user()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._children: set[asyncio.subprocess.Process] = set()

    @property
    def port(self) -> int | None:
        return self._acceptor.get_port() if self._acceptor is not None else None

    async def start(self, template: HostConfig) -> HostConfig:
        """Starts listening; returns `template` completed with this server's address and keys.

        Raises ExecutorError when its `run_as` user cannot be used (missing: run
        scripts/local-host)."""
        self._runs_as = local_user(template.run_as, template.name)
        await check_switch(self._runs_as, template.name)
        try:
            host_key, client_key_path, client_public = _ensure_keys(self._key_dir)
            self._acceptor = await asyncssh.listen(
                self._address,
                self._port,
                server_factory=lambda: _LocalAuth(self._user, client_public),
                server_host_keys=[host_key],
                process_factory=self._serve,
                encoding=None,
                allow_pty=False,
                agent_forwarding=False,
                x11_forwarding=False,
                allow_scp=False,
                line_editor=False,
            )
        except (asyncssh.Error, OSError, ValueError) as exc:
            raise ExecutorError(
                f"cannot start the embedded SSH server for {template.name!r} "
                f"on {self._address}: {_reason(exc)}"
            ) from None
        port = self._acceptor.get_port()
        known_hosts = self._key_dir / _KNOWN_HOSTS_FILE
        algorithm, data = host_key.export_public_key().decode().split()[:2]
        known_hosts.write_text(f"[{self._address}]:{port} {algorithm} {data}\n")
        log.info("embedded SSH server for %r listens on %s:%d", template.name, self._address, port)
        return replace(
            template,
            address=self._address,
            port=port,
            user=self._user,
            key_path=client_key_path,
            known_hosts=known_hosts,
            trust_on_first_use=False,
            hidden_paths=template.hidden_paths + self._hidden,
            run_as=None,  # this server applies it: the client side only logs in
        )

    async def close(self) -> None:
        for child in list(self._children):
            _kill_group(child)
        if self._acceptor is not None:
            self._acceptor.close()
            with contextlib.suppress(asyncssh.Error, OSError):
                await self._acceptor.wait_closed()
            self._acceptor = None

    async def _serve(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """Runs one command like sshd would: the login shell with `-c`, in a new session,
        in the home dir, as the run_as user."""
        command = process.command
        if not command:
            process.stderr.write(b"chavion: this server only runs commands\n")
            process.exit(1)
            return
        user = self._runs_as
        drop = user.drops_privileges
        try:
            child = await asyncio.create_subprocess_exec(
                *user.argv(command),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                cwd=user.cwd,
                env=user.environment(),
                user=user.uid if drop else None,
                group=user.gid if drop else None,
                extra_groups=[] if drop else None,
            )
        except OSError as exc:
            process.stderr.write(f"chavion: cannot run {LOGIN_SHELL}: {exc}\n".encode())
            process.exit(127)
            return
        self._children.add(child)
        assert child.stdin is not None
        assert child.stdout is not None
        assert child.stderr is not None
        feed = asyncio.ensure_future(_feed_stdin(process.stdin, child.stdin))
        try:
            await asyncio.gather(
                _copy_output(child.stdout, process.stdout),
                _copy_output(child.stderr, process.stderr),
            )
            returncode = await child.wait()
        finally:
            feed.cancel()
            child.stdin.close()
            if child.returncode is None:
                _kill_group(child)
            self._children.discard(child)
        with contextlib.suppress(asyncssh.Error, OSError):
            if returncode < 0:
                process.exit_with_signal(signal.Signals(-returncode).name.removeprefix("SIG"))
            else:
                process.exit(returncode)


class _LocalAuth(asyncssh.SSHServer):
    """Public-key login for exactly one user and one key."""

    def __init__(self, user: str, client_key: asyncssh.SSHKey) -> None:
        self._user = user
        self._client_key = client_key

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._user and key.public_data == self._client_key.public_data


async def _feed_stdin(source: asyncssh.SSHReader[bytes], target: asyncio.StreamWriter) -> None:
    """Forwards the channel's stdin; its end (EOF, close, lost connection) closes the pipe."""
    try:
        while data := await source.read(READ_SIZE):
            target.write(data)
            await target.drain()
    except (asyncssh.Error, OSError):
        pass
    finally:
        target.close()


async def _copy_output(source: asyncio.StreamReader, target: asyncssh.SSHWriter[bytes]) -> None:
    """Forwards output; once the channel is gone it keeps draining so the child never blocks."""
    channel_open = True
    while data := await source.read(READ_SIZE):
        if not channel_open:
            continue
        try:
            target.write(data)
            await target.drain()
        except (asyncssh.Error, OSError):
            channel_open = False


def _kill_group(child: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def _ensure_keys(key_dir: Path) -> tuple[asyncssh.SSHKey, Path, asyncssh.SSHKey]:
    """Host key and client key in key_dir, generated on first use and kept for later starts."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    host_key = _load_or_generate(key_dir / _HOST_KEY_FILE)
    client_path = key_dir / _CLIENT_KEY_FILE
    client_key = _load_or_generate(client_path)
    return host_key, client_path, client_key


def _load_or_generate(path: Path) -> asyncssh.SSHKey:
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"chavion {path.name}")
        with _private_file(path) as file:
            file.write(key.export_private_key())
        return key
    return asyncssh.read_private_key(path)


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[io.FileIO]:
    """A new file that is 0600 from the start: a private key is never readable by others."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb", buffering=0) as file:
        yield file
