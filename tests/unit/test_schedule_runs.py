"""Schedule maths and `!schedule` arguments (tables): when a stored schedule runs next, when a
late run is still made, how a scheduled task names its origin, what each command reads as,
and the `schedules` config section's checks naming the dotted key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bots.errors import ConfigError
from bots.settings.loading import parse_settings
from bots.tasks import render
from bots.tasks.schedule_orders import (
    AddSchedule,
    ListSchedules,
    ScheduleAction,
    ScheduleRefusal,
    parse_schedule_args,
)
from bots.tasks.schedule_runs import (
    first_run,
    intake_key,
    origin_of,
    ran_recently,
    run_after,
    schedule_source,
)

SEOUL = ZoneInfo("Asia/Seoul")
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "chavion.example.yaml"


@dataclass(frozen=True)
class Timing:
    kind: str
    cron: str | None
    seconds: float | None
    zone: str = "Asia/Seoul"
    text: str = ""


DAILY_7 = Timing("cron", "0 7 * * *", None, text="daily 07:00")
EVERY_15M = Timing("interval", None, 900.0, text="every 15m")


def at(text: str) -> float:
    """A Seoul wall-clock time as a UNIX time."""
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL).timestamp()


@pytest.mark.parametrize(
    ("timing", "now", "expected"),
    [
        (DAILY_7, "2026-12-04 06:00", "2026-12-04 07:00"),
        (DAILY_7, "2026-12-04 07:00", "2026-12-05 07:00"),
        (DAILY_7, "2026-12-04 09:00", "2026-12-05 07:00"),
        (EVERY_15M, "2026-12-04 09:00", "2026-12-04 09:15"),
        (Timing("cron", "0 7 * * *", None, zone="UTC"), "2026-12-04 17:00", "2026-12-05 16:00"),
    ],
    ids=["daily-before", "daily-at", "daily-after", "interval-from-now", "utc-zone"],
)
def test_the_first_run_is_the_next_time_in_the_schedules_zone(
    timing: Timing, now: str, expected: str
) -> None:
    assert first_run(timing, at(now)) == at(expected)


@pytest.mark.parametrize(
    ("timing", "due", "now", "expected"),
    [
        (DAILY_7, "2026-12-04 07:00", "2026-12-04 07:00", "2026-12-05 07:00"),
        (DAILY_7, "2026-12-01 07:00", "2026-12-04 09:00", "2026-12-05 07:00"),
        (EVERY_15M, "2026-12-04 09:00", "2026-12-04 09:00", "2026-12-04 09:15"),
        (EVERY_15M, "2026-12-04 09:00", "2026-12-04 09:04", "2026-12-04 09:15"),
        (EVERY_15M, "2026-12-04 09:00", "2026-12-04 11:20", "2026-12-04 11:30"),
    ],
    ids=["daily-on-time", "daily-days-late", "interval-on-time", "interval-late", "many-missed"],
)
def test_the_run_after_a_due_one_is_in_the_future_and_keeps_the_rhythm(
    timing: Timing, due: str, now: str, expected: str
) -> None:
    assert run_after(timing, at(due), at(now)) == at(expected)


@pytest.mark.parametrize(
    ("timing", "due", "now", "grace_minutes", "expected"),
    [
        (DAILY_7, "2026-12-04 07:00", "2026-12-04 07:00", 60, True),
        (DAILY_7, "2026-12-04 07:00", "2026-12-04 07:59", 60, True),
        (DAILY_7, "2026-12-04 07:00", "2026-12-04 08:01", 60, False),
        (DAILY_7, "2026-12-02 07:00", "2026-12-04 07:30", 60, True),  # today's is recent
        (DAILY_7, "2026-12-02 07:00", "2026-12-04 06:30", 60, False),
        (EVERY_15M, "2026-12-04 06:00", "2026-12-04 09:05", 10, True),  # 09:00 was missed
        (EVERY_15M, "2026-12-04 06:00", "2026-12-04 09:05", 4, False),
        (DAILY_7, "2026-12-04 07:00", "2026-12-04 07:00", 0, True),
        (DAILY_7, "2026-12-04 08:00", "2026-12-04 07:00", 60, False),  # not due yet
    ],
    ids=[
        "on-time",
        "inside-grace",
        "outside-grace",
        "days-down-latest-inside",
        "days-down-latest-outside",
        "interval-latest-inside",
        "interval-latest-outside",
        "zero-grace-on-time",
        "not-due",
    ],
)
def test_a_late_run_is_made_when_a_time_it_should_have_run_is_within_the_grace(
    timing: Timing, due: str, now: str, grace_minutes: float, expected: bool
) -> None:
    assert ran_recently(timing, at(due), at(now), grace_minutes * 60) is expected


def test_a_scheduled_task_names_its_schedule_and_others_say_nothing() -> None:
    source = schedule_source(3, '"daily 07:00"')
    assert source == "schedule #3, daily 07:00"
    assert origin_of(source) == "from schedule #3, daily 07:00"
    assert [origin_of(s) for s in ("matrix", "bridge", "routine", "")] == ["", "", "", ""]
    assert len(schedule_source(4, "x" * 300)) < 100
    assert intake_key(3, 1_000_000.7) == "schedule/3/1000000"


def read(args: str) -> Any:
    return parse_schedule_args(args, zone="Asia/Seoul", max_chars=1000)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", ListSchedules(usage=True)),
        ("list", ListSchedules()),
        ("LS", ListSchedules()),
        ("rm 3", ScheduleAction("rm", 3)),
        ("remove #12", ScheduleAction("rm", 12)),
        ("pause 4", ScheduleAction("pause", 4)),
        ("resume 4", ScheduleAction("resume", 4)),
    ],
    ids=["bare", "list", "ls", "rm", "remove-hash", "pause", "resume"],
)
def test_schedule_actions_read(args: str, expected: object) -> None:
    assert read(args) == expected


@pytest.mark.parametrize(
    ("args", "cron", "seconds", "mission", "priority"),
    [
        ('add "0 7 * * *" check disk', "0 7 * * *", None, "check disk", "medium"),
        ("add 0 7 * * 1 check disk", "0 7 * * mon", None, "check disk", "medium"),
        ("add every 15m ping web-1", None, 900.0, "ping web-1", "medium"),
        ("add daily 07:00 high: back up the db", "0 7 * * *", None, "back up the db", "high"),
        ("add 매일 7시 디스크 점검", "0 7 * * *", None, "디스크 점검", "medium"),
        ("add weekdays 9am [low] tidy /tmp", "0 9 * * mon-fri", None, "tidy /tmp", "low"),
    ],
    ids=["quoted-cron", "bare-cron-monday", "every", "daily-high", "korean", "weekdays-low"],
)
def test_schedule_add_reads_the_schedule_then_the_mission(
    args: str, cron: str | None, seconds: float | None, mission: str, priority: str
) -> None:
    order = read(args)
    assert isinstance(order, AddSchedule), order
    assert (order.spec.cron, order.spec.seconds, order.mission, order.priority) == (
        cron,
        seconds,
        mission,
        priority,
    )
    assert order.spec.zone == "Asia/Seoul"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("frobnicate 3", '"frobnicate" is not a !schedule action'),
        ("rm", "There is no schedule number: e.g. !schedule rm 3"),
        ("pause three", '"three" is not a schedule number'),
        ("add", "Write the schedule, then the mission"),
        ('add "0 25 * * *" check', "is not a valid cron"),
        ('add "0 7 * *" check', "A cron needs 5 fields"),
        ("add every 30s check", "under the minimum of 1 minute"),
        ("add daily 07:00", "has no mission after it"),
        ("add whenever check disk", "No schedule at the start"),
        ('add "0 7 * * *" high:', "There is no mission"),
    ],
    ids=[
        "unknown-action",
        "no-id",
        "bad-id",
        "nothing-to-add",
        "bad-cron",
        "short-cron",
        "too-often",
        "no-mission",
        "no-schedule",
        "priority-only",
    ],
)
def test_bad_schedule_commands_say_what_is_wrong_with_a_valid_example(args: str, says: str) -> None:
    order = read(args)
    assert isinstance(order, ScheduleRefusal), order
    assert says in order.text
    assert "!schedule" in order.text or "e.g." in order.text


def settings_with(section: dict[str, Any]) -> Any:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["schedules"] = section
    return parse_settings(data, EXAMPLE)


def test_declared_schedules_are_read_with_the_configured_zone_and_a_stable_name() -> None:
    settings = settings_with(
        {
            "grace_minutes": 30,
            "declared": [
                {"when": "daily 07:00", "mission": "check disk usage", "priority": "high"},
                {"name": "tidy", "when": "every 2h", "mission": "tidy /tmp", "timezone": "UTC"},
            ],
        }
    )
    first, second = settings.schedules.declared
    assert settings.schedules.grace_seconds == 1800
    assert (first.name, first.spec.cron, first.spec.zone, first.priority) == (
        "check disk usage",
        "0 7 * * *",
        "Asia/Seoul",
        "high",
    )
    assert (second.name, second.spec.seconds, second.spec.zone) == ("tidy", 7200.0, "UTC")


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"grace_minutes": -1}, "schedules.grace_minutes: must be between 0"),
        ({"declared": [{"mission": "x"}]}, "schedules.declared[0].when: is required"),
        (
            {"declared": [{"when": "sometimes", "mission": "x"}]},
            'schedules.declared[0].when: "sometimes" is not a schedule',
        ),
        (
            {"declared": [{"when": "daily 07:00", "mission": "x", "priority": "urgent"}]},
            "schedules.declared[0].priority: expected one of high, medium, low",
        ),
        (
            {"declared": [{"when": "daily 07:00", "mission": "x", "timezone": "Mars/Base"}]},
            "schedules.declared[0].timezone: unknown time zone",
        ),
        (
            {"declared": [{"when": "daily 07:00", "mision": "x"}]},
            "schedules.declared[0].mission: is required",
        ),
        (
            {
                "declared": [
                    {"when": "daily 07:00", "mission": "x"},
                    {"when": "daily 08:00", "mission": "x"},
                ]
            },
            "schedules.declared[1].name: 'x' is also schedules.declared[0]",
        ),
        ({"grace": 5}, "schedules.grace: unknown key"),
    ],
    ids=[
        "negative-grace",
        "no-when",
        "bad-when",
        "bad-priority",
        "bad-zone",
        "misspelt-key",
        "same-name",
        "unknown-key",
    ],
)
def test_bad_schedule_config_names_the_dotted_key(section: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_with(section)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("origin", "ack_head", "report_second_line"),
    [
        ("", "#4 📋 Task #4 registered: check disk, priority low. Asking", ""),
        (
            "from schedule #3, daily 07:00",
            "#4 📋 Task #4 registered: check disk, priority low, from schedule #3, daily 07:00.",
            "From schedule #3, daily 07:00.",
        ),
    ],
    ids=["ordered", "scheduled"],
)
def test_the_ack_and_report_name_the_schedule_only_for_a_scheduled_task(
    origin: str, ack_head: str, report_second_line: str
) -> None:
    ack = render.task_ack(4, "check disk", "low", ["Claude"], 60, origin=origin)
    assert ack.startswith(ack_head)
    body, html = render.report_message(
        render.ReportView(4, "completed", "check disk", 5.0, origin=origin)
    )
    second = body.splitlines()[1]
    if report_second_line:
        assert second == report_second_line
        assert report_second_line in html
    else:
        assert "schedule" not in body
