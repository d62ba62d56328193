"""Budget maths, pure: what a call cost, which day it counts to, and whether an agent may speak.

A day is the master's calendar day (`timezone`, Asia/Seoul by default), so budgets reset at
local midnight, not at 00:00 UTC (09:00 in Seoul).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bots.text.durations import countdown
from bridge.llm.base import Usage

DEFAULT_TIMEZONE = "Asia/Seoul"


@dataclass(frozen=True)
class Price:
    """USD per one million tokens."""

    input_per_million: float
    output_per_million: float


DEFAULT_PRICES: Mapping[str, Price] = {
    # List prices (USD per 1M input / output tokens) of the models in the example config and
    # their neighbours; an estimate for budgets, not an invoice. A dated snapshot such as
    # "claude-sonnet-4-5-20250929" is priced as its listed name.
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-sonnet-4-6": Price(3.0, 15.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "gpt-4.1": Price(2.0, 8.0),
    "gpt-4.1-mini": Price(0.4, 1.6),
    "gpt-4o": Price(2.5, 10.0),
    "gpt-4o-mini": Price(0.15, 0.6),
    "gpt-5": Price(1.25, 10.0),
    "gpt-5-mini": Price(0.25, 2.0),
    "gemini-2.5-pro": Price(1.25, 10.0),
    "gemini-2.5-flash": Price(0.3, 2.5),
    "gemini-2.5-flash-lite": Price(0.1, 0.4),
    "sonar": Price(1.0, 1.0),
    "sonar-pro": Price(3.0, 15.0),
    "sonar-reasoning-pro": Price(2.0, 8.0),
}

# What may follow a listed name and still be that model: a date, a build number, "latest",
# "preview" ("-20250929", "-2024-08-06", "-001", "-preview-05-20", "@20250929"). Anything
# else is another model: "gpt-4o-mini" is not "gpt-4o", "sonar-pro" is not "sonar".
_SNAPSHOT = re.compile(r"(?:[-@](?:\d[\d.-]*|latest|preview|exp))+")


@dataclass(frozen=True)
class PriceTable:
    """Prices by model name; a model not listed (a local one, say) costs nothing."""

    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Mapping[str, float]]) -> PriceTable:
        """From `{"gpt-4.1": {"input": 2.0, "output": 8.0}}` (USD per 1M tokens)."""
        prices: dict[str, Price] = {}
        for model, entry in data.items():
            missing = {"input", "output"} - set(entry)
            if missing:
                raise ValueError(f"price of {model!r} lacks {', '.join(sorted(missing))}")
            if entry["input"] < 0 or entry["output"] < 0:
                raise ValueError(f"price of {model!r} must not be negative")
            prices[model] = Price(float(entry["input"]), float(entry["output"]))
        return cls(prices)

    def price(self, model: str) -> Price | None:
        """The exact entry, else the listed model of which `model` is a snapshot."""
        if model in self.prices:
            return self.prices[model]
        names = [
            name
            for name in self.prices
            if model.startswith(name) and _SNAPSHOT.fullmatch(model[len(name) :])
        ]
        return self.prices[max(names, key=len)] if names else None

    def cost(self, model: str, usage: Usage) -> float:
        price = self.price(model)
        if price is None:
            return 0.0
        return (
            usage.input_tokens * price.input_per_million
            + usage.output_tokens * price.output_per_million
        ) / 1_000_000


def day_window(
    now_utc: datetime, timezone_name: str = DEFAULT_TIMEZONE
) -> tuple[datetime, datetime]:
    """The local day holding `now_utc`: (its midnight, the next midnight), both in UTC."""
    zone = ZoneInfo(timezone_name)
    today = _aware(now_utc).astimezone(zone).date()
    start = datetime.combine(today, time(0), tzinfo=zone)
    reset = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(ZoneInfo("UTC")), reset.astimezone(ZoneInfo("UTC"))


def local_day(now_utc: datetime, timezone_name: str = DEFAULT_TIMEZONE) -> str:
    """The local date as the store keeps it ("2025-03-01")."""
    return _aware(now_utc).astimezone(ZoneInfo(timezone_name)).date().isoformat()


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous here: pass one with a time zone")
    return moment


def format_out_of_budget(
    reset_at: datetime, *, now: datetime, timezone_name: str = DEFAULT_TIMEZONE
) -> str:
    """ "out of budget until 00:00 KST (in 5h 12m)", in the master's time zone."""
    local = _aware(reset_at).astimezone(ZoneInfo(timezone_name))
    zone_name = local.tzname() or timezone_name
    remaining = (local - _aware(now)).total_seconds()
    return f"out of budget until {local:%H:%M} {zone_name} (in {countdown(remaining)})"
