"""Reading an order: the mission text after `//chavion_task:`, `/chavion_task:` or `!task`,
with an optional priority and how to work in front (`split:` divides it among the agents,
`critique:` / `no critique:` turns the critique round on or off), in any order, and a task
reference (`12`, `#12`) for the ops commands.

A refusal is a value carrying what to say (what to send instead), never an exception: the
router's caller answers it as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Priority = Literal["high", "medium", "low"]
TaskMode = Literal["council", "split"]
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
_WAYS: dict[str, tuple[str, bool]] = {
    "split": ("mode", True),
    "분담": ("mode", True),
    "나눠서": ("mode", True),
    "critique": ("critique", True),
    "비평": ("critique", True),
    "no critique": ("critique", False),
    "비평없이": ("critique", False),
    "비평 없이": ("critique", False),
}
# The same explicit forms as a priority: `split: …`, `[critique] …`.
_WAY = re.compile(
    r"""\A\s*(?:
        \[\s*(?P<bracket>split|분담|나눠서|critique|no\s+critique|비평|비평\s*없이)\s*\]\s*:?
      | (?P<colon>split|분담|나눠서|critique|no\s+critique|비평|비평\s*없이)\s*[:：]
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
    mode: TaskMode | None = None
    """`split` when ordered so; None: the coordinator chooses (`tasks.split`)."""
    critique: bool | None = None
    """A critique round ordered on or off; None: as configured (`tasks.critique`)."""


@dataclass(frozen=True)
class TaskRefusal:
    """Why no task was made, said to the sender as it is."""

    text: str


def parse_task_text(args: str, *, max_chars: int) -> TaskOrder | TaskRefusal:
    """The order in `args` (what follows the command word), or why there is none.

    A priority may lead: `high: …`, `[low] …`, Korean `긴급:` (high), `보통:` (medium),
    `낮음:` (low); otherwise the priority is medium. So may the way to work, before or after
    it: `split:` (`분담:`), `critique:` (`비평:`), `no critique:` (`비평 없이:`); each word
    at most once. The mission keeps its inner lines; blank lines around it go. Over
    `max_chars` characters is refused, naming the limit.
    """
    text = args.replace("\x00", "").strip()
    if text.startswith((":", "：")):  # "!task: …" or a router that left the colon
        text = text[1:].lstrip()
    priority: Priority = DEFAULT_PRIORITY
    ways: dict[str, bool] = {}
    seen_priority = False
    while True:
        lead = _LEADING.match(text)
        if lead and not seen_priority:
            word = (lead.group("bracket") or lead.group("colon")).lower()
            priority = _WORDS[word]
            seen_priority = True
            text = text[lead.end() :].strip()
            continue
        way = _WAY.match(text)
        if way:
            word = " ".join((way.group("bracket") or way.group("colon")).lower().split())
            what, on = _WAYS.get(word, _WAYS.get(word.replace(" ", ""), ("", False)))
            if what and what not in ways:
                ways[what] = on
                text = text[way.end() :].strip()
                continue
        break
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
    mode: TaskMode | None = "split" if ways.get("mode") else None
    return TaskOrder(text, priority, mode, ways.get("critique"))


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
