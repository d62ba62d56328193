"""What `GET /health` checks and where `/metrics` counts tasks, built from the running bots.

The bridge (`bridge/http/health.py`, `metrics.py`) knows only the `HealthProbe` and
`TaskCounts` shapes; the facts live here, with the bots: the homeserver answering its
`/versions`, each bot's last sync batch, the store answering a read, each host letting the
executor in (when the executor runs in this process: its own kept connection, no command),
and the tasks by state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from bots.errors import StoreError
from bots.settings.model import Settings
from bots.store import Store
from bots.tasks.states import STATES
from bridge.http.health import HealthProbe, ProbeResult
from executor.errors import ExecutorError

SYNC_GRACE_SECONDS = 30.0
"""How much longer than one long poll a bot may go without a sync batch before it counts
as stuck: handlers run as tasks, so taking a batch is quick."""


@dataclass(frozen=True)
class HomeserverProbe:
    """The homeserver answers `GET /_matrix/client/versions` (no login needed, cheap)."""

    client_url: str
    name: str = "homeserver"

    async def check(self) -> ProbeResult:
        url = self.client_url.rstrip("/") + "/_matrix/client/versions"
        began = time.monotonic()
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                if response.status != 200:
                    return ProbeResult(False, f"{url} answered HTTP {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return ProbeResult(False, f"{url}: {exc or type(exc).__name__}")
        if not isinstance(body, dict) or not isinstance(body.get("versions"), list):
            return ProbeResult(False, f"{url} did not list client API versions")
        return ProbeResult(True, f"answers in {(time.monotonic() - began) * 1000:.0f} ms")


class SyncSource(Protocol):
    """What a sync probe reads (a `MatrixBot`): when its last sync batch was taken."""

    @property
    def last_sync_at(self) -> float | None: ...


@dataclass(frozen=True)
class SyncProbe:
    """A bot took a sync batch within one long poll plus a grace: its loop is alive."""

    bot: str
    source: SyncSource
    max_age_seconds: float
    clock: Callable[[], float] = time.time

    @property
    def name(self) -> str:
        return f"sync:{self.bot}"

    async def check(self) -> ProbeResult:
        last = self.source.last_sync_at
        if last is None:
            return ProbeResult(False, "not synced yet")
        age = max(self.clock() - last, 0.0)
        if age > self.max_age_seconds:
            return ProbeResult(
                False, f"last sync {age:.0f} s ago (more than {self.max_age_seconds:.0f} s)"
            )
        return ProbeResult(True, f"last sync {age:.0f} s ago")


@dataclass(frozen=True)
class StoreProbe:
    """The store answers a read (a locked or vanished database does not)."""

    store: Store
    name: str = "store"

    async def check(self) -> ProbeResult:
        try:
            await self.store.ping()
        except StoreError as exc:
            return ProbeResult(False, str(exc))
        return ProbeResult(True)


class HostDoor(Protocol):
    """What a host probe asks (the executor's `CommandRunner`)."""

    async def reach(self, host: str) -> None: ...


@dataclass(frozen=True)
class HostProbe:
    """A host answers SSH and accepts the executor's login, on the connection its commands
    use; nothing runs there (CPU, memory and disk are the dashboard's, through the policy)."""

    host: str
    door: HostDoor

    @property
    def name(self) -> str:
        return f"host:{self.host}"

    async def check(self) -> ProbeResult:
        try:
            await self.door.reach(self.host)
        except ExecutorError as exc:
            return ProbeResult(False, str(exc))
        return ProbeResult(True, "connected")


@dataclass(frozen=True)
class StoreTaskCounts:
    """`TaskCounts` from the store: every known state, 0 where no task is in it, so a
    state's series exists before its first task (a rate or an alert on it works at once)."""

    store: Store
    states: tuple[str, ...] = field(default=STATES)

    async def by_state(self) -> Mapping[str, int]:
        counted = await self.store.tasks.count_by_state()
        return {**dict.fromkeys(self.states, 0), **counted}


def health_probes(
    settings: Settings,
    store: Store,
    bots: Iterable[tuple[str, SyncSource]],
    hosts: HostDoor | None = None,
) -> list[HealthProbe]:
    """The probes of one process: the homeserver, the store, each bot's sync (`bots`:
    (account name, its `MatrixBot`) for every bot this process runs), then each configured
    host when the executor runs here (`hosts`: its engine; None: hosts are not checked)."""
    max_age = settings.runtime.sync_timeout_ms / 1000 + SYNC_GRACE_SECONDS
    return [
        HomeserverProbe(settings.homeserver.client_url),
        StoreProbe(store),
        *(SyncProbe(name, source, max_age) for name, source in bots),
        *(HostProbe(host, hosts) for host in settings.execution.hosts if hosts is not None),
    ]
