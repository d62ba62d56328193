"""The disk trend: a least-squares rate over the recent samples, and the time to full."""

from __future__ import annotations

import pytest

from bots.health.trend import Forecast, describe, forecast, hours_text, size_text
from bots.store.health import DiskSample

GB = 1_000_000_000
HOUR = 3600.0
SIZE = 100 * GB


def series(used_gb: list[float], every: float = 600.0) -> list[DiskSample]:
    return [DiskSample(i * every, int(u * GB), SIZE) for i, u in enumerate(used_gb)]


CASES = [
    ("flat", series([50, 50, 50, 50, 50, 50]), None),
    ("shrinking", series([60, 59, 58, 57, 56]), None),
    ("too few samples", series([50, 60, 70]), None),
    ("too short a span", series([50, 60, 70, 80, 90], every=30.0), None),
    # 1 GB per 10 minutes = 6 GB/h; 90 GB used, 10 left: 1 h 40 min.
    ("growing steadily", series([86, 87, 88, 89, 90]), 10 / 6),
    # the same rate with noise on top: the fit still finds about 6 GB/h
    ("growing with noise", series([86, 87.4, 87.6, 89.3, 89.7, 91]), 9 / 5.9),
    ("noise around flat", series([50, 50.3, 49.8, 50.1, 49.9, 49.7]), None),
    ("full already", series([97, 98, 99, 100]), 0.0),
]


@pytest.mark.parametrize(("samples", "hours"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hours_to_full(samples: list[DiskSample], hours: float | None) -> None:
    found = forecast(samples)
    if hours is None:
        assert found is None
    else:
        assert found is not None
        assert found.hours_to_full == pytest.approx(hours, rel=0.1, abs=0.01)


def test_the_order_of_samples_does_not_matter() -> None:
    ordered = series([86, 87, 88, 89, 90])
    assert forecast(list(reversed(ordered))) == forecast(ordered)


@pytest.mark.parametrize(
    ("size", "text"),
    [(1.2 * GB, "1.2 GB"), (650_000_000, "650 MB"), (12 * GB, "12 GB"), (900, "900 B")],
    ids=["gigabytes", "megabytes", "two digits", "bytes"],
)
def test_size_text(size: float, text: str) -> None:
    assert size_text(size) == text


@pytest.mark.parametrize(
    ("hours", "text"), [(7.2, "7 h"), (0.5, "30 min"), (0.0, "1 min")], ids=["h", "min", "0"]
)
def test_hours_text(hours: float, text: str) -> None:
    assert hours_text(hours) == text


def test_the_alert_line() -> None:
    found = Forecast(used_pct=91.0, bytes_per_hour=1.2 * GB, hours_to_full=7.2)
    assert describe("web", "/", found) == "/ on web: 91%, full in about 7 h at 1.2 GB/h"
