"""The `schedules` section's values: the scheduler's grace time and the recurring missions
the config declares (synced into the store at start by their stable name)."""

from __future__ import annotations

from dataclasses import dataclass

from bots.tasks.schedule_text import ScheduleSpec


@dataclass(frozen=True)
class DeclaredSchedule:
    """One `schedules.declared` entry, its `when` already read (so a bad one stops the
    start with its dotted key, not the scheduler at night)."""

    name: str
    """Stable across edits of `when` and `priority`: the entry's `name`, else its mission."""
    spec: ScheduleSpec
    mission: str
    priority: str = "medium"


@dataclass(frozen=True)
class ScheduleSettings:
    grace_minutes: float = 60.0
    """A run missed while Chavion was down is made once on start if its time was at most
    this long ago; an older one is reported to the master as missed."""
    declared: tuple[DeclaredSchedule, ...] = ()

    @property
    def grace_seconds(self) -> float:
        return self.grace_minutes * 60.0
