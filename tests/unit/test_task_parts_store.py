"""The parts of split tasks on a real store file: added once however often a drive replays,
settled once, and an answer for an older try (the part was reassigned since) changes nothing;
a reassignment records who tried."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bots.errors import StoreError
from bots.ids import EventID, RoomID, UserID
from bots.store import Store
from bots.store.task_parts import PartRow
from bots.tasks.splits import Part

T0 = 1_000.0
PARTS = (
    Part(1, "Search prices", "three vendors", suggested="perplexity"),
    Part(2, "Clean logs", commands=True),
    Part(3, "Write summary"),
)
AGENTS = ("perplexity", "gpt", "claude")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


async def new_task(store: Store, key: str = "$t1") -> int:
    task, _ = await store.tasks.create(
        intake_key=key,
        room_id=RoomID("!council:hs"),
        thread_root=EventID(key),
        mission="1. search\n2. clean\n3. write",
        priority="medium",
        requester=UserID("@master:hs"),
        source="matrix",
        now=T0,
        mode="split",
    )
    return task.id


async def test_add_all_stores_every_part_asked_and_is_idempotent(store: Store) -> None:
    task = await new_task(store)
    assert await store.parts.add_all(task, PARTS, AGENTS, T0)
    # A replayed drive (after a crash, or a second tick) adds nothing, even another split.
    assert not await store.parts.add_all(task, PARTS[:2], ("gpt", "gpt"), T0 + 5)
    rows = await store.parts.of(task)
    assert rows == [
        PartRow(task, 1, "Search prices", "three vendors", False, "perplexity", "perplexity",
                (), 1, "asked", "", "", T0),
        PartRow(task, 2, "Clean logs", "", True, None, "gpt", (), 1, "asked", "", "", T0),
        PartRow(task, 3, "Write summary", "", False, None, "claude", (), 1, "asked", "", "", T0),
    ]  # fmt: skip
    assert await store.parts.get(task, 2) == rows[1]
    assert await store.parts.get(task, 9) is None
    assert await store.parts.of(task + 1) == []


async def test_add_all_refuses_parts_and_agents_that_do_not_pair(store: Store) -> None:
    task = await new_task(store)
    with pytest.raises(ValueError, match="3 parts but 2 agents"):
        await store.parts.add_all(task, PARTS, AGENTS[:2], T0)
    assert await store.parts.of(task) == []


async def test_parts_of_an_unknown_task_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="task parts"):
        await store.parts.add_all(404, PARTS, AGENTS, T0)


Settle = Callable[[Store, int], Awaitable[bool]]


async def _done(store: Store, task: int) -> bool:
    return await store.parts.done(task, 1, 1, "prices: a, b, c", T0 + 1)


async def _missing(store: Store, task: int) -> bool:
    return await store.parts.missing(task, 1, 1, "no answer within 5 min", T0 + 1)


@pytest.mark.parametrize(
    ("settle", "status", "result", "why"),
    [
        (_done, "done", "prices: a, b, c", ""),
        (_missing, "missing", "", "no answer within 5 min"),
    ],
)
async def test_a_part_settles_once(
    store: Store, settle: Settle, status: str, result: str, why: str
) -> None:
    task = await new_task(store)
    await store.parts.add_all(task, PARTS, AGENTS, T0)
    assert await settle(store, task)
    # Settled: neither a second answer nor a deadline changes it.
    assert not await store.parts.done(task, 1, 1, "another answer", T0 + 2)
    assert not await store.parts.missing(task, 1, 1, "late", T0 + 2)
    row = await store.parts.get(task, 1)
    assert row is not None
    assert (row.status, row.result, row.why, row.updated_at) == (status, result, why, T0 + 1)


async def test_reassign_records_who_tried_and_a_stale_try_changes_nothing(store: Store) -> None:
    task = await new_task(store)
    await store.parts.add_all(task, PARTS, AGENTS, T0)
    assert await store.parts.reassign(task, 1, 1, "gemini", "perplexity: quota", T0 + 1)
    # The same reassignment replayed, or an answer for try 1, changes nothing.
    assert not await store.parts.reassign(task, 1, 1, "claude", "again", T0 + 2)
    assert not await store.parts.done(task, 1, 1, "late answer of try 1", T0 + 2)
    assert not await store.parts.missing(task, 1, 1, "try 1 timed out", T0 + 2)
    row = await store.parts.get(task, 1)
    assert row is not None
    assert (row.agent, row.tried, row.try_, row.status, row.why) == (
        "gemini",
        ("perplexity",),
        2,
        "asked",
        "perplexity: quota",
    )
    # Try 2 fails too: reassigned again (the engine allows once; the store just records).
    assert await store.parts.missing(task, 1, 2, "no answer", T0 + 3)
    assert await store.parts.reassign(task, 1, 2, "claude", "gemini: no answer", T0 + 4)
    assert await store.parts.done(task, 1, 3, "prices", T0 + 5)
    row = await store.parts.get(task, 1)
    assert row is not None
    assert (row.agent, row.tried, row.try_, row.status, row.result) == (
        "claude",
        ("perplexity", "gemini"),
        3,
        "done",
        "prices",
    )
    # A done part is never reassigned; the other parts were never touched.
    assert not await store.parts.reassign(task, 1, 3, "gpt", "x", T0 + 6)
    assert [(r.n, r.try_, r.status) for r in await store.parts.of(task)] == [
        (1, 3, "done"),
        (2, 1, "asked"),
        (3, 1, "asked"),
    ]


async def test_parts_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with await Store.open(path) as store:
        task = await new_task(store)
        await store.parts.add_all(task, PARTS, AGENTS, T0)
        await store.parts.done(task, 3, 1, "the summary", T0 + 1)
    async with await Store.open(path) as store:
        assert await store.schema_version() >= 13
        assert [(r.n, r.status, r.result) for r in await store.parts.of(task)] == [
            (1, "asked", ""),
            (2, "asked", ""),
            (3, "done", "the summary"),
        ]
