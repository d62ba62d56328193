"""Synapse's worker-mode configs, derived from the rendered homeserver.yaml and read back by
Synapse's own config loader (offline: loading connects to nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from synapse.config.homeserver import HomeServerConfig

from bots.errors import HomeserverError
from bots.homeserver.synapse_config import write_synapse_config
from bots.homeserver.workers import (
    EVENT_PERSISTER,
    SYNC_WORKER,
    SYNC_WORKER_PATHS,
    WorkerFiles,
    WorkerPlan,
    write_worker_configs,
)
from bots.settings.data_dir import DataDir
from bots.settings.model import DatabaseSettings, HomeserverSettings

# Importing Synapse's config classes drags in Twisted and jsonschema deprecations.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PLAN = WorkerPlan(
    main_port=18001,
    replication_port=18002,
    sync_port=18003,
    persister_port=18004,
    redis_host="127.0.0.1",
    redis_port=16379,
)


def render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str = "postgres") -> DataDir:
    monkeypatch.setenv("TEST_SYNAPSE_DB_PASSWORD", "secret")
    database = DatabaseSettings(engine="postgres", password_env="TEST_SYNAPSE_DB_PASSWORD")
    hs = HomeserverSettings(
        port=8448,
        bcrypt_rounds=4,
        database=database if engine == "postgres" else DatabaseSettings(),
    )
    data = DataDir(tmp_path / "data")
    write_synapse_config(hs, data)
    return data


def load(files: tuple[Path, ...]) -> Any:
    return HomeServerConfig.load_config(
        "test", [arg for path in files for arg in ("--config-path", str(path))]
    )


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WorkerFiles:
    return write_worker_configs(render(tmp_path, monkeypatch), PLAN)


# (process, worker name, [(port, resource names)])
PROCESSES = [
    ("main", None, [(8448, None), (18001, ["client"]), (18002, ["replication"])]),
    ("sync", SYNC_WORKER, [(18003, ["client"])]),
    ("persister", EVENT_PERSISTER, [(18004, ["replication"])]),
]


@pytest.mark.parametrize(("process", "name", "listeners"), PROCESSES, ids=[p[0] for p in PROCESSES])
def test_synapse_reads_each_process_config(
    files: WorkerFiles, process: str, name: str | None, listeners: list[Any]
) -> None:
    config = load(getattr(files, process))
    assert config.worker.worker_name == name
    own = config.worker.worker_listeners if name else config.server.listeners
    got = [(listener.port, sorted(listener.http_options.resources[0].names)) for listener in own]
    # The main process's public port moved: only main_port and the replication port remain.
    assert got == [(port, names) for port, names in listeners if names is not None]
    assert config.redis.redis_enabled
    assert (config.redis.redis_host, config.redis.redis_port) == ("127.0.0.1", 16379)
    assert config.worker.writers.events == [EVENT_PERSISTER]
    assert config.worker.worker_replication_secret
    assert config.database.databases[0].config["name"] == "psycopg2"


def test_the_main_process_keeps_the_rendered_client_listener(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = render(tmp_path, monkeypatch)
    rendered = yaml.safe_load(data.synapse_config.read_text(encoding="utf-8"))["listeners"][0]
    files = write_worker_configs(data, PLAN)
    main = yaml.safe_load(files.main[-1].read_text(encoding="utf-8"))["listeners"]
    assert main[0] == {**rendered, "port": 18001, "bind_addresses": ["127.0.0.1"]}
    # Clients keep the public URL (the proxy's), not the moved listener's.
    assert load(files.main).server.public_baseurl == "http://127.0.0.1:8448/"


def test_workers_refuse_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = render(tmp_path, monkeypatch, engine="sqlite")
    with pytest.raises(HomeserverError, match="need PostgreSQL"):
        write_worker_configs(data, PLAN)


def test_workers_need_the_rendered_homeserver_config(tmp_path: Path) -> None:
    with pytest.raises(HomeserverError, match="render it before the workers"):
        write_worker_configs(DataDir(tmp_path / "data"), PLAN)


def test_each_worker_logs_to_its_own_file(files: WorkerFiles, tmp_path: Path) -> None:
    for process, name in ((files.sync, SYNC_WORKER), (files.persister, EVENT_PERSISTER)):
        log_config = Path(yaml.safe_load(process[-1].read_text())["worker_log_config"])
        handler = yaml.safe_load(log_config.read_text())["handlers"]["file"]
        assert handler["filename"] == str(tmp_path / "data" / "synapse" / f"{name}.log")


def test_worker_files_are_private_and_the_secret_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = render(tmp_path, monkeypatch)
    first = write_worker_configs(data, PLAN)
    secret = load(first.main).worker.worker_replication_secret
    again = write_worker_configs(data, PLAN)
    assert load(again.sync).worker.worker_replication_secret == secret
    for path in {*again.main, *again.sync, *again.persister}:
        assert path.stat().st_mode & 0o077 == 0, path


ROUTES = [
    ("/_matrix/client/v3/sync", True),
    ("/_matrix/client/r0/sync", True),
    ("/_matrix/client/v3/events", True),
    ("/_matrix/client/api/v1/initialSync", True),
    ("/_matrix/client/v3/rooms/!abc:localhost/initialSync", True),
    ("/_matrix/client/v3/sync/extra", False),
    ("/_matrix/client/unstable/org.matrix.simplified_msc3575/sync", False),
    ("/_matrix/client/v3/rooms/!abc:localhost/send/m.room.message/1", False),
    ("/_matrix/client/v3/keys/upload", False),
    ("/_matrix/client/versions", False),
    ("/_synapse/admin/v1/register", False),
]


@pytest.mark.parametrize(("path", "to_sync_worker"), ROUTES, ids=[r[0] for r in ROUTES])
def test_which_paths_go_to_the_sync_worker(path: str, to_sync_worker: bool) -> None:
    assert bool(SYNC_WORKER_PATHS.match(path)) is to_sync_worker
