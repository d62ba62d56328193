"""Fixtures the integration modules share: the fake LLM server, the real sshd, and for the
task modules the task bots' starter, the council script and the master as `TaskMaster`.

Module-scoped ones still start once per module (each module gets its own fake server and
sshd); a task module declares only its `bots` fixture, with its own `tasks:` overrides,
through `start_task_bots`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bots.store import Store
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.sshd import SshdServer, running_sshd
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.council_script import CouncilScript
from tests.support.person import Person
from tests.support.tasks import (
    ConfigEdit,
    StartTaskBots,
    TaskBots,
    TaskMaster,
    running_task_bots,
    scripted_council,
    task_config,
    task_master,
)


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshdServer]:
    with running_sshd() as started:
        yield started


@pytest.fixture(scope="module")
def start_task_bots(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    llm: FakeLLMServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> StartTaskBots:
    """What a task module's `bots` fixture enters: the task bots on its own config."""

    def start(
        name: str,
        *,
        tasks: dict[str, Any] | None = None,
        sshd: SshdServer | None = None,
        own_process: bool = False,
        edit: ConfigEdit | None = None,
    ) -> contextlib.AbstractAsyncContextManager[TaskBots]:
        path = tmp_path_factory.mktemp(name) / "chavion.yaml"
        config = task_config(council, llm, path, sshd=sshd, tasks=tasks, edit=edit)
        return running_task_bots(council, coordinator, master, config, own_process=own_process)

    return start


@pytest.fixture
def script(llm: FakeLLMServer, bots: TaskBots) -> Iterator[CouncilScript]:
    """A fresh script per test, on the module's `bots`."""
    yield from scripted_council(llm, bots)


@pytest.fixture
def boss(master: Person, council: ThrowawayCouncil, bots: TaskBots) -> TaskMaster:
    """The master as a task giver; asking for `bots` first starts the module's council."""
    return task_master(master, council)


@pytest.fixture(autouse=True)
async def no_agent_stays_benched(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """A test whose fake vendor says the credit is spent benches that agent in the suite's
    shared store (as it should); the next test must find the whole council again, as the
    master's `!unbench` would leave it."""
    yield
    if "council" not in request.fixturenames:
        return
    council: ThrowawayCouncil = request.getfixturevalue("council")
    async with await Store.open(council.data.store) as store:
        for agent in await store.ledger.benched():
            await store.ledger.unbench(agent)
