"""The HTTP bridge inside the coordinator's process: its ports built on the coordinator's
own `TaskService` (the one intake), the voices of the external agents, and the server.

`run(stop)` runs the voices' Matrix clients and serves `bridge.http` beside the
coordinator's sync loop until `stop`; then the server closes first (no call is half-done
against a closed client), the voices mark themselves offline, the audit reader closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from aiohttp import web

from bots.bridge.council import RoomCouncil, is_task_order
from bots.bridge.dashboard import MasterDashboard
from bots.bridge.executor import RoomExecutor
from bots.bridge.hosts import HostWatch, Runner
from bots.bridge.scans import MessageScans
from bots.bridge.tasks import CouncilTasks
from bots.bridge.tokens import StoredTokens
from bots.bridge.voices import Voice, build_voices
from bots.coordinator.tasks.service import TaskService
from bots.execution.ledger import RequestLedger
from bots.ids import RoomID
from bots.message import Incoming, Message
from bots.routing.addressing import Roster
from bots.settings.data_dir import DataDir
from bots.settings.model import Settings
from bots.store import Store
from bridge.http.app import Listening, build_app, serve
from bridge.http.ports import Ports
from bridge.http.settings import BridgeHttpSettings

log = logging.getLogger(__name__)

RouteAdder = Callable[[web.Application], None]


def is_bridge_order(message: Incoming, settings: Settings) -> bool:
    """A task order an external agent's account posted: the bridge posted it and took it in
    through the intake itself (the coordinator would refuse `//chavion_task:` from anyone but
    the master, and say so in the room)."""
    if not isinstance(message, Message) or not is_task_order(message.body):
        return False
    return any(
        message.sender == settings.user_id(agent.account) for agent in settings.bridge.agents
    )


def http_settings(settings: Settings) -> BridgeHttpSettings:
    bridge = settings.bridge
    return BridgeHttpSettings(
        host=bridge.host,
        port=bridge.port,
        max_body_bytes=bridge.max_body_bytes,
        rate_per_minute=float(bridge.rate_per_minute),
        burst=bridge.burst,
    )


class BridgeServer:
    """One per coordinator with `bridge.enabled`."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        data: DataDir,
        council_room: RoomID,
        roster: Roster,
        tasks: TaskService,
        *,
        extra_routes: Sequence[RouteAdder] = (),
        hosts: Runner | None = None,
    ) -> None:
        """`hosts`: the executor's `CommandRunner` when the executor runs in this process
        (the dashboard probes the hosts on its connections), else None."""
        self.settings = settings
        self.data = data
        self.council_room = council_room
        self.tasks = tasks
        self.scans = MessageScans()
        """Each room message scanned for credentials once, for every voice and the feed."""
        self.voices: dict[str, Voice] = build_voices(
            settings, store, data, council_room, roster, self.scans
        )
        self.tokens = StoredTokens(settings, store)
        self.council = RoomCouncil(
            self.voices,
            tasks.ctx.tasks,
            settings=settings,
            presences=tasks.ctx.bot.matrix.presences,
        )
        self.desk = CouncilTasks(tasks, self.voices, council_room)
        self.dashboard = MasterDashboard(
            settings,
            store,
            tasks,
            self.council,
            council_room,
            roster,
            HostWatch(settings.execution.hosts, hosts),
            scans=self.scans,
        )
        self.extra_routes = tuple(extra_routes)
        self.listening: Listening | None = None
        self.ready = asyncio.Event()
        """Set once the server listens and every voice has synced."""

    async def hear(self, incoming: Incoming) -> None:
        """What the coordinator receives: the dashboard's feed (never fails the handling)."""
        try:
            await self.dashboard.hear(incoming)
        except Exception:
            log.exception("the dashboard could not take in %s", incoming.event_id)

    async def run(self, stop: asyncio.Event) -> None:
        ledger = await RequestLedger.open(self.data.store, secrets=self.settings.execution.secrets)
        voices = [
            asyncio.create_task(voice.matrix.run(stop), name=f"bridge voice {name}")
            for name, voice in self.voices.items()
        ]
        voices.append(asyncio.create_task(self.dashboard.watch(stop), name="dashboard watch"))
        try:
            ports = Ports(
                self.tokens,
                self.desk,
                self.council,
                RoomExecutor(self.settings, self.voices, ledger),
                self.dashboard,
            )
            app = build_app(ports, http_settings(self.settings), extra_routes=self.extra_routes)
            async with serve(app, http_settings(self.settings)) as where:
                self.listening = where
                await asyncio.gather(*(v.matrix.synced.wait() for v in self.voices.values()))
                self.ready.set()
                log.info("bridge: %d external agents on %s", len(self.voices), where.url)
                await stop.wait()
        finally:
            self.listening = None
            ended = await asyncio.gather(*voices, return_exceptions=True)
            for task, done in zip(voices, ended, strict=True):
                if isinstance(done, Exception):
                    log.error("%s stopped: %s", task.get_name(), done)  # a voice or the watch
            with contextlib.suppress(Exception):
                await ledger.close()
