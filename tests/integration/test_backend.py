"""The suite's homeserver really is the one the environment asked for (`tests/support/backends`):
SQLite, PostgreSQL, or workers over Redis. Every other integration test then runs on it."""

from __future__ import annotations

import os

import pytest
import yaml

from bots.homeserver.workers import EVENT_PERSISTER
from tests.support.council import ThrowawayCouncil
from tests.support.person import Person, replies_to

pytestmark = [pytest.mark.integration, pytest.mark.backend]


def running(pid: int | None) -> bool:
    return pid is not None and os.path.exists(f"/proc/{pid}")


async def test_the_homeserver_runs_on_the_database_asked_for(council: ThrowawayCouncil) -> None:
    rendered = yaml.safe_load(council.data.synapse_config.read_text(encoding="utf-8"))
    if council.backend.database == "sqlite":
        assert council.database is None
        assert rendered["database"]["name"] == "sqlite3"
        assert (council.data.synapse / "homeserver.db").exists()
        return
    assert council.database is not None
    assert rendered["database"]["name"] == "psycopg2"
    assert rendered["database"]["args"]["dbname"] == council.database.name
    assert not (council.data.synapse / "homeserver.db").exists()
    [collation] = council.database.query(
        f"SELECT datcollate FROM pg_database WHERE datname = '{council.database.name}'"
    )
    assert collation == "C"
    users = council.database.query("SELECT name FROM users")
    assert council.provisioned.master.user_id in users


async def test_workers_serve_sync_and_persist_every_event(
    council: ThrowawayCouncil, master: Person
) -> None:
    if not council.backend.workers:
        pytest.skip("the suite runs on one Synapse process (CHAVION_TEST_WORKERS is not 1)")
    assert council.workers is not None
    assert council.proxy is not None
    assert all(running(process.pid) for process in council.workers.processes)
    synced = council.proxy.routed_requests
    event = await master.say(council.council_room, "!ping through the workers")
    [reply] = await master.wait_for(replies_to(event, council.user_id("coordinator")))
    assert reply.body.startswith("pong")
    # The master's client and the bots sync through the sync worker...
    assert council.proxy.routed_requests > synced
    # ...and no event was written by any process but the event persister.
    assert council.database is not None
    [others] = council.database.query(
        f"SELECT count(*) FROM events WHERE instance_name IS DISTINCT FROM '{EVENT_PERSISTER}'"
    )
    [persisted] = council.database.query(
        f"SELECT count(*) FROM events WHERE instance_name = '{EVENT_PERSISTER}'"
        f" AND event_id = '{reply.event_id}'"
    )
    assert (others, persisted) == ("0", "1")
