"""Retry maths and the retry loop, without an SDK and without waiting for real."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bridge.llm.base import (
    DeltaCallback,
    ProviderConfigError,
    ProviderRequestError,
    ProviderSettings,
)
from bridge.llm.retry import (
    AttemptFailed,
    Failure,
    RetryPolicy,
    backoff_delay,
    classify_status,
    describe,
    format_duration,
    next_delay,
    parse_duration,
    parse_retry_after,
    retry_after_from_headers,
    run_with_retries,
    shorten,
    status_failure,
)

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_retries=3, initial_delay_s=1.0, max_delay_s=30.0, multiplier=2.0, jitter=0.25
)
CLAUDE = ProviderSettings(
    kind="anthropic",
    model="claude-x",
    api_key="k",
    display_name="Claude",
    timeout_s=30.0,
    max_retries=3,
    backoff_initial_s=1.0,
    backoff_max_s=30.0,
    retry_after_max_s=60.0,
)


# -- status codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (429, "rate_limited", True),
        (408, "timeout", True),
        (500, "server_error", True),
        (502, "server_error", True),
        (504, "server_error", True),
        (503, "overloaded", True),
        (529, "overloaded", True),
        (400, "bad_request", False),
        (401, "auth", False),
        (403, "forbidden", False),
        (404, "not_found", False),
        (409, "bad_request", False),
        (413, "bad_request", False),
        (422, "bad_request", False),
        (302, "bad_response", False),
    ],
)
def test_classify_status(status: int, kind: str, retryable: bool) -> None:
    assert classify_status(status) == kind
    assert status_failure(status).retryable is retryable


def test_status_failure_reads_retry_after_and_hides_auth_details() -> None:
    failure = status_failure(429, headers={"Retry-After": "7"}, detail="slow down")
    assert failure == Failure("rate_limited", status=429, retry_after_s=7.0, detail="slow down")
    assert status_failure(401, detail="key sk-123 is wrong").detail is None
    explicit = status_failure(429, headers={"retry-after": "7"}, retry_after_s=2.0)
    assert explicit.retry_after_s == 2.0


# -- Retry-After -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("2", 2.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("", None),
        ("   ", None),
        (None, None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("Wed, 01 Jan 2025 12:00:30 GMT", 30.0),
        ("Wed, 01 Jan 2025 12:02:00 GMT", 120.0),
        ("Tue, 31 Dec 2024 23:59:59 GMT", 0.0),  # in the past: go now
        ("Wed, 01 Jan 2025 12:00:30", 30.0),  # no zone: HTTP dates are GMT
        ("Wed, 99 Foo 2025 12:00:30 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, None),
        ({}, None),
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "3"}, 3.0),
        ({"RETRY-AFTER": "Wed, 01 Jan 2025 12:00:10 GMT"}, 10.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"retry-after-ms": "-5"}, 0.0),
        ({"content-type": "application/json"}, None),
    ],
)
def test_retry_after_from_headers(headers: dict[str, str] | None, expected: float | None) -> None:
    assert retry_after_from_headers(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("37s", 37.0),
        ("0.5s", 0.5),
        (".5s", 0.5),
        ("1.25s", 1.25),
        (" 4s ", 4.0),
        ("s", None),
        ("5", None),
        ("5m", None),
        ("-1s", None),
        (5, None),
        (None, None),
    ],
)
def test_parse_duration(value: object, expected: float | None) -> None:
    assert parse_duration(value) == expected


# -- backoff -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_index", "rand", "expected"),
    [
        (0, 0.0, 1.0),
        (1, 0.0, 2.0),
        (2, 0.0, 4.0),
        (4, 0.0, 16.0),
        (5, 0.0, 30.0),  # 32 capped
        (1000, 0.0, 30.0),  # no overflow for absurd indexes
        (0, 1.0, 0.75),  # full jitter takes off a quarter
        (3, 0.5, 7.0),  # 8 less 12.5 %
        (5, 1.0, 22.5),
        (0, 7.0, 0.75),  # rand is clamped to [0, 1]
        (0, -1.0, 1.0),
    ],
)
def test_backoff_delay(retry_index: int, rand: float, expected: float) -> None:
    assert backoff_delay(POLICY, retry_index, rand) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("retry_after", "retry_index", "expected"),
    [
        (None, 0, 1.0),
        (None, 2, 4.0),
        (0.0, 2, 0.0),  # the server says "now": believe it
        (5.0, 0, 5.0),
        (5.0, 4, 5.0),  # Retry-After replaces backoff, even when shorter
        (3600.0, 0, 60.0),  # capped by max_retry_after_s
        (-2.0, 0, 0.0),
    ],
)
def test_next_delay(retry_after: float | None, retry_index: int, expected: float) -> None:
    failure = Failure("rate_limited", status=429, retry_after_s=retry_after)
    assert next_delay(POLICY, failure, retry_index, rand=0.0) == expected


def test_policy_from_settings() -> None:
    policy = RetryPolicy.from_settings(CLAUDE)
    assert (policy.max_retries, policy.initial_delay_s, policy.max_delay_s) == (3, 1.0, 30.0)
    assert policy.max_retry_after_s == 60.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_tokens", 0, "max_tokens must be positive"),
        ("timeout_s", 0.0, "timeout_s must be positive"),
        ("max_retries", -1, "max_retries must be zero or more"),
        ("backoff_initial_s", -0.5, "backoff_initial_s must be zero or more"),
    ],
)
def test_settings_reject_nonsense(field: str, value: float, message: str) -> None:
    with pytest.raises(ProviderConfigError, match=f"^Gem: {message}$"):
        ProviderSettings(kind="gemini", model="g", display_name="Gem", **{field: value})  # type: ignore[arg-type]


# -- messages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "0 s"),
        (-1.0, "0 s"),
        (0.04, "0 s"),
        (0.4, "0.4 s"),
        (2.0, "2 s"),
        (9.94, "9.9 s"),
        (9.96, "10 s"),
        (40.4, "40 s"),
        (59.6, "1 min"),
        (125.0, "2 min 5 s"),
        (3600.0, "60 min"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("  \n ", None),
        ("line one\n  line two", "line one line two"),
        ("x" * 250, "x" * 199 + "…"),
    ],
)
def test_shorten(text: str | None, expected: str | None) -> None:
    assert shorten(text) == expected


@pytest.mark.parametrize(
    ("failure", "retries", "elapsed", "partial", "expected"),
    [
        (
            Failure("rate_limited", 429),
            3,
            40.0,
            False,
            "Claude is rate-limited by Anthropic; retried 3 times over 40 s",
        ),
        (Failure("rate_limited", 429), 0, 0.0, False, "Claude is rate-limited by Anthropic"),
        (
            Failure("server_error", 500),
            1,
            2.0,
            False,
            "Claude: Anthropic had a server error (500); retried 1 time over 2 s",
        ),
        (
            Failure("overloaded", 529),
            2,
            5.0,
            False,
            "Claude: Anthropic is overloaded (529); retried 2 times over 5 s",
        ),
        (
            Failure("overloaded", 503),
            2,
            5.0,
            False,
            "Claude: Anthropic is unavailable (503); retried 2 times over 5 s",
        ),
        (
            Failure("timeout"),
            1,
            95.0,
            False,
            "Claude: Anthropic did not answer within 30 s; retried 1 time over 1 min 35 s",
        ),
        (
            Failure("connection", detail="connection refused"),
            3,
            7.0,
            False,
            "Claude: could not reach Anthropic: connection refused; retried 3 times over 7 s",
        ),
        (Failure("auth", 401), 0, 0.1, False, "Claude: Anthropic rejected the API key (401)"),
        (
            Failure("forbidden", 403, detail="region not supported"),
            0,
            0.1,
            False,
            "Claude: Anthropic refused access (403): region not supported",
        ),
        (
            Failure("not_found", 404),
            0,
            0.1,
            False,
            "Claude: Anthropic has no model 'claude-x' (404)",
        ),
        (
            Failure("bad_request", 400, detail="max_tokens too large"),
            2,
            3.0,
            False,
            "Claude: Anthropic rejected the request (400): max_tokens too large "
            "(after 2 retries over 3 s)",
        ),
        (
            Failure("quota", 429, detail="billing"),
            0,
            0.1,
            False,
            "Claude: Anthropic says the account has run out of quota (429)",
        ),
        (
            Failure("bad_response", detail="not JSON"),
            0,
            0.1,
            False,
            "Claude: Anthropic sent an answer that could not be read: not JSON",
        ),
        (
            Failure("other", detail="RuntimeError: boom"),
            1,
            1.0,
            False,
            "Claude: the request to Anthropic failed: RuntimeError: boom (after 1 retry over 1 s)",
        ),
        (
            Failure("connection"),
            0,
            4.0,
            True,
            "Claude: the answer from Anthropic broke off midway (connection lost)",
        ),
        (
            Failure("timeout"),
            1,
            4.0,
            True,
            "Claude: the answer from Anthropic broke off midway (no answer within 30 s) "
            "(after 1 retry over 4 s)",
        ),
    ],
)
def test_describe(
    failure: Failure, retries: int, elapsed: float, partial: bool, expected: str
) -> None:
    message = describe(CLAUDE, failure, retries=retries, elapsed_s=elapsed, partial=partial)
    assert message == expected


@pytest.mark.parametrize(
    ("settings", "agent", "vendor"),
    [
        (ProviderSettings(kind="openai", model="gpt-4o"), "gpt-4o", "OpenAI"),
        (ProviderSettings(kind="gemini", model="g", display_name="Gem"), "Gem", "Google"),
        (
            ProviderSettings(kind="openai-compatible", model="m", base_url="http://box:11434/v1"),
            "m",
            "the server at box:11434",
        ),
        (
            ProviderSettings(
                kind="openai-compatible", model="m", base_url="https://x/v1", vendor="DeepSeek"
            ),
            "m",
            "DeepSeek",
        ),
    ],
)
def test_labels_for_messages(settings: ProviderSettings, agent: str, vendor: str) -> None:
    assert (settings.agent_label, settings.vendor_label) == (agent, vendor)


# -- the loop ----------------------------------------------------------------------------------


class FakeTime:
    """A clock that only moves when the retry loop sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """An attempt function that fails with the given outcomes in turn, then answers."""

    def __init__(self, *outcomes: Exception | str) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self, emit: DeltaCallback | None) -> str:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else "done"
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def fail(kind: str = "server_error", status: int | None = 500, **kw: object) -> AttemptFailed:
    return AttemptFailed(Failure(kind, status=status, **kw))  # type: ignore[arg-type]


async def run(script: Script, time: FakeTime, **kw: object) -> str:
    settings = kw.pop("settings", CLAUDE)
    assert isinstance(settings, ProviderSettings)
    return await run_with_retries(
        script,
        settings=settings,
        classify=kw.pop("classify", lambda exc: Failure("other", detail=str(exc))),  # type: ignore[arg-type]
        sleep=time.sleep,
        clock=time.clock,
        rand=lambda: 0.0,
        **kw,  # type: ignore[arg-type]
    )


async def test_loop_retries_with_backoff_then_succeeds() -> None:
    time, script = FakeTime(), Script(fail(), fail(), "answer")
    assert await run(script, time) == "answer"
    assert script.calls == 3
    assert time.sleeps == [1.0, 2.0]


async def test_loop_prefers_retry_after() -> None:
    time, script = FakeTime(), Script(fail("rate_limited", 429, retry_after_s=9.0), "answer")
    assert await run(script, time) == "answer"
    assert time.sleeps == [9.0]


async def test_loop_gives_up_after_max_retries() -> None:
    time = FakeTime()
    script = Script(*(fail("rate_limited", 429, retry_after_s=10.0) for _ in range(10)))
    with pytest.raises(ProviderRequestError) as caught:
        await run(script, time)
    err = caught.value
    assert str(err) == "Claude is rate-limited by Anthropic; retried 3 times over 30 s"
    assert (err.kind, err.status, err.retries, err.elapsed_s) == ("rate_limited", 429, 3, 30.0)
    assert script.calls == 4


@pytest.mark.parametrize("kind", ["auth", "forbidden", "not_found", "bad_request", "quota"])
async def test_loop_does_not_retry_final_failures(kind: str) -> None:
    time, script = FakeTime(), Script(fail(kind, 400), "never reached")
    with pytest.raises(ProviderRequestError) as caught:
        await run(script, time)
    assert caught.value.kind == kind
    assert script.calls == 1
    assert time.sleeps == []


async def test_loop_with_no_retries_allowed() -> None:
    time, script = FakeTime(), Script(fail())
    settings = ProviderSettings(kind="openai", model="m", display_name="GPT", max_retries=0)
    with pytest.raises(ProviderRequestError, match=r"^GPT: OpenAI had a server error \(500\)$"):
        await run(script, time, settings=settings)


async def test_loop_classifies_foreign_exceptions() -> None:
    time = FakeTime()
    script = Script(ValueError("weird"), ConnectionResetError("reset"), "ok")

    def classify(exc: Exception) -> Failure:
        if isinstance(exc, ValueError):
            return Failure("server_error", 502)
        raise RuntimeError("classifier bug")  # falls back: OSError means connection

    assert await run(script, time, classify=classify) == "ok"
    assert script.calls == 3


async def test_loop_turns_unknown_exceptions_into_provider_errors() -> None:
    time, script = FakeTime(), Script(KeyError("choices"))
    with pytest.raises(ProviderRequestError) as caught:
        await run(script, time)
    assert caught.value.kind == "other"
    assert "choices" in str(caught.value)


async def test_loop_times_out_each_attempt() -> None:
    time = FakeTime()
    settings = ProviderSettings(
        kind="gemini", model="g", display_name="Gemini", timeout_s=0.1, max_retries=1
    )
    calls = 0

    async def hang(emit: DeltaCallback | None) -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(10)
        return "never"

    with pytest.raises(ProviderRequestError) as caught:
        await run_with_retries(
            hang, settings=settings, classify=lambda e: Failure("other"), sleep=time.sleep
        )
    assert caught.value.kind == "timeout"
    assert str(caught.value).startswith("Gemini: Google did not answer within 0.1 s; retried 1")
    assert calls == 2


async def test_each_streamed_piece_rearms_the_deadline() -> None:
    settings = ProviderSettings(kind="openai", model="m", timeout_s=0.1, max_retries=0)
    received: list[str] = []

    async def on_delta(piece: str) -> None:
        received.append(piece)

    async def trickle(emit: DeltaCallback | None) -> str:
        assert emit is not None
        for piece in "abcdefgh":
            await asyncio.sleep(0.02)  # 0.16 s in all, never 0.1 s without a piece
            await emit(piece)
        return "".join(received)

    result = await run_with_retries(
        trickle, settings=settings, classify=lambda e: Failure("other"), on_delta=on_delta
    )
    assert result == "abcdefgh"


async def test_failure_after_streaming_started_is_not_retried() -> None:
    time = FakeTime()
    received: list[str] = []

    async def on_delta(piece: str) -> None:
        received.append(piece)

    async def half(emit: DeltaCallback | None) -> str:
        assert emit is not None
        await emit("Hello")
        raise fail("connection", None)

    with pytest.raises(ProviderRequestError) as caught:
        await run_with_retries(
            half,
            settings=CLAUDE,
            classify=lambda e: Failure("other"),
            on_delta=on_delta,
            sleep=time.sleep,
            clock=time.clock,
        )
    assert caught.value.kind == "interrupted"
    assert received == ["Hello"]
    assert time.sleeps == []


async def test_empty_pieces_are_not_passed_on() -> None:
    received: list[str] = []

    async def on_delta(piece: str) -> None:
        received.append(piece)

    async def attempt(emit: DeltaCallback | None) -> str:
        assert emit is not None
        await emit("")
        await emit("x")
        return "x"

    await run_with_retries(
        attempt, settings=CLAUDE, classify=lambda e: Failure("other"), on_delta=on_delta
    )
    assert received == ["x"]


async def test_callers_exceptions_pass_through_untouched() -> None:
    class Boom(Exception):
        pass

    async def on_delta(piece: str) -> None:
        raise Boom(piece)

    calls = 0

    async def attempt(emit: DeltaCallback | None) -> str:
        nonlocal calls
        calls += 1
        assert emit is not None
        await emit("piece")
        return "unreachable"

    with pytest.raises(Boom, match="piece"):
        await run_with_retries(
            attempt, settings=CLAUDE, classify=lambda e: Failure("other"), on_delta=on_delta
        )
    assert calls == 1


async def test_cancellation_is_not_swallowed() -> None:
    async def attempt(emit: DeltaCallback | None) -> str:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run_with_retries(attempt, settings=CLAUDE, classify=lambda e: Failure("other"))
