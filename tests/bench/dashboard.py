"""Dashboard first paint on a 3G-like link, against a 1-byte page under the same throttle.

Run: .venv/bin/python -m tests.bench.dashboard [--rounds 5]

Subject: `GET /dashboard` of `build_app` with the in-memory ports (tests/support/bridge_ports.py)
holding 50 tasks (results included), 10 agents, 5 hosts and 50 activity rows of realistic
length, logged in, in headless Debian chromium (tests/browser/chromium.py). Baseline in the
same run: a static 1-byte HTML page from a bare aiohttp server on loopback.

Throttle (CDP Network.emulateNetworkConditions, cache disabled, each round a fresh tab):
latency 300 ms, down 750 kbit/s, up 250 kbit/s. That is the throughput of Chrome DevTools'
former "Regular 3G" preset (750/250 kbit/s) with three times its 100 ms latency: stricter than
"Regular 3G", far milder than today's "Slow 3G" (2 s, 400 kbit/s).

Printed: first-contentful-paint (Paint Timing) median/min/max of each, the ratio of the medians,
the page's weight (HTML as decoded, and as sent: gzip when the browser asks for it), the
targets (FCP < 2 s, weight < 200 KB). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from playwright.async_api import Browser, BrowserContext

from bridge.http.ports import ActivityItem, AgentCard, HostCard
from tests.browser.chromium import CHROMIUM, MISSING, chromium, dashboard_server
from tests.support.bridge_ports import MASTER_TOKEN, Memory, memory

LATENCY_MS = 300
DOWN_KBIT = 750
UP_KBIT = 250
TARGET_FCP_S = 2.0
TARGET_BYTES = 200 * 1024

_FCP = """() => new Promise(done => {
  const seen = performance.getEntriesByName('first-contentful-paint');
  if (seen.length) return done(seen[0].startTime);
  new PerformanceObserver(list => {
    for (const e of list.getEntries())
      if (e.name === 'first-contentful-paint') done(e.startTime);
  }).observe({type: 'paint', buffered: true});
})"""
_SIZES = """() => { const n = performance.getEntriesByType('navigation')[0];
  return [n.decodedBodySize, n.transferSize, Math.round(n.loadEventEnd)]; }"""


_TEXT = (
    "certificate nginx reload expiry host chain openssl renewed checked disk backup "
    "rotate keys deploy service restart logs error timeout retry approved master plan "
    "step done failed memory load cpu database migration index query slow fixed 서버 "
    "인증서 갱신 완료 확인 로그 배포 재시작 백업 디스크"
)
_WORDS = tuple(_TEXT.split())


def prose(rng: random.Random, chars: int) -> str:
    """Varied text of about `chars` characters (repeated text would gzip unrealistically)."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(
            rng.choice(_WORDS) + rng.choice(["", "", "", ",", ".", f" {rng.randint(1, 999)}"])
        )
    return " ".join(words)[:chars]


def filled() -> Memory:
    """50 tasks, 10 agents, 5 hosts, 50 activity rows, as a busy council's would be."""
    mem = memory()
    now = time.time()
    rng = random.Random(18)
    states = ["pending", "working", "completed", "failed", "planning"]
    for n in range(50):
        view = mem.tasks.add(f"Task {n}: {prose(rng, 70)}")
        state = states[n % len(states)]
        done = state in {"completed", "failed"}
        mem.tasks.tasks[view.id] = type(view)(
            **{
                **view.__dict__,
                "state": state,
                "priority": ("low", "medium", "high")[n % 3],
                "assigned": f"agent{n % 10}",
                "created_at": now - 3600 - n * 600,
                "completed_at": now - n * 600 if done else None,
                "result": prose(rng, 400) if done else None,
            }
        )
    mem.dashboard.agents = [
        AgentCard(f"agent{k}", "worker", "claude-sonnet-4", "online", now, 0.37 * k, k, k % 3 == 0)
        for k in range(10)
    ]
    mem.dashboard.hosts = [
        HostCard(f"host{k}", True, 0.4 * k, 4, 40.0 + k, 60.0 + k, now, None) for k in range(5)
    ]
    mem.dashboard.activity = [
        ActivityItem(now - 60 * (50 - k), f"agent{k % 10}", prose(rng, 420), k if k % 2 else None)
        for k in range(50)
    ]
    return mem


@asynccontextmanager
async def baseline_server() -> AsyncIterator[str]:
    """A 1-byte HTML page from a bare aiohttp app: the floor of one round trip and a paint."""

    async def one_byte(_request: web.Request) -> web.Response:
        return web.Response(body=b"x", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", one_byte)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def logged_in(browser: Browser, base: str) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(f"{base}/dashboard/login")
    await page.fill("#token", MASTER_TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard")
    await page.close()
    return context


async def first_paint(
    context: BrowserContext, url: str, *, gzip: bool = True
) -> tuple[float, list[int]]:
    """FCP in seconds and [decoded bytes, transferred bytes, load ms] of one throttled load
    in a fresh tab."""
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if not gzip:  # the worst case: a proxy or browser that does not compress
        await cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
    conditions: dict[str, Any] = {
        "offline": False,
        "latency": LATENCY_MS,
        "downloadThroughput": DOWN_KBIT * 1000 / 8,
        "uploadThroughput": UP_KBIT * 1000 / 8,
    }
    await cdp.send("Network.emulateNetworkConditions", conditions)
    await page.goto(url, wait_until="load")
    fcp_ms = await page.evaluate(_FCP)
    sizes = await page.evaluate(_SIZES)
    await page.close()
    return fcp_ms / 1000, [int(s) for s in sizes]


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.3f} s "
        f"(min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
    )


async def run(rounds: int) -> None:
    mem = filled()
    async with dashboard_server(mem) as base, baseline_server() as floor, chromium() as browser:
        context = await logged_in(browser, base)
        dash: list[float] = []
        plain: list[float] = []
        bare: list[float] = []
        sizes: list[int] = []
        plain_sizes: list[int] = []
        for _ in range(rounds):
            fcp, sizes = await first_paint(context, f"{base}/dashboard")
            dash.append(fcp)
            fcp, plain_sizes = await first_paint(context, f"{base}/dashboard", gzip=False)
            plain.append(fcp)
            fcp, _ = await first_paint(context, floor)
            bare.append(fcp)
        await context.close()
    decoded, sent, _ = sizes
    ratio = statistics.median(dash) / statistics.median(bare)
    print(
        f"throttle: latency {LATENCY_MS} ms, down {DOWN_KBIT} kbit/s, up {UP_KBIT} kbit/s "
        "(DevTools' former 'Regular 3G' throughput, 3x its latency)"
    )
    print("page: 50 tasks, 10 agents, 5 hosts, 50 activity rows; phone viewport 390x844")
    print(f"dashboard FCP: {spread(dash)}; last load event at {sizes[2]} ms")
    print(
        f"dashboard FCP, not compressed ({plain_sizes[1]} bytes sent): {spread(plain)}; "
        f"last load event at {plain_sizes[2]} ms"
    )
    print(f"1-byte page FCP: {spread(bare)}")
    print(f"ratio of medians: {ratio:.2f}x")
    print(
        f"page weight: {decoded} bytes HTML ({decoded / 1024:.1f} KB), "
        f"{sent} bytes sent with headers ({sent / 1024:.1f} KB, gzip)"
    )
    fcp_ok = statistics.median(dash) < TARGET_FCP_S
    weight_ok = decoded < TARGET_BYTES
    print(
        f"targets: FCP < {TARGET_FCP_S:g} s {'met' if fcp_ok else 'MISSED'}; "
        f"weight < {TARGET_BYTES // 1024} KB {'met' if weight_ok else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(MISSING)
    asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
