"""How one reading moves a subject's standing: the state machine behind every health alert.

Pure: given the standing as stored and whether the newest reading is bad, the standing to
store and whether that is a change of state (then, and only then, the master is told). A
subject goes bad after `confirm` bad readings in a row (a check that flaps once is not an
outage) and comes back on its first good reading.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bots.store.health import HealthState

Change = Literal["bad", "ok"]


@dataclass(frozen=True)
class Reading:
    """One check's verdict on one subject (`host:web`, `disk:web:/`, …) and why."""

    subject: str
    bad: bool
    detail: str = ""


@dataclass(frozen=True)
class Judged:
    standing: HealthState
    change: Change | None
    """"bad" or "ok" when the state changed with this reading; None otherwise."""


def first_standing(subject: str, now: float) -> HealthState:
    """What a subject never checked counts as: fine, nothing to tell."""
    return HealthState(subject, "ok", 0, now, "", 0, 0, now)


def judge(before: HealthState | None, reading: Reading, now: float, confirm: int) -> Judged:
    """The standing after `reading`; `confirm` (at least 1) bad readings in a row make bad."""
    was = before or first_standing(reading.subject, now)
    if reading.bad:
        streak = was.streak + 1
        if was.state == "ok" and streak >= max(confirm, 1):
            moved = replace(
                was,
                state="bad",
                streak=streak,
                since=now,
                detail=reading.detail,
                changes=was.changes + 1,
                checked_at=now,
            )
            return Judged(moved, "bad")
        return Judged(replace(was, streak=streak, detail=reading.detail, checked_at=now), None)
    if was.state == "bad":
        moved = replace(
            was,
            state="ok",
            streak=0,
            since=now,
            detail=reading.detail,
            changes=was.changes + 1,
            checked_at=now,
        )
        return Judged(moved, "ok")
    return Judged(replace(was, streak=0, detail=reading.detail, checked_at=now), None)
