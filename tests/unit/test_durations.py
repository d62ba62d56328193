"""One family of duration formatters: the shared decomposition and each caller's style."""

from __future__ import annotations

import pytest

from bots.text.durations import coarse, countdown, stopwatch, tenths, two_units, wait


@pytest.mark.parametrize(
    ("seconds", "options", "text"),
    [
        pytest.param(0, {}, "0s", id="nothing is zero of the smallest unit"),
        pytest.param(59, {}, "59s", id="one unit when the second would be below seconds"),
        pytest.param(61, {}, "1m 1s", id="the two largest units"),
        pytest.param(3600, {}, "1h 0m", id="a zero second unit is said"),
        pytest.param(90061, {}, "1d 1h", id="smaller units are cut"),
        pytest.param(-5, {}, "0s", id="negative is zero"),
        pytest.param(3600, {"drop_zero": True}, "1h", id="drop_zero leaves out a zero unit"),
        pytest.param(125, {"pad": True}, "2m 05s", id="pad writes two digits"),
        pytest.param(90061, {"largest": "h"}, "25h 1m", id="largest caps the first unit"),
        pytest.param(59, {"smallest": "m"}, "0m", id="below smallest is zero of it"),
        pytest.param(3 * 3600 + 59, {"smallest": "m"}, "3h 0m", id="smallest cuts the rest"),
    ],
)
def test_two_units(seconds: int, options: dict[str, object], text: str) -> None:
    assert two_units(seconds, **options) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (61, "1m 1s"), (3600, "1h 0m"), (90061, "1d 1h"), (-5, "0s")],
)
def test_coarse_cuts_to_two_units(seconds: float, text: str) -> None:
    assert coarse(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5 * 3600 + 12 * 60, "5h 12m"),
        (5 * 3600 + 11 * 60 + 1, "5h 12m"),
        (3 * 3600, "3h"),
        (12 * 60, "12m"),
        (20, "1m"),
        (0, "1m"),
        (-30, "1m"),
        (25 * 3600, "25h"),
    ],
)
def test_countdown_rounds_up_to_whole_minutes(seconds: float, text: str) -> None:
    assert countdown(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (8, "8 s"),
        (8.4, "8 s"),
        (30, "30 s"),
        (60, "60 s"),
        (89, "89 s"),
        (90, "2 min"),
        (180, "3 min"),
        (179.5, "3 min"),
        (3600, "1 h"),
        (5400, "1h 30m"),
        (0, "0 s"),
        (-5, "0 s"),
        (float("nan"), "0 s"),
    ],
)
def test_a_wait_under_90_s_is_said_in_seconds_and_longer_ones_in_minutes(
    seconds: float, text: str
) -> None:
    assert wait(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.44, "0.4 s"),
        (9.94, "9.9 s"),
        (12.7, "12 s"),
        (59.9, "59 s"),
        (125, "2m 05s"),
        (3720, "1h 02m"),
        (90000, "25h 00m"),
        (-1, "0.0 s"),
        (float("nan"), "0.0 s"),
    ],
)
def test_stopwatch_is_exact_for_short_runs(seconds: float, text: str) -> None:
    assert stopwatch(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0.0 s"), (5.34, "5.3 s"), (5.36, "5.4 s"), (125, "125.0 s"), (-1, "0.0 s")],
)
def test_tenths_says_a_measured_span_once(seconds: float, text: str) -> None:
    assert tenths(seconds) == text
