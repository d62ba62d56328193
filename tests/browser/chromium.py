"""Headless Chromium for the dashboard's browser test and bench: Debian's own binary
(/usr/bin/chromium, installed by scripts/chromium-test) driven by Playwright, which never
downloads a browser of its own here; and the dashboard served on loopback over in-memory ports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, async_playwright

from bridge.http.app import build_app, serve
from bridge.http.settings import BridgeHttpSettings
from tests.support.bridge_ports import Memory

CHROMIUM = Path("/usr/bin/chromium")
MISSING = f"{CHROMIUM} is absent: scripts/chromium-test installs it (Debian package chromium)"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium, closed at the end of the block."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def dashboard_server(mem: Memory) -> AsyncIterator[str]:
    """The bridge with `mem`'s ports (dashboard included) on loopback; yields its base URL."""
    settings = BridgeHttpSettings(port=0, heartbeat_seconds=5)
    app = build_app(mem.ports(dashboard=True), settings)
    async with serve(app, settings) as where:
        yield where.url
