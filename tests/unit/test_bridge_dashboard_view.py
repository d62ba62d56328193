"""The dashboard's pure parts: times in the configured zone, durations, trimming, the rows a
live event draws, the sessions' expiry, the same-origin rule and the failed-login limit."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import make_mocked_request

from bridge.http.dashboard_session import (
    LOGIN_BURST,
    LoginGuard,
    Sessions,
    check_same_origin,
    client_address,
    is_https,
)
from bridge.http.dashboard_view import (
    clock,
    dom_id,
    render_page,
    render_row,
    span,
    sse_data,
    task_section,
    trimmed,
    zone_of,
)
from bridge.http.ports import ActivityItem, AgentCard, ApiError, HostCard, Overview, Rate, TaskView
from bridge.http.problems import HeaderedError

SEOUL = ZoneInfo("Asia/Seoul")
# 2026-12-04 05:00 UTC = 14:00 in Seoul
NOW = datetime(2026, 12, 4, 5, 0, tzinfo=ZoneInfo("UTC")).timestamp()


def task(**changes: Any) -> TaskView:
    base = TaskView(
        7, "Renew <TLS>", "", "high", "pending", "planning", None, NOW - 600, None, None, None
    )
    return TaskView(**{**asdict(base), **changes})


@pytest.mark.parametrize(
    ("at", "zone", "shown"),
    [
        (NOW, SEOUL, "14:00"),
        (NOW, ZoneInfo("UTC"), "05:00"),
        (NOW - 86400, SEOUL, "12-03 14:00"),
        (NOW - 400 * 86400, SEOUL, "2025-10-30 14:00"),
        (None, SEOUL, "–"),
    ],
)
def test_clock_is_in_the_zone_and_says_the_day_only_when_not_today(
    at: float | None, zone: ZoneInfo, shown: str
) -> None:
    assert clock(at, zone, NOW) == shown


@pytest.mark.parametrize(
    ("name", "key"),
    [("Asia/Seoul", "Asia/Seoul"), ("Mars/Olympus", "UTC"), ("", "UTC"), ("../etc", "UTC")],
)
def test_an_unknown_zone_falls_back_to_utc(name: str, key: str) -> None:
    assert zone_of(name).key == key


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "–"),
        (-5, "0s"),
        (0, "0s"),
        (45.9, "45s"),
        (60, "1m"),
        (200, "3m 20s"),
        (3600, "1h"),
        (7500, "2h 5m"),
        (3 * 86400 + 4 * 3600 + 59, "3d 4h"),
    ],
)
def test_span_shows_at_most_two_units(seconds: float | None, shown: str) -> None:
    assert span(seconds) == shown


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        (None, 10, ""),
        ("", 10, ""),
        ("short", 10, "short"),
        ("a\n\n b   c", 10, "a b c"),
        ("x" * 11, 10, "x" * 9 + "…"),
    ],
)
def test_trimmed_joins_whitespace_and_cuts_with_an_ellipsis(
    text: str | None, limit: int, shown: str
) -> None:
    assert trimmed(text, limit) == shown


@pytest.mark.parametrize(
    ("changes", "section"),
    [
        ({}, "open"),
        ({"state": "working"}, "open"),
        ({"state": "completed", "completed_at": NOW}, "done"),
        ({"state": "failed"}, "done"),
        ({"state": "cancelled"}, "done"),
        ({"completed_at": NOW}, "done"),
    ],
)
def test_a_finished_task_goes_to_the_recent_list(changes: dict[str, Any], section: str) -> None:
    assert task_section(task(**changes)) == section
    data = json.loads(sse_data({"kind": "task", "task": asdict(task(**changes))}, "UTC"))
    assert data["section"] == section


def test_dom_ids_are_stable_and_safe_for_any_name() -> None:
    assert dom_id("agent", '클로드 "x"') == dom_id("agent", '클로드 "x"')
    assert dom_id("agent", "a").startswith("agent-")
    assert dom_id("agent", "a") != dom_id("agent", "b")
    assert all(c.isalnum() or c == "-" for c in dom_id("host", "<script>"))


@pytest.mark.parametrize(
    ("event", "contains"),
    [
        (
            {"kind": "message", "at": NOW, "sender": "claude", "body": "<b>hi</b>", "task_id": 3},
            ["14:00", "claude", "#3", "&lt;b&gt;hi&lt;/b&gt;"],
        ),
        (
            {"kind": "task", "task": asdict(task())},
            ['id="task-7"', "Renew &lt;TLS&gt;", "planning", "high", "age 10m"],
        ),
        (
            {
                "kind": "task",
                "task": asdict(
                    task(state="completed", completed_at=NOW, result="done", thread_url="https://t")
                ),
            },
            ["completed", "took 10m", 'href="https://t"', "done"],
        ),
        (
            {
                "kind": "agent",
                **asdict(AgentCard("manus", "worker", None, "working", NOW, 1.5, 4, True)),
            },
            [dom_id("agent", "manus"), "working #4", "HTTP", "$1.50 today", "seen 14:00"],
        ),
        (
            {
                "kind": "host",
                **asdict(HostCard("web1", False, None, None, None, None, NOW, "timeout")),
            },
            [dom_id("host", "web1"), "unreachable", "timeout"],
        ),
        (
            {"kind": "host", **asdict(HostCard("db1", True, 1.25, 8, 50.0, 75.5, NOW, None))},
            ["load 1.25/8 CPU", "mem 50%", "disk 76%"],
        ),
        (  # a key the desk added later does not lose the row
            {"kind": "task", "task": {**asdict(task()), "thread_id": "$x"}, "extra": 1},
            ['id="task-7"'],
        ),
    ],
)
def test_a_live_event_draws_the_same_row_as_the_page(
    event: dict[str, Any], contains: list[str]
) -> None:
    html = render_row(event, "Asia/Seoul", NOW)
    assert html is not None
    for part in contains:
        assert part in html
    assert "<b>hi</b>" not in html  # escaped, never markup from the room


@pytest.mark.parametrize(
    "event",
    [{"kind": "mystery"}, {"kind": "task", "task": "nope"}, {"kind": "agent", "name": "x"}],
)
def test_an_event_the_page_cannot_draw_has_no_html(event: dict[str, Any]) -> None:
    assert json.loads(sse_data(event, "UTC"))["html"] is None


def overview(tasks: list[TaskView]) -> Overview:
    return Overview(
        tasks,
        [AgentCard("claude", "planner", "sonnet", "online", NOW, 0.0, None, False)],
        [HostCard("web1", None, None, None, None, None, None, None)],
        [ActivityItem(NOW, "master", "go", None)],
        [Rate(7, 2, 1, 1, 0.5, 30.0), Rate(30, 0, 0, 0, None, None)],
        "Asia/Seoul",
        None,
    )


def test_the_page_has_every_part_and_no_external_asset() -> None:
    page = render_page(
        overview([task(), task(id=8, state="completed", completed_at=NOW)]), form_key="k", now=NOW
    )
    for part in [
        'id="tasks-open"',
        'id="tasks-done"',
        'id="agents"',
        'id="hosts"',
        'id="activity"',
        "50%",  # 7-day success rate
        "avg 30s",
        "Asia/Seoul",
        'name="key" value="k"',
        "not probed",
    ]:
        assert part in page
    assert page.index('id="task-7"') < page.index('id="tasks-done"') < page.index('id="task-8"')
    assert "http://" not in page
    assert "https://" not in page
    assert "src=" not in page


@pytest.mark.parametrize(
    ("headers", "secure", "allowed"),
    [
        ({"Origin": "http://dash.example:8686"}, False, True),
        ({"Origin": "HTTP://Dash.Example:8686"}, False, True),
        ({"Referer": "http://dash.example:8686/dashboard"}, False, True),
        ({"Origin": "null", "Referer": "http://dash.example:8686/dashboard"}, False, True),
        ({"Origin": "https://dash.example:8686", "X-Forwarded-Proto": "https"}, True, True),
        ({"Origin": "https://dash.example:8686"}, False, False),  # scheme differs
        ({"Origin": "http://evil.example"}, False, False),
        ({"Referer": "http://evil.example/dashboard"}, False, False),
        ({"Origin": "null"}, False, False),
        ({}, False, False),
    ],
)
def test_a_post_must_come_from_the_dashboards_own_origin(
    headers: dict[str, str], secure: bool, allowed: bool
) -> None:
    request = make_mocked_request(
        "POST", "/dashboard/tasks", headers={"Host": "dash.example:8686", **headers}
    )
    assert is_https(request) is secure
    if allowed:
        check_same_origin(request)
    else:
        with pytest.raises(ApiError) as caught:
            check_same_origin(request)
        assert caught.value.status == 403


def test_sessions_expire_after_their_time_and_end_on_logout() -> None:
    now = [1000.0]
    sessions = Sessions(clock=lambda: now[0], seconds=60)
    sid = sessions.start()
    assert len(sid) >= 43  # 32 random bytes, URL-safe
    assert sessions.get(sid) is not None
    assert sessions.get("forged") is None
    assert sessions.get(None) is None
    now[0] += 59
    assert sessions.get(sid) is not None
    now[0] += 1
    assert sessions.get(sid) is None
    other = sessions.start()
    sessions.end(other)
    assert sessions.get(other) is None
    assert len(sessions) == 0


def test_failed_logins_wait_after_the_burst_per_address() -> None:
    now = [0.0]
    guard = LoginGuard(clock=lambda: now[0])
    for _ in range(LOGIN_BURST):
        guard.check("1.2.3.4")
        guard.failed("1.2.3.4")
    with pytest.raises(HeaderedError) as caught:
        guard.failed("1.2.3.4")
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "10"
    with pytest.raises(HeaderedError):
        guard.check("1.2.3.4")  # even the right token waits
    guard.check("5.6.7.8")  # another address is not held up
    now[0] += 10
    guard.check("1.2.3.4")


@pytest.mark.parametrize(
    ("remote", "forwarded", "address"),
    [
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "9.9.9.9, 203.0.113.5", "203.0.113.5"),
        ("::1", "203.0.113.5", "203.0.113.5"),
        ("198.51.100.1", "203.0.113.5", "198.51.100.1"),  # not our proxy: not believed
    ],
)
def test_the_client_address_is_the_proxys_forwarded_one_only_behind_loopback(
    remote: str, forwarded: str, address: str
) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    request = make_mocked_request("POST", "/dashboard/login", headers=headers)
    request = request.clone(remote=remote)
    assert client_address(request) == address
