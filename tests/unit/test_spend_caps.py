"""Spend ledger maths: a call's worst case, its lifetime, which cap a hold crosses, months;
and the vendors' "credit spent" shapes told apart from rate limits and outages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bots.agents.budget import Price, PriceTable
from bots.agents.spend_caps import (
    call_lifetime,
    crossed,
    month_days,
    month_of,
    used_up,
    worst_case,
)
from bots.store.ledger import Limits, Spend, Standing
from bridge.llm.base import ChatMessage, ProviderSettings
from bridge.llm.quota import anthropic_out_of_credit, gemini_out_of_credit, openai_out_of_credit
from bridge.llm.retry import classify_status

PRICES = PriceTable({"m": Price(2.0, 8.0)})


def test_the_worst_case_is_every_prompt_token_and_every_output_token() -> None:
    messages = [ChatMessage("system", "a" * 400), ChatMessage("user", "b" * 40)]
    worst = worst_case(PRICES, "m", messages, max_tokens=1000)
    # 100 + 10 tokens of text, 4 per turn, 1000 of output, at $2 / $8 per million.
    assert worst.tokens == 118 + 1000
    assert worst.cost_usd == pytest.approx((118 * 2.0 + 1000 * 8.0) / 1e6)


def test_an_unpriced_model_reserves_tokens_but_no_money() -> None:
    worst = worst_case(PRICES, "local-llama", [ChatMessage("user", "hi")], max_tokens=10)
    assert (worst.tokens, worst.cost_usd) == (15, 0.0)


def test_a_call_lives_through_every_attempt_and_every_wait() -> None:
    settings = ProviderSettings(
        kind="openai", model="m", timeout_s=60, max_retries=3, backoff_max_s=30
    )
    # 4 attempts of 60 s, 3 waits of at most 60 s (Retry-After's cap), one minute's margin.
    assert call_lifetime(settings) == 4 * 60 + 3 * 60 + 60


def standing(agent: float = 0.0, task: float = 0.0, day: float = 0.0, tokens: int = 0) -> Standing:
    return Standing(Spend(agent, tokens=tokens), Spend(task), Spend(day))


@pytest.mark.parametrize(
    ("limits", "now", "cost", "tokens", "scopes"),
    [
        pytest.param(Limits(), standing(9, 9, 9), 1.0, 10, [], id="no-caps"),
        pytest.param(Limits(agent_usd=1.0), standing(0.5), 0.5, 10, [], id="agent-at-cap"),
        pytest.param(Limits(agent_usd=1.0), standing(0.6), 0.5, 10, ["agent"], id="agent-over"),
        pytest.param(
            Limits(agent_tokens=100), standing(tokens=95), 0.0, 10, ["agent"], id="tokens-over"
        ),
        pytest.param(Limits(task_usd=1.0), standing(task=0.9), 0.2, 10, ["task"], id="task"),
        pytest.param(Limits(global_usd=2.0), standing(day=1.9), 0.2, 10, ["council"], id="council"),
        pytest.param(
            Limits(agent_usd=1.0, task_usd=1.0, global_usd=1.0),
            standing(0.9, 0.9, 0.9),
            0.2,
            10,
            ["agent", "task", "council"],
            id="all-three",
        ),
    ],
)
def test_which_cap_a_hold_crosses(
    limits: Limits, now: Standing, cost: float, tokens: int, scopes: list[str]
) -> None:
    assert [c.scope for c in crossed(limits, now, cost, tokens)] == scopes


@pytest.mark.parametrize(
    ("limits", "spent", "words"),
    [
        pytest.param(Limits(), Spend(10**6, 0.0, 10**9), [], id="no limits never block"),
        pytest.param(
            Limits(agent_tokens=200_000), Spend(tokens=199_999), [], id="under the token limit"
        ),
        pytest.param(
            Limits(agent_tokens=200_000),
            Spend(tokens=200_000),
            ["daily token budget used up (200,000 of 200,000 tokens)"],
            id="at the token limit",
        ),
        pytest.param(
            Limits(agent_tokens=200_000),
            Spend(tokens=150_000, held_tokens=50_000),
            ["daily token budget used up (200,000 of 200,000 tokens)"],
            id="held tokens count",
        ),
        pytest.param(
            Limits(agent_usd=5.0),
            Spend(5.0123, 0.0, 10),
            ["daily cost budget used up ($5.01 of $5.00)"],
            id="over the cost limit",
        ),
        pytest.param(
            Limits(agent_usd=1.0, agent_tokens=100),
            Spend(2.0, 0.0, 150),
            [
                "daily token budget used up (150 of 100 tokens)",
                "daily cost budget used up ($2.00 of $1.00)",
            ],
            id="both limits",
        ),
        pytest.param(
            Limits(agent_tokens=0),
            Spend(),
            ["daily token budget used up (0 of 0 tokens)"],
            id="a zero budget silences the agent",
        ),
        pytest.param(
            Limits(task_usd=0.01, global_usd=0.01),
            Spend(1.0, 0.0, 10**6),
            [],
            id="only the agent's own caps",
        ),
    ],
)
def test_a_used_up_day(limits: Limits, spent: Spend, words: list[str]) -> None:
    assert used_up(limits, spent) == words


@pytest.mark.parametrize(
    ("moment", "zone", "month"),
    [
        pytest.param(
            datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
            "Asia/Seoul",
            ("2026-12-01", "2026-12-31"),
            id="seoul-midnight-starts-december",
        ),
        pytest.param(
            datetime(2026, 11, 30, 14, 59, tzinfo=UTC),
            "Asia/Seoul",
            ("2026-11-01", "2026-11-30"),
            id="seoul-still-november",
        ),
        pytest.param(
            datetime(2028, 2, 29, 12, 0, tzinfo=UTC), "UTC", ("2028-02-01", "2028-02-29"), id="leap"
        ),
        pytest.param(
            datetime(2027, 1, 1, 4, 0, tzinfo=UTC),
            "America/New_York",
            ("2026-12-01", "2026-12-31"),
            id="new-york-still-last-year",
        ),
    ],
)
def test_the_local_month(moment: datetime, zone: str, month: tuple[str, str]) -> None:
    assert month_days(moment, zone) == month


def test_month_of_a_day() -> None:
    assert month_of("2026-02-14") == ("2026-02-01", "2026-02-28")


GEMINI_DAILY = {
    "error": {
        "code": 429,
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}],
            }
        ],
    }
}
GEMINI_MINUTE = {
    "error": {
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}],
            }
        ]
    }
}
EXCEEDED = "You exceeded your current quota, please check your plan and billing details."


@pytest.mark.parametrize(
    ("vendor", "status", "kind", "message", "details", "spent"),
    [
        pytest.param("openai", 429, "insufficient_quota", None, None, True, id="openai-quota"),
        pytest.param("openai", 429, "rate_limit_exceeded", None, None, False, id="openai-rate"),
        pytest.param("openai", 402, None, None, None, True, id="openai-402"),
        pytest.param("openai", 503, None, None, None, False, id="openai-outage"),
        pytest.param("anthropic", 402, "billing_error", None, None, True, id="anthropic-billing"),
        pytest.param(
            "anthropic",
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans "
            "& Billing to upgrade or purchase credits.",
            None,
            True,
            id="anthropic-credit-balance",
        ),
        pytest.param(
            "anthropic", 400, "invalid_request_error", "max_tokens: too big", None, False,
            id="anthropic-bad-request",
        ),
        pytest.param("anthropic", 429, "rate_limit_error", None, None, False, id="anthropic-rate"),
        pytest.param("anthropic", 529, "overloaded_error", None, None, False, id="anthropic-busy"),
        pytest.param("gemini", 429, None, EXCEEDED, GEMINI_DAILY, True, id="gemini-per-day"),
        pytest.param("gemini", 429, None, EXCEEDED, GEMINI_MINUTE, False, id="gemini-per-minute"),
        pytest.param("gemini", 429, None, "Resource exhausted.", None, False, id="gemini-bare"),
        pytest.param(
            "gemini", 429, None, "Your prepayment credits are depleted.", None, True,
            id="gemini-prepaid-credits",
        ),
        pytest.param("gemini", 402, None, None, None, True, id="gemini-402"),
        pytest.param("gemini", 503, None, None, GEMINI_DAILY, False, id="gemini-outage"),
    ],
)  # fmt: skip
def test_credit_spent_is_told_apart_from_rate_limits_and_outages(
    vendor: str, status: int, kind: str | None, message: str | None, details: Any, spent: bool
) -> None:
    if vendor == "openai":
        assert openai_out_of_credit(status, kind) is spent
    elif vendor == "anthropic":
        assert anthropic_out_of_credit(status, kind, message) is spent
    else:
        assert gemini_out_of_credit(status, message, details) is spent


@pytest.mark.parametrize(
    ("status", "kind"),
    [(402, "quota"), (429, "rate_limited"), (503, "overloaded"), (400, "bad_request")],
    ids=["payment-required", "rate-limit", "unavailable", "bad-request"],
)
def test_any_vendors_402_is_spent_credit(status: int, kind: str) -> None:
    assert classify_status(status) == kind
