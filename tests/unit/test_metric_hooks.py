"""The bots count what they do for `/metrics` where the fact is known: an agent's model call
(its usage and cost, or that it failed) and the executor's end of a run (host, exit status,
duration). The agent is real with its real OpenAI SDK against the fake LLM server, the
executor is the real service and audit store around the flow tests' fake engine; what they
record is read back from a real `Metrics` scrape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bots.context import BotContext
from bots.execution.ledger import RequestLedger
from bots.execution.requests import REQUEST_EVENT, ExecRequest, new_request, request_content
from bots.execution.service import ExecutionService
from bots.ids import EventID, RequestID
from bots.message import RoomEvent
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from bridge.http.metrics import Metrics
from executor.errors import ExecutorError, RunInterrupted
from executor.runner import CommandRunner
from tests.fakes.llm_server import FakeLLMServer, Scripted, error, reply
from tests.unit.test_council_member import KEY_ENV, Bench, make_bench
from tests.unit.test_executor_flow import (
    AUTO_APPROVED,
    ROOM,
    FakeEngine,
    FakeHomeserver,
    Outcome,
    ran,
)

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scraped(metrics: Metrics) -> Series:
    body, _ = metrics.exposition()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if not s.name.endswith("_created")
    }


def series(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


# ---- an agent's model call ------------------------------------------------------------------


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture
async def agent_bench(
    tmp_path: Path, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bench]:
    llm.reset()
    monkeypatch.setenv(KEY_ENV, "test-key")
    made = await make_bench(tmp_path, llm)
    made.member.agent.metrics = Metrics()
    yield made
    await made.member.agent.aclose()
    await made.store.close()


CALLS: dict[str, tuple[Scripted, dict[tuple[str, frozenset[tuple[str, str]]], float]]] = {
    "an answered ask counts its call, tokens and cost": (
        reply("Run `df -h` on local.", input_tokens=300, output_tokens=12),
        {
            series("chavion_llm_calls_total", agent="gpt", model="gpt-4.1", outcome="ok"): 1,
            series(
                "chavion_llm_tokens_total", agent="gpt", model="gpt-4.1", direction="input"
            ): 300,
            series(
                "chavion_llm_tokens_total", agent="gpt", model="gpt-4.1", direction="output"
            ): 12,
            # gpt-4.1 lists at $2 / $8 per million tokens.
            series("chavion_llm_cost_usd_total", agent="gpt", model="gpt-4.1"): 0.000696,
        },
    ),
    "a failed call counts as an error": (
        error(400, message="bad request"),
        {series("chavion_llm_calls_total", agent="gpt", model="gpt-4.1", outcome="error"): 1},
    ),
}


@pytest.mark.parametrize(("said", "expected"), CALLS.values(), ids=CALLS)
async def test_an_agents_call_is_counted_by_agent_and_model(
    agent_bench: Bench,
    said: Scripted,
    expected: dict[tuple[str, frozenset[tuple[str, str]]], float],
) -> None:
    agent_bench.fake.enqueue(said)
    await agent_bench.member.on_task_message(agent_bench.ask(), agent_bench.context)
    metrics = agent_bench.member.agent.metrics
    assert isinstance(metrics, Metrics)
    found = scraped(metrics)
    for name, value in expected.items():
        assert found.get(name) == pytest.approx(value), (name, found)


async def test_without_metrics_an_agent_records_nothing_and_still_answers(
    agent_bench: Bench,
) -> None:
    agent_bench.member.agent.metrics = None
    agent_bench.fake.enqueue(reply("Run `df -h` on local."))
    [answer] = await agent_bench.member.on_task_message(agent_bench.ask(), agent_bench.context)
    assert answer.council is not None
    assert answer.council["status"] == "ok"


# ---- the executor's end of a run --------------------------------------------------------------


def timed_out(command: str) -> Outcome:
    return replace(ran(command), exit_status=None, timed_out=True, duration=30.0)


RUNS: dict[str, tuple[Callable[[str], Outcome], str, float]] = {
    # outcome of the command, exit_status label, duration recorded
    "exit 0": (ran, "0", 0.01),
    "exit 2": (lambda c: replace(ran(c), exit_status=2, duration=1.5), "2", 1.5),
    "timed out": (timed_out, "timed_out", 30.0),
    "connection lost mid-run": (
        lambda c: RunInterrupted("the connection broke", replace(ran(c), duration=4.0)),
        "interrupted",
        4.0,
    ),
    "could not start": (lambda c: ExecutorError("host unknown"), "failed", 0.0),
}


@pytest.mark.parametrize(("outcome", "label", "seconds"), RUNS.values(), ids=RUNS)
async def test_an_executor_run_is_counted_by_host_and_exit_status(
    tmp_path: Path, outcome: Callable[[str], Outcome], label: str, seconds: float
) -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    store = await Store.open(tmp_path / "chavion.db")  # migrates
    audit = await RequestLedger.open(tmp_path / "chavion.db")
    engine, homeserver, metrics = FakeEngine(), FakeHomeserver(), Metrics()
    engine.outcome = outcome
    service = ExecutionService(settings, cast(CommandRunner, engine), audit, ROOM, metrics=metrics)
    bot = cast(BotContext, SimpleNamespace(matrix=homeserver))
    service.attach(bot)
    try:
        request = new_request("local", AUTO_APPROVED, settings.master_user_id, RequestID("r1"))
        assert isinstance(request, ExecRequest)
        event = RoomEvent(
            ROOM, EventID("$ask"), settings.master_user_id, REQUEST_EVENT, request_content(request)
        )
        await service.on_event(event, bot)
        await service._work.drain(timeout=10)
    finally:
        await service.aclose()
        await audit.close()
        await store.close()
    found = scraped(metrics)
    count = series("chavion_exec_run_seconds_count", host="local", exit_status=label)
    total = series("chavion_exec_run_seconds_sum", host="local", exit_status=label)
    assert found.get(count) == 1, found
    assert found[total] == pytest.approx(seconds, abs=0.5)
