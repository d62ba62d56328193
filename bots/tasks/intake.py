"""Reading an order: the mission text after `//chavion_task:`, `/chavion_task:` or `!task`,
with an optional priority in front, and a task reference (`12`, `#12`) for the ops commands.

A refusal is a value carrying what to say (what to send instead), never an exception: the
router's caller answers it as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Priority = Literal["high", "medium", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "medium", "low")
DEFAULT_PRIORITY: Priority = "medium"

EXAMPLE = "//chavion_task: report disk usage of web-1"
"""The example every refusal shows."""

_WORDS: dict[str, Priority] = {
    "high": "high",
    "medium": "medium",
    "low": "low",
    "긴급": "high",
    "보통": "medium",
    "낮음": "low",
}
# Only explicit forms: `high: …`, `[high] …`, `긴급: …`. A bare leading word ("high fix nginx")
# is too ambiguous ("low disk space on web-1" is a mission, not a priority).
_LEADING = re.compile(
    r"""\A\s*(?:
        \[\s*(?P<bracket>high|medium|low|긴급|보통|낮음)\s*\]\s*:?
      | (?P<colon>high|medium|low|긴급|보통|낮음)\s*[:：]
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_TASK_REF = re.compile(r"\A#?0*(?P<n>[1-9][0-9]{0,15})\Z")
MAX_TASK_ID = 2**53 - 1
"""Canonical JSON's integer range: a task id travels in event content."""


@dataclass(frozen=True)
class TaskOrder:
    mission: str
    priority: Priority = DEFAULT_PRIORITY


@dataclass(frozen=True)
class TaskRefusal:
    """Why no task was made, said to the sender as it is."""

    text: str


def parse_task_text(args: str, *, max_chars: int) -> TaskOrder | TaskRefusal:
    """The order in `args` (what follows the command word), or why there is none.

    A priority may lead: `high: …`, `[low] …`, Korean `긴급:` (high), `보통:` (medium),
    `낮음:` (low); otherwise the priority is medium. The mission keeps its inner lines; blank
    lines around it go. Over `max_chars` characters is refused, naming the limit.
    """
    text = args.replace("\x00", "").strip()
    if text.startswith((":", "：")):  # "!task: …" or a router that left the colon
        text = text[1:].lstrip()
    priority: Priority = DEFAULT_PRIORITY
    lead = _LEADING.match(text)
    if lead:
        word = (lead.group("bracket") or lead.group("colon")).lower()
        priority = _WORDS[word]
        text = text[lead.end() :].strip()
    if not text:
        return TaskRefusal(
            f"There is no mission to work on. Send the mission after the colon, e.g. {EXAMPLE} "
            "(a priority may lead it: high:, medium:, low:)."
        )
    if len(text) > max_chars:
        return TaskRefusal(
            f"The mission is {len(text):,} characters long; the limit is {max_chars:,} "
            "(tasks.max_mission_chars). Send a short summary of what to do, and put the details "
            "in a file on a host the agents can read (name its path in the mission)."
        )
    return TaskOrder(text, priority)


def parse_priority(text: str) -> Priority | None:
    """`high`, `medium`, `low` (any case) or the Korean `긴급`/`보통`/`낮음`; None otherwise."""
    return _WORDS.get(text.strip().lower())


def parse_task_ref(args: str) -> int | None:
    """A task number as people write it: `12` or `#12`; None for anything else."""
    match = _TASK_REF.match(args.strip())
    if match is None:
        return None
    number = int(match.group("n"))
    return number if number <= MAX_TASK_ID else None
