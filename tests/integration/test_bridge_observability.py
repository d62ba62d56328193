"""`/health` and `/metrics` over the real thing: an agent bot running against the suite's
Synapse with a `Metrics` object, the probes of its process, and both routes served by a real
aiohttp server on loopback. The bot's sends and sync batches are counted where they happen
(bots/matrix/client.py); the homeserver probe asks the real `/versions`; host probes reach a
real sshd (scripts/sshd-test) through the executor's own `CommandRunner`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bots.app.health_probes import HostProbe, StoreTaskCounts, health_probes
from bots.homeserver.process import free_port
from bots.ids import RoomID
from bots.message import Reply
from bots.store import Store
from bridge.http import health
from bridge.http import metrics as metrics_routes
from bridge.http.health import HealthProbe
from bridge.http.metrics import Metrics
from executor.hosts import HostConfig
from executor.runner import CommandRunner
from tests.fakes.sshd import running_sshd
from tests.support.council import InProcessBots, ThrowawayCouncil

pytestmark = pytest.mark.integration

GEMINI = frozenset({("bot", "gemini")})
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def series_of(text: str) -> Series:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def app_with(probes: Sequence[HealthProbe], metrics: Metrics) -> web.Application:
    """The two public routes as B2's `build_app(..., extra_routes=...)` adds them."""
    app = web.Application()
    health.add_routes(app, probes)
    metrics_routes.add_routes(app, metrics)
    return app


async def test_a_running_bot_is_healthy_and_counted(council: ThrowawayCouncil) -> None:
    metrics = Metrics()
    bots = await InProcessBots.start(council.settings, ["gemini"], metrics)
    store = await Store.open(council.data.store)
    metrics.tasks = StoreTaskCounts(store)
    try:
        [gemini] = bots.runner.bots
        room = RoomID(council.council_room)
        await gemini.matrix.send(Reply(room, "Counting this send.", key="metrics-probe-1"))
        probes = health_probes(council.settings, store, [("gemini", gemini.matrix)])
        async with TestClient(TestServer(app_with(probes, metrics))) as client:
            response = await client.get("/health")
            body = await response.json()
            assert response.status == 200, body
            assert set(body["checks"]) == {"homeserver", "store", "sync:gemini"}
            assert body["checks"]["homeserver"]["detail"].startswith("answers in")

            # The send's own echo arrives in a sync batch: the lag is noted again then.
            for _ in range(100):
                response = await client.get("/metrics")
                found = series_of(await response.text())
                sent = found.get(("chavion_matrix_send_seconds_count", GEMINI))
                if sent:
                    break
                await asyncio.sleep(0.1)
            assert response.headers["Content-Type"].startswith("text/plain")
            assert sent is not None
            assert sent >= 1
            lag = found[("chavion_sync_lag_seconds", GEMINI)]
            sync_timeout = council.settings.runtime.sync_timeout_ms / 1000
            assert 0 <= lag <= sync_timeout + 5
            assert ("chavion_tasks", frozenset({("state", "pending")})) in found
    finally:
        await bots.stop()
        await store.close()


async def test_hosts_are_checked_on_the_executors_own_connection() -> None:
    """A real sshd is "connected", on one connection however often it is checked (a
    monitor's polling costs the host nothing); a port nobody serves is failing, saying so."""
    with running_sshd() as server:
        gone = HostConfig(
            name="gone",
            address="127.0.0.1",
            port=free_port(),
            trust_on_first_use=True,
            connect_timeout=2.0,
        )
        async with CommandRunner([server.host, gone]) as engine:
            probes = [HostProbe(server.host.name, engine), HostProbe("gone", engine)]
            app = web.Application()
            health.add_routes(app, probes)
            async with TestClient(TestServer(app)) as client:
                for _ in range(3):
                    response = await client.get("/health")
                    body = await response.json()
            assert engine.connections_opened(server.host.name) == 1
            assert engine.connections_opened("gone") == 0
    assert response.status == 503
    checks = body["checks"]
    reached = checks[f"host:{server.host.name}"]
    assert (reached["status"], reached["detail"]) == ("ok", "connected")
    assert checks["host:gone"]["status"] == "failing"
    assert "cannot connect" in checks["host:gone"]["detail"]
    assert body["message"].startswith("host:gone failing")
