"""The execution engine: runs commands on configured hosts within limits.

`CommandRunner.start()` returns a `RunHandle` at once; `wait()` gives the `RunResult`, `cancel()`
kills the remote command. Output is decoded, masked, streamed to an optional callback and
kept up to a size limit (head and tail). Which commands may run is decided elsewhere (the
policy); this module runs what it is given.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Literal

from executor.errors import ConnectionLost, ExecutorError, RunInterrupted, UnknownHost
from executor.hosts import HostConfig
from executor.masking import StreamMasker, mask_text
from executor.results import RunResult
from executor.sandbox import REFUSED_WRITE_NOTE, RO_MESSAGE
from executor.ssh import EmbeddedServer, ExitInfo, RemoteProcess, SSHPool
from executor.wrapper import BASH_MISSING

log = logging.getLogger(__name__)

StreamName = Literal["stdout", "stderr"]
OutputCallback = Callable[[StreamName, str], Awaitable[None]]
"""Receives masked output as it arrives, a line (or a long partial line) at a time."""


@dataclass(frozen=True)
class Limits:
    """Executor-wide limits; per-host concurrency is HostConfig.max_concurrent."""

    max_concurrent: int = 16
    """Commands running at once over all hosts."""
    output_limit: int = 64_000
    """Characters kept per stream; beyond it the middle is cut (head and tail are kept)."""
    default_timeout: float = 600.0
    """Seconds a command may run when the caller gives no timeout."""
    kill_grace: float = 5.0
    """Seconds a stopped command gets to go away before its channel is closed regardless;
    keep it above the remote wrapper's TERM-to-KILL delay (ssh.KILL_GRACE, 2 s)."""

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if self.output_limit < 2:
            raise ValueError("output_limit must be at least 2")
        if self.default_timeout <= 0 or self.kill_grace <= 0:
            raise ValueError("default_timeout and kill_grace must be positive")


def cut_marker(count: int) -> str:
    """The line that replaces cut output, so a reader knows something is missing."""
    return f"\n[... {count} characters cut ...]\n"


class _HeadTail:
    """Keeps the first and last characters of a text of any length."""

    def __init__(self, limit: int) -> None:
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._head: list[str] = []
        self._head_size = 0
        self._tail: deque[str] = deque()
        self._tail_size = 0
        self._cut = 0

    def append(self, text: str) -> None:
        if self._head_size < self._head_limit:
            taken = text[: self._head_limit - self._head_size]
            self._head.append(taken)
            self._head_size += len(taken)
            text = text[len(taken) :]
        if not text:
            return
        self._tail.append(text)
        self._tail_size += len(text)
        while self._tail_size > self._tail_limit:
            excess = self._tail_size - self._tail_limit
            first = self._tail[0]
            if len(first) <= excess:
                self._tail.popleft()
                self._tail_size -= len(first)
                self._cut += len(first)
            else:
                self._tail[0] = first[excess:]
                self._tail_size -= excess
                self._cut += excess

    @property
    def truncated(self) -> bool:
        return self._cut > 0

    def text(self) -> str:
        middle = cut_marker(self._cut) if self._cut else ""
        return "".join(self._head) + middle + "".join(self._tail)


class _Capture:
    """One output stream: bytes -> text -> masked -> kept (and returned for streaming)."""

    def __init__(self, limit: int, secrets: tuple[str, ...]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._masker = StreamMasker(secrets)
        self.kept = _HeadTail(limit)

    def feed(self, data: bytes) -> str:
        return self._keep(self._masker.feed(self._decoder.decode(data)))

    def finish(self) -> str:
        return self._keep(self._masker.feed(self._decoder.decode(b"", final=True)))

    def flush(self) -> str:
        return self._keep(self._masker.flush())

    def _keep(self, text: str) -> str:
        if text:
            self.kept.append(text)
        return text


class RunHandle:
    """A command started by CommandRunner.start(); wait() for its result, cancel() to kill it."""

    def __init__(
        self,
        runner: CommandRunner,
        host: HostConfig,
        command: str,
        timeout: float,
        on_output: OutputCallback | None,
        sandboxed: bool = False,
    ) -> None:
        self.host = host.name
        self.command = mask_text(command, runner.secrets)
        self._runner = runner
        self._config = host
        self._raw_command = command
        self._timeout = timeout
        self._on_output = on_output
        self._wants_sandbox = sandboxed
        self._sandboxed = False
        self._notes: tuple[str, ...] = ()
        loop = asyncio.get_running_loop()
        # A bare future rather than Event.wait() in a task: one task fewer per command.
        self._cancel: asyncio.Future[None] = loop.create_future()
        self._process: RemoteProcess | None = None
        self._task = loop.create_task(self._execute(), name=f"chavion-run-{host.name}")

    def cancel(self) -> None:
        """Kills the command (or drops it from the queue); wait() then reports cancelled."""
        if self._task.done():
            return
        if not self._cancel.done():
            self._cancel.set_result(None)
        if self._process is None:
            # Not started: nothing remote to stop. Cancelling while the channel opens is
            # safe too, ssh.py closes a channel that opens after its caller went away.
            self._task.cancel()

    def done(self) -> bool:
        return self._task.done()

    async def wait(self) -> RunResult:
        """The result; raises ExecutorError if the command could not be run at all, and
        ConnectionLost (RunInterrupted once it ran) if the connection broke after the command
        was sent: it may have run, and it is never sent again."""
        try:
            return await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise  # the caller of wait() was cancelled, not the command
            return self._result(ExitInfo(None, None), "", "", 0.0, cancelled=True)

    async def _execute(self) -> RunResult:
        try:
            async with self._runner._slots(self._config):
                return await self._run()
        except ExecutorError as exc:
            exc.args = (mask_text(str(exc), self._runner.secrets),)
            raise

    async def _run(self) -> RunResult:
        loop = asyncio.get_running_loop()
        began = loop.time()
        host = await self._runner._resolve(self._config)
        self._sandboxed, self._notes = await self._runner._sandbox(host, self._wants_sandbox)
        process = await self._runner._pool.start(host, self._raw_command, sandbox=self._sandboxed)
        self._process = process
        limit, secrets = self._runner.limits.output_limit, self._runner.secrets
        stdout, stderr = _Capture(limit, secrets), _Capture(limit, secrets)
        finished = asyncio.ensure_future(
            self._finish(
                process,
                (process.read_stdout, "stdout", stdout),
                (process.read_stderr, "stderr", stderr),
            )
        )
        waiting: set[asyncio.Future[Any]] = {finished, self._cancel}
        try:
            await asyncio.wait(
                waiting,
                timeout=self._timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            timed_out = cancelled = False
            if finished.done():
                exit_info = finished.result()
            else:
                cancelled = self._cancel.done()
                timed_out = not cancelled
                exit_info = await self._stop(process, finished)
        except ConnectionLost as exc:
            process.abort()
            finished.cancel()
            for capture in (stdout, stderr):
                capture.finish()
                capture.flush()
            partial = self._result(
                ExitInfo(None, None),
                stdout.kept.text(),
                stderr.kept.text(),
                loop.time() - began,
                truncated=stdout.kept.truncated or stderr.kept.truncated,
            )
            raise RunInterrupted(str(exc), partial) from None
        except BaseException:
            process.abort()
            finished.cancel()
            raise
        if exit_info.status == 127 and stderr.kept.text().startswith(BASH_MISSING):
            raise ExecutorError(
                f"bash is required on {self.host}: every command runs with "
                "`bash --noprofile --norc -c`, and the host has no bash on its PATH "
                "(/usr/local/bin, /usr/bin, /bin and the sbin ones); install it there"
            )
        return self._result(
            exit_info,
            stdout.kept.text(),
            stderr.kept.text(),
            loop.time() - began,
            truncated=stdout.kept.truncated or stderr.kept.truncated,
            timed_out=timed_out,
            cancelled=cancelled,
        )

    async def _stop(self, process: RemoteProcess, finished: asyncio.Future[ExitInfo]) -> ExitInfo:
        """Kills the remote command; keeps what it printed until it was gone."""
        process.stop()
        grace = self._runner.limits.kill_grace
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(finished), grace)
        log.warning("command on %s ignored its stop for %g s; closing it", self.host, grace)
        process.abort()
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(finished), grace)
        # The channel did not even close (a hung connection): report what we have.
        finished.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await finished
        return ExitInfo(status=None, signal=None)

    async def _finish(
        self,
        process: RemoteProcess,
        out: tuple[Callable[[], Awaitable[bytes]], StreamName, _Capture],
        err: tuple[Callable[[], Awaitable[bytes]], StreamName, _Capture],
    ) -> ExitInfo:
        """Both streams to their end, then the exit status. stdout is read here and stderr
        in one helper task (not two tasks under gather): per-command overhead counts at
        hundreds of commands a second."""
        errors = asyncio.ensure_future(self._pump(*err))
        try:
            await self._pump(*out)
            await errors
        except BaseException:
            errors.cancel()
            raise
        return await process.wait()

    async def _pump(
        self, read: Callable[[], Awaitable[bytes]], name: StreamName, capture: _Capture
    ) -> None:
        while data := await read():
            await self._emit(name, capture.feed(data))
        await self._emit(name, capture.finish() + capture.flush())

    async def _emit(self, name: StreamName, text: str) -> None:
        if text and self._on_output is not None:
            await self._on_output(name, text)

    def _result(
        self,
        exit_info: ExitInfo,
        stdout: str,
        stderr: str,
        duration: float,
        *,
        truncated: bool = False,
        timed_out: bool = False,
        cancelled: bool = False,
    ) -> RunResult:
        notes = self._notes
        if self._sandboxed and exit_info.status != 0 and RO_MESSAGE in stderr:
            notes += (REFUSED_WRITE_NOTE,)
        return RunResult(
            host=self.host,
            command=self.command,
            exit_status=exit_info.status,
            exit_signal=exit_info.signal,
            stdout=stdout,
            stderr=stderr,
            duration=duration,
            truncated=truncated,
            timed_out=timed_out,
            cancelled=cancelled,
            sandboxed=self._sandboxed,
            notes=notes,
        )


class CommandRunner:
    """Runs commands on configured hosts: one SSH connection per host, bounded concurrency.

    Use as `async with CommandRunner(...) as runner:`, or call aclose() when done. `data_dir`
    is needed only for `local` without an address (keys of the embedded server live there).
    """

    def __init__(
        self,
        hosts: Iterable[HostConfig],
        *,
        limits: Limits | None = None,
        secrets: Iterable[str] = (),
        data_dir: Path | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.secrets = tuple(secret for secret in secrets if secret)
        self._hosts: dict[str, HostConfig] = {}
        for host in hosts:
            if host.name in self._hosts:
                raise ValueError(f"host {host.name!r} is configured twice")
            self._hosts[host.name] = host
        self._data_dir = data_dir
        self._pool = SSHPool()
        self._global_slots = asyncio.Semaphore(self.limits.max_concurrent)
        self._host_slots = {
            name: asyncio.Semaphore(host.max_concurrent) for name, host in self._hosts.items()
        }
        self._embedded: EmbeddedServer | None = None
        self._embedded_host: HostConfig | None = None
        self._embedded_lock = asyncio.Lock()
        self._handles: set[RunHandle] = set()

    @property
    def hosts(self) -> Mapping[str, HostConfig]:
        return MappingProxyType(self._hosts)

    def start(
        self,
        host: str,
        command: str,
        *,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
        sandboxed: bool = False,
    ) -> RunHandle:
        """Queues the command and returns at once; needs a running event loop.

        `timeout` (seconds, default Limits.default_timeout) counts from the moment the
        command runs; a timed-out command is killed and reported with timed_out=True.
        `sandboxed` (for commands nobody approved: the policy judged them read-only) runs it
        in the read-only sandbox as the host's `sandbox` setting says: see _sandbox.
        """
        config = self._hosts.get(host)
        if config is None:
            known = ", ".join(sorted(self._hosts)) or "none"
            raise UnknownHost(f"unknown host {host!r} (configured: {known})")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive")
        if "\0" in command:
            raise ValueError("a command cannot contain NUL characters")
        handle = RunHandle(
            self,
            config,
            command,
            timeout or self.limits.default_timeout,
            on_output,
            sandboxed=sandboxed,
        )
        self._handles.add(handle)
        handle._task.add_done_callback(lambda _: self._handles.discard(handle))
        return handle

    async def run(
        self,
        host: str,
        command: str,
        *,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
        sandboxed: bool = False,
    ) -> RunResult:
        """Runs the command to its end. Cancelling the caller kills the remote command.

        Prefer `timeout` over wrapping this in asyncio.timeout(): both kill the command, but
        only `timeout` returns its partial output (with timed_out=True).
        """
        handle = self.start(
            host, command, timeout=timeout, on_output=on_output, sandboxed=sandboxed
        )
        try:
            return await handle.wait()
        except asyncio.CancelledError:
            handle.cancel()
            with contextlib.suppress(ExecutorError):
                await handle.wait()
            raise

    async def reach(self, host: str) -> None:
        """The host answers and lets the executor in, on the connection its commands use
        (kept open, so checking often costs nothing); nothing runs. Raises `ExecutorError`
        saying why not, masked like every message of a run."""
        config = self._hosts.get(host)
        if config is None:
            raise UnknownHost(f"unknown host {host!r}")
        try:
            await self._pool.reach(await self._resolve(config))
        except ExecutorError as exc:
            exc.args = (mask_text(str(exc), self.secrets),)
            raise

    def connections_opened(self, host: str) -> int:
        """SSH connections made to the host so far; stays 1 while the connection is reused."""
        return self._pool.connections_opened(host)

    async def disconnect(self, host: str) -> None:
        """Closes the host's connection (running commands on it are killed)."""
        await self._pool.disconnect(host)

    async def aclose(self) -> None:
        """Kills running commands, closes connections and stops the embedded server."""
        handles = list(self._handles)
        for handle in handles:
            handle.cancel()
        for handle in handles:
            with contextlib.suppress(Exception):  # already reported to the handle's waiter
                await handle.wait()
        await self._pool.close()
        if self._embedded is not None:
            await self._embedded.close()
            self._embedded = None
            self._embedded_host = None

    async def __aenter__(self) -> CommandRunner:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @contextlib.asynccontextmanager
    async def _slots(self, host: HostConfig) -> AsyncIterator[None]:
        # Host slot first: waiting for a busy host must not hold a global slot.
        async with self._host_slots[host.name], self._global_slots:
            yield

    async def _sandbox(self, host: HostConfig, wanted: bool) -> tuple[bool, tuple[str, ...]]:
        """Whether this run goes into the sandbox, and the note to add when it should have
        but could not: `auto` runs it anyway and says so, `required` refuses, `off` never
        sandboxes (and says nothing: it was asked for)."""
        if not wanted or host.sandbox == "off":
            return False, ()
        support = await self._pool.sandbox_support(host)
        if support.available:
            return True, ()
        if host.sandbox == "required":
            raise ExecutorError(
                f"host {host.name!r} requires the read-only sandbox (sandbox: required), "
                f"but cannot run it: {support.reason}. Install bubblewrap there "
                "(scripts/local-host does it for local), or set its sandbox to auto"
            )
        return False, (
            f"no read-only sandbox on {host.name} ({support.reason}): this auto-approved "
            "command ran without it",
        )

    async def _resolve(self, host: HostConfig) -> HostConfig:
        """The host as the pool can reach it: `local` without an address is served here."""
        if not host.embedded:
            return host
        async with self._embedded_lock:
            if self._embedded_host is None:
                if self._data_dir is None:
                    raise ExecutorError(
                        f"host {host.name!r} has no address and the executor has no data "
                        "directory for the embedded SSH server's keys"
                    )
                server = EmbeddedServer(
                    self._data_dir / "embedded-ssh", hidden=(str(self._data_dir),)
                )
                self._embedded_host = await server.start(host)
                self._embedded = server
            return self._embedded_host
