"""`GET /metrics`: what the bots record comes out in Prometheus's text format, every series
with the right labels and values, read back with `prometheus_client`'s own parser through a
real aiohttp server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bridge.http import metrics as metrics_module
from bridge.http.metrics import Metrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Counts:
    """A `TaskCounts` answering what the test says (or failing, or never answering)."""

    counts: Mapping[str, int] = field(default_factory=dict)
    error: Exception | None = None
    hang: bool = False

    async def by_state(self) -> Mapping[str, int]:
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        return self.counts


@dataclass(frozen=True)
class Scraped:
    status: int
    headers: Mapping[str, str]
    text: str


async def scrape(metrics: Metrics, accept: str | None = None) -> Scraped:
    """One `GET /metrics` through a real aiohttp server on loopback."""
    app = web.Application()
    metrics_module.add_routes(app, metrics)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics", headers={"Accept": accept} if accept else {})
        return Scraped(response.status, response.headers, await response.text())


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def recorded() -> tuple[Metrics, Clock]:
    """The same day's worth of facts for every row below."""
    clock = Clock()
    metrics = Metrics(tasks=Counts({"pending": 3, "completed": 1, "running": 0}), clock=clock)
    metrics.llm_call("claude", "sonnet", "ok", 100, 20, 0.01)
    metrics.llm_call("claude", "sonnet", "ok", 200, 30, 0.02)
    metrics.llm_call("claude", "sonnet", "error")
    metrics.llm_call("gpt", "gpt-5", "ok", 10, 5, 0.001)
    metrics.exec_run("web", 0, 1.5)
    metrics.exec_run("web", 0, 2.0)
    metrics.exec_run("web", 2, 0.3)
    metrics.exec_run("db", "timed_out", 120.0)
    metrics.exec_run("db", None, 0.0)
    metrics.matrix_send("coordinator", 0.02)
    metrics.matrix_send("coordinator", 0.4)
    metrics.matrix_send("claude", 3.0)
    metrics.sync_lag("claude", 0.0)
    metrics.sync_lag("coordinator", 2.0)
    clock.now += 7.0
    return metrics, clock


EXPECTED: list[tuple[str, tuple[str, frozenset[tuple[str, str]]], float]] = [
    # what, series, value
    ("tasks pending", key("chavion_tasks", state="pending"), 3),
    ("tasks completed", key("chavion_tasks", state="completed"), 1),
    ("an empty state is still a series", key("chavion_tasks", state="running"), 0),
    ("ok calls", key("chavion_llm_calls_total", agent="claude", model="sonnet", outcome="ok"), 2),
    (
        "failed calls",
        key("chavion_llm_calls_total", agent="claude", model="sonnet", outcome="error"),
        1,
    ),
    ("other agent", key("chavion_llm_calls_total", agent="gpt", model="gpt-5", outcome="ok"), 1),
    (
        "input tokens",
        key("chavion_llm_tokens_total", agent="claude", model="sonnet", direction="input"),
        300,
    ),
    (
        "output tokens",
        key("chavion_llm_tokens_total", agent="claude", model="sonnet", direction="output"),
        50,
    ),
    ("cost", key("chavion_llm_cost_usd_total", agent="claude", model="sonnet"), 0.03),
    ("runs that exited 0", key("chavion_exec_run_seconds_count", host="web", exit_status="0"), 2),
    ("their time", key("chavion_exec_run_seconds_sum", host="web", exit_status="0"), 3.5),
    ("a failed run", key("chavion_exec_run_seconds_count", host="web", exit_status="2"), 1),
    (
        "a run without an exit status says why",
        key("chavion_exec_run_seconds_count", host="db", exit_status="timed_out"),
        1,
    ),
    ("or that none came", key("chavion_exec_run_seconds_count", host="db", exit_status="none"), 1),
    (
        "a quick run's bucket",
        key("chavion_exec_run_seconds_bucket", host="web", exit_status="2", le="0.5"),
        1,
    ),
    ("sends", key("chavion_matrix_send_seconds_count", bot="coordinator"), 2),
    ("fast sends", key("chavion_matrix_send_seconds_bucket", bot="coordinator", le="0.025"), 1),
    ("all sends", key("chavion_matrix_send_seconds_bucket", bot="coordinator", le="+Inf"), 2),
    ("a slow send", key("chavion_matrix_send_seconds_bucket", bot="claude", le="2.5"), 0),
    ("lag grows with the clock", key("chavion_sync_lag_seconds", bot="claude"), 7.0),
    ("from the lag noted", key("chavion_sync_lag_seconds", bot="coordinator"), 9.0),
]


@pytest.mark.parametrize(("what", "series", "value"), EXPECTED, ids=[r[0] for r in EXPECTED])
async def test_every_recorded_fact_is_a_series_with_its_labels_and_value(
    what: str, series: tuple[str, frozenset[tuple[str, str]]], value: float
) -> None:
    metrics, _ = recorded()
    scraped = await scrape(metrics)
    assert scraped.status == 200
    found = samples(scraped.text)
    assert series in found, f"{what}: {series} missing from\n{scraped.text}"
    assert found[series] == pytest.approx(value), what


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "text/plain"),
        ("text/plain", "text/plain"),
        ("application/openmetrics-text; version=1.0.0", "application/openmetrics-text"),
    ],
)
async def test_the_content_type_is_the_format_served(accept: str | None, content_type: str) -> None:
    metrics, _ = recorded()
    scraped = await scrape(metrics, accept)
    assert scraped.headers["Content-Type"].split(";")[0] == content_type
    assert "version=" in scraped.headers["Content-Type"]
    assert scraped.headers["Cache-Control"] == "no-store"
    if content_type == "text/plain":
        assert key("chavion_tasks", state="pending") in samples(scraped.text)
    else:
        assert scraped.text.rstrip().endswith("# EOF")


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        (None, "no task counts given (a process without the coordinator)"),
        (Counts(error=RuntimeError("database is locked")), "the store fails"),
        (Counts(hang=True), "the store does not answer in time"),
    ],
)
async def test_without_task_counts_the_rest_is_still_served(
    counts: Counts | None, why: str
) -> None:
    metrics = Metrics(tasks=counts, counts_timeout=0.1)
    metrics.llm_call("claude", "sonnet", "ok", 1, 1, 0.0)
    scraped = await scrape(metrics)
    assert scraped.status == 200, why
    found = samples(scraped.text)
    assert not any(name == "chavion_tasks" for name, _ in found), why
    assert found[key("chavion_llm_calls_total", agent="claude", model="sonnet", outcome="ok")] == 1


async def test_task_counts_are_asked_on_every_scrape() -> None:
    counts = Counts({"pending": 1})
    metrics = Metrics(tasks=counts)
    first = samples((await scrape(metrics)).text)
    counts.counts = {"pending": 0, "completed": 1}
    second = samples((await scrape(metrics)).text)
    assert first[key("chavion_tasks", state="pending")] == 1
    assert second[key("chavion_tasks", state="pending")] == 0
    assert second[key("chavion_tasks", state="completed")] == 1


async def test_two_metrics_objects_in_one_process_do_not_collide() -> None:
    """Each owns its registry: tests, or two bridges, never meet "duplicated timeseries"."""
    one, two = Metrics(), Metrics()
    one.matrix_send("coordinator", 0.1)
    sent = key("chavion_matrix_send_seconds_count", bot="coordinator")
    assert sent not in samples((await scrape(two)).text)
    assert samples((await scrape(one)).text)[sent] == 1


@pytest.mark.parametrize(
    ("record", "series", "value"),
    [
        (
            lambda m: m.llm_call("a", "m", "ok", -5, -1, -0.5),
            key("chavion_llm_tokens_total", agent="a", model="m", direction="input"),
            0,
        ),
        (
            lambda m: m.exec_run("h", 0, -3.0),
            key("chavion_exec_run_seconds_sum", host="h", exit_status="0"),
            0,
        ),
        (
            lambda m: m.matrix_send("b", -0.1),
            key("chavion_matrix_send_seconds_sum", bot="b"),
            0,
        ),
    ],
    ids=["negative tokens", "negative run time", "negative send time"],
)
async def test_a_clock_step_or_bad_number_never_breaks_a_counter(
    record: Callable[[Metrics], None], series: tuple[str, frozenset[tuple[str, str]]], value: float
) -> None:
    """Counters only go up: a negative amount (a wall clock stepped back) counts as 0
    instead of raising inside the bot that recorded it."""
    metrics = Metrics()
    record(metrics)
    assert samples((await scrape(metrics)).text)[series] == value


@pytest.mark.parametrize(
    "record",
    [
        lambda m: m.llm_call("a", "m", "ok", "many", 1, 0.0),
        lambda m: m.exec_run("h", 0, "slow"),
        lambda m: m.matrix_send("b", None),
        lambda m: m.sync_lag("b", "behind"),
    ],
    ids=["tokens not a number", "duration not a number", "no send time", "lag not a number"],
)
async def test_recording_never_raises_into_the_bot(
    record: Callable[[Metrics], None], caplog: pytest.LogCaptureFixture
) -> None:
    """A fact the bot is handling (a run's end, a send) is never lost to its counting: a
    value that cannot be recorded is logged and dropped."""
    metrics = Metrics()
    record(metrics)
    assert "could not be recorded" in caplog.text
    assert (await scrape(metrics)).status == 200
