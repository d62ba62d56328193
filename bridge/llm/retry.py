"""Retries, backoff, Retry-After and the per-attempt timeout, shared by every provider.

The SDKs' own retries are switched off so that what is retried, how long we wait and what the
room is told are decided here, once. The maths is pure and the loop takes its sleep, clock and
randomness as arguments, so all of it is testable without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from bridge.llm.base import (
    DeltaCallback,
    FailureKind,
    ProviderRequestError,
    ProviderSettings,
)

T = TypeVar("T")

_log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Random = Callable[[], float]

RETRYABLE_KINDS: frozenset[FailureKind] = frozenset(
    {"rate_limited", "overloaded", "server_error", "timeout", "connection"}
)

_DETAIL_MAX = 200


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 3
    initial_delay_s: float = 1.0
    max_delay_s: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.25
    """Each backoff delay is shortened by up to this fraction, so agents do not retry in step."""
    max_retry_after_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> RetryPolicy:
        return cls(
            max_retries=max(0, settings.max_retries),
            initial_delay_s=settings.backoff_initial_s,
            max_delay_s=settings.backoff_max_s,
            max_retry_after_s=settings.retry_after_max_s,
        )


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt, with the SDK's exception reduced to what the retry loop needs."""

    kind: FailureKind
    status: int | None = None
    retry_after_s: float | None = None
    detail: str | None = None
    """The vendor's own explanation, shortened; never shown for auth failures."""

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


# -- pure maths --------------------------------------------------------------------------------


def classify_status(status: int) -> FailureKind:
    """What an HTTP status means for us: 429, 408 and 5xx are worth another try; 402
    (Payment Required, any vendor) means the credit is spent."""
    if status == 402:
        return "quota"
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status in (503, 529):
        return "overloaded"
    if status >= 500:
        return "server_error"
    if status == 401:
        return "auth"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not_found"
    if 400 <= status < 500:
        return "bad_request"
    return "bad_response"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date; None if junk."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after_from_headers(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """Retry-After from response headers, preferring the millisecond form OpenAI also sends."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return max(0.0, value / 1000)
    return parse_retry_after(lowered.get("retry-after"), now=now)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)s\s*$")


def parse_duration(value: object) -> float | None:
    """A protobuf Duration as JSON ("37s", "0.5s"), as in Google's RetryInfo.retryDelay."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match.group(1)) if match else None


def backoff_delay(policy: RetryPolicy, retry_index: int, rand: float) -> float:
    """Exponential delay before retry number retry_index+1, capped, less up to `jitter` of it."""
    exponent = min(retry_index, 64)  # keeps the power finite for absurd indexes
    base = min(policy.max_delay_s, policy.initial_delay_s * policy.multiplier**exponent)
    return max(0.0, base * (1.0 - policy.jitter * min(max(rand, 0.0), 1.0)))


def next_delay(policy: RetryPolicy, failure: Failure, retry_index: int, rand: float) -> float:
    """The server's Retry-After wins (up to the cap); otherwise exponential backoff."""
    if failure.retry_after_s is not None:
        return min(max(0.0, failure.retry_after_s), policy.max_retry_after_s)
    return backoff_delay(policy, retry_index, rand)


def format_duration(seconds: float) -> str:
    """ "0.4 s", "40 s", "2 min 5 s": short enough for a chat message."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def shorten(text: str | None, limit: int = _DETAIL_MAX) -> str | None:
    """One line, at most `limit` characters: vendor messages can be long JSON dumps."""
    if not text:
        return None
    line = " ".join(str(text).split())
    if not line:
        return None
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def status_failure(
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    detail: str | None = None,
    retry_after_s: float | None = None,
) -> Failure:
    """A Failure for an HTTP error status; the vendor's detail is dropped for auth failures."""
    kind = classify_status(status)
    if retry_after_s is None:
        retry_after_s = retry_after_from_headers(headers)
    return Failure(
        kind,
        status=status,
        retry_after_s=retry_after_s,
        detail=None if kind == "auth" else shorten(detail),
    )


def fallback_failure(exc: BaseException) -> Failure:
    """For exceptions no SDK-specific rule matched: network-ish ones are worth a retry."""
    if isinstance(exc, TimeoutError):
        return Failure("timeout")
    if isinstance(exc, (ConnectionError, OSError)):
        return Failure("connection", detail=shorten(str(exc) or type(exc).__name__))
    return Failure("other", detail=shorten(f"{type(exc).__name__}: {exc}"))


def _times(n: int) -> str:
    return "1 time" if n == 1 else f"{n} times"


def _reason(failure: Failure, timeout_s: float) -> str:
    """A short phrase for why an attempt failed, used inside longer sentences."""
    status = f" ({failure.status})" if failure.status else ""
    return {
        "rate_limited": f"rate-limited{status}",
        "overloaded": f"overloaded{status}",
        "server_error": f"server error{status}",
        "timeout": f"no answer within {format_duration(timeout_s)}",
        "connection": "connection lost",
    }.get(failure.kind, f"{failure.kind.replace('_', ' ')}{status}")


def describe(
    settings: ProviderSettings,
    failure: Failure,
    *,
    retries: int,
    elapsed_s: float,
    partial: bool = False,
) -> str:
    """The sentence for the room: who failed, at which vendor, why, and what we already tried."""
    agent, vendor = settings.agent_label, settings.vendor_label
    status = f" ({failure.status})" if failure.status else ""
    detail = f": {failure.detail}" if failure.detail else ""
    if partial:
        why = _reason(failure, settings.timeout_s)
        head = f"{agent}: the answer from {vendor} broke off midway ({why})"
    else:
        head = {
            "rate_limited": f"{agent} is rate-limited by {vendor}",
            "quota": f"{agent}: {vendor} says the account has run out of quota{status}",
            "overloaded": f"{agent}: {vendor} is "
            f"{'unavailable' if failure.status == 503 else 'overloaded'}{status}",
            "server_error": f"{agent}: {vendor} had a server error{status}",
            "timeout": f"{agent}: {vendor} did not answer within "
            f"{format_duration(settings.timeout_s)}",
            "connection": f"{agent}: could not reach {vendor}{detail}",
            "auth": f"{agent}: {vendor} rejected the API key{status}",
            "forbidden": f"{agent}: {vendor} refused access{status}{detail}",
            "not_found": f"{agent}: {vendor} has no model {settings.model!r}{status}{detail}",
            "bad_request": f"{agent}: {vendor} rejected the request{status}{detail}",
            "bad_response": f"{agent}: {vendor} sent an answer that could not be read{detail}",
            "interrupted": f"{agent}: the answer from {vendor} broke off midway{detail}",
            "other": f"{agent}: the request to {vendor} failed{detail}",
        }[failure.kind]
    if retries == 0:
        return head
    if failure.retryable and not partial:
        return f"{head}; retried {_times(retries)} over {format_duration(elapsed_s)}"
    again = "1 retry" if retries == 1 else f"{retries} retries"
    return f"{head} (after {again} over {format_duration(elapsed_s)})"


# -- the loop ----------------------------------------------------------------------------------


class AttemptFailed(Exception):
    """Raised by a provider's attempt with the SDK exception already classified."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind)
        self.failure = failure


class _CallerFailed(Exception):
    """Wraps an exception raised by the caller's on_delta, so it is re-raised, not retried."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


Attempt = Callable[[DeltaCallback | None], Awaitable[T]]
Classifier = Callable[[Exception], Failure]


async def run_with_retries(
    attempt: Attempt[T],
    *,
    settings: ProviderSettings,
    classify: Classifier,
    on_delta: DeltaCallback | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.monotonic,
    rand: Random = random.random,
) -> T:
    """Run attempt until it succeeds, a failure is final, or the retries are spent.

    attempt gets the delta callback to use (wrapped, or None when not streaming). Each attempt
    runs under settings.timeout_s; when streaming, every text piece re-arms it, so a long
    answer that keeps flowing is never cut. Any exception other than the caller's own (from
    on_delta, re-raised unchanged) becomes a ProviderRequestError.
    """
    policy = RetryPolicy.from_settings(settings)
    started = clock()
    retries = 0
    while True:
        relay = _Relay(on_delta, settings.timeout_s)
        try:
            async with asyncio.timeout(settings.timeout_s) as deadline:
                relay.deadline = deadline
                return await attempt(relay.emit if on_delta is not None else None)
        except _CallerFailed as wrapped:
            raise wrapped.original from None
        except Exception as exc:
            failure = _failure_of(exc, classify)
            # The SDK exception never leaves this module; operators still get it in the log.
            _log.debug("%s: attempt %d failed", settings.agent_label, retries + 1, exc_info=exc)
        elapsed = clock() - started
        streamed = relay.streamed
        if streamed or not failure.retryable or retries >= policy.max_retries:
            raise ProviderRequestError(
                describe(settings, failure, retries=retries, elapsed_s=elapsed, partial=streamed),
                kind="interrupted" if streamed else failure.kind,
                status=failure.status,
                retries=retries,
                elapsed_s=elapsed,
            )
        delay = next_delay(policy, failure, retries, rand())
        _log.info(
            "%s: %s from %s; retry %d of %d in %.2f s",
            settings.agent_label,
            failure.kind,
            settings.vendor_label,
            retries + 1,
            policy.max_retries,
            delay,
        )
        await sleep(delay)
        retries += 1


class _Relay:
    """Passes text pieces to the caller, noting that some went out and re-arming the deadline."""

    def __init__(self, on_delta: DeltaCallback | None, timeout_s: float) -> None:
        self.on_delta = on_delta
        self.timeout_s = timeout_s
        self.deadline: asyncio.Timeout | None = None
        self.streamed = False

    async def emit(self, piece: str) -> None:
        if not piece or self.on_delta is None:
            return
        self.streamed = True
        if self.deadline is not None:
            self.deadline.reschedule(None)  # the caller's own time is not the vendor's
        try:
            await self.on_delta(piece)
        except Exception as exc:
            raise _CallerFailed(exc) from exc
        if self.deadline is not None:
            self.deadline.reschedule(asyncio.get_running_loop().time() + self.timeout_s)


def _failure_of(exc: Exception, classify: Classifier) -> Failure:
    if isinstance(exc, AttemptFailed):
        return exc.failure
    if isinstance(exc, TimeoutError):
        return Failure("timeout")
    try:
        return classify(exc)
    except Exception:  # a classifier bug must not leak an SDK exception
        _log.exception("classifying %s failed", type(exc).__name__)
        return fallback_failure(exc)
