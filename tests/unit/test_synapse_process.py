"""The Synapse supervisor and the pid checks, with a stand-in for Synapse.

The stand-in is started exactly as Synapse is (`PROGRAM --config-path CONFIG`); its config
says what each start does: answer the readiness probe, crash, or never answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from bots.errors import HomeserverError
from bots.homeserver.process import (
    SynapseProcess,
    free_port,
    homeserver_answers,
    is_our_synapse,
    process_argv,
    stop_recorded_synapse,
)

FAKE_SYNAPSE = """
import http.server, json, sys, time
from pathlib import Path

config = Path(sys.argv[sys.argv.index("--config-path") + 1])
plan = json.loads(config.read_text())
starts = config.with_name("starts")
n = len(starts.read_text()) if starts.exists() else 0
starts.write_text("x" * (n + 1))
step = plan["steps"][min(n, len(plan["steps"]) - 1)]

class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass

if step == "hang":
    time.sleep(600)
server = http.server.HTTPServer(("127.0.0.1", plan["port"]), Ready)
if step == "crash":
    server.timeout = 0.1
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        server.handle_request()
    sys.exit(3)
server.serve_forever()
"""


class FakeSynapse:
    def __init__(self, root: Path, steps: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script = root / "fake_synapse.py"
        self.script.write_text(FAKE_SYNAPSE)
        self.program = (sys.executable, str(self.script))
        self.config = root / "homeserver.yaml"
        self.config.write_text(json.dumps({"port": self.port, "steps": steps}))
        self.pid_file = root / "homeserver.pid"
        self.output = root / "stdout.log"

    @property
    def starts(self) -> int:
        counter = self.config.with_name("starts")
        return len(counter.read_text()) if counter.exists() else 0

    def process(self) -> SynapseProcess:
        return SynapseProcess(
            self.config,
            self.url,
            "127.0.0.1",
            self.port,
            self.output,
            pid_file=self.pid_file,
            program=self.program,
        )

    def spawn(self, config: Path | None = None) -> subprocess.Popen[bytes]:
        """As a `chavion up` that has since been killed left it: running on its own."""
        process = subprocess.Popen(
            [*self.program, "--config-path", str(config or self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_exec(process.pid, self.program[1])
        return process


def wait_for_exec(pid: int, marker: str) -> None:
    """Right after fork, /proc still shows the parent's command line (or none)."""
    deadline = time.monotonic() + 5
    while marker not in (process_argv(pid) or []):
        assert time.monotonic() < deadline, f"{pid} never ran {marker}"
        time.sleep(0.02)


@pytest.fixture
def reaped() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def alive(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is None


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


# ---- the supervisor ------------------------------------------------------------------


async def test_the_supervisor_keeps_restarting_after_a_restart_that_never_answers(
    tmp_path: Path,
) -> None:
    fake = FakeSynapse(tmp_path, ["crash", "hang", "serve"])
    synapse = fake.process()
    await synapse.start(ready_timeout=10)
    supervisor = asyncio.create_task(synapse.supervise(ready_timeout=1.0, backoff=0.1))
    try:

        async def back_up() -> bool:
            return synapse.restarts == 1 and await homeserver_answers(fake.url, timeout=0.5)

        await wait_until(back_up)
        assert not supervisor.done()
        assert fake.starts == 3  # crashed, never answered (killed), answered
        assert fake.pid_file.read_text().strip() == str(synapse.pid)
    finally:
        await synapse.stop()
        await asyncio.wait_for(supervisor, 5)
    assert not fake.pid_file.exists()


async def test_a_start_that_never_answers_kills_that_synapse(tmp_path: Path) -> None:
    fake = FakeSynapse(tmp_path, ["hang"])
    synapse = fake.process()
    with pytest.raises(HomeserverError, match="did not answer"):
        await synapse.start(ready_timeout=0.5)
    assert synapse.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(synapse.pid, 0)
    assert not fake.pid_file.exists()


async def test_stop_ends_supervision_for_good(tmp_path: Path) -> None:
    fake = FakeSynapse(tmp_path, ["serve"])
    synapse = fake.process()
    await synapse.start(ready_timeout=10)
    supervisor = asyncio.create_task(synapse.supervise(backoff=0.1))
    await asyncio.sleep(0.2)
    await synapse.stop()
    await asyncio.wait_for(supervisor, 5)
    assert fake.starts == 1
    assert not await homeserver_answers(fake.url, timeout=0.5)


async def test_the_synapse_child_writes_files_private_to_the_user(tmp_path: Path) -> None:
    fake = FakeSynapse(tmp_path, ["serve"])
    old = os.umask(0o022)
    try:
        synapse = fake.process()
        await synapse.start(ready_timeout=10)
    finally:
        os.umask(old)
    try:
        assert synapse.pid is not None
        status = await asyncio.to_thread(Path(f"/proc/{synapse.pid}/status").read_text)
        assert "Umask:\t0077" in status
        assert fake.output.stat().st_mode & 0o077 == 0
        assert fake.pid_file.stat().st_mode & 0o077 == 0
    finally:
        await synapse.stop()


async def test_extra_configs_follow_the_config_in_order(tmp_path: Path) -> None:
    """Workers read homeserver.yaml, then the shared worker file, then their own."""
    fake = FakeSynapse(tmp_path, ["serve"])
    extra = [tmp_path / "workers.yaml", tmp_path / "sync1.yaml"]
    synapse = SynapseProcess(
        fake.config,
        fake.url,
        "127.0.0.1",
        fake.port,
        fake.output,
        program=fake.program,
        extra_configs=extra,
    )
    await synapse.start(ready_timeout=10)
    try:
        assert synapse.pid is not None
        argv = process_argv(synapse.pid) or []
        assert argv[-6:] == [
            *("--config-path", str(fake.config)),
            *("--config-path", str(extra[0])),
            *("--config-path", str(extra[1])),
        ]
        assert is_our_synapse(synapse.pid, fake.config, fake.program)
    finally:
        await synapse.stop()


# ---- pids recorded in files ----------------------------------------------------------


def test_a_synapse_left_running_by_a_killed_up_is_stopped(
    tmp_path: Path, reaped: list[subprocess.Popen[bytes]]
) -> None:
    fake = FakeSynapse(tmp_path, ["serve"])
    orphan = fake.spawn()
    reaped.append(orphan)
    fake.pid_file.write_text(f"{orphan.pid}\n")
    assert is_our_synapse(orphan.pid, fake.config, fake.program)
    assert stop_recorded_synapse(fake.pid_file, fake.config, program=fake.program) == orphan.pid
    assert orphan.wait(5) == -signal.SIGTERM
    assert not fake.pid_file.exists()


def test_a_recorded_pid_now_used_by_another_program_is_never_signalled(
    tmp_path: Path, reaped: list[subprocess.Popen[bytes]]
) -> None:
    fake = FakeSynapse(tmp_path, ["serve"])
    stranger = subprocess.Popen(["sleep", "30"])
    reaped.append(stranger)
    wait_for_exec(stranger.pid, "sleep")
    fake.pid_file.write_text(f"{stranger.pid}\n")
    assert not is_our_synapse(stranger.pid, fake.config, fake.program)
    assert stop_recorded_synapse(fake.pid_file, fake.config, program=fake.program) is None
    time.sleep(0.2)
    assert alive(stranger)
    assert not fake.pid_file.exists()


def test_a_synapse_with_another_config_is_never_signalled(
    tmp_path: Path, reaped: list[subprocess.Popen[bytes]]
) -> None:
    fake = FakeSynapse(tmp_path, ["serve"])
    other_config = tmp_path / "other.yaml"
    other_config.write_text(fake.config.read_text())
    other = fake.spawn(other_config)
    reaped.append(other)
    fake.pid_file.write_text(f"{other.pid}\n")
    assert stop_recorded_synapse(fake.pid_file, fake.config, program=fake.program) is None
    time.sleep(0.2)
    assert alive(other)


def test_a_dead_or_garbled_pid_is_forgotten(tmp_path: Path) -> None:
    fake = FakeSynapse(tmp_path, ["serve"])
    done = subprocess.Popen(["true"])
    done.wait()
    for content in (f"{done.pid}\n", "", "not a pid\n", "-1\n"):
        fake.pid_file.write_text(content)
        assert stop_recorded_synapse(fake.pid_file, fake.config, program=fake.program) is None
    assert stop_recorded_synapse(tmp_path / "missing.pid", fake.config) is None


def test_synapse_is_recognised_by_its_module_and_config_whatever_the_interpreter(
    tmp_path: Path, reaped: list[subprocess.Popen[bytes]]
) -> None:
    config = tmp_path / "homeserver.yaml"
    pretender = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(30)",
            "-m",
            "synapse.app.homeserver",
            "--config-path",
            str(config),
        ]
    )
    reaped.append(pretender)
    wait_for_exec(pretender.pid, "synapse.app.homeserver")
    assert is_our_synapse(pretender.pid, config)
    assert not is_our_synapse(pretender.pid, tmp_path / "other.yaml")
    assert not is_our_synapse(os.getpid(), config)
