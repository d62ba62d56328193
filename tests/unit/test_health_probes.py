"""The probes `/health` runs and the task counts `/metrics` asks, on real parts: a real store
in a temp dir, a real aiohttp server on loopback standing for the homeserver's `/versions`
(the real Synapse is checked in tests/integration/test_bridge_observability.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bots.app.health_probes import (
    HomeserverProbe,
    HostProbe,
    StoreProbe,
    StoreTaskCounts,
    SyncProbe,
    health_probes,
)
from bots.homeserver.process import free_port
from bots.ids import RoomID, UserID
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from bots.tasks.states import STATES
from executor.errors import HostUnreachable


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "chavion.db")
    yield opened
    await opened.close()


# ---- the homeserver ---------------------------------------------------------------------------


def versions_app(status: int, body: str) -> web.Application:
    async def versions(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/_matrix/client/versions", versions)
    return app


HOMESERVERS = {
    "answers": (200, '{"versions": ["v1.11"]}', True, "answers in"),
    "an error page": (502, "Bad Gateway", False, "answered HTTP 502"),
    "not JSON": (200, "<html>", False, "/_matrix/client/versions"),
    "JSON without versions": (200, '{"errcode": "M_UNRECOGNIZED"}', False, "did not list"),
}


@pytest.mark.parametrize(("status", "body", "ok", "words"), HOMESERVERS.values(), ids=HOMESERVERS)
async def test_the_homeserver_probe_reads_versions(
    status: int, body: str, ok: bool, words: str
) -> None:
    async with TestServer(versions_app(status, body)) as server:
        result = await HomeserverProbe(str(server.make_url("/"))).check()
    assert result.ok is ok
    assert words in result.detail


async def test_a_homeserver_nobody_listens_for_is_failing() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = await HomeserverProbe(url).check()
    assert not result.ok
    assert url in result.detail


# ---- a bot's sync -----------------------------------------------------------------------------


@dataclass
class Synced:
    last_sync_at: float | None


SYNCS = {
    "never synced": (None, False, "not synced yet"),
    "a moment ago": (995.0, True, "last sync 5 s ago"),
    "just within the limit": (960.0, True, "last sync 40 s ago"),
    "stuck": (900.0, False, "last sync 100 s ago (more than 40 s)"),
    "a clock stepped back": (1010.0, True, "last sync 0 s ago"),
}


@pytest.mark.parametrize(("last", "ok", "detail"), SYNCS.values(), ids=SYNCS)
async def test_a_sync_probe_judges_the_last_batch_age(
    last: float | None, ok: bool, detail: str
) -> None:
    probe = SyncProbe("claude", Synced(last), max_age_seconds=40.0, clock=lambda: 1000.0)
    result = await probe.check()
    assert probe.name == "sync:claude"
    assert (result.ok, result.detail) == (ok, detail)


# ---- the store --------------------------------------------------------------------------------


async def test_the_store_probe_is_fine_while_the_store_answers(store: Store) -> None:
    assert (await StoreProbe(store).check()).ok


async def test_a_closed_store_is_failing(tmp_path: Path) -> None:
    closed = await Store.open(tmp_path / "closed.db")
    await closed.close()
    result = await StoreProbe(closed).check()
    assert not result.ok
    assert "store" in result.detail


async def test_task_counts_name_every_state_and_count_the_tasks(store: Store) -> None:
    for n, mission in enumerate(["df -h", "uptime", "free -m"]):
        await store.tasks.create(
            intake_key=f"k{n}",
            room_id=RoomID("!council:localhost"),
            thread_root=None,
            mission=mission,
            priority="normal",
            requester=UserID("@master:localhost"),
            source="command",
            now=1000.0 + n,
        )
    counts = await StoreTaskCounts(store).by_state()
    assert set(counts) == set(STATES)
    assert counts["pending"] == 3
    assert sum(counts.values()) == 3


# ---- one process's probes -----------------------------------------------------------------------


async def test_a_process_probes_the_homeserver_the_store_and_each_bots_sync(store: Store) -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    probes = health_probes(settings, store, [("coordinator", Synced(None)), ("gpt", Synced(1.0))])
    assert [p.name for p in probes] == ["homeserver", "store", "sync:coordinator", "sync:gpt"]
    sync = probes[2]
    assert isinstance(sync, SyncProbe)
    assert sync.max_age_seconds == settings.runtime.sync_timeout_ms / 1000 + 30


@dataclass
class Door:
    """A `HostDoor` that lets in the hosts named, and says why not for the others."""

    open_hosts: set[str]

    async def reach(self, host: str) -> None:
        if host not in self.open_hosts:
            raise HostUnreachable(f"cannot connect to {host}: Connection refused")


@pytest.mark.parametrize(
    ("host", "ok", "detail"),
    [("web", True, "connected"), ("db", False, "cannot connect to db: Connection refused")],
)
async def test_a_host_probe_says_whether_the_executor_gets_in(
    host: str, ok: bool, detail: str
) -> None:
    probe = HostProbe(host, Door({"web"}))
    result = await probe.check()
    assert probe.name == f"host:{host}"
    assert (result.ok, result.detail) == (ok, detail)


async def test_hosts_are_probed_only_where_the_executor_runs(store: Store) -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    without = [p.name for p in health_probes(settings, store, [])]
    assert without == ["homeserver", "store"]
    with_hosts = [p.name for p in health_probes(settings, store, [], hosts=Door(set()))]
    assert with_hosts == [*without, *(f"host:{h}" for h in settings.execution.hosts)]
    assert len(with_hosts) > len(without)
