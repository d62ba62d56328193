"""`chavion up --detach`, `info --json` and `down` as a user runs them, on a fresh data dir;
the council surviving a homeserver crash; a Synapse outliving a killed `chavion up`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.homeserver.process import free_port, is_our_synapse, port_is_free
from tests.support.council import council_config
from tests.support.person import Person, replies_to

pytestmark = pytest.mark.integration


def chavion(config: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bots", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def detached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    root = tmp_path_factory.mktemp("cli")
    config = root / "chavion.yaml"
    data = council_config(root / "data", free_port())
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = chavion(config, "up", "--detach")
    assert result.returncode == 0, result.stderr
    yield config, root / "data", result.stdout
    chavion(config, "down")


@pytest.fixture(scope="module")
def info(detached: tuple[Path, Path, str]) -> dict[str, Any]:
    result = chavion(detached[0], "info", "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.fixture
async def master(info: dict[str, Any], tmp_path: Path) -> AsyncIterator[Person]:
    person = await Person.login(
        info["homeserver"], info["master_user"], info["master_password"], tmp_path / "store"
    )
    yield person
    await person.close()


def test_up_prints_how_to_log_in(detached: tuple[Path, Path, str], info: dict[str, Any]) -> None:
    printed = detached[2]
    assert "Chavion is up (ready in" in printed
    assert f"Homeserver: {info['homeserver']}" in printed
    assert f"Password:   {info['master_password']}" in printed
    assert "#council:localhost" in printed


def test_nothing_in_the_data_dir_is_open_to_other_users(
    detached: tuple[Path, Path, str],
) -> None:
    """The log holds the master's password, Synapse's database every access token."""
    data = detached[1]
    exposed = []
    for folder, dirs, files in os.walk(data):
        for name in [".", *dirs, *files]:
            path = Path(folder, name)
            try:
                mode = path.lstat().st_mode
            except FileNotFoundError:  # a database journal, come and gone
                continue
            if not stat.S_ISLNK(mode) and mode & 0o077:
                exposed.append(f"{oct(mode & 0o777)} {path.relative_to(data)}")
    assert exposed == []
    assert (data / "run" / "chavion.log").exists()
    assert (data / "synapse" / "homeserver.db").exists()


def test_info_json_has_every_field(info: dict[str, Any]) -> None:
    assert set(info) >= {
        "homeserver",
        "master_user",
        "master_password",
        "council_room_id",
        "council_alias",
        "bots",
        "bridge_url",
    }
    assert info["master_user"] == "@master:localhost"
    assert info["council_alias"] == "#council:localhost"
    assert info["council_room_id"].startswith("!")
    assert {"name": "coordinator", "user_id": "@chavion:localhost", "kind": "coordinator"} in info[
        "bots"
    ]
    assert info["bridge_url"] is None


def test_up_twice_is_refused_while_running(detached: tuple[Path, Path, str]) -> None:
    result = chavion(detached[0], "up")
    assert result.returncode == 2
    assert "already running" in result.stderr


async def test_the_master_gets_pong_from_a_real_up(info: dict[str, Any], master: Person) -> None:
    event = await master.say(info["council_room_id"], "!ping")
    [reply] = await master.wait_for(replies_to(event, "@chavion:localhost"))
    assert reply.body.startswith("pong")


async def test_bots_come_back_after_synapse_crashes(
    detached: tuple[Path, Path, str], info: dict[str, Any], master: Person
) -> None:
    synapse_pid = int((detached[1] / "synapse" / "homeserver.pid").read_text())
    os.kill(synapse_pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pid_file = detached[1] / "synapse" / "homeserver.pid"
        if pid_file.exists() and int(pid_file.read_text() or 0) not in (0, synapse_pid):
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail("Synapse was not restarted")
    event = await master.say(info["council_room_id"], "!ping after the crash")
    [reply] = await master.wait_for(replies_to(event, "@chavion:localhost"), timeout=60)
    assert reply.body.startswith("pong")


def test_down_stops_everything(detached: tuple[Path, Path, str], info: dict[str, Any]) -> None:
    config, data, _ = detached
    pid = int((data / "run" / "chavion.pid").read_text())
    result = chavion(config, "down")
    assert result.returncode == 0, result.stderr
    assert f"Stopped Chavion (pid {pid})" in result.stdout
    port = int(info["homeserver"].rsplit(":", 1)[1])
    assert port_is_free("127.0.0.1", port)
    assert not (data / "run" / "chavion.pid").exists()


def write_config(root: Path) -> tuple[Path, Path, int]:
    port = free_port()
    config = root / "chavion.yaml"
    config.write_text(
        yaml.safe_dump(council_config(root / "data", port), allow_unicode=True), encoding="utf-8"
    )
    return config, root / "data", port


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def killed_up(tmp_path: Path) -> Iterator[tuple[Path, Path, int, int]]:
    """A `chavion up` killed with SIGKILL once ready: nothing stopped its Synapse."""
    config, data, port = write_config(tmp_path)
    log = tmp_path / "up.log"
    with log.open("wb") as output:
        up = subprocess.Popen(
            [sys.executable, "-m", "bots", "--config", str(config), "up"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while not (data / "run" / "ready.json").exists():
            assert up.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        synapse = int((data / "synapse" / "homeserver.pid").read_text())
    finally:
        up.kill()
        up.wait()
    try:
        assert running(synapse)
        assert not port_is_free("127.0.0.1", port)
        yield config, data, synapse, port
    finally:
        chavion(config, "down")
        if is_our_synapse(synapse, data / "synapse" / "homeserver.yaml"):
            os.kill(synapse, signal.SIGKILL)


def test_down_stops_the_synapse_a_killed_up_left_behind(
    killed_up: tuple[Path, Path, int, int],
) -> None:
    config, data, synapse, port = killed_up
    result = chavion(config, "down")
    assert result.returncode == 0, result.stderr
    assert f"Stopped Synapse (pid {synapse})" in result.stdout
    assert not running(synapse)
    assert port_is_free("127.0.0.1", port)
    assert not (data / "synapse" / "homeserver.pid").exists()
    assert not (data / "run" / "chavion.pid").exists()


def test_up_takes_over_from_a_killed_up(killed_up: tuple[Path, Path, int, int]) -> None:
    config, data, synapse, _ = killed_up
    result = chavion(config, "up", "--detach")
    assert result.returncode == 0, result.stderr
    assert f"stopped Synapse (pid {synapse})" in result.stdout
    assert "Chavion is up" in result.stdout
    assert not running(synapse)
    assert int((data / "synapse" / "homeserver.pid").read_text()) != synapse


def test_down_never_signals_a_process_that_reuses_a_recorded_pid(tmp_path: Path) -> None:
    config, data, _ = write_config(tmp_path)
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        for pid_file in (data / "run" / "chavion.pid", data / "synapse" / "homeserver.pid"):
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            pid_file.write_text(f"{stranger.pid}\n")
        result = chavion(config, "down")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "Chavion is not running."
        time.sleep(0.2)
        assert stranger.poll() is None
        assert not (data / "run" / "chavion.pid").exists()
        assert not (data / "synapse" / "homeserver.pid").exists()
    finally:
        stranger.kill()
        stranger.wait()
