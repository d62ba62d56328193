"""`chavion up --detach`, `info --json` and `down` as a user runs them, on a fresh data dir;
and the council surviving a homeserver crash."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.homeserver import free_port, port_is_free
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
