"""Routines: a mission that keeps succeeding becomes one command that replays its plan.

Pure: how missions are compared (normalised), what a routine may be called, how `!routine`
reads, and the texts the master reads. The store keeps the routines; the coordinator offers
one after a task's report and runs one through the task engine's one intake.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from bots.tasks.intake import TaskOrder, parse_task_ref, parse_task_text

NAME_CHARS = 40
_NAME = re.compile(rf"[\w-]{{1,{NAME_CHARS}}}")
_SPACES = re.compile(r"\s+")
USAGE = (
    "Usage: !routine save <task> <name> | run <name> | list | rm <name> "
    "(e.g. !routine save 12 disk-check)"
)


def normalise_mission(text: str) -> str:
    """The mission as compared between tasks: no leading priority (`high:`, `[low]`,
    `긴급:`), case folded, punctuation dropped, spaces collapsed. "Report disk usage of
    web-1!" and "high: report  disk usage of web-1" are the same mission; web-1 and web-2
    are not (letters and digits stay, a hyphen becomes a space)."""
    order = parse_task_text(text, max_chars=len(text) + 1)
    mission = order.mission if isinstance(order, TaskOrder) else text
    kept = "".join(
        ch if ch.isalnum() or ch.isspace() or unicodedata.category(ch) == "Mn" else " "
        for ch in unicodedata.normalize("NFKC", mission).casefold()
    )
    return _SPACES.sub(" ", kept).strip()


def check_name(name: str) -> str | None:
    """Why `name` cannot name a routine, or None: 1..40 letters, digits, `_` or `-`."""
    if not name:
        return "A routine needs a name, e.g. !routine save 12 disk-check."
    if len(name) > NAME_CHARS:
        return f"A routine's name is at most {NAME_CHARS} characters; {name[:50]!r} is longer."
    if not _NAME.fullmatch(name):
        return (
            f"{name!r} cannot name a routine: use letters, digits, '_' or '-' "
            "(no spaces), e.g. disk-check."
        )
    return None


@dataclass(frozen=True)
class SaveRoutine:
    task_id: int
    name: str


@dataclass(frozen=True)
class RunRoutine:
    name: str


@dataclass(frozen=True)
class ListRoutines:
    pass


@dataclass(frozen=True)
class RemoveRoutine:
    name: str


@dataclass(frozen=True)
class RoutineRefusal:
    """Why the `!routine` arguments mean nothing, said as it is."""

    text: str


RoutineRequest = SaveRoutine | RunRoutine | ListRoutines | RemoveRoutine | RoutineRefusal


def parse_routine_args(args: str) -> RoutineRequest:
    """`save 12 disk-check`, `run disk-check`, `list` (also no arguments), `rm disk-check`
    (`remove`, `delete` too). Names are case-sensitive as typed, compared case-folded."""
    words = args.split()
    if not words:
        return ListRoutines()
    verb, rest = words[0].lower(), words[1:]
    if verb in ("list", "ls"):
        return RoutineRefusal(f"!routine list takes nothing. {USAGE}") if rest else ListRoutines()
    if verb == "save":
        if len(rest) != 2:
            return RoutineRefusal(f"!routine save takes a task number and a name. {USAGE}")
        task_id = parse_task_ref(rest[0])
        if task_id is None:
            return RoutineRefusal(f"{rest[0]!r} is not a task number (e.g. 12 or #12). {USAGE}")
        return _named(rest[1], lambda n: SaveRoutine(task_id, n))
    if verb in ("run", "rm", "remove", "delete"):
        if len(rest) != 1:
            return RoutineRefusal(f"!routine {verb} takes one routine name. {USAGE}")
        return _named(rest[0], RunRoutine if verb == "run" else RemoveRoutine)
    return RoutineRefusal(f"Unknown !routine action {words[0]!r}. {USAGE}")


def _named(name: str, make: Callable[[str], RoutineRequest]) -> RoutineRequest:
    problem = check_name(name)
    return RoutineRefusal(problem) if problem is not None else make(name)


def name_key(name: str) -> str:
    """How routine names are compared: `Disk-Check` and `disk-check` are one routine."""
    return name.casefold()


def offer_due(successes: int, after: int, *, counted: bool, offered_before: bool) -> bool:
    """Whether a completed task's mission is offered as a routine now: offers are on
    (`after` > 0), this task is among the mission's `successes` (`counted`), there are at
    least `after` of them, and no earlier task of the mission was offered. At least, not
    exactly: an offer missed at the Nth success (offers were off, `routine_after` was higher
    then, the report went out before this version) comes at the next success. Once per
    mission: after it, saving (or not) is the master's call, and a removed routine is not
    offered again."""
    return after > 0 and counted and successes >= after and not offered_before


def offer_line(task_id: int, successes: int) -> str:
    """Said once in the task's thread when its mission has now succeeded `successes` times."""
    return (
        f"#{task_id} 🔁 This succeeded {successes} times — save it as a routine: "
        f"!routine save {task_id} <name>, then !routine run <name> replays this plan "
        "(through review and your approval, without proposals or a vote)."
    )
