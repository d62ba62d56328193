"""What the master may write for a recurring task, and what Chavion reads from it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bots.tasks.schedule_text import (
    EXAMPLE,
    ScheduleError,
    ScheduleSpec,
    next_runs,
    parse_schedule,
    split_schedule_command,
)

SEOUL = "Asia/Seoul"

# text, the normalised cron, the description
CRON_FORMS = [
    ("*/15 * * * *", "*/15 * * * *", "every 15 minutes"),
    ('"*/15 * * * *"', "*/15 * * * *", "every 15 minutes"),
    ("'0 7 * * *'", "0 7 * * *", "every day at 07:00"),
    ("“0 7 * * *”", "0 7 * * *", "every day at 07:00"),
    ("0   7 * *  *", "0 7 * * *", "every day at 07:00"),
    ("* * * * *", "* * * * *", "every minute"),
    ("*/7 * * * *", "*/7 * * * *", 'on cron "*/7 * * * *"'),
    ("30 2 1 * *", "30 2 1 * *", 'on cron "30 2 1 * *"'),
    ("0 9 * * 1-5", "0 9 * * mon-fri", "weekdays at 09:00"),
    ("0 9 * * 1", "0 9 * * mon", "every Monday at 09:00"),
    ("0 9 * * 0", "0 9 * * sun", "every Sunday at 09:00"),
    ("0 9 * * 7", "0 9 * * sun", "every Sunday at 09:00"),
    ("0 9 * * 5-7", "0 9 * * fri,sat,sun", "every Friday, Saturday and Sunday at 09:00"),
    ("0 9 * * fri-sun", "0 9 * * fri,sat,sun", "every Friday, Saturday and Sunday at 09:00"),
    (
        "0 9 * * */2",
        "0 9 * * tue,thu,sat,sun",
        "every Tuesday, Thursday, Saturday and Sunday at 09:00",
    ),
    ("0 9 * * 1,3", "0 9 * * mon,wed", "every Monday and Wednesday at 09:00"),
    ("0 9 * * 0-6", "0 9 * * *", "every day at 09:00"),
    ("0 9 * * ?", "0 9 * * *", "every day at 09:00"),
    ("0 8 * * MON", "0 8 * * mon", "every Monday at 08:00"),
]


@pytest.mark.parametrize(("text", "cron", "described"), CRON_FORMS)
def test_a_cron_is_read_with_sundays_counted_as_cron_counts_them(
    text: str, cron: str, described: str
) -> None:
    """Standard cron's 0 (and 7) is Sunday; apscheduler 3's numeric 0 is Monday. The stored
    cron names the days, so it means what the master meant to both."""
    spec = parse_schedule(text, SEOUL)
    assert spec == ScheduleSpec("cron", cron, None, SEOUL, text)
    assert spec.describe() == f"{described} ({SEOUL})"


# text, seconds, description
INTERVALS = [
    ("every 15m", 900, "every 15 minutes"),
    ("every 15 m", 900, "every 15 minutes"),
    ("every 1m", 60, "every minute"),
    ("every 2h", 7200, "every 2 hours"),
    ("every 1d", 86400, "every day"),
    ("every 366d", 366 * 86400, "every 366 days"),
    ("every 90 minutes", 5400, "every 90 minutes"),
    ("Every 3 Hours", 10800, "every 3 hours"),
    ("every 1.5h", 5400, "every 90 minutes"),
    ("every 120s", 120, "every 2 minutes"),
    ("15분마다", 900, "every 15 minutes"),
    ("2시간마다", 7200, "every 2 hours"),
]


@pytest.mark.parametrize(("text", "seconds", "described"), INTERVALS)
def test_every_n_units_is_an_interval(text: str, seconds: float, described: str) -> None:
    spec = parse_schedule(text, SEOUL)
    assert spec == ScheduleSpec("interval", None, seconds, SEOUL, text)
    assert spec.describe() == f"{described} ({SEOUL})"


# text, the cron it becomes
SIMPLE_FORMS = [
    ("daily 07:00", "0 7 * * *"),
    ("daily 7:05", "5 7 * * *"),
    ("daily 7am", "0 7 * * *"),
    ("daily at 7pm", "0 19 * * *"),
    ("daily 7:30pm", "30 19 * * *"),
    ("daily 12am", "0 0 * * *"),
    ("daily 12pm", "0 12 * * *"),
    ("every day 06:45", "45 6 * * *"),
    ("weekdays 09:00", "0 9 * * mon-fri"),
    ("every weekday 9am", "0 9 * * mon-fri"),
    ("every monday 08:00", "0 8 * * mon"),
    ("every Sunday at 23:59", "59 23 * * sun"),
    ("매일 7시", "0 7 * * *"),
    ("매일 07:00", "0 7 * * *"),
    ("매일 오전 7시 30분", "30 7 * * *"),
    ("매일 오후 3시", "0 15 * * *"),
    ("매일 오후 12시", "0 12 * * *"),
    ("매일 오전 12시", "0 0 * * *"),
    ("매일 13시 반", "30 13 * * *"),
    ("평일 9시", "0 9 * * mon-fri"),
    ("매주 월요일 8시", "0 8 * * mon"),
    ("매주 일요일 오후 9시", "0 21 * * sun"),
    ("매주금요일 18시", "0 18 * * fri"),
]


@pytest.mark.parametrize(("text", "cron"), SIMPLE_FORMS)
def test_a_daily_or_weekly_form_becomes_a_cron(text: str, cron: str) -> None:
    assert parse_schedule(text, SEOUL) == ScheduleSpec("cron", cron, None, SEOUL, text)


# text, what the error names
BAD_TEXT = [
    ("", "no schedule given"),
    ('""', "no schedule given"),
    ("0 7 * *", "a cron needs 5 fields"),
    ("0 7 * * * *", '"0 7 * * * *" has 6'),
    ("0 25 * * *", '"0 25 * * *" is not a valid cron'),
    ("61 * * * *", "is not a valid cron"),
    ("0 7 * * 8", '"8" is not a day of week'),
    ("0 7 * * sat-mon", '"sat-mon" is not a day range'),
    ("0 7 * * 5#2", "is not a day of week"),
    ("every 30s", "under the minimum of 1 minute"),
    ("every 0m", "under the minimum of 1 minute"),
    ("every 15x", '"x" is not a unit'),
    ("every 367d", "over the maximum of 366 days"),
    ("every 99999999999d", "over the maximum of 366 days"),
    ("daily", "a time of day is missing"),
    ("daily 7", '"7" is not a time of day'),
    ("daily 25:00", "hours 0-23"),
    ("daily 07:60", "minutes 0-59"),
    ("daily 13pm", "the hour is 1 to 12"),
    ("매일 오후 13시", "the hour is 1 to 12"),
    ("매일 아침", '"아침" is not a time of day'),
    ("every monday", "a time of day is missing"),
    ("매일 오후", "a time of day is missing"),
    ("every blursday 08:00", '"every blursday 08:00" is not a schedule'),
    ("at noon", '"at noon" is not a schedule Chavion knows'),
]


@pytest.mark.parametrize(("text", "names"), BAD_TEXT)
def test_bad_text_is_named_and_a_valid_example_shown(text: str, names: str) -> None:
    error = parse_schedule(text, SEOUL)
    assert isinstance(error, ScheduleError)
    assert names in error.message
    assert error.message.endswith(EXAMPLE)
    assert str(error) == error.message


def test_an_unknown_time_zone_is_named() -> None:
    error = parse_schedule("daily 07:00", "Mars/Olympus")
    assert isinstance(error, ScheduleError)
    assert '"Mars/Olympus"' in error.message
    assert "Asia/Seoul" in error.message


def _at(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


# text, zone, after, the next three runs (in that zone)
NEXT_RUNS = [
    (
        "daily 07:00",
        SEOUL,
        _at(SEOUL, 2026, 12, 4, 6, 59),
        [(2026, 12, 4, 7, 0), (2026, 12, 5, 7, 0), (2026, 12, 6, 7, 0)],
    ),
    (  # strictly after: a run exactly at `after` is not the next one
        "daily 07:00",
        SEOUL,
        _at(SEOUL, 2026, 12, 4, 7, 0),
        [(2026, 12, 5, 7, 0), (2026, 12, 6, 7, 0), (2026, 12, 7, 7, 0)],
    ),
    (  # 2026-12-04 is a Friday
        "0 9 * * 1",
        SEOUL,
        _at(SEOUL, 2026, 12, 4, 12, 0),
        [(2026, 12, 7, 9, 0), (2026, 12, 14, 9, 0), (2026, 12, 21, 9, 0)],
    ),
    (
        "평일 9시",
        SEOUL,
        _at(SEOUL, 2026, 12, 4, 12, 0),
        [(2026, 12, 7, 9, 0), (2026, 12, 8, 9, 0), (2026, 12, 9, 9, 0)],
    ),
    (
        "every 15m",
        SEOUL,
        _at(SEOUL, 2026, 12, 4, 10, 3),
        [(2026, 12, 4, 10, 18), (2026, 12, 4, 10, 33), (2026, 12, 4, 10, 48)],
    ),
    (  # New York leaves daylight saving on 2026-11-01: 07:00 stays 07:00 local
        "daily 07:00",
        "America/New_York",
        _at("America/New_York", 2026, 10, 31, 8, 0),
        [(2026, 11, 1, 7, 0), (2026, 11, 2, 7, 0), (2026, 11, 3, 7, 0)],
    ),
]


@pytest.mark.parametrize(("text", "zone", "after", "runs"), NEXT_RUNS)
def test_next_runs_are_in_the_schedules_zone(
    text: str, zone: str, after: datetime, runs: list[tuple[int, int, int, int, int]]
) -> None:
    spec = parse_schedule(text, zone)
    assert isinstance(spec, ScheduleSpec)
    found = next_runs(spec, after, 3)
    assert found == [_at(zone, *run) for run in runs]
    assert all(str(run.tzinfo) == zone for run in found)


def test_next_runs_from_another_zone_are_the_same_instants() -> None:
    spec = parse_schedule("daily 07:00", SEOUL)
    assert isinstance(spec, ScheduleSpec)
    (first,) = next_runs(spec, datetime(2026, 12, 3, 21, 0, tzinfo=UTC), 1)
    assert first == _at(SEOUL, 2026, 12, 4, 7, 0)  # 21:00 UTC is 06:00 in Seoul


def test_next_runs_refuses_a_naive_datetime() -> None:
    spec = parse_schedule("daily 07:00", SEOUL)
    assert isinstance(spec, ScheduleSpec)
    with pytest.raises(ValueError, match="aware"):
        next_runs(spec, datetime(2026, 12, 4), 1)


# what follows `!schedule add`, (schedule text, mission)
SPLITS = [
    ('"0 7 * * *" check disk', ("0 7 * * *", "check disk")),
    ("'*/15 * * * *' check disk", ("*/15 * * * *", "check disk")),
    ("“0 7 * * *” check disk", ("0 7 * * *", "check disk")),
    ("0 7 * * * back up the db", ("0 7 * * *", "back up the db")),
    ("every 15m check disk", ("every 15m", "check disk")),
    ("every 90 minutes rotate logs", ("every 90 minutes", "rotate logs")),
    ("daily 07:00 morning report", ("daily 07:00", "morning report")),
    ("every monday 08:00 weekly review", ("every monday 08:00", "weekly review")),
    ("매일 7시 디스크 점검", ("매일 7시", "디스크 점검")),
    ("매일 오전 7시 30분 백업 확인", ("매일 오전 7시 30분", "백업 확인")),
    ("매주 월요일 8시 주간 보고", ("매주 월요일 8시", "주간 보고")),
    ("  every 2h   check   load ", ("every 2h", "check load")),
]


@pytest.mark.parametrize(("args", "split"), SPLITS)
def test_the_add_arguments_split_into_schedule_and_mission(
    args: str, split: tuple[str, str]
) -> None:
    assert split_schedule_command(args) == split


# what follows `!schedule add`, what the error names
BAD_SPLITS = [
    ("", "write the schedule, then the mission"),
    ("every 15m", 'the schedule "every 15m" has no mission'),
    ('"0 7 * * *"', 'the schedule "0 7 * * *" has no mission'),
    ('"0 7 * * * check disk', "no closing quote"),
    ('"0 7 * *" check disk', "a cron needs 5 fields"),
    ("0 7 * * x check disk", '"x" is not a day of week'),
    ("0 25 * * * check disk", "is not a valid cron"),
    ("check disk every day", 'no schedule at the start of "check disk every day"'),
    ("every 30s check disk", '"every 30s" is under the minimum of 1 minute'),
    ("daily 7 check disk", '"7" is not a time of day'),
    ("매일 아침 디스크 점검", '"아침" is not a time of day'),
    ("every monday 8 check disk", '"8" is not a time of day'),
    ("매일 오후 13시 점검", "the hour is 1 to 12"),
    ("every blursday 08:00 check", 'no schedule at the start of "every blursday'),
]


@pytest.mark.parametrize(("args", "names"), BAD_SPLITS)
def test_add_arguments_without_a_schedule_or_mission_are_named(args: str, names: str) -> None:
    error = split_schedule_command(args)
    assert isinstance(error, ScheduleError)
    assert names in error.message
    assert error.message.endswith(EXAMPLE)


def test_every_split_schedule_parses() -> None:
    """What the split hands on is a schedule `parse_schedule` accepts."""
    for args, _ in SPLITS:
        split = split_schedule_command(args)
        assert isinstance(split, tuple)
        assert isinstance(parse_schedule(split[0], SEOUL), ScheduleSpec)


def test_reading_a_thousand_schedules_and_their_next_runs() -> None:
    """The start-up side of the benchmark: every stored schedule is read and its next run
    computed. Timing is printed, not asserted (the machine is shared)."""
    texts = [text for text, _, _ in CRON_FORMS] + [text for text, _ in SIMPLE_FORMS]
    texts += [text for text, _, _ in INTERVALS]
    after = _at(SEOUL, 2026, 12, 4, 12, 0)
    started = time.perf_counter()
    for n in range(1000):
        spec = parse_schedule(texts[n % len(texts)], SEOUL)
        assert isinstance(spec, ScheduleSpec)
        (run,) = next_runs(spec, after, 1)
        assert run > after
    elapsed = time.perf_counter() - started
    print(f"\n1,000 schedules parsed with their next run: {elapsed * 1000:.0f} ms")
