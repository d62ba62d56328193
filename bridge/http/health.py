"""`GET /health`: is every part Chavion needs working right now (issue 18, "Operations").

200 `{"status": "ok", "checks": {...}}` when every probe is fine, 503 with what is wrong
otherwise, so a load balancer, a compose healthcheck or the master's uptime monitor can act
on the status alone and a person can read the body. The probes (homeserver, each bot's sync,
the store, the hosts) live with the bots (`bots/app/health_probes.py`); this module only
runs them: all at once, each bounded by one deadline, so a hung homeserver makes its own
check "timed out" instead of hanging the request, and a probe that raises is "failing" with
its error rather than a 500. The answer is kept a few seconds (`health_cache.py`): a scrape
storm probes once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiohttp import web

from bridge.http.health_cache import CACHE_SECONDS, CachedHealth

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 5.0

CheckStatus = Literal["ok", "failing", "timed out"]


@dataclass(frozen=True)
class ProbeResult:
    """One probe's answer: fine or not, and a few words either way ("synced 2 s ago")."""

    ok: bool
    detail: str = ""


class HealthProbe(Protocol):
    """One thing that must work; `name` is its key in the answer ("store", "sync:claude")."""

    @property
    def name(self) -> str: ...

    async def check(self) -> ProbeResult: ...


@dataclass(frozen=True)
class Check:
    """What one probe said, or that it said nothing in time."""

    name: str
    status: CheckStatus
    detail: str
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, "seconds": round(self.seconds, 3)}


# Probes cut off by the deadline are cancelled but never awaited (one that ignores the
# cancel must not hold the answer); they are kept here until they end.
_abandoned: set[asyncio.Task[ProbeResult]] = set()


async def run_probes(probes: Sequence[HealthProbe], timeout: float) -> list[Check]:
    """Every probe at once; each one's answer within `timeout` seconds, in the given order."""
    began = time.monotonic()
    tasks = [asyncio.create_task(p.check(), name=f"health-{p.name}") for p in probes]
    ended: dict[asyncio.Task[ProbeResult], float] = {}
    for task in tasks:
        task.add_done_callback(lambda t: ended.setdefault(t, time.monotonic() - began))
    try:
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
    except asyncio.CancelledError:  # the caller went away: its probes end with it
        for task in tasks:
            task.cancel()
        raise
    checks: list[Check] = []
    for probe, task in zip(probes, tasks, strict=True):
        if not task.done():
            task.cancel()
            _abandoned.add(task)
            task.add_done_callback(_forget)
            what = f"no answer within {timeout:g} s"
            checks.append(Check(probe.name, "timed out", what, time.monotonic() - began))
            continue
        seconds = ended.get(task, time.monotonic() - began)
        if task.cancelled():
            checks.append(Check(probe.name, "failing", "cancelled", seconds))
            continue
        exc = task.exception()
        if exc is not None:
            log.warning("health probe %s raised: %r", probe.name, exc)
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            checks.append(Check(probe.name, "failing", detail, seconds))
            continue
        result = task.result()
        checks.append(Check(probe.name, "ok" if result.ok else "failing", result.detail, seconds))
    return checks


def _forget(task: asyncio.Task[ProbeResult]) -> None:
    """An abandoned probe ended at last: dropped, its error read (never "never retrieved")."""
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.info("health probe %s ended late: %r", task.get_name(), task.exception())


def health_body(checks: Sequence[Check]) -> tuple[int, dict[str, Any]]:
    """The status code and the JSON body: 503 names every check that is not ok."""
    wrong = [c for c in checks if c.status != "ok"]
    body: dict[str, Any] = {
        "status": "failing" if wrong else "ok",
        "checks": {c.name: c.as_json() for c in checks},
    }
    if wrong:
        body["message"] = "; ".join(
            f"{c.name} {c.status}" + (f": {c.detail}" if c.detail else "") for c in wrong
        )
    return (503 if wrong else 200), body


def add_routes(
    app: web.Application,
    probes: Sequence[HealthProbe],
    *,
    timeout: float = PROBE_TIMEOUT_SECONDS,
    cache_seconds: float = CACHE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """`GET /health` (and HEAD), public: it says what is wrong, never a secret. An answer
    is given again for `cache_seconds`, and requests meanwhile share one probe run."""
    names = [p.name for p in probes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"health probes must have distinct names; given twice: {twice}")
    if timeout <= 0:
        raise ValueError(f"the health probes' timeout must be positive, not {timeout}")
    fixed = tuple(probes)

    async def compose() -> tuple[int, dict[str, Any]]:
        return health_body(await run_probes(fixed, timeout))

    cached = CachedHealth(compose, seconds=cache_seconds, clock=clock)

    async def serve(request: web.Request) -> web.Response:
        status, body = await cached.answer()
        return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})

    app.router.add_get("/health", serve)
