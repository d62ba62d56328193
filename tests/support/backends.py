"""Which Synapse the integration suite runs against, chosen by environment variables.

- `CHAVION_TEST_DATABASE`: `sqlite` (the default) or `postgres`.
- `CHAVION_TEST_WORKERS`: `1` for worker mode (main + sync worker + event persister over
  Redis, behind a path-routing proxy); `0` or unset for one process. Implies `postgres`.

PostgreSQL and Redis come from `scripts/test-services` (run here once per session; it is
idempotent). Each homeserver gets a fresh database, made as Synapse requires (C collation,
UTF8, from template0) and dropped when it stops.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PASSWORD_ENV = "CHAVION_TEST_PG_PASSWORD"


class BackendError(RuntimeError):
    """The backend asked for cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Backend:
    database: str = "sqlite"
    workers: bool = False

    @property
    def name(self) -> str:
        return "workers+redis" if self.workers else self.database


BACKEND_MARKER = "backend"
"""The pytest marker of a test whose behaviour could differ between SQLite, PostgreSQL and
workers; the PostgreSQL and worker runs keep only the tests that carry it."""


def runs_on(backend: Backend, markers: Iterable[str]) -> bool:
    """Whether a test with these markers runs against `backend`: SQLite runs every test; the
    other backends only the `backend`-marked ones (the rest already ran on SQLite, and
    their behaviour does not depend on the homeserver's storage or processes)."""
    return backend == Backend() or BACKEND_MARKER in markers


def backend_from_env(env: dict[str, str] | None = None) -> Backend:
    env = dict(os.environ if env is None else env)
    database = env.get("CHAVION_TEST_DATABASE", "").strip().lower() or "sqlite"
    if database not in ("sqlite", "postgres"):
        raise BackendError(
            f"CHAVION_TEST_DATABASE={env['CHAVION_TEST_DATABASE']!r}: use sqlite or postgres"
        )
    raw = env.get("CHAVION_TEST_WORKERS", "").strip().lower()
    if raw not in ("", "0", "1", "false", "true", "no", "yes"):
        raise BackendError(f"CHAVION_TEST_WORKERS={raw!r}: use 1 (worker mode) or 0")
    workers = raw in ("1", "true", "yes")
    if workers and database == "sqlite" and "CHAVION_TEST_DATABASE" in env:
        raise BackendError("CHAVION_TEST_WORKERS=1 needs PostgreSQL: unset CHAVION_TEST_DATABASE")
    return Backend(database="postgres" if workers else database, workers=workers)


@dataclass(frozen=True)
class Services:
    """What `scripts/test-services` printed: how to reach PostgreSQL and Redis."""

    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str
    redis_host: str
    redis_port: int

    @classmethod
    def parse(cls, printed: str) -> Services:
        values = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
        try:
            return cls(
                pg_host=values["pg_host"],
                pg_port=int(values["pg_port"]),
                pg_user=values["pg_user"],
                pg_password=values["pg_password"],
                redis_host=values["redis_host"],
                redis_port=int(values["redis_port"]),
            )
        except (KeyError, ValueError) as exc:
            raise BackendError(f"scripts/test-services printed no usable settings: {exc}") from exc


@functools.cache
def start_test_services() -> Services:
    """Start (or find) PostgreSQL and Redis; once per session."""
    result = subprocess.run(
        [str(REPO / "scripts" / "test-services"), "start"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise BackendError(
            f"scripts/test-services start failed (exit {result.returncode}):\n{result.stderr}"
        )
    return Services.parse(result.stdout)


def _psql() -> str:
    found = shutil.which("psql")
    if found is None:
        raise BackendError("psql is missing: scripts/test-services installs postgresql")
    return found


def psql(services: Services, sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        [
            _psql(),
            "-X",
            "-q",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            services.pg_host,
            "-p",
            str(services.pg_port),
            "-U",
            services.pg_user,
            "-d",
            database,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PGPASSWORD": services.pg_password},
    )
    if result.returncode != 0:
        raise BackendError(f"psql {sql!r} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass(frozen=True)
class Database:
    services: Services
    name: str

    @classmethod
    def create(cls, services: Services) -> Database:
        name = f"chavion_{uuid.uuid4().hex[:12]}"
        psql(
            services,
            f"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0",
        )
        return cls(services, name)

    def drop(self) -> None:
        psql(self.services, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def query(self, sql: str) -> list[str]:
        """Rows of a query on this database, one line each (columns joined by `|`)."""
        return psql(self.services, sql, self.name).splitlines()

    def config(self) -> dict[str, Any]:
        """The `homeserver.database` block of Chavion's config; the password stays in the
        environment, as the config asks."""
        os.environ[PASSWORD_ENV] = self.services.pg_password
        return {
            "engine": "postgres",
            "host": self.services.pg_host,
            "port": self.services.pg_port,
            "user": self.services.pg_user,
            "name": self.name,
            "password_env": PASSWORD_ENV,
        }
