"""Synapse in worker mode: a main process, a sync worker and an event persister over Redis.

This is the path by which a homeserver grows past one process (and one machine). The
configs are derived from the `homeserver.yaml` that `write_synapse_config` renders, never
written by hand: each process reads that file first, then `workers.yaml` (what all share:
Redis, where each instance listens, who persists events), then its own small file. Synapse
merges `--config-path` files key by key, the later winning. Workers need PostgreSQL.

Clients must reach the sync worker for `/sync` (see `SYNC_WORKER_PATHS`): in production a
reverse proxy (Caddy) routes by path; the test suite runs a small one of its own.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bots.errors import HomeserverError
from bots.homeserver.process import SynapseProcess
from bots.settings.data_dir import DataDir, secret_file, write_private

SYNC_WORKER = "sync1"
EVENT_PERSISTER = "persister1"
WORKER_PROGRAM = (sys.executable, "-m", "synapse.app.generic_worker")
HEALTH_PATH = "/health"

SYNC_WORKER_PATHS = re.compile(
    r"^/_matrix/client/(?:r0|v3)/sync$"
    r"|^/_matrix/client/(?:api/v1|r0|v3)/events$"
    r"|^/_matrix/client/(?:api/v1|r0|v3)/initialSync$"
    r"|^/_matrix/client/(?:api/v1|r0|v3)/rooms/[^/]+/initialSync$"
)
"""The client paths Synapse's docs send to a generic worker acting as a synchrotron."""


@dataclass(frozen=True)
class WorkerPlan:
    """Where each process listens (all on `host`) and where Redis is."""

    main_port: int
    replication_port: int
    sync_port: int
    persister_port: int
    redis_host: str
    redis_port: int
    host: str = "127.0.0.1"

    @property
    def main_url(self) -> str:
        return f"http://{self.host}:{self.main_port}"

    @property
    def sync_url(self) -> str:
        return f"http://{self.host}:{self.sync_port}"


@dataclass(frozen=True)
class WorkerFiles:
    """The config files each process reads, in order."""

    main: tuple[Path, ...]
    sync: tuple[Path, ...]
    persister: tuple[Path, ...]


def write_worker_configs(data: DataDir, plan: WorkerPlan) -> WorkerFiles:
    """Derive the worker configs from the rendered `homeserver.yaml` (write that first)."""
    if not data.synapse_config.exists():
        raise HomeserverError(f"{data.synapse_config} is missing: render it before the workers")
    base = yaml.safe_load(data.synapse_config.read_text(encoding="utf-8"))
    if base.get("database", {}).get("name") != "psycopg2":
        raise HomeserverError("Synapse workers need PostgreSQL (homeserver.database.engine)")
    folder = data.synapse / "workers"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    shared = folder / "workers.yaml"
    _dump(shared, shared_config(plan, secret_file(data.secrets / "worker_replication_secret")))
    main = folder / "main.yaml"
    _dump(main, main_config(base, plan))
    log_config = yaml.safe_load((data.synapse / "log.yaml").read_text(encoding="utf-8"))
    files = {}
    for name, listener in (
        (SYNC_WORKER, _listener(plan.host, plan.sync_port, ["client"])),
        (EVENT_PERSISTER, _listener(plan.host, plan.persister_port, ["replication"])),
    ):
        worker_log = folder / f"{name}.log.yaml"
        _dump(worker_log, worker_log_config(log_config, data.synapse / f"{name}.log"))
        own = folder / f"{name}.yaml"
        _dump(own, worker_config(name, listener, worker_log))
        files[name] = (data.synapse_config, shared, own)
    return WorkerFiles(
        main=(data.synapse_config, shared, main),
        sync=files[SYNC_WORKER],
        persister=files[EVENT_PERSISTER],
    )


def shared_config(plan: WorkerPlan, replication_secret: str) -> dict[str, Any]:
    """What every process reads: Redis, the replication endpoints, the events writer."""
    return {
        "redis": {"enabled": True, "host": plan.redis_host, "port": plan.redis_port},
        "worker_replication_secret": replication_secret,
        "instance_map": {
            "main": {"host": plan.host, "port": plan.replication_port},
            EVENT_PERSISTER: {"host": plan.host, "port": plan.persister_port},
        },
        "stream_writers": {"events": [EVENT_PERSISTER]},
    }


def main_config(base: dict[str, Any], plan: WorkerPlan) -> dict[str, Any]:
    """The main process keeps the rendered client listener, moved to `main_port` (the
    public port belongs to the proxy), and adds the replication listener."""
    listeners = [dict(listener) for listener in base.get("listeners", [])]
    clients = [listener for listener in listeners if listener.get("type") == "http"]
    if len(clients) != 1:
        raise HomeserverError("homeserver.yaml must have exactly one http listener for workers")
    clients[0].update(port=plan.main_port, bind_addresses=[plan.host])
    return {"listeners": [*listeners, _listener(plan.host, plan.replication_port, ["replication"])]}


def worker_config(name: str, listener: dict[str, Any], log_config: Path) -> dict[str, Any]:
    return {
        "worker_app": "synapse.app.generic_worker",
        "worker_name": name,
        "worker_listeners": [listener],
        "worker_log_config": str(log_config),
    }


def worker_log_config(base: dict[str, Any], log_file: Path) -> dict[str, Any]:
    """The main process's logging, into the worker's own file."""
    config = dict(base)
    handlers = {name: dict(handler) for name, handler in base.get("handlers", {}).items()}
    for handler in handlers.values():
        if "filename" in handler:
            handler["filename"] = str(log_file)
    config["handlers"] = handlers
    return config


def _listener(host: str, port: int, names: list[str]) -> dict[str, Any]:
    return {
        "port": port,
        "bind_addresses": [host],
        "type": "http",
        "tls": False,
        "x_forwarded": True,
        "resources": [{"names": names, "compress": False}],
    }


def _dump(path: Path, config: dict[str, Any]) -> None:
    write_private(path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


class SynapseWorkers:
    """The main process and its two workers, started in order and stopped in reverse.

    The event persister starts before the sync worker; each is supervised on its own (a
    crashed worker is restarted as a crashed main process is).
    """

    def __init__(self, data: DataDir, plan: WorkerPlan, files: WorkerFiles) -> None:
        synapse = data.synapse
        self.main = SynapseProcess(
            files.main[0],
            plan.main_url,
            plan.host,
            plan.main_port,
            synapse / "stdout.log",
            extra_configs=files.main[1:],
        )
        self.persister = _worker(files.persister, plan.host, plan.persister_port, synapse)
        self.sync = _worker(files.sync, plan.host, plan.sync_port, synapse)
        self._supervisors: list[asyncio.Task[None]] = []

    @property
    def processes(self) -> Sequence[SynapseProcess]:
        return (self.main, self.persister, self.sync)

    async def start(self, ready_timeout: float = 90.0) -> float:
        """Start all three and return the seconds until the last one answered."""
        total = 0.0
        try:
            for process in self.processes:
                total += await process.start(ready_timeout)
        except BaseException:
            await self.stop()
            raise
        return total

    def supervise(self) -> None:
        self._supervisors = [asyncio.create_task(p.supervise()) for p in self.processes]

    async def stop(self) -> None:
        for task in self._supervisors:
            task.cancel()
        for process in reversed(self.processes):
            await process.stop()


def _worker(files: tuple[Path, ...], host: str, port: int, folder: Path) -> SynapseProcess:
    name = files[-1].stem
    return SynapseProcess(
        files[0],
        f"http://{host}:{port}",
        host,
        port,
        folder / f"{name}.stdout.log",
        program=WORKER_PROGRAM,
        extra_configs=files[1:],
        ready_path=HEALTH_PATH,
    )
