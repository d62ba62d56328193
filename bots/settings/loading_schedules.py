"""Reading the `schedules` section: the grace time and the declared schedules, each `when`
read with the same rules as `!schedule add`, every problem naming its dotted key."""

from __future__ import annotations

from bots.settings.reader import Node
from bots.settings.schedules import DeclaredSchedule, ScheduleSettings
from bots.tasks.intake import PRIORITIES
from bots.tasks.schedule_text import ScheduleError, parse_schedule

MAX_GRACE_MINUTES = 7 * 24 * 60  # a week
MAX_MISSION_CHARS = 4000


def parse_schedules(node: Node, timezone: str) -> ScheduleSettings:
    """The `schedules` section; `timezone` is the config's, each entry's default zone."""
    grace = node.get("grace_minutes", float, ScheduleSettings().grace_minutes)
    if not 0 <= grace <= MAX_GRACE_MINUTES:
        raise node.error("grace_minutes", f"must be between 0 and {MAX_GRACE_MINUTES} (a week)")
    declared: list[DeclaredSchedule] = []
    names: dict[str, str] = {}
    for entry in node.children("declared"):
        found = _declared(entry, timezone)
        if found.name in names:
            raise entry.error(
                "name",
                f"{found.name!r} is also {names[found.name]}; give each schedule its own name",
            )
        names[found.name] = entry.path
        declared.append(found)
    node.reject_unknown()
    return ScheduleSettings(grace_minutes=grace, declared=tuple(declared))


def _declared(node: Node, timezone: str) -> DeclaredSchedule:
    when = node.require("when", str)
    mission = " ".join(node.require("mission", str).split())
    if not mission:
        raise node.error("mission", "is empty: say what the council should do")
    if len(mission) > MAX_MISSION_CHARS:
        raise node.error("mission", f"is longer than {MAX_MISSION_CHARS} characters")
    priority = node.get("priority", str, "medium")
    if priority not in PRIORITIES:
        raise node.error("priority", f"expected one of {', '.join(PRIORITIES)}, got {priority!r}")
    zone = node.get("timezone", str, timezone)
    spec = parse_schedule(when, zone)
    if isinstance(spec, ScheduleError):
        key = "timezone" if spec.message.startswith("unknown time zone") else "when"
        raise node.error(key, spec.message)
    name = " ".join(node.get("name", str, mission).split())
    node.reject_unknown()
    return DeclaredSchedule(name=name, spec=spec, mission=mission, priority=priority)
