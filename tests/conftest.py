"""Shared fixtures: one real Synapse for the whole session, a coordinator, the master.

Integration tests run against a homeserver that Chavion's own provisioning code sets up,
on a free loopback port in a temp dir; nothing in them is mocked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.backends import BackendError, backend_from_env, runs_on
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL or workers (`tests/support/backends`), run only the tests marked
    `@pytest.mark.backend`: the rest (SSH, LLM SDKs, the task engine's rules over plain
    messages, `chavion up` on its own SQLite) do not change with the backend and already ran
    in the SQLite pass.

    The rule for a new test: a test whose behaviour could differ between SQLite, PostgreSQL
    and workers carries `@pytest.mark.backend` (or its module `pytestmark`): what the
    homeserver stores and hands back through sync (catch-up after a bot was down, gaps,
    restarts), room state and membership, keys and to-device messages, push rules and
    notifications, redactions, relations (edits, threads, polls), presence, rate limits,
    and media upload and download. It must use the suite's homeserver (`council`), or the
    other runs test nothing new. Everything else runs on SQLite only, so each extra run
    stays a few minutes."""
    try:
        backend = backend_from_env()
    except BackendError as exc:
        raise pytest.UsageError(str(exc)) from exc
    kept = [item for item in items if runs_on(backend, (mark.name for mark in item.iter_markers()))]
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
