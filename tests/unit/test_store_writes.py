"""One write lock for the bots' store connection: nothing another sub-store writes is lost.

The store is one autocommit connection shared by every sub-store. A statement sent while a
task transaction is open would join that transaction and vanish with its rollback; so every
write, single statement or transaction, holds the store's one lock (`Writer`).
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.store import Store
from bots.store.polls import PollBallot
from bots.store.routines import Routine
from bridge.llm.base import Usage

ROOM = RoomID("!room:test")
MASTER = UserID("@master:test")


class Boom(Exception):
    """What makes the task transaction roll back."""


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


async def _poll(store: Store) -> int:
    poll, _ = await store.polls.create(
        open_key="k1",
        room_id=ROOM,
        thread_root=None,
        question="Which?",
        options=["a", "b"],
        agents=["claude"],
        requester=MASTER,
        source="matrix",
        now=1.0,
        deadline=100.0,
    )
    return poll.id


async def _vote(store: Store) -> None:
    await store.polls.add_vote(PollBallot(1, "claude", "B", EventID("$v"), 5))


async def _voted(store: Store) -> bool:
    return [b.choice for b in await store.polls.votes(1)] == ["B"]


async def _usage(store: Store) -> None:
    await store.usage.record("claude", "m", "2026-12-03", Usage(10, 5), 0.5, None, at=1.0)


async def _used(store: Store) -> bool:
    return tuple(await store.usage.totals("claude", "2026-12-03")) == (15, 0.5)


ROUTINE = Routine(
    "disk", "check disk", "check disk", "{}", "d1", "claude", 1, "master", 1.0, 0, None
)


async def _save_routine(store: Store) -> None:
    assert await store.routines.save(ROUTINE, "disk")


async def _routine_kept(store: Store) -> bool:
    return await store.routines.get("disk") == ROUTINE


async def _set_model(store: Store) -> None:
    await store.agent_models.set("claude", "gpt-5", "master", now=1.0)


async def _model_kept(store: Store) -> bool:
    return await store.agent_models.get("claude") == "gpt-5"


async def _mute(store: Store) -> None:
    await store.agent_flags.set_muted("claude", True, "master")


async def _muted(store: Store) -> bool:
    return await store.agent_flags.is_muted("claude")


async def _claim(store: Store) -> None:
    assert await store.claim_event("coordinator", "$e1", ROOM)


async def _claimed(store: Store) -> bool:
    return not await store.claim_event("coordinator", "$e1", ROOM)


async def _sync(store: Store) -> None:
    await store.save_sync_token("coordinator", "s42")


async def _synced(store: Store) -> bool:
    return await store.sync_token("coordinator") == "s42"


async def _minutes(store: Store) -> None:
    await store.minutes.add(
        task_id=None,
        room_id=ROOM,
        thread_root=None,
        text="we talked",
        status="",
        author="claude",
        event_id=None,
        now=1.0,
    )


async def _minutes_kept(store: Store) -> bool:
    return [m.text for m in await store.minutes.recent()] == ["we talked"]


async def _add_schedule(store: Store) -> None:
    await store.schedules.add(
        kind="interval",
        cron=None,
        seconds=900.0,
        zone="Asia/Seoul",
        text="every 15m",
        mission="check disk",
        priority="medium",
        created_by="master",
        now=1.0,
        next_run_at=901.0,
    )


async def _schedule_kept(store: Store) -> bool:
    return [s.mission for s in await store.schedules.list()] == ["check disk"]


Write = Callable[[Store], Coroutine[Any, Any, None]]
Check = Callable[[Store], Coroutine[Any, Any, bool]]

OTHER_WRITES: list[tuple[str, Write, Check]] = [
    ("a poll vote", _vote, _voted),
    ("a usage row", _usage, _used),
    ("a routine", _save_routine, _routine_kept),
    ("an agent's model", _set_model, _model_kept),
    ("an agent's mute", _mute, _muted),
    ("an event claim", _claim, _claimed),
    ("a sync token", _sync, _synced),
    ("a discussion's minutes", _minutes, _minutes_kept),
    ("a schedule", _add_schedule, _schedule_kept),
]


@pytest.mark.parametrize(
    ("what", "write", "check"), OTHER_WRITES, ids=[row[0] for row in OTHER_WRITES]
)
async def test_a_rolled_back_task_transaction_loses_nothing_another_sub_store_wrote(
    store: Store, what: str, write: Write, check: Check
) -> None:
    await _poll(store)
    opened, release = asyncio.Event(), asyncio.Event()

    async def failing_task_transaction() -> None:
        async with store.tasks._transaction():
            opened.set()
            await release.wait()
            raise Boom

    mover = asyncio.create_task(failing_task_transaction())
    await opened.wait()
    writer = asyncio.create_task(write(store))
    await asyncio.sleep(0.05)  # the other write is sent (or waits) while the transaction is open
    release.set()
    with pytest.raises(Boom):
        await mover
    await asyncio.wait_for(writer, 5)
    assert await check(store), f"{what} was lost with the task transaction's rollback"


async def test_a_write_inside_the_same_coroutines_transaction_fails_at_once(store: Store) -> None:
    """The lock is not re-entrant: waiting for it there would wait forever."""

    async def write_inside() -> None:
        async with store.tasks._transaction():
            await _usage(store)

    with pytest.raises(RuntimeError, match="not re-entrant"):
        await asyncio.wait_for(write_inside(), 5)
    assert not await _used(store)  # rolled back with the transaction


SUB_STORES = [
    "agent_flags",
    "bridge_tokens",
    "agent_models",
    "routines",
    "pending_answers",
    "tasks",
    "lessons",
    "polls",
    "minutes",
    "usage",
    "parts",
    "schedules",
]


@pytest.mark.parametrize("name", SUB_STORES)
async def test_every_sub_store_writes_through_the_stores_one_writer(
    store: Store, name: str
) -> None:
    assert getattr(store, name)._writes is store._writes


# --- guard: every write in bots/store goes through the writer --------------------------------

STORE_DIR = Path(__file__).parents[2] / "bots" / "store"
OWN_CONNECTIONS = {"audit.py", "plan_approvals.py"}
"""Modules on a connection of their own (serialised by their own lock), not the bots' one."""
WRITER_MODULE = "connection.py"
WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN|COMMIT|ROLLBACK|CREATE|DROP|ALTER)\b")
RAW_CALLS = {"execute", "executemany", "executescript", "execute_insert", "execute_fetchall"}
WRITER = {"self._writes", "tx"}
FORWARDERS = {"tasks.py": {"self._insert"}, "polls.py": {"self._write"}}
"""Helpers that take a write's SQL and hand it to the writer (checked below)."""


def _sql_start(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return (
            first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
        )
    return None


def _write_offenders(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    allowed = WRITER | FORWARDERS.get(path.name, set())
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value)
            sql = _sql_start(node.args[0]) if node.args else None
            if (
                node.func.attr in RAW_CALLS
                and receiver not in WRITER
                and not (sql or "").lstrip().startswith(("PRAGMA", "SELECT"))
            ):
                found.append(f"{path.name}:{node.lineno} {receiver}.{node.func.attr}")
        if not isinstance(node, ast.Constant | ast.JoinedStr):
            continue
        if isinstance(parents.get(node), ast.JoinedStr):
            continue  # a piece of an f-string: the f-string is checked
        sql = _sql_start(node)
        if sql is None or not WRITES.match(sql):
            continue
        call = parents.get(node)
        callee = ast.unparse(call.func) if isinstance(call, ast.Call) else ""
        if callee.rsplit(".", 1)[0] not in allowed and callee not in allowed:
            found.append(f"{path.name}:{node.lineno} {sql.strip()[:30]!r} via {callee or '?'}")
    return found


def test_every_write_on_the_bots_connection_goes_through_the_writer() -> None:
    """A write SQL literal is the first argument of the writer's (or the open transaction's)
    methods, or of a helper that forwards to them; nothing calls the connection directly
    except to read or set a PRAGMA."""
    offenders = [
        offender
        for path in sorted(STORE_DIR.glob("*.py"))
        if path.name not in OWN_CONNECTIONS | {WRITER_MODULE}
        for offender in _write_offenders(path)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("module", "helper"),
    [(module, helper) for module, helpers in FORWARDERS.items() for helper in helpers],
)
def test_the_write_helpers_hand_their_sql_to_the_writer(module: str, helper: str) -> None:
    tree = ast.parse((STORE_DIR / module).read_text(encoding="utf-8"))
    (function,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef) and node.name == helper.removeprefix("self.")
    ]
    assert "self._writes.execute(sql" in ast.unparse(function)


def test_the_guard_finds_a_write_that_bypasses_the_writer(tmp_path: Path) -> None:
    bypass = tmp_path / "bypass.py"
    bypass.write_text(
        "async def f(self):\n"
        "    await self._db.execute('DELETE FROM polls')\n"
        "    await fetch_one(self._db, f'UPDATE tasks SET a = 1 RETURNING {X}')\n"
        "    await self._writes.execute('DELETE FROM polls')\n"
        "    await self._db.execute('PRAGMA foreign_keys=ON')\n",
        encoding="utf-8",
    )
    assert [o.split(" ")[0] for o in _write_offenders(bypass)] == [
        "bypass.py:2",
        "bypass.py:2",
        "bypass.py:3",
    ]
