"""Budget maths: prices, the master's calendar day (KST by default), and its end in words.
(Whether a call fits is the spend ledger's: tests/unit/test_spend_caps.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bots.agents.budget import (
    DEFAULT_PRICES,
    Price,
    PriceTable,
    day_window,
    format_out_of_budget,
    local_day,
)
from bots.text.durations import countdown
from bridge.llm.base import Usage


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- prices ---------------------------------------------------------------------------------

TABLE = PriceTable.from_mapping(
    {
        "claude-sonnet-4-5": {"input": 3.0, "output": 15.0},
        "gpt-4.1": {"input": 2.0, "output": 8.0},
        "gpt-4.1-mini": {"input": 0.4, "output": 1.6},
    }
)


@pytest.mark.parametrize(
    ("model", "usage", "cost"),
    [
        pytest.param("claude-sonnet-4-5", Usage(1_000_000, 0), 3.0, id="input only"),
        pytest.param("claude-sonnet-4-5", Usage(0, 1_000_000), 15.0, id="output only"),
        pytest.param("gpt-4.1", Usage(12_000, 800), 0.0304, id="a typical call"),
        pytest.param(
            "claude-sonnet-4-5-20250929", Usage(1_000_000, 0), 3.0, id="dated snapshot by prefix"
        ),
        pytest.param("gpt-4.1-mini", Usage(1_000_000, 0), 0.4, id="the longest prefix wins"),
        pytest.param(
            "gpt-4.1-mini-2025-04-14", Usage(1_000_000, 0), 0.4, id="a snapshot of the longer name"
        ),
        pytest.param("gpt-4.1-latest", Usage(1_000_000, 0), 2.0, id="-latest"),
        pytest.param("gpt-4.1-nano", Usage(1_000_000, 0), 0.0, id="another model is not priced"),
        pytest.param("llama3.1", Usage(50_000, 5_000), 0.0, id="an unlisted local model is free"),
        pytest.param("gpt-4.1", Usage(), 0.0, id="no tokens"),
    ],
)
def test_cost(model: str, usage: Usage, cost: float) -> None:
    assert TABLE.cost(model, usage) == pytest.approx(cost)


def test_the_default_table_prices_the_example_models() -> None:
    table = PriceTable()
    for model in ("claude-sonnet-4-6", "gpt-4.1", "gemini-2.5-flash", "sonar"):
        assert table.price(model) == DEFAULT_PRICES[model]
    assert table.price("llama3.1") is None


@pytest.mark.parametrize(
    ("model", "priced_as"),
    [
        pytest.param("sonar-pro", "sonar-pro", id="sonar-pro is not sonar"),
        pytest.param("sonar-reasoning-pro", "sonar-reasoning-pro", id="nor is its reasoning one"),
        pytest.param("gpt-4o-mini", "gpt-4o-mini", id="a mini is not its big brother"),
        pytest.param("gpt-5-mini", "gpt-5-mini", id="gpt-5-mini"),
        pytest.param("gpt-4o-2024-08-06", "gpt-4o", id="a dated snapshot"),
        pytest.param("claude-sonnet-4-5@20250929", "claude-sonnet-4-5", id="a Vertex snapshot"),
        pytest.param("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash", id="a preview"),
        pytest.param("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", id="lite is its own"),
    ],
)
def test_the_default_table_tells_neighbouring_models_apart(model: str, priced_as: str) -> None:
    assert PriceTable().price(model) == DEFAULT_PRICES[priced_as]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param({"m": {"input": 1.0}}, "lacks output", id="missing output"),
        pytest.param({"m": {"input": -1.0, "output": 1.0}}, "negative", id="negative price"),
    ],
)
def test_a_bad_price_mapping_is_refused(data: dict[str, dict[str, float]], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        PriceTable.from_mapping(data)


def test_from_mapping_reads_floats() -> None:
    assert PriceTable.from_mapping({"m": {"input": 1, "output": 2}}).price("m") == Price(1.0, 2.0)


# --- the day --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "zone", "start", "reset"),
    [
        pytest.param(
            "2025-03-01T14:59:59",
            "Asia/Seoul",
            "2025-02-28T15:00:00",
            "2025-03-01T15:00:00",
            id="KST 23:59:59 is still the old day",
        ),
        pytest.param(
            "2025-03-01T15:00:00",
            "Asia/Seoul",
            "2025-03-01T15:00:00",
            "2025-03-02T15:00:00",
            id="KST midnight starts the new day",
        ),
        pytest.param(
            "2025-03-01T03:00:00",
            "Asia/Seoul",
            "2025-02-28T15:00:00",
            "2025-03-01T15:00:00",
            id="UTC morning is KST afternoon",
        ),
        pytest.param(
            "2024-12-31T15:30:00",
            "Asia/Seoul",
            "2024-12-31T15:00:00",
            "2025-01-01T15:00:00",
            id="new year in Seoul, still old year in UTC",
        ),
        pytest.param(
            "2024-02-29T12:00:00",
            "Asia/Seoul",
            "2024-02-28T15:00:00",
            "2024-02-29T15:00:00",
            id="leap day",
        ),
        pytest.param(
            "2025-03-01T14:59:59",
            "UTC",
            "2025-03-01T00:00:00",
            "2025-03-02T00:00:00",
            id="UTC",
        ),
        pytest.param(
            "2025-03-09T12:00:00",
            "America/New_York",
            "2025-03-09T05:00:00",
            "2025-03-10T04:00:00",
            id="a 23-hour day when DST starts",
        ),
        pytest.param(
            "2025-11-02T12:00:00",
            "America/New_York",
            "2025-11-02T04:00:00",
            "2025-11-03T05:00:00",
            id="a 25-hour day when DST ends",
        ),
    ],
)
def test_day_window(now: str, zone: str, start: str, reset: str) -> None:
    assert day_window(utc(now), zone) == (utc(start), utc(reset))


def test_korea_has_no_dst_so_every_day_is_24_hours() -> None:
    moment = utc("2025-01-01T00:00:00")
    for _ in range(366):
        start, reset = day_window(moment)
        assert reset - start == timedelta(hours=24)
        assert start.hour == 15  # 00:00 KST
        moment += timedelta(days=1)


@pytest.mark.parametrize(
    ("now", "zone", "day"),
    [
        pytest.param("2025-03-01T14:59:59", "Asia/Seoul", "2025-03-01", id="before KST midnight"),
        pytest.param("2025-03-01T15:00:00", "Asia/Seoul", "2025-03-02", id="at KST midnight"),
        pytest.param("2025-03-01T15:00:00", "UTC", "2025-03-01", id="UTC"),
    ],
)
def test_local_day(now: str, zone: str, day: str) -> None:
    assert local_day(utc(now), zone) == day


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        day_window(datetime(2025, 3, 1, 12, 0))


RESET = utc("2025-03-01T15:00:00")


# --- saying it ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(5 * 3600 + 12 * 60, "5h 12m", id="hours and minutes"),
        pytest.param(5 * 3600 + 11 * 60 + 1, "5h 12m", id="a started minute counts"),
        pytest.param(3 * 3600, "3h", id="whole hours"),
        pytest.param(12 * 60, "12m", id="minutes"),
        pytest.param(20, "1m", id="never in 0m"),
        pytest.param(0, "1m", id="now"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert countdown(seconds) == text


@pytest.mark.parametrize(
    ("now", "zone", "text"),
    [
        pytest.param(
            "2025-03-01T09:48:00",
            "Asia/Seoul",
            "out of budget until 00:00 KST (in 5h 12m)",
            id="KST",
        ),
        pytest.param(
            "2025-03-01T14:59:30",
            "Asia/Seoul",
            "out of budget until 00:00 KST (in 1m)",
            id="seconds before midnight",
        ),
        pytest.param(
            "2025-03-01T09:48:00",
            "UTC",
            "out of budget until 15:00 UTC (in 5h 12m)",
            id="the same moment told in UTC",
        ),
    ],
)
def test_format_out_of_budget(now: str, zone: str, text: str) -> None:
    assert format_out_of_budget(RESET, now=utc(now), timezone_name=zone) == text


def test_a_whole_day_from_window_to_words() -> None:
    now = utc("2025-03-01T09:48:00")  # 18:48 KST
    _, reset = day_window(now)  # what `OutOfBudget.reset_at` carries
    assert format_out_of_budget(reset, now=now) == ("out of budget until 00:00 KST (in 5h 12m)")
