"""How much one token may ask: a token bucket per token (429 with Retry-After).

Body size is aiohttp's `client_max_size` plus the Content-Length check in `bodies`, both
answered as a JSON 413.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge.http.problems import HeaderedError


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`burst` calls at once, then `rate_per_minute` a minute, per key (the bearer token)."""

    def __init__(
        self,
        rate_per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def wait_for(self, key: str) -> float:
        """Takes one call from `key`'s bucket: 0 when allowed, else seconds until one is."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._rate

    def check(self, key: str) -> None:
        """429 with `Retry-After` in whole seconds (at least 1) when `key` is over its rate."""
        wait = self.wait_for(key)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise HeaderedError(
                429,
                f"too many calls: this token may make {self._rate * 60:g} a minute "
                f"({self._burst:g} at once); try again in {seconds} s",
                {"Retry-After": str(seconds)},
            )
