"""The config's declared schedules, brought into the store at start by their stable name.

A new entry is added; an edited one is updated in place (its id, its pause and its run in
progress kept; re-timed from now only when its timing changed); one gone from the config
is removed (its run in progress finishes). Schedules added from the room are untouched.
Declared schedules are the master's: he wrote the config.
"""

from __future__ import annotations

from dataclasses import dataclass

from bots.settings.schedules import DeclaredSchedule
from bots.store.schedules import Schedule, ScheduleStore
from bots.tasks.schedule_runs import first_run


@dataclass(frozen=True)
class SyncResult:
    added: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()


async def sync_declared(
    store: ScheduleStore, declared: tuple[DeclaredSchedule, ...], *, master: str, now: float
) -> SyncResult:
    """Makes the store's config-declared schedules match `declared`."""
    existing = {s.config_name: s for s in await store.declared() if s.config_name is not None}
    added: list[int] = []
    updated: list[int] = []
    for entry in declared:
        spec = entry.spec
        current = existing.pop(entry.name, None)
        if current is None:
            made = await store.add(
                kind=spec.kind,
                cron=spec.cron,
                seconds=spec.seconds,
                zone=spec.zone,
                text=spec.text,
                mission=entry.mission,
                priority=entry.priority,
                created_by=master,
                now=now,
                next_run_at=first_run(spec, now),
                config_name=entry.name,
            )
            added.append(made.id)
        elif _differs(current, entry):
            retimed = (current.kind, current.cron, current.seconds, current.zone) != (
                spec.kind,
                spec.cron,
                spec.seconds,
                spec.zone,
            )
            await store.update_declared(
                current.id,
                kind=spec.kind,
                cron=spec.cron,
                seconds=spec.seconds,
                zone=spec.zone,
                text=spec.text,
                mission=entry.mission,
                priority=entry.priority,
                next_run_at=first_run(spec, now) if retimed else current.next_run_at,
            )
            updated.append(current.id)
    removed = [s.id for s in existing.values() if await store.remove(s.id, now)]
    return SyncResult(tuple(added), tuple(updated), tuple(removed))


def _differs(current: Schedule, entry: DeclaredSchedule) -> bool:
    spec = entry.spec
    return (
        current.kind,
        current.cron,
        current.seconds,
        current.zone,
        current.text,
        current.mission,
        current.priority,
    ) != (spec.kind, spec.cron, spec.seconds, spec.zone, spec.text, entry.mission, entry.priority)
