"""Schedules in the store: kept across restarts, due when their time comes, claimed run by
run so that two runs of one schedule never overlap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bots.errors import StoreError
from bots.store import Store
from bots.store.migrations import STEPS
from bots.store.schedules import Schedule, ScheduleStore

NOW = 1_000_000.0
MINUTE = 60.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


@pytest.fixture
def schedules(store: Store) -> ScheduleStore:
    return store.schedules  # how the runtime wires it: the store's own connection


async def _add(
    schedules: ScheduleStore,
    *,
    next_run_at: float | None = NOW,
    mission: str = "check disk",
    kind: Any = "cron",
    cron: str | None = "0 7 * * *",
    seconds: float | None = None,
) -> Schedule:
    return await schedules.add(
        kind=kind,
        cron=cron,
        seconds=seconds,
        zone="Asia/Seoul",
        text="매일 7시",
        mission=mission,
        priority="medium",
        created_by="@master:test",
        now=NOW - 10,
        next_run_at=next_run_at,
    )


async def test_the_schedules_table_is_the_latest_migration(store: Store) -> None:
    # v17 brought the schedules; later steps (v18, the spend ledger) come after it.
    assert [version for version, _ in STEPS].index(17) == 16
    assert await store.schema_version() == STEPS[-1][0]


async def test_an_added_schedule_is_kept_as_written(schedules: ScheduleStore) -> None:
    added = await _add(schedules)
    assert added == Schedule(
        id=added.id,
        kind="cron",
        cron="0 7 * * *",
        seconds=None,
        zone="Asia/Seoul",
        text="매일 7시",
        mission="check disk",
        priority="medium",
        created_by="@master:test",
        created_at=NOW - 10,
        next_run_at=NOW,
    )
    assert await schedules.get(added.id) == added
    interval = await _add(schedules, kind="interval", cron=None, seconds=900)
    assert (interval.kind, interval.cron, interval.seconds) == ("interval", None, 900)
    assert interval.id > added.id


async def test_a_schedule_survives_a_restart(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as first:
        added = await _add(first.schedules)
        await first.schedules.claim_run(added.id, 7, NOW, next_run_at=NOW + 86400, now=NOW)
    async with await Store.open(tmp_path / "s.db") as again:
        kept = await again.schedules.get(added.id)
    assert kept is not None
    assert (kept.running_task, kept.last_run_at, kept.next_run_at) == (7, NOW, NOW + 86400)


# kind, cron, seconds, mission, what the table refuses
REFUSED = [
    ("cron", None, None, "m", "a cron schedule without its cron"),
    ("interval", None, 30.0, "m", "an interval under a minute"),
    ("interval", None, None, "m", "an interval without its length"),
    ("interval", "0 7 * * *", 900.0, "m", "an interval that also has a cron"),
    ("weekly", "0 7 * * *", None, "m", "an unknown kind"),
    ("cron", "0 7 * * *", None, "", "an empty mission"),
]


@pytest.mark.parametrize(
    ("kind", "cron", "seconds", "mission", "what"), REFUSED, ids=[r[-1] for r in REFUSED]
)
async def test_the_table_refuses_a_schedule_that_cannot_run(
    schedules: ScheduleStore,
    kind: str,
    cron: str | None,
    seconds: float | None,
    mission: str,
    what: str,
) -> None:
    with pytest.raises(StoreError, match="the schedules failed"):
        await _add(schedules, kind=kind, cron=cron, seconds=seconds, mission=mission)
    assert await schedules.list(include_removed=True) == []


async def test_removal_is_soft_and_once(schedules: ScheduleStore) -> None:
    kept, gone = await _add(schedules), await _add(schedules, mission="rotate logs")
    assert await schedules.remove(gone.id, now=NOW)
    assert not await schedules.remove(gone.id, now=NOW + 1)
    assert not await schedules.remove(999, now=NOW)
    assert [s.id for s in await schedules.list()] == [kept.id]
    assert [s.id for s in await schedules.list(include_removed=True)] == [kept.id, gone.id]
    removed = await schedules.get(gone.id)
    assert removed is not None
    assert removed.removed_at == NOW  # the first removal's time
    assert await schedules.due(NOW) == [kept]


async def test_pause_and_resume_each_happen_once(schedules: ScheduleStore) -> None:
    added = await _add(schedules)
    assert not await schedules.resume(added.id, next_run_at=NOW)  # not paused
    assert await schedules.pause(added.id)
    assert not await schedules.pause(added.id)
    paused = await schedules.get(added.id)
    assert paused is not None
    assert paused.paused
    assert await schedules.list() == [paused]  # a paused schedule is still listed
    assert await schedules.due(NOW + 3600) == []
    assert await schedules.resume(added.id, next_run_at=NOW + 3600)
    resumed = await schedules.get(added.id)
    assert resumed is not None
    assert (resumed.paused, resumed.next_run_at) == (False, NOW + 3600)
    assert not await schedules.pause(999)
    await schedules.remove(added.id, now=NOW)
    assert not await schedules.pause(added.id)


async def _paused(schedules: ScheduleStore, s: Schedule) -> None:
    await schedules.pause(s.id)


async def _removed(schedules: ScheduleStore, s: Schedule) -> None:
    await schedules.remove(s.id, now=NOW)


async def _running(schedules: ScheduleStore, s: Schedule) -> None:
    assert await schedules.claim_run(s.id, 41, NOW - MINUTE, next_run_at=NOW - 1, now=NOW - 60)


async def _finished(schedules: ScheduleStore, s: Schedule) -> None:
    await _running(schedules, s)
    assert await schedules.finish_run(s.id, 41)


async def _nothing(schedules: ScheduleStore, s: Schedule) -> None:
    return None


Then = Callable[[ScheduleStore, Schedule], Awaitable[None]]

# what, next_run_at, what happens to it, due at NOW?
DUE = [
    ("its time has passed", NOW - MINUTE, _nothing, True),
    ("its time is now", NOW, _nothing, True),
    ("its time is still to come", NOW + 1, _nothing, False),
    ("it has no next run", None, _nothing, False),
    ("it is paused", NOW - MINUTE, _paused, False),
    ("it was removed", NOW - MINUTE, _removed, False),
    ("its last run is still running (the overlap rule)", NOW - MINUTE, _running, False),
    ("its last run finished and the next is due", NOW - MINUTE, _finished, True),
]


@pytest.mark.parametrize(("what", "next_run_at", "then", "is_due"), DUE, ids=[r[0] for r in DUE])
async def test_a_schedule_is_due_when(
    schedules: ScheduleStore, what: str, next_run_at: float | None, then: Then, is_due: bool
) -> None:
    added = await _add(schedules, next_run_at=next_run_at)
    await then(schedules, added)
    assert [s.id for s in await schedules.due(NOW)] == ([added.id] if is_due else [])


async def test_due_lists_the_earliest_first(schedules: ScheduleStore) -> None:
    late = await _add(schedules, next_run_at=NOW - 1)
    early = await _add(schedules, next_run_at=NOW - 100)
    await _add(schedules, next_run_at=NOW + 100)
    assert [s.id for s in await schedules.due(NOW)] == [early.id, late.id]


async def test_a_claim_records_the_run_and_the_next_one(schedules: ScheduleStore) -> None:
    added = await _add(schedules)
    assert await schedules.claim_run(added.id, 12, NOW, next_run_at=NOW + 86400, now=NOW + 2)
    claimed = await schedules.get(added.id)
    assert claimed is not None
    assert (claimed.last_run_at, claimed.running_task, claimed.next_run_at) == (
        NOW + 2,
        12,
        NOW + 86400,
    )


async def _claim_again(schedules: ScheduleStore, s: Schedule) -> bool:
    """A second claim of the same due run (another tick, another process)."""
    return await schedules.claim_run(s.id, 13, NOW, next_run_at=NOW + 86400, now=NOW)


async def _claim_next_while_running(schedules: ScheduleStore, s: Schedule) -> bool:
    """The next run came due while the first still runs: it must wait, not overlap."""
    return await schedules.claim_run(s.id, 13, NOW + 86400, next_run_at=NOW + 2 * 86400, now=NOW)


async def _claim_next_after_finish(schedules: ScheduleStore, s: Schedule) -> bool:
    assert await schedules.finish_run(s.id, 12)
    return await schedules.claim_run(s.id, 13, NOW + 86400, next_run_at=NOW + 2 * 86400, now=NOW)


async def _claim_stale(schedules: ScheduleStore, s: Schedule) -> bool:
    """A claim that read the schedule before the first claim moved its next run."""
    assert await schedules.finish_run(s.id, 12)
    return await schedules.claim_run(s.id, 13, NOW, next_run_at=NOW + 86400, now=NOW)


async def _claim_paused(schedules: ScheduleStore, s: Schedule) -> bool:
    assert await schedules.finish_run(s.id, 12)
    await schedules.pause(s.id)
    return await schedules.claim_run(s.id, 13, NOW + 86400, next_run_at=None, now=NOW)


async def _claim_removed(schedules: ScheduleStore, s: Schedule) -> bool:
    assert await schedules.finish_run(s.id, 12)
    await schedules.remove(s.id, now=NOW)
    return await schedules.claim_run(s.id, 13, NOW + 86400, next_run_at=None, now=NOW)


Claim = Callable[[ScheduleStore, Schedule], Awaitable[bool]]

# what, the second claim (after task 12 claimed the run due at NOW), does it win,
# the run in progress afterwards
SECOND_CLAIMS: list[tuple[str, Claim, bool, int | None]] = [
    ("the same run claimed twice", _claim_again, False, 12),
    ("the next run while the first still runs", _claim_next_while_running, False, 12),
    ("the next run once the first finished", _claim_next_after_finish, True, 13),
    ("a stale claim of the run already made", _claim_stale, False, None),
    ("a run of a paused schedule", _claim_paused, False, None),
    ("a run of a removed schedule", _claim_removed, False, None),
]


@pytest.mark.parametrize(
    ("what", "claim", "wins", "running"), SECOND_CLAIMS, ids=[r[0] for r in SECOND_CLAIMS]
)
async def test_a_second_claim(
    schedules: ScheduleStore, what: str, claim: Claim, wins: bool, running: int | None
) -> None:
    added = await _add(schedules)
    assert await schedules.claim_run(added.id, 12, NOW, next_run_at=NOW + 86400, now=NOW)
    assert await claim(schedules, added) is wins
    after = await schedules.get(added.id)
    assert after is not None
    assert after.running_task == running


async def test_of_many_concurrent_claims_of_one_run_exactly_one_wins(
    schedules: ScheduleStore,
) -> None:
    added = await _add(schedules)
    won = await asyncio.gather(
        *(
            schedules.claim_run(added.id, task, NOW, next_run_at=NOW + 86400, now=NOW)
            for task in range(100, 120)
        )
    )
    assert won.count(True) == 1
    claimed = await schedules.get(added.id)
    assert claimed is not None
    assert claimed.running_task == 100 + won.index(True)


async def test_only_the_running_task_finishes_its_run(schedules: ScheduleStore) -> None:
    added = await _add(schedules)
    assert not await schedules.finish_run(added.id, 12)  # nothing runs
    assert await schedules.claim_run(added.id, 12, NOW, next_run_at=NOW + 1, now=NOW)
    assert not await schedules.finish_run(added.id, 99)
    assert await schedules.due(NOW + 2) == []
    assert await schedules.finish_run(added.id, 12)
    assert not await schedules.finish_run(added.id, 12)
    assert [s.id for s in await schedules.due(NOW + 2)] == [added.id]


async def test_a_removed_schedules_run_still_finishes(schedules: ScheduleStore) -> None:
    added = await _add(schedules)
    assert await schedules.claim_run(added.id, 12, NOW, next_run_at=NOW + 1, now=NOW)
    assert await schedules.remove(added.id, now=NOW)
    assert await schedules.finish_run(added.id, 12)
    assert await schedules.due(NOW + 2) == []


async def test_a_skipped_run_moves_on_without_running(schedules: ScheduleStore) -> None:
    """A run missed beyond the grace time is reported, not made: only the next run moves."""
    added = await _add(schedules)
    assert await schedules.skip_run(added.id, NOW, next_run_at=NOW + 86400)
    assert not await schedules.skip_run(added.id, NOW, next_run_at=NOW + 86400)  # stale
    skipped = await schedules.get(added.id)
    assert skipped is not None
    assert (skipped.last_run_at, skipped.running_task, skipped.next_run_at) == (
        None,
        None,
        NOW + 86400,
    )
    later = NOW + 2 * 86400
    assert await schedules.claim_run(added.id, 12, NOW + 86400, next_run_at=later, now=NOW)
    assert not await schedules.skip_run(added.id, later, next_run_at=later + 86400)  # running


async def test_due_among_a_thousand_schedules(schedules: ScheduleStore, store: Store) -> None:
    """The benchmark's store side: 1,000 schedules, a tenth of them due. Timing is printed,
    not asserted (the machine is shared)."""
    started = time.perf_counter()
    for n in range(1000):
        await _add(schedules, next_run_at=NOW - n if n % 10 == 0 else NOW + n, mission=f"m{n}")
    added = time.perf_counter() - started
    rounds = 50
    started = time.perf_counter()
    for _ in range(rounds):
        found = await schedules.due(NOW)
    each = (time.perf_counter() - started) / rounds
    assert len(found) == 100
    print(f"\n1,000 schedules: added in {added * 1000:.0f} ms; due() {each * 1000:.2f} ms a call")
