"""Shared fixtures: one real Synapse for the whole session, a coordinator, the master.

Integration tests run against a homeserver that Chavion's own provisioning code sets up,
on a free loopback port in a temp dir; nothing in them is mocked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.backends import BackendError, backend_from_env
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL or workers (`tests/support/backends`), run only the tests that use the
    suite's homeserver: the rest (SSH, LLM SDKs, `chavion up` on its own SQLite) do not
    change with the backend and already ran in the SQLite pass."""
    try:
        backend = backend_from_env()
    except BackendError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if backend == backend_from_env({}):
        return
    kept = [item for item in items if "council" in getattr(item, "fixturenames", ())]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
async def council(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ThrowawayCouncil]:
    started = await ThrowawayCouncil.start(tmp_path_factory.mktemp("council"))
    yield started
    await started.stop()


@pytest.fixture(scope="session")
async def coordinator(council: ThrowawayCouncil) -> AsyncIterator[InProcessBots]:
    bots = await InProcessBots.start(council.settings, ["coordinator"])
    yield bots
    await bots.stop()


@pytest.fixture(scope="session")
async def master(
    council: ThrowawayCouncil, coordinator: InProcessBots, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Person]:
    creds = council.provisioned.master
    person = await Person.login(
        council.url, creds.user_id, creds.password, tmp_path_factory.mktemp("master-store")
    )
    yield person
    await person.close()


@pytest.fixture
def person_store(tmp_path: Path) -> Path:
    return tmp_path / "person-store"
