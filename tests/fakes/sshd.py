"""A real OpenSSH sshd on loopback for tests, run by scripts/sshd-test (needs root).

`running_sshd()` starts one in a fresh directory and stops it afterwards; the `sshd` fixture
wraps it for a whole test session (import it into a conftest to use it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from executor.hosts import HostConfig

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "sshd-test"
HOST_NAME = "sshd-test"


@dataclass(frozen=True)
class SshdServer:
    """A running test sshd and the settings to reach it."""

    host: HostConfig
    """Named "sshd-test"; checks the host key against `known_hosts`."""
    port: int
    pid: int
    user: str
    directory: Path
    client_key: Path
    known_hosts: Path
    """Trusts exactly this server's host key, as `[127.0.0.1]:port ssh-ed25519 ...`."""
    log: Path


def start_sshd(directory: Path, *, timeout: float = 600) -> SshdServer:
    """Runs `scripts/sshd-test start` (installing openssh-server if needed, hence the timeout)."""
    output = _script("start", directory, timeout=timeout)
    settings = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    port = int(settings["port"])
    client_key = Path(settings["key"])
    known_hosts = Path(settings["known_hosts"])
    return SshdServer(
        host=HostConfig(
            name=HOST_NAME,
            address="127.0.0.1",
            port=port,
            user=settings["user"],
            key_path=client_key,
            known_hosts=known_hosts,
        ),
        port=port,
        pid=int(settings["pid"]),
        user=settings["user"],
        directory=Path(settings["dir"]),
        client_key=client_key,
        known_hosts=known_hosts,
        log=Path(settings["log"]),
    )


def stop_sshd(directory: Path) -> None:
    _script("stop", directory, timeout=30)


@contextlib.contextmanager
def running_sshd() -> Iterator[SshdServer]:
    """A server in a new directory under /tmp, stopped and removed on exit.

    Not under pytest's tmp_path: sshd reads authorized_keys as the test user, who cannot
    enter root's 0700 pytest directories.
    """
    if os.geteuid() != 0:
        pytest.skip("scripts/sshd-test needs root (it installs and runs sshd)")
    directory = Path(tempfile.mkdtemp(prefix="chavion-sshd-"))
    try:
        yield start_sshd(directory)
    finally:
        stop_sshd(directory)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshdServer]:
    with running_sshd() as server:
        yield server


def _script(action: str, directory: Path, *, timeout: float) -> str:
    result = subprocess.run(
        ["bash", str(SCRIPT), action, "--dir", str(directory)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"scripts/sshd-test {action} failed ({result.returncode}):\n{result.stderr}"
        )
    return result.stdout
