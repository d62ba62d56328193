"""Runs Synapse as a supervised child process: start, wait until it answers, restart, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from bots.errors import HomeserverError

log = logging.getLogger(__name__)

READY_PATH = "/_matrix/client/versions"


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


async def homeserver_answers(client_url: str, timeout: float = 2.0) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(client_url + READY_PATH) as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


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
    ) -> None:
        self._config = config
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
                f"port {self._port} on {self._host} is already in use: is another homeserver "
                "running? Stop it (`chavion down`) or set homeserver.port."
            )
        started = time.monotonic()
        self._output_log.parent.mkdir(parents=True, exist_ok=True)
        with self._output_log.open("ab") as output:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self._config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        if self._pid_file is not None:
            # Synapse writes its pid file only when it daemonizes; ops and tests want it always.
            self._pid_file.write_text(f"{self._process.pid}\n")
        await self._wait_ready(started + ready_timeout)
        elapsed = time.monotonic() - started
        log.info("synapse answered after %.1f s (pid %s)", elapsed, self._process.pid)
        return elapsed

    async def _wait_ready(self, deadline: float) -> None:
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                raise HomeserverError(
                    f"Synapse exited with status {self._process.returncode} while starting; "
                    f"see {self._output_log} and the homeserver log next to it"
                )
            if await homeserver_answers(self._client_url, timeout=1.0):
                return
            await asyncio.sleep(0.1)
        await self.stop()
        raise HomeserverError(f"Synapse did not answer at {self._client_url} in time")

    async def supervise(self) -> None:
        """Restart Synapse whenever it dies on its own, with a short capped backoff."""
        delay = 1.0
        while not self._stopping:
            assert self._process is not None
            status = await self._process.wait()
            if self._stopping:
                return
            log.error("Synapse died with status %s; restarting in %.0f s", status, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self.start()
                self.restarts += 1
                delay = 1.0
            except HomeserverError as exc:
                log.error("Synapse restart failed: %s", exc)
                delay = min(delay * 2, 30.0)

    async def stop(self, grace: float = 15.0) -> None:
        self._stopping = True
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            log.warning("Synapse ignored SIGTERM for %.0f s; killing it", grace)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)
