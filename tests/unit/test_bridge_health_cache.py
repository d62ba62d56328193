"""`/health` is cached briefly: an answer is given again for `cache_seconds` (by an injected
clock), requests that come during a run wait for that run instead of probing again, one
that goes away does not cancel the others' run, and a failed run is not kept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.http import health
from bridge.http.health import ProbeResult
from bridge.http.health_cache import CachedHealth, Composed


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    """Lets every task started so far run up to its first wait (no wall-clock time)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Gated:
    """A composition that counts its runs and, when `gate` is set, waits for it."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.gate = gate
        self.calls = 0
        self.fail = False

    async def __call__(self) -> Composed:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("probes broke")
        return 200, {"status": "ok", "run": self.calls}


@pytest.mark.parametrize(
    ("later", "runs"),
    [(0.0, 1), (4.9, 1), (5.0, 2), (60.0, 2)],
    ids=["at once", "just inside", "at the limit", "long after"],
)
async def test_an_answer_is_given_again_within_the_cache_time(later: float, runs: int) -> None:
    clock = Clock()
    compose = Gated()
    cached = CachedHealth(compose, seconds=5.0, clock=clock)
    first = await cached.answer()
    clock.now += later
    second = await cached.answer()
    assert (compose.calls, cached.runs) == (runs, runs)
    assert second == (first if runs == 1 else (200, {"status": "ok", "run": 2}))


async def test_requests_during_a_run_share_it() -> None:
    gate = asyncio.Event()
    compose = Gated(gate)
    cached = CachedHealth(compose, clock=Clock())
    waiting = [asyncio.create_task(cached.answer()) for _ in range(20)]
    await settle()
    assert compose.calls == 1
    gate.set()
    answers = await asyncio.gather(*waiting)
    assert answers == [(200, {"status": "ok", "run": 1})] * 20
    assert compose.calls == 1


async def test_a_request_that_goes_away_leaves_the_run_to_the_others() -> None:
    gate = asyncio.Event()
    compose = Gated(gate)
    cached = CachedHealth(compose, clock=Clock())
    leaving = asyncio.create_task(cached.answer())
    staying = asyncio.create_task(cached.answer())
    await settle()
    leaving.cancel()
    gate.set()
    assert await staying == (200, {"status": "ok", "run": 1})
    assert leaving.cancelled()


async def test_a_failed_run_is_not_kept() -> None:
    compose = Gated()
    compose.fail = True
    cached = CachedHealth(compose, clock=Clock())
    with pytest.raises(RuntimeError, match="probes broke"):
        await cached.answer()
    compose.fail = False
    assert await cached.answer() == (200, {"status": "ok", "run": 2})


def test_a_negative_cache_time_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        CachedHealth(Gated(), seconds=-1)


class Counted:
    name = "store"

    def __init__(self) -> None:
        self.checks = 0

    async def check(self) -> ProbeResult:
        self.checks += 1
        return ProbeResult(True, f"check {self.checks}")


@pytest.mark.parametrize(
    ("cache_seconds", "steps", "checks"),
    [
        (5.0, [0.0, 1.0, 3.9], 1),
        (5.0, [0.0, 6.0], 2),
        (0.0, [0.0, 0.0, 0.0], 3),
    ],
    ids=["a scrape storm probes once", "after the cache time, again", "no cache: every time"],
)
async def test_the_route_probes_once_per_cache_time(
    cache_seconds: float, steps: list[float], checks: int
) -> None:
    clock = Clock()
    probe = Counted()
    app = web.Application()
    health.add_routes(app, [probe], timeout=1.0, cache_seconds=cache_seconds, clock=clock)
    bodies: list[dict[str, Any]] = []
    async with TestClient(TestServer(app)) as client:
        for step in steps:
            clock.now += step
            response = await client.get("/health")
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"
            bodies.append(await response.json())
    assert probe.checks == checks
    assert bodies[-1]["checks"]["store"]["detail"] == f"check {checks}"
