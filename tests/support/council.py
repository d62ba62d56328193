"""A throw-away council for integration tests, built with Chavion's own provisioning code.

`ThrowawayCouncil` starts a real Synapse (SQLite, loopback, free port) in a temp dir, registers
the accounts and creates the room exactly as `chavion up` does, and hands tests what they
need to act as the master or to start bots in this process or in their own. The environment
may ask for Synapse on PostgreSQL or in worker mode instead (see `backends`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bots.app.runtime import BotRunner
from bots.context import MetricsSink
from bots.homeserver.admin_api import HomeserverApi
from bots.homeserver.process import SynapseProcess, free_port
from bots.homeserver.provision import Provisioned, Provisioner
from bots.homeserver.synapse_config import write_synapse_config
from bots.homeserver.workers import (
    SYNC_WORKER_PATHS,
    SynapseWorkers,
    WorkerPlan,
    write_worker_configs,
)
from bots.settings.data_dir import DataDir
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.settings.paths import EXAMPLE_CONFIG
from tests.support.backends import Backend, Database, backend_from_env, start_test_services
from tests.support.proxy import PathProxy


def council_config(data_dir: Path, port: int, *, encrypted: bool = True) -> dict[str, Any]:
    """The shipped example, trimmed to a small team and made fast for a test server."""
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    config["data_dir"] = str(data_dir)
    config["homeserver"].update(port=port, bcrypt_rounds=4, relaxed_rate_limits=True)
    config["council"]["encrypted"] = encrypted
    agents = {a["name"]: a for a in config["agents"]}
    # "local" is started by no test but the one about a bot's very first start.
    config["agents"] = [agents["claude"], agents["gpt"], agents["gemini"], agents["local"]]
    # Fewer agent-to-agent turns than there are agents: a broadcast that all of them answer
    # must still not look like a loop to the guard.
    # A wait for late room keys short enough that the test of a message no key opens is
    # quick, long enough that a loaded machine's slow key delivery is not taken for a lost key.
    config["runtime"].update(
        max_backoff_seconds=0.5, sync_timeout_ms=10_000, agent_turn_limit=2, key_wait_seconds=20
    )
    # The health watch would tell the master of bots the tests stop; its own test turns it on.
    config["health"] = {"enabled": False}
    # No speech unless a test asks for it (the voice tests point both sides at the fake LLM
    # server): the example's local text-to-speech would speak every task report.
    config["voice"] = {"stt": {"backend": "off"}, "tts": {"backend": "off"}}
    return dict(config)


@dataclass
class ThrowawayCouncil:
    root: Path
    settings: Settings
    config_path: Path
    synapse: SynapseProcess
    provisioned: Provisioned
    secret: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    backend: Backend = field(default_factory=Backend)
    database: Database | None = None
    workers: SynapseWorkers | None = None
    proxy: PathProxy | None = None

    @property
    def url(self) -> str:
        return self.settings.homeserver.client_url

    @property
    def data(self) -> DataDir:
        return DataDir(self.settings.data_dir)

    @property
    def council_room(self) -> str:
        return self.provisioned.council.room_id

    def user_id(self, name: str) -> str:
        return self.settings.user_id(self.settings.account(name))

    @classmethod
    async def start(
        cls, root: Path, *, encrypted: bool = True, backend: Backend | None = None
    ) -> ThrowawayCouncil:
        """Start the homeserver the environment asks for (`backends`), then provision it."""
        backend = backend or backend_from_env()
        port = free_port()
        config = council_config(root / "data", port, encrypted=encrypted)
        database = None
        if backend.database == "postgres":
            database = Database.create(start_test_services())
            config["homeserver"]["database"] = database.config()
        config_path = root / "chavion.yaml"
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        settings = load_settings(config_path)
        data = DataDir(settings.data_dir)
        files = write_synapse_config(settings.homeserver, data)
        workers = proxy = None
        if backend.workers:
            workers, proxy = await cls._start_workers(data, port)
            synapse = workers.main
        else:
            synapse = SynapseProcess(
                files.config,
                settings.homeserver.client_url,
                "127.0.0.1",
                port,
                data.synapse / "stdout.log",
            )
            await synapse.start()
        provisioned = await cls.provision_with(settings, files.registration_secret)
        return cls(
            root,
            settings,
            config_path,
            synapse,
            provisioned,
            files.registration_secret,
            backend=backend,
            database=database,
            workers=workers,
            proxy=proxy,
        )

    @staticmethod
    async def _start_workers(data: DataDir, port: int) -> tuple[SynapseWorkers, PathProxy]:
        """Main process, event persister and sync worker; clients reach them through a
        proxy on the configured port, as they would through Caddy in production."""
        services = start_test_services()
        plan = WorkerPlan(
            main_port=free_port(),
            replication_port=free_port(),
            sync_port=free_port(),
            persister_port=free_port(),
            redis_host=services.redis_host,
            redis_port=services.redis_port,
        )
        workers = SynapseWorkers(data, plan, write_worker_configs(data, plan))
        await workers.start()
        proxy = PathProxy(plan.main_url, plan.sync_url, SYNC_WORKER_PATHS)
        await proxy.start("127.0.0.1", port)
        return workers, proxy

    @staticmethod
    async def provision_with(settings: Settings, secret: str) -> Provisioned:
        async with aiohttp.ClientSession() as session:
            api = HomeserverApi(session, settings.homeserver.client_url)
            return await Provisioner(settings, api, secret, DataDir(settings.data_dir)).run()

    async def register_user(self, localpart: str, password: str) -> None:
        async with aiohttp.ClientSession() as session:
            await HomeserverApi(session, self.url).register(self.secret, localpart, password)

    async def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        if self.proxy is not None:
            await self.proxy.stop()
        if self.workers is not None:
            await self.workers.stop()
        await self.synapse.stop()
        if self.database is not None:
            self.database.drop()

    # ---- bots --------------------------------------------------------------------------

    def bot_process(self, name: str, config_path: Path | None = None) -> BotProcess:
        """`chavion bot NAME` in its own process, as a bot on another machine would run;
        `config_path` for a config derived from the council's (same accounts and data)."""
        log = (self.root / f"bot-{name}-{time.monotonic_ns()}.log").open("wb")
        config = str(config_path or self.config_path)
        process = subprocess.Popen(
            [sys.executable, "-m", "bots", "-v", "--config", config, "bot", name],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.processes.append(process)
        return BotProcess(name, process)


@dataclass
class BotProcess:
    name: str
    process: subprocess.Popen[bytes]

    async def online(self, timeout: float = 60) -> None:
        """Wait for the line the bot prints once it has synced."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), timeout)
        assert b"is online" in line, f"{self.name} printed {line!r} (exit {self.process.poll()})"

    async def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 30)


@dataclass
class InProcessBots:
    """Bots run on this event loop, as `chavion up` runs them."""

    runner: BotRunner
    stop_event: asyncio.Event
    task: asyncio.Task[None]

    @classmethod
    async def start(
        cls, settings: Settings, names: Sequence[str], metrics: MetricsSink | None = None
    ) -> InProcessBots:
        runner = BotRunner(settings, names, metrics)
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(runner.run(stop, ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        assert ready.is_set(), f"bots {names} did not sync in time"
        return cls(runner, stop, task)

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 30)
