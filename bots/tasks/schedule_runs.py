"""When a stored schedule runs next, whether a late run is still worth making, and how a
task names the schedule it came from. Pure: the caller passes the time.

An interval keeps its rhythm from its first run (a run made late does not shift the next
ones); a cron follows the wall clock of the schedule's zone.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bots.tasks.schedule_text import ScheduleSpec, next_runs

SOURCE_PREFIX = "schedule #"
"""A scheduled task's `source` starts so: "schedule #3, daily 07:00"."""
_SOURCE_TEXT_CHARS = 80


class Timed(Protocol):
    """What the maths needs of a schedule (the store's `Schedule` has it)."""

    @property
    def kind(self) -> str: ...
    @property
    def cron(self) -> str | None: ...
    @property
    def seconds(self) -> float | None: ...
    @property
    def zone(self) -> str: ...
    @property
    def text(self) -> str: ...


def spec_of(schedule: Timed) -> ScheduleSpec:
    if schedule.kind == "interval":
        return ScheduleSpec(
            "interval", schedule.cron, schedule.seconds, schedule.zone, schedule.text
        )
    return ScheduleSpec("cron", schedule.cron, schedule.seconds, schedule.zone, schedule.text)


def first_run(schedule: Timed, now: float) -> float | None:
    """When a new (or resumed, or re-timed) schedule first runs: an interval one interval
    from now, a cron at its next time after now."""
    if schedule.kind == "interval":
        return now + (schedule.seconds or 60.0)
    return _next_cron(schedule, now)


def run_after(schedule: Timed, due: float, now: float) -> float | None:
    """The run after the one due at `due`, strictly later than `now` (runs missed between
    are not made: however many were missed, one is)."""
    if schedule.kind == "interval":
        step = schedule.seconds or 60.0
        passed = max(0, math.floor((now - due) / step) + 1)
        return due + passed * step
    return _next_cron(schedule, max(now, due))


def ran_recently(schedule: Timed, due: float, now: float, grace: float) -> bool:
    """Whether a time the schedule should have run, from `due` up to `now`, lies within
    the last `grace` seconds: then the late run is made once, else it is reported missed."""
    if due > now:
        return False
    earliest = now - grace
    if due >= earliest:
        return True
    if schedule.kind == "interval":
        step = schedule.seconds or 60.0
        latest = due + math.floor((now - due) / step) * step
        return latest >= earliest
    after = _next_cron(schedule, earliest - 1e-3)
    return after is not None and after <= now


def _next_cron(schedule: Timed, after: float) -> float | None:
    zone = ZoneInfo(schedule.zone)
    found = next_runs(spec_of(schedule), datetime.fromtimestamp(after, zone), 1)
    return found[0].timestamp() if found else None


def when_text(at: float | None, zone: str) -> str:
    """ "Fri 05 Dec 07:00 KST" in the schedule's zone; "never" for no time."""
    if at is None:
        return "never"
    return datetime.fromtimestamp(at, ZoneInfo(zone)).strftime("%a %d %b %H:%M %Z")


def schedule_source(schedule_id: int, text: str) -> str:
    """The `source` of a task a schedule made: it names the schedule, for the ack and the
    report ("from schedule #3, daily 07:00")."""
    shown = " ".join(text.strip().strip("\"'").split())
    if len(shown) > _SOURCE_TEXT_CHARS:
        shown = shown[: _SOURCE_TEXT_CHARS - 1] + "…"
    return f"{SOURCE_PREFIX}{schedule_id}, {shown}"


def origin_of(source: str) -> str:
    """What a task's ack and report say of where it came from: "from schedule #3, daily
    07:00" for a scheduled task; "" for any other (an order's thread shows its origin)."""
    return f"from {source}" if source.startswith(SOURCE_PREFIX) else ""


def intake_key(schedule_id: int, due: float) -> str:
    """One task per run: a second scheduler, or a retry after a crash between the intake
    and the claim, gets the same task."""
    return f"schedule/{schedule_id}/{int(due)}"
