"""What one caller may send: 413 over the body limit, 429 over the rate (per token, with
Retry-After in whole seconds), the token bucket itself, and settings that cannot work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.http.app import build_app
from bridge.http.limits import RateLimiter
from bridge.http.ports import ApiError
from bridge.http.settings import BridgeHttpSettings
from tests.support.bridge_ports import memory

MANUS = {"Authorization": "Bearer t-manus"}
SMALL = BridgeHttpSettings(port=0, max_body_bytes=2048)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 512):
        yield data[i : i + 512]


@pytest.mark.parametrize(
    ("how", "size", "status"),
    [
        ("with Content-Length", 2000, 201),
        ("with Content-Length", 5000, 413),
        ("chunked, no Content-Length", 2000, 201),
        ("chunked, no Content-Length", 5000, 413),
    ],
)
async def test_a_body_over_the_limit_is_a_json_413_and_changes_nothing(
    how: str, size: int, status: int
) -> None:
    mem = memory()
    body = b'{"title": "' + b"x" * (size - 13) + b'"}'
    data: Any = body if how.startswith("with") else _chunks(body)
    async with TestClient(TestServer(build_app(mem.ports(), SMALL))) as client:
        response = await client.post("/api/tasks", data=data, headers=MANUS)
        assert response.status == status, await response.text()
        answer = await response.json()
    if status == 413:
        assert "2048 bytes" in answer["error"]["message"]
        assert mem.effects.count == 0
    else:
        assert mem.effects.count == 1


async def test_over_the_rate_a_token_gets_429_with_retry_after_and_others_do_not() -> None:
    mem = memory()
    settings = BridgeHttpSettings(port=0, rate_per_minute=6, burst=2)  # one call per 10 s
    async with TestClient(TestServer(build_app(mem.ports(), settings))) as client:
        statuses = [(await client.get("/api/tasks", headers=MANUS)).status for _ in range(2)]
        limited = await client.post("/api/tasks", json={"title": "x"}, headers=MANUS)
        other = await client.get("/api/tasks", headers={"Authorization": "Bearer t-wrtn"})
        public = await client.get("/help")
        assert statuses == [200, 200]
        assert limited.status == 429
        assert 9 <= int(limited.headers["Retry-After"]) <= 10
        assert "6 a minute" in (await limited.json())["error"]["message"]
        assert other.status == 200
        assert public.status == 200
    assert mem.effects.count == 0


async def test_bad_tokens_are_refused_before_the_rate_is_counted() -> None:
    mem = memory()
    settings = BridgeHttpSettings(port=0, rate_per_minute=1, burst=1)
    async with TestClient(TestServer(build_app(mem.ports(), settings))) as client:
        for _ in range(3):
            bad = await client.get("/api/tasks", headers={"Authorization": "Bearer t-manus2"})
            assert bad.status == 401
        assert (await client.get("/api/tasks", headers=MANUS)).status == 200


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("rate", "burst", "calls", "expected"),
    [
        # calls: (time, key); expected: the wait each call got (0 = allowed)
        (60, 2, [(0, "a"), (0, "a"), (0, "a")], [0, 0, 1.0]),
        (60, 2, [(0, "a"), (0, "a"), (0, "b")], [0, 0, 0]),  # per key
        (60, 1, [(0, "a"), (0.5, "a"), (1.0, "a")], [0, 0.5, 0]),  # refills at the rate
        (60, 2, [(0, "a"), (0, "a"), (100, "a"), (100, "a"), (100, "a")], [0, 0, 0, 0, 1.0]),
        (6, 1, [(0, "a"), (1, "a")], [0, 9.0]),  # never more than burst saved up
    ],
)
def test_the_token_bucket(
    rate: float, burst: int, calls: list[tuple[float, str]], expected: list[float]
) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, burst, clock)
    waits = []
    for at, key in calls:
        clock.now = at
        waits.append(round(limiter.wait_for(key), 6))
    assert waits == expected


@pytest.mark.parametrize(("wait_rate", "retry_after"), [(6, "10"), (600, "1"), (7, "9")])
def test_retry_after_is_whole_seconds_rounded_up(wait_rate: float, retry_after: str) -> None:
    limiter = RateLimiter(wait_rate, 1, Clock())
    limiter.check("a")
    with pytest.raises(ApiError) as raised:
        limiter.check("a")
    assert raised.value.status == 429
    assert getattr(raised.value, "headers", {})["Retry-After"] == retry_after


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"port": 70000}, "port"),
        ({"port": -1}, "port"),
        ({"max_body_bytes": 10}, "max_body_bytes"),
        ({"rate_per_minute": 0}, "rate_per_minute"),
        ({"burst": 0}, "burst"),
        ({"heartbeat_seconds": 0}, "heartbeat_seconds"),
        ({"list_limit": 0}, "list_limit"),
        ({"list_limit": 600}, "list_limit"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_setting(
    changes: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        BridgeHttpSettings(**changes)
