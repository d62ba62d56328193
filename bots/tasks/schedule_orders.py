"""What `!schedule …` asks for, read into one value. Pure: no store, no clock.

`add <when> <mission>` (the schedule first: `"0 7 * * *"`, `every 15m`, `daily 07:00`,
`매일 7시`; a priority may lead the mission as in `!task`), `list` (or nothing),
`rm|pause|resume <id>` (`#3` or `3`). Anything else is a refusal that shows a valid example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bots.tasks.intake import Priority, TaskRefusal, parse_task_text
from bots.tasks.schedule_text import ScheduleError, ScheduleSpec, parse_schedule
from bots.tasks.schedule_text import split_schedule_command as split_when

USAGE = 'add "<cron>"|every 15m|daily 07:00 <mission> · list · rm|pause|resume <id>'
ADD_EXAMPLE = "!schedule add daily 07:00 check disk usage on every host"
_ALIASES = {
    "add": "add",
    "new": "add",
    "list": "list",
    "ls": "list",
    "rm": "rm",
    "remove": "rm",
    "delete": "rm",
    "del": "rm",
    "pause": "pause",
    "stop": "pause",
    "resume": "resume",
    "start": "resume",
}


@dataclass(frozen=True)
class AddSchedule:
    spec: ScheduleSpec
    mission: str
    priority: Priority


@dataclass(frozen=True)
class ListSchedules:
    usage: bool = False
    """True for a bare `!schedule`: the list comes with a short usage."""


@dataclass(frozen=True)
class ScheduleAction:
    action: Literal["rm", "pause", "resume"]
    schedule_id: int


@dataclass(frozen=True)
class ScheduleRefusal:
    text: str


ScheduleOrder = AddSchedule | ListSchedules | ScheduleAction | ScheduleRefusal


def parse_schedule_args(args: str, *, zone: str, max_chars: int) -> ScheduleOrder:
    """The order in `args`; a schedule's times are in `zone` (the configured time zone)."""
    body = args.strip()
    if not body:
        return ListSchedules(usage=True)
    word, _, rest = body.partition(" ")
    action = _ALIASES.get(word.lower())
    rest = rest.strip()
    if action is None:
        return ScheduleRefusal(
            f'"{word}" is not a !schedule action: use {USAGE} (e.g. {ADD_EXAMPLE}).'
        )
    if action == "list":
        return ListSchedules()
    if action == "add":
        return _add(rest, zone, max_chars)
    found = re.fullmatch(r"#?(\d{1,9})", rest)
    if found is None:
        shown = f'"{rest}" is not a' if rest else "There is no"
        return ScheduleRefusal(
            f"{shown} schedule number: e.g. !schedule {action} 3 (!schedule list shows them)."
        )
    return ScheduleAction(action, int(found.group(1)))  # type: ignore[arg-type]


def _add(rest: str, zone: str, max_chars: int) -> ScheduleOrder:
    split = split_when(rest)
    if isinstance(split, ScheduleError):
        return ScheduleRefusal(f"{_sentence(split.message)} (e.g. {ADD_EXAMPLE}).")
    when, mission = split
    spec = parse_schedule(when, zone)
    if isinstance(spec, ScheduleError):
        return ScheduleRefusal(f"{_sentence(spec.message)} (e.g. {ADD_EXAMPLE}).")
    order = parse_task_text(mission, max_chars=max_chars)
    if isinstance(order, TaskRefusal):
        return ScheduleRefusal(order.text)
    return AddSchedule(spec, order.mission, order.priority)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
