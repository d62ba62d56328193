"""`GET /health`: 200 when every probe is fine, 503 naming what is wrong; probes run at once
and each is bounded by the timeout, so a hung one is "timed out", never a hung request.
Through a real aiohttp server on loopback."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.http import health
from bridge.http.health import HealthProbe, ProbeResult

TIMEOUT = 0.3


@dataclass(frozen=True)
class Fixed:
    """A probe that answers at once (or after `delay`)."""

    name: str
    ok: bool = True
    detail: str = ""
    delay: float = 0.0

    async def check(self) -> ProbeResult:
        await asyncio.sleep(self.delay)
        return ProbeResult(self.ok, self.detail)


@dataclass(frozen=True)
class Raising:
    name: str
    error: Exception = field(default_factory=lambda: RuntimeError("boom"))

    async def check(self) -> ProbeResult:
        raise self.error


@dataclass(frozen=True)
class Hung:
    """A probe that never answers, like a homeserver that accepts and then says nothing."""

    name: str

    async def check(self) -> ProbeResult:
        await asyncio.Event().wait()
        return ProbeResult(True)


@dataclass(frozen=True)
class Stubborn:
    """A probe that even ignores being cancelled, for a while."""

    name: str
    seconds: float = 1.5

    async def check(self) -> ProbeResult:
        ends = time.monotonic() + self.seconds
        while time.monotonic() < ends:
            try:
                await asyncio.sleep(ends - time.monotonic())
            except asyncio.CancelledError:
                continue
        return ProbeResult(True)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]
    seconds: float


async def ask(probes: Sequence[HealthProbe], method: str = "GET") -> Answer:
    app = web.Application()
    health.add_routes(app, probes, timeout=TIMEOUT)
    async with TestClient(TestServer(app)) as client:
        began = time.monotonic()
        response = await client.request(method, "/health")
        body = await response.json() if method == "GET" else {}
        return Answer(response.status, body, response.headers, time.monotonic() - began)


CASES: list[tuple[str, list[HealthProbe], int, dict[str, str], list[str]]] = [
    # what, probes, HTTP status, each check's status, words the message must hold
    (
        "all fine",
        [Fixed("homeserver", detail="answers in 3 ms"), Fixed("store")],
        200,
        {"homeserver": "ok", "store": "ok"},
        [],
    ),
    (
        "one failing",
        [Fixed("homeserver"), Fixed("store", ok=False, detail="database is locked")],
        503,
        {"homeserver": "ok", "store": "failing"},
        ["store failing: database is locked"],
    ),
    (
        "one hung",
        [Fixed("store"), Hung("homeserver")],
        503,
        {"store": "ok", "homeserver": "timed out"},
        ["homeserver timed out", f"{TIMEOUT:g} s"],
    ),
    (
        "one raising",
        [Raising("sync:claude"), Fixed("store")],
        503,
        {"sync:claude": "failing", "store": "ok"},
        ["sync:claude failing: RuntimeError: boom"],
    ),
    (
        "several wrong, each named",
        [Fixed("sync:gpt", ok=False, detail="not synced yet"), Hung("homeserver")],
        503,
        {"sync:gpt": "failing", "homeserver": "timed out"},
        ["sync:gpt failing: not synced yet", "homeserver timed out"],
    ),
    ("no probes: nothing is wrong", [], 200, {}, []),
]


@pytest.mark.parametrize(
    ("what", "probes", "status", "checks", "message"), CASES, ids=[c[0] for c in CASES]
)
async def test_the_answer_says_what_is_wrong(
    what: str,
    probes: list[HealthProbe],
    status: int,
    checks: dict[str, str],
    message: list[str],
) -> None:
    answer = await ask(probes)
    assert answer.status == status, what
    assert answer.body["status"] == ("ok" if status == 200 else "failing")
    assert {name: c["status"] for name, c in answer.body["checks"].items()} == checks
    assert list(answer.body["checks"]) == [p.name for p in probes], "in the probes' order"
    for words in message:
        assert words in answer.body["message"], answer.body["message"]
    if status == 200:
        assert "message" not in answer.body
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.seconds < TIMEOUT + 1.0


async def test_a_check_carries_its_detail_and_time() -> None:
    answer = await ask([Fixed("homeserver", detail="answers in 3 ms", delay=0.05)])
    check = answer.body["checks"]["homeserver"]
    assert check["detail"] == "answers in 3 ms"
    assert 0.04 <= check["seconds"] < TIMEOUT


async def test_probes_run_at_once() -> None:
    """Three probes of 0.2 s each answer in about 0.2 s, not 0.6 s."""
    answer = await ask([Fixed(f"p{n}", delay=0.2) for n in range(3)])
    assert answer.status == 200
    assert answer.seconds < 0.45


async def test_a_probe_that_ignores_its_cancel_does_not_hold_the_answer() -> None:
    answer = await ask([Stubborn("homeserver")])
    assert answer.status == 503
    assert answer.body["checks"]["homeserver"]["status"] == "timed out"
    assert answer.seconds < TIMEOUT + 0.5


async def test_head_gives_the_status_alone() -> None:
    assert (await ask([Fixed("store", ok=False)], method="HEAD")).status == 503
    assert (await ask([Fixed("store")], method="HEAD")).status == 200


@pytest.mark.parametrize(
    ("probes", "timeout", "words"),
    [
        ([Fixed("store"), Fixed("store")], 1.0, "given twice: ['store']"),
        ([Fixed("store")], 0.0, "must be positive"),
    ],
    ids=["two probes with one name", "no time to answer"],
)
def test_a_wrong_setup_is_refused_at_start(
    probes: list[HealthProbe], timeout: float, words: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        health.add_routes(web.Application(), probes, timeout=timeout)


@dataclass
class Watched:
    """A probe that notes when it is cancelled."""

    name: str
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    async def check(self) -> ProbeResult:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return ProbeResult(True)


async def test_a_request_that_goes_away_takes_its_probes_with_it() -> None:
    probe = Watched("homeserver")
    running = asyncio.create_task(health.run_probes([probe], timeout=30))
    await asyncio.sleep(0.05)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.wait_for(probe.cancelled.wait(), 1)
