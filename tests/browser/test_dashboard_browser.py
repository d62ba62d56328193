"""The dashboard in a real browser (headless Chromium): the master logs in, sees a task an
agent creates through the API appear live without a reload, sends the new-task form, and the
page fits a phone's width. A screenshot is kept in tests/artifacts/ (git-ignored)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import ViewportSize

from tests.browser.chromium import ARTIFACTS, CHROMIUM, MISSING, chromium, dashboard_server
from tests.support.bridge_ports import MASTER_TOKEN, memory

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING)]

PHONE: ViewportSize = {"width": 390, "height": 844}


async def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_the_master_watches_a_task_arrive_live_and_sends_the_form() -> None:
    mem = memory()
    mem.tasks.add("Already there")
    async with dashboard_server(mem) as base, chromium() as browser:
        page = await browser.new_page(viewport=PHONE)
        await page.goto(f"{base}/dashboard")
        assert page.url == f"{base}/dashboard/login"  # no session yet

        await page.fill("#token", MASTER_TOKEN)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/dashboard")
        assert "Already there" in await page.locator("#tasks-open").inner_text()
        await page.locator("#live").filter(has_text="live").wait_for()
        await wait_until(lambda: mem.dashboard.listening == 1)
        await page.evaluate("window.sameDocument = true")  # gone if the page reloads

        # An external agent creates a task through the API: it appears without a reload.
        async with aiohttp.ClientSession() as http:
            r = await http.post(
                f"{base}/api/tasks",
                json={"title": "Live from the API", "priority": "high"},
                headers={"Authorization": "Bearer t-manus"},
            )
            assert r.status == 201
        row = page.locator("#tasks-open li", has_text="Live from the API")
        await row.wait_for(timeout=10_000)
        assert "high" in await row.inner_text()
        await mem.council.say(mem.tokens.tokens["t-manus"], "claimed, on it", None, "k1")
        await page.locator("#activity li", has_text="claimed, on it").wait_for(timeout=10_000)
        assert await page.evaluate("window.sameDocument === true")

        # Readable on a phone: nothing wider than the screen.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0

        # The master's form: the task goes through the desk, the page says so.
        await page.fill("#new-task input[name=title]", "From the form")
        await page.fill("#new-task textarea[name=description]", "typed on a phone")
        await page.select_option("#new-task select[name=priority]", "high")
        await page.click("#new-task button[type=submit]")
        await page.locator(".flash", has_text="created: From the form").wait_for()
        made = [t for t in mem.tasks.tasks.values() if t.title == "From the form"]
        assert [(t.description, t.priority) for t in made] == [("typed on a phone", "high")]
        assert await page.locator("#tasks-open li", has_text="From the form").count() == 1

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert (ARTIFACTS / "dashboard.png").stat().st_size > 1000


async def test_a_one_time_link_clicked_in_element_opens_the_dashboard() -> None:
    """The link is on another site (Element's): the SameSite=Strict session must still hold
    when the browser arrives, and the used link opens nothing a second time."""
    mem = memory()
    async with dashboard_server(mem) as base, chromium() as browser:
        link = f"{base}/dashboard/login?once={mem.dashboard.link()}"

        async def element(_request: web.Request) -> web.Response:
            return web.Response(
                text=f'<a id="l" href="{link}">dashboard</a>', content_type="text/html"
            )

        other = web.Application()
        other.router.add_get("/", element)
        runner = web.AppRunner(other, access_log=None)
        await runner.setup()
        try:
            # localhost and 127.0.0.1 are different sites to the browser.
            await web.TCPSite(runner, "localhost", 0).start()
            page = await browser.new_page()
            await page.goto(f"http://localhost:{runner.addresses[0][1]}/")
            await page.click("#l")
            await page.wait_for_url(f"{base}/dashboard")
            await page.locator("#tasks-open").wait_for()

            fresh = await browser.new_page()  # a context of its own: no session
            await fresh.goto(link)
            assert "send !dashboard again" in await fresh.content()
        finally:
            await runner.cleanup()
