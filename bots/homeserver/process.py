"""Runs Synapse as a supervised child process: start, wait until it answers, restart, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bots.errors import HomeserverError
from bots.settings.data_dir import PRIVATE_UMASK, open_private_log, write_private

log = logging.getLogger(__name__)

READY_PATH = "/_matrix/client/versions"
SYNAPSE_MODULE = "synapse.app.homeserver"
SYNAPSE_PROGRAM = (sys.executable, "-m", SYNAPSE_MODULE)


def port_is_free(host: str, port: int) -> bool:
    """A port already taken would answer our readiness probe for someone else's server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def homeserver_answers(client_url: str, timeout: float = 2.0, path: str = READY_PATH) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(client_url + path) as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None


def process_argv(pid: int) -> list[str] | None:
    """The command line of a live process, or None if it is gone (or a zombie)."""
    proc = Path("/proc")
    if proc.is_dir():
        try:
            raw = (proc / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        argv = [arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1]]
    else:  # no procfs (macOS): ps splits on spaces, so a path with one never matches
        try:
            result = subprocess.run(
                ["ps", "-ww", "-o", "command=", "-p", str(pid)],
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:
            return None
        argv = result.stdout.split() if result.returncode == 0 else []
    return argv or None


def is_our_synapse(pid: int, config: Path, program: Sequence[str] = SYNAPSE_PROGRAM) -> bool:
    """Whether `pid` is a Synapse as `SynapseProcess` starts it, with this very config.

    Pid files outlive their processes and pids get reused: only a process that passes this
    check may be signalled. The interpreter is not compared (an upgraded venv has another).
    """
    argv = process_argv(pid)
    if argv is None:
        return False
    wanted = [*program[1:], "--config-path", str(config)]
    args = argv[1:]
    return any(args[i : i + len(wanted)] == wanted for i in range(len(args)))


def stop_recorded_synapse(
    pid_file: Path,
    config: Path,
    grace: float = 30.0,
    program: Sequence[str] = SYNAPSE_PROGRAM,
) -> int | None:
    """Stop the Synapse that `pid_file` records if its supervisor is gone; return its pid.

    That happens when `chavion up` is killed outright: Synapse runs in its own session and
    lives on. A pid that is not that Synapse any more is never signalled; its file goes.
    """
    pid = read_pid(pid_file)
    if pid is None:
        return None
    if not is_our_synapse(pid, config, program):
        pid_file.unlink(missing_ok=True)
        return None
    log.info("stopping Synapse (pid %s) left running by an earlier `chavion up`", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _gone(pid, config, program, grace):
        log.warning("Synapse (pid %s) ignored SIGTERM for %.0f s; killing it", pid, grace)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _gone(pid, config, program, 10.0):
            raise HomeserverError(f"Synapse (pid {pid}) would not stop, not even with SIGKILL")
    pid_file.unlink(missing_ok=True)
    return pid


def _gone(pid: int, config: Path, program: Sequence[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while is_our_synapse(pid, config, program):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class SynapseProcess:
    """One Synapse child. `supervise()` restarts it when it dies until `stop()` is called."""

    def __init__(
        self,
        config: Path,
        client_url: str,
        host: str,
        port: int,
        output_log: Path,
        pid_file: Path | None = None,
        program: Sequence[str] = SYNAPSE_PROGRAM,
        extra_configs: Sequence[Path] = (),
        ready_path: str = READY_PATH,
    ) -> None:
        self._config = config
        self._program = tuple(program)
        # Read after `config`, later files winning key by key (workers: see `workers`).
        self._extra_configs = tuple(extra_configs)
        self._ready_path = ready_path
        self._client_url = client_url
        self._host = host
        self._port = port
        self._output_log = output_log
        self._pid_file = pid_file
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = False
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self, ready_timeout: float = 90.0) -> float:
        """Start Synapse and return the seconds it took to answer."""
        if not port_is_free(self._host, self._port):
            raise HomeserverError(
                f"port {self._port} on {self._host} is already in use by another program "
                "(a homeserver not started from this data dir?): stop it or set homeserver.port."
            )
        started = time.monotonic()
        with open_private_log(self._output_log) as output:
            self._process = await asyncio.create_subprocess_exec(
                *self._program,
                "--config-path",
                str(self._config),
                *_config_args(self._extra_configs),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                # Its database holds access tokens: private whoever started us, and how.
                umask=PRIVATE_UMASK,
            )
        if self._pid_file is not None:
            # Synapse writes its pid file only when it daemonizes; ops and tests want it always.
            write_private(self._pid_file, f"{self._process.pid}\n")
        await self._wait_ready(started + ready_timeout)
        elapsed = time.monotonic() - started
        log.info("synapse answered after %.1f s (pid %s)", elapsed, self._process.pid)
        return elapsed

    async def _wait_ready(self, deadline: float) -> None:
        process = self._process
        assert process is not None
        while time.monotonic() < deadline and not self._stopping:
            if process.returncode is not None:
                self._forget_pid()
                raise HomeserverError(
                    f"Synapse exited with status {process.returncode} while starting; "
                    f"see {self._output_log} and the homeserver log next to it"
                )
            if await homeserver_answers(self._client_url, timeout=1.0, path=self._ready_path):
                return
            await asyncio.sleep(0.1)
        # Only this attempt failed: whoever supervises may try again, so no stop() here.
        await self._end(process)
        if self._stopping:
            raise HomeserverError("Synapse was stopped while starting")
        raise HomeserverError(f"Synapse did not answer at {self._client_url} in time")

    async def supervise(self, ready_timeout: float = 90.0, backoff: float = 1.0) -> None:
        """Restart Synapse whenever it dies on its own, until `stop()`.

        A restart that fails (Synapse exits, or does not answer within `ready_timeout`) is
        retried after a pause that doubles each time, up to 30 s.
        """
        delay = backoff
        while not self._stopping:
            assert self._process is not None
            status = await self._process.wait()
            if self._stopping:
                return
            log.error("Synapse is down (status %s); restarting in %.0f s", status, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self.start(ready_timeout)
            except (HomeserverError, OSError) as exc:
                log.error("Synapse restart failed: %s", exc)
                delay = min(delay * 2, 30.0)
                continue
            self.restarts += 1
            delay = backoff

    async def stop(self, grace: float = 15.0) -> None:
        self._stopping = True
        if self._process is not None:
            await self._end(self._process, grace)

    async def _end(self, process: asyncio.subprocess.Process, grace: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; the supervisor is left as it is."""
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                log.warning("Synapse ignored SIGTERM for %.0f s; killing it", grace)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        self._forget_pid()

    def _forget_pid(self) -> None:
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)


def _config_args(configs: Sequence[Path]) -> list[str]:
    return [arg for config in configs for arg in ("--config-path", str(config))]
