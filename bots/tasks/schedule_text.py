"""What the master writes for a recurring task (`!schedule add`), read into one spec.

Pure: no I/O, no clock. A 5-field cron (quoted or not) or a simple form (`every 15m`,
`daily 07:00`, `weekdays 9am`, `every monday 08:00`, `매일 7시`, `매일 오후 3시 30분`,
`평일 9시`, `매주 월요일 8시`). Simple daily and weekly forms become cron, so the scheduler
knows two kinds only: cron and a fixed interval.

Day of week is written out as names in the stored cron: apscheduler 3 counts a numeric day
of week from Monday = 0, standard cron from Sunday = 0, so `"0 9 * * 1"` would fire on
Tuesdays there. Names mean the same to both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

EXAMPLE = 'write "0 7 * * *" or daily 07:00 or 매일 7시'
MIN_INTERVAL_SECONDS = 60.0
MAX_INTERVAL_SECONDS = 366 * 86400.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""apscheduler's order (Monday first)."""
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ENGLISH_DAYS = {name.lower(): i for i, name in enumerate(DAY_NAMES)} | {
    short: i for i, short in enumerate(DAYS)
}
_KOREAN_DAYS = {k: i for i, k in enumerate("월화수목금토일")}
_QUOTES = "\"'“”‘’`"
_MAX_PREFIX_WORDS = 7
_UNKNOWN = "is not a schedule Chavion knows"
_NO_TIME = "a time of day is missing"
_HEADS = ("every", "daily", "weekdays", "매일", "평일", "매주")
"""How a simple form starts: `!schedule add` names what is wrong with one that does not read."""


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule, normalised: `cron` for kind "cron", `seconds` for kind "interval"."""

    kind: Literal["cron", "interval"]
    cron: str | None
    seconds: float | None
    zone: str
    text: str
    """What the user wrote, kept to show back."""

    def describe(self) -> str:
        """A plain English line, e.g. "every day at 07:00 (Asia/Seoul)"."""
        if self.kind == "interval":
            return f"{_describe_interval(self.seconds or 0)} ({self.zone})"
        return f"{_describe_cron(self.cron or '')} ({self.zone})"


@dataclass(frozen=True)
class ScheduleError:
    """What is wrong with the text; the message always ends with a valid example."""

    message: str

    def __str__(self) -> str:
        return self.message


def _error(what: str) -> ScheduleError:
    return ScheduleError(f"{what}: {EXAMPLE}")


# --- parsing ---------------------------------------------------------------------------


def parse_schedule(text: str, zone: str) -> ScheduleSpec | ScheduleError:
    """The spec `text` means in time zone `zone`, or what is wrong with it."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ScheduleError(f'unknown time zone "{zone}": use an IANA name such as Asia/Seoul')
    body = _unquoted(text)
    if not body:
        return _error("no schedule given")
    words = body.split()
    if _looks_like_cron(words[0]):
        return _cron(words, zone, text)
    for reader in (_interval, _daily_or_weekly):
        found = reader(body.lower(), zone, text)
        if found is not None:
            return found
    return _error(f'"{body}" {_UNKNOWN}')


def _unquoted(text: str) -> str:
    body = text.strip()
    if len(body) >= 2 and body[0] in _QUOTES and body[-1] in _QUOTES:
        body = body[1:-1].strip()
    return " ".join(body.split())


def _looks_like_cron(word: str) -> bool:
    return bool(re.fullmatch(r"[\d*?/,\-LW#]+", word))


def _cron(words: list[str], zone: str, text: str) -> ScheduleSpec | ScheduleError:
    if len(words) != 5:
        return _error(
            f"a cron needs 5 fields (minute hour day month weekday), "
            f'"{" ".join(words)}" has {len(words)}'
        )
    days = _day_of_week(words[4])
    if isinstance(days, ScheduleError):
        return days
    cron = " ".join([*words[:4], days])
    try:
        CronTrigger.from_crontab(cron, timezone=zone)
    except ValueError as exc:
        return _error(f'"{" ".join(words)}" is not a valid cron ({exc})')
    return ScheduleSpec("cron", cron, None, zone, text)


def _day_of_week(field: str) -> str | ScheduleError:
    """Standard cron's day of week (0 or 7 = Sunday) as apscheduler day names."""
    if field in ("*", "?"):
        return "*"
    chosen: set[int] = set()
    for token in field.lower().split(","):
        match = re.fullmatch(r"(\*|\w+)(?:-(\w+))?(?:/(\d+))?", token)
        if match is None:
            return _error(f'"{field}" is not a day of week (0-7 or mon-sun)')
        first, last, step = match.groups()
        start = 0 if first == "*" else _cron_day(first)
        end = 6 if first == "*" else (_cron_day(last) if last else start)
        if last is None and step and first != "*":
            end = 6  # "a/n" is "a-max/n"
        if start is None or end is None:
            return _error(f'"{field}" is not a day of week (0-7 or mon-sun)')
        if end == 0 and last is not None:
            end = 7  # "fri-sun" and "5-0" end on Sunday, the last day
        stride = int(step) if step else 1
        if stride < 1 or end < start:
            return _error(f'"{field}" is not a day range cron allows')
        chosen.update(day % 7 for day in range(start, end + 1, stride))
    # cron days count from Sunday = 0; DAYS from Monday
    indices = sorted((day - 1) % 7 for day in chosen)
    if len(indices) == 7:
        return "*"
    if indices == [0, 1, 2, 3, 4]:
        return "mon-fri"
    return ",".join(DAYS[i] for i in indices)


def _cron_day(word: str) -> int | None:
    """A cron day (Sunday = 0, 7 also Sunday) from a number or a name."""
    if word.isdigit():
        value = int(word)
        return value if value <= 7 else None
    index = _ENGLISH_DAYS.get(word)
    return None if index is None else (index + 1) % 7


_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds", "초"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "분"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "시간"), 3600),
    **dict.fromkeys(("d", "day", "days", "일"), 86400),
}


def _interval(body: str, zone: str, text: str) -> ScheduleSpec | ScheduleError | None:
    match = re.fullmatch(r"every\s*(\d+(?:\.\d+)?)\s*([a-z]+)", body) or re.fullmatch(
        r"(\d+(?:\.\d+)?)\s*(분|시간|일|초)\s*마다", body
    )
    if match is None:
        return None
    amount, unit = match.groups()
    if unit not in _UNITS:
        return _error(f'"{unit}" is not a unit: use m, h or d (every 15m, every 2h, every 1d)')
    seconds = float(amount) * _UNITS[unit]
    if seconds < MIN_INTERVAL_SECONDS:
        return _error(f'"{body}" is under the minimum of 1 minute')
    if seconds > MAX_INTERVAL_SECONDS:
        return _error(f'"{body}" is over the maximum of 366 days')
    return ScheduleSpec("interval", None, seconds, zone, text)


def _daily_or_weekly(body: str, zone: str, text: str) -> ScheduleSpec | ScheduleError | None:
    match = re.fullmatch(
        r"(daily|every\s+day|everyday|weekdays|every\s+weekday|매일|평일|"
        r"매주\s*[월화수목금토일]요일|every\s+[a-z]+)\s*(?:at\s+)?(.*)",
        body,
    )
    if match is None:
        return None
    head, when = match.groups()
    days = _days_of(head)
    if days is None:
        return None
    time = _time_of(when)
    if isinstance(time, ScheduleError):
        return time
    hour, minute = time
    return ScheduleSpec("cron", f"{minute} {hour} * * {days}", None, zone, text)


def _days_of(head: str) -> str | None:
    head = " ".join(head.split())
    if head in ("daily", "every day", "everyday", "매일"):
        return "*"
    if head in ("weekdays", "every weekday", "평일"):
        return "mon-fri"
    if head.startswith("매주"):
        return DAYS[_KOREAN_DAYS[head.replace(" ", "")[2]]]
    day = _ENGLISH_DAYS.get(head.removeprefix("every ").strip())
    return None if day is None else DAYS[day]


def _time_of(when: str) -> tuple[int, int] | ScheduleError:
    """An hour and minute from `07:00`, `7am`, `7:30pm`, `7시`, `오후 3시 30분`, `7시 반`."""
    when = " ".join(when.split())
    if when in ("", "오전", "오후", "am", "pm"):
        return _error(_NO_TIME)
    english = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", when)
    korean = re.fullmatch(r"(오전|오후)?\s*(\d{1,2})\s*시(?:\s*(\d{1,2})\s*분|\s*(반))?", when)
    if english:
        hour_text, minute_text, half = english.groups()
        if minute_text is None and half is None:
            return _error(f'"{when}" is not a time of day (07:00 or 7am)')
    elif korean:
        half, hour_text, minute_text, ban = korean.groups()
        half = {"오전": "am", "오후": "pm"}.get(half or "")
        minute_text = "30" if ban else minute_text
    else:
        return _error(f'"{when}" is not a time of day')
    hour, minute = int(hour_text), int(minute_text or 0)
    if half:
        if not 1 <= hour <= 12:
            return _error(f'"{when}": with am/pm (오전/오후) the hour is 1 to 12')
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return _error(f'"{when}" is not a time of day (hours 0-23, minutes 0-59)')
    return hour, minute


# --- describing ----------------------------------------------------------------------------


def _describe_interval(seconds: float) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = int(seconds // size)
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return f"every {seconds:g} seconds"


def _describe_cron(cron: str) -> str:
    minute, hour, day, month, weekday = cron.split()
    if cron == "* * * * *":
        return "every minute"
    step = minute[2:] if cron.endswith(" * * * *") and minute.startswith("*/") else ""
    if step.isdigit() and int(step) > 0 and 60 % int(step) == 0:
        return _describe_interval(int(step) * 60)  # evenly every N minutes
    if not (minute.isdigit() and hour.isdigit() and day == "*" and month == "*"):
        return f'on cron "{cron}"'
    at = f"at {int(hour):02d}:{int(minute):02d}"
    if weekday == "*":
        return f"every day {at}"
    if weekday == "mon-fri":
        return f"weekdays {at}"
    names = [DAY_NAMES[DAYS.index(d)] for d in weekday.split(",") if d in DAYS]
    if len(names) == len(weekday.split(",")):
        listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        return f"every {listed} {at}"
    return f'on cron "{cron}"'


# --- when it runs --------------------------------------------------------------------------


def next_runs(spec: ScheduleSpec, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after` (an aware datetime), in the
    spec's zone. An interval counts from `after`: its first run is one interval later."""
    if after.tzinfo is None:
        raise ValueError("next_runs needs an aware datetime (with its time zone)")
    if spec.kind == "interval":
        step = timedelta(seconds=spec.seconds or MIN_INTERVAL_SECONDS)
        trigger: CronTrigger | IntervalTrigger = IntervalTrigger(
            seconds=step.total_seconds(), start_date=after + step, timezone=spec.zone
        )
        previous: datetime | None = None
        now = after + step
    else:
        trigger = CronTrigger.from_crontab(spec.cron or "", timezone=spec.zone)
        previous, now = after, after
    runs: list[datetime] = []
    while len(runs) < count:
        fire: datetime | None = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        runs.append(fire)
        previous = now = fire
    return runs


# --- the `!schedule add` arguments ---------------------------------------------------------


def split_schedule_command(args: str) -> tuple[str, str] | ScheduleError:
    """(schedule text, mission) from `"<cron>" <mission>`, `every 15m <mission>`,
    `매일 7시 <mission>`: the longest leading words that read as a schedule."""
    body = args.strip()
    if not body:
        return _error("write the schedule, then the mission")
    if body[0] in _QUOTES:
        end = next((i for i in range(1, len(body)) if body[i] in _QUOTES), None)
        if end is None:
            return _error("the quoted schedule has no closing quote")
        when, mission = body[1:end].strip(), body[end + 1 :].strip()
        parsed = parse_schedule(when, "UTC")
        if isinstance(parsed, ScheduleError):
            return parsed
        return _with_mission(when, mission)
    words = body.split()
    for size in range(min(len(words), _MAX_PREFIX_WORDS), 0, -1):
        when = " ".join(words[:size])
        if isinstance(parse_schedule(when, "UTC"), ScheduleSpec):
            return _with_mission(when, " ".join(words[size:]))
    if _looks_like_cron(words[0]):
        cron_error = parse_schedule(" ".join(words[:5]), "UTC")
        if isinstance(cron_error, ScheduleError):
            return cron_error
    if words[0].lower().startswith(_HEADS):
        for size in range(2, min(len(words), _MAX_PREFIX_WORDS) + 1):
            error = parse_schedule(" ".join(words[:size]), "UTC")
            if isinstance(error, ScheduleError) and not any(
                generic in error.message for generic in (_UNKNOWN, _NO_TIME)
            ):
                return error  # the shortest start that says what is wrong
    return _error(f'no schedule at the start of "{_shortened(body)}"')


def _with_mission(when: str, mission: str) -> tuple[str, str] | ScheduleError:
    if not mission:
        return _error(f'the schedule "{when}" has no mission after it (e.g. {when} check disk)')
    return when, mission


def _shortened(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
