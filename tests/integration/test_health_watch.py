"""The health watch and the digest end to end: real Synapse, the master's encrypted client,
the coordinator and the executor in this process, and the real test sshd behind a loopback
forwarder the test closes and opens again (the host "goes down" and "comes back").

Asserted on what the master's client receives: exactly one urgent "down" alert and one
"back" message for the host, however many checks ran; the digest once at its hour with a
controllable clock (also after a restart of its job), and `!digest` on demand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bots.app.assembly import build_roster
from bots.context import BotContext
from bots.health.digest_job import DigestJob
from bots.health.jobs import alert_sender
from bots.ids import RoomID
from bots.settings.health import DigestSettings
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.store import Store
from tests.fakes.sshd import SshdServer
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen
from tests.support.tasks import give_back_coordinator, take_over_coordinator

pytestmark = pytest.mark.integration

HOST = "health-web"
INTERVAL = 1.0


class Forwarder:
    """A loopback TCP port that forwards to the sshd while open; closing it drops every
    connection through it and refuses new ones, as a host that went down."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@pytest.fixture(scope="module")
async def forwarder(sshd: SshdServer) -> AsyncIterator[Forwarder]:
    opened = Forwarder(sshd.port)
    await opened.open()
    yield opened
    await opened.close()


def health_config(
    council: ThrowawayCouncil, sshd: SshdServer, forwarder: Forwarder, path: Path
) -> Path:
    """The suite's config with one host, reached through the forwarder, checked every
    second; the forwarder's port trusts the sshd's host key."""
    config: dict[str, Any] = yaml.safe_load(council.config_path.read_text(encoding="utf-8"))
    known = sshd.known_hosts.read_text(encoding="utf-8").replace(
        f"[127.0.0.1]:{sshd.port}", f"[127.0.0.1]:{forwarder.port}"
    )
    known_hosts = path.parent / "known_hosts"
    known_hosts.write_text(known, encoding="utf-8")
    config["execution"]["hosts"] = {
        HOST: {
            "address": "127.0.0.1",
            "port": forwarder.port,
            "user": sshd.user,
            "key": str(sshd.client_key),
            "known_hosts": str(known_hosts),
        }
    }
    # Thresholds no busy test machine reaches: only reachability is under test here.
    config["health"] = {
        "interval_seconds": INTERVAL,
        "confirm_readings": 2,
        "disk_pct": 100,
        "memory_pct": 100,
        "load_per_cpu": 1000,
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
async def bots(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    sshd: SshdServer,
    forwarder: Forwarder,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[InProcessBots]:
    path = health_config(council, sshd, forwarder, tmp_path_factory.mktemp("health") / "c.yaml")
    await take_over_coordinator(coordinator)
    try:
        started = await InProcessBots.start(load_settings(path), ["coordinator", "executor"])
        try:
            await master.sees_devices_of(
                council.user_id("coordinator"), council.user_id("executor")
            )
            yield started
        finally:
            await started.stop()
    finally:
        await give_back_coordinator(coordinator, council.settings)


def about_host(seen: Seen) -> bool:
    return f"Host {HOST} is" in seen.body


async def test_a_host_down_gives_one_alert_and_one_recovery(
    council: ThrowawayCouncil, master: Person, bots: InProcessBots, forwarder: Forwarder
) -> None:
    executor = council.user_id("executor")
    await asyncio.sleep(4 * INTERVAL)  # several checks of a healthy host: nothing said
    assert [s for s in master.seen if about_host(s)] == []
    await forwarder.close()
    (down,) = await master.wait_for(lambda s: about_host(s) and "down" in s.body, timeout=60)
    assert down.sender == executor
    assert down.room_id == council.council_room
    assert master.user_id in down.content.get("m.mentions", {}).get("user_ids", [])
    await asyncio.sleep(5 * INTERVAL)  # it stays down: still one message
    await forwarder.open()
    (back,) = await master.wait_for(lambda s: about_host(s) and "back" in s.body, timeout=60)
    assert back.sender == executor
    await asyncio.sleep(5 * INTERVAL)  # it stays up: nothing more
    said = [s.body for s in master.seen if about_host(s)]
    assert len(said) == 2, said
    assert said[0].startswith(f"🔴 Host {HOST} is down")
    assert said[1].startswith(f"🟢 Host {HOST} is back")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def coordinator_context(council: ThrowawayCouncil, bots: InProcessBots, store: Store) -> BotContext:
    """The running coordinator's own Matrix connection, in a context of the test's making
    (its digest job is built here with the test's clock)."""
    [running] = [b for b in bots.runner.bots if b.account.kind == "coordinator"]
    settings: Settings = bots.runner.settings
    settings = replace(settings, health=replace(settings.health, digest=DigestSettings((7, 0))))
    roster = build_roster(settings)
    identity = roster.get(settings.user_id(running.account))
    assert identity is not None
    return BotContext(
        settings,
        running.account,
        identity,
        roster,
        running.matrix,
        store,
        council_room=RoomID(council.council_room),
    )


async def test_the_digest_goes_once_at_its_hour(
    council: ThrowawayCouncil, master: Person, bots: InProcessBots
) -> None:
    zone = ZoneInfo(bots.runner.settings.timezone)
    clock = Clock(datetime(2027, 1, 10, 6, 59, tzinfo=zone).timestamp())
    async with await Store.open(council.data.store) as store:
        bot = coordinator_context(council, bots, store)
        job = DigestJob(bot.settings, store, alert_sender(bot), clock)
        assert await job.check_once() == []
        clock.now += 60
        [sent] = await job.check_once()
        clock.now += 600
        assert await job.check_once() == []
        restarted = DigestJob(bot.settings, store, alert_sender(bot), clock)
        assert await restarted.check_once() == []
    first_line = sent.splitlines()[0]
    (seen,) = await master.wait_for(lambda s: s.body.startswith(first_line), timeout=30)
    assert seen.sender == council.user_id("coordinator")
    await asyncio.sleep(3)
    assert [s for s in master.seen if s.body.startswith(first_line)] == [seen]


async def test_digest_on_demand(
    council: ThrowawayCouncil, master: Person, bots: InProcessBots
) -> None:
    began = time.monotonic()
    await master.say(council.council_room, "!digest")
    (seen,) = await master.wait_for(
        lambda s: s.received_at >= began and s.body.startswith("📋 Digest"), timeout=30
    )
    assert seen.sender == council.user_id("coordinator")
    assert "Nothing waits for you." in seen.body or "Waiting for you:" in seen.body
