"""`GET /metrics`: the operation in Prometheus's text format (issue 18, "Operations").

One `Metrics` object per process owns its own `CollectorRegistry`, never the library's global
one: several bots share a process (their series differ by the `bot` / `agent` label), and
tests build as many as they like without "duplicated timeseries". The bots record through four
methods, each called once where the fact is known (`bots.context.MetricsSink` is the shape they
see); the tasks by state are asked from the store at scrape time (`TaskCounts`), so the gauge
is never stale and nothing has to keep it up to date.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import ParamSpec, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

log = logging.getLogger(__name__)

PREFIX = "chavion"
SEND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""A Matrix send: tens of milliseconds on loopback, seconds when the homeserver struggles."""
RUN_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
"""A command: from an instant `uptime` to an hour-long backup."""
COUNTS_TIMEOUT_SECONDS = 5.0

P = ParamSpec("P")


class TaskCounts(Protocol):
    """How many tasks are in each state now; asked on every scrape."""

    async def by_state(self) -> Mapping[str, int]: ...


def _never_raises(record: Callable[P, None]) -> Callable[P, None]:
    """A recording method that logs its own failure: counting must never cost the fact it
    counts (the executor records a run between saving its end and announcing it)."""

    @functools.wraps(record)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception:
            log.exception("metrics: %s could not be recorded", record.__name__)

    return guarded


class Metrics:
    """The series of issue 18 and the methods that record them; `add_routes` serves them."""

    def __init__(
        self,
        *,
        tasks: TaskCounts | None = None,
        clock: Callable[[], float] = time.monotonic,
        counts_timeout: float = COUNTS_TIMEOUT_SECONDS,
    ) -> None:
        """`tasks`: where the tasks by state come from (None: that series is left out; it
        may be set later, once the store is open). `clock` only measures the sync lag."""
        self.tasks = tasks
        self.registry = CollectorRegistry()
        self._counts_timeout = counts_timeout
        self._states = _TaskStates()
        self._lag = _SyncLag(clock)
        self.registry.register(self._states)
        self.registry.register(self._lag)
        r = self.registry
        self._llm_calls = Counter(
            f"{PREFIX}_llm_calls",
            "LLM calls by agent, model and outcome (ok or error).",
            ("agent", "model", "outcome"),
            registry=r,
        )
        self._llm_tokens = Counter(
            f"{PREFIX}_llm_tokens",
            "LLM tokens by agent, model and direction (input or output).",
            ("agent", "model", "direction"),
            registry=r,
        )
        self._llm_cost = Counter(
            f"{PREFIX}_llm_cost_usd",
            "LLM cost in US dollars by agent and model, at the configured prices.",
            ("agent", "model"),
            registry=r,
        )
        self._runs = Histogram(
            f"{PREFIX}_exec_run_seconds",
            "Executor runs and their durations by host and exit status "
            "(the number, or timed_out / cancelled / interrupted / none); _count is the runs.",
            ("host", "exit_status"),
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self._sends = Histogram(
            f"{PREFIX}_matrix_send_seconds",
            "Matrix send latency by bot (one event sent, retries included).",
            ("bot",),
            buckets=SEND_BUCKETS,
            registry=r,
        )

    # ---- what the bots record -----------------------------------------------------------

    @_never_raises
    def llm_call(
        self,
        agent: str,
        model: str,
        outcome: str,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost: float = 0.0,
    ) -> None:
        """One model call ended (`outcome` "ok" or "error"), with what it used."""
        self._llm_calls.labels(agent, model, outcome).inc()
        self._llm_tokens.labels(agent, model, "input").inc(max(tokens_in, 0))
        self._llm_tokens.labels(agent, model, "output").inc(max(tokens_out, 0))
        self._llm_cost.labels(agent, model).inc(max(cost, 0.0))

    @_never_raises
    def exec_run(self, host: str, exit_status: int | str | None, seconds: float) -> None:
        """A command ended on `host`: its exit status (or why it has none) and duration."""
        label = "none" if exit_status is None else str(exit_status)
        self._runs.labels(host, label).observe(max(seconds, 0.0))

    @_never_raises
    def matrix_send(self, bot: str, seconds: float) -> None:
        """`bot` sent one event to the homeserver in `seconds`."""
        self._sends.labels(bot).observe(max(seconds, 0.0))

    @_never_raises
    def sync_lag(self, bot: str, seconds: float) -> None:
        """`bot` was `seconds` behind now (0 right after a sync batch); it grows with the
        clock until the next call, so a stuck sync loop shows as a climbing lag."""
        self._lag.note(bot, seconds)

    # ---- serving ------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Asks the tasks by state for this scrape; a failing or slow store leaves the series
        out (and says so in the log) rather than failing the whole scrape."""
        if self.tasks is None:
            self._states.counts = None
            return
        try:
            counts = await asyncio.wait_for(self.tasks.by_state(), self._counts_timeout)
        except Exception as exc:
            log.warning("metrics: the tasks by state could not be counted: %s", exc or repr(exc))
            self._states.counts = None
            return
        self._states.counts = dict(counts)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (`Accept`), and its content type:
        Prometheus's text format unless OpenMetrics is asked."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


class _TaskStates:
    """`chavion_tasks{state}` from the counts the last `refresh` got."""

    def __init__(self) -> None:
        self.counts: dict[str, int] | None = None

    def describe(self) -> list[Metric]:
        return [GaugeMetricFamily(f"{PREFIX}_tasks", "Tasks by state.", labels=("state",))]

    def collect(self) -> Iterator[Metric]:
        if self.counts is None:
            return
        family = GaugeMetricFamily(f"{PREFIX}_tasks", "Tasks by state.", labels=("state",))
        for state, count in sorted(self.counts.items()):
            family.add_metric((state,), count)
        yield family


class _SyncLag:
    """`chavion_sync_lag_seconds{bot}`: the lag noted last plus the time since it was noted."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._noted: dict[str, tuple[float, float]] = {}

    def note(self, bot: str, seconds: float) -> None:
        self._noted[bot] = (max(seconds, 0.0), self._clock())

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        now = self._clock()
        for bot, (lag, at) in sorted(self._noted.items()):
            family.add_metric((bot,), lag + max(now - at, 0.0))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            f"{PREFIX}_sync_lag_seconds",
            "Seconds since each bot's last sync batch was taken.",
            labels=("bot",),
        )


def add_routes(app: web.Application, metrics: Metrics) -> None:
    """`GET /metrics` (public, like `/health`: put the bridge behind the proxy's own rules
    if the numbers are not for everyone)."""

    async def serve(request: web.Request) -> web.Response:
        await metrics.refresh()
        body, content_type = metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"}
        )

    app.router.add_get("/metrics", serve)
