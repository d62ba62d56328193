"""The audit store: append-only enforced by SQLite, one run per request id, crashes reported."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiosqlite
import pytest

from bots.errors import StoreError
from bots.execution.approvals import ApprovalRules, Approve, Interrupt, RequestState, Start, apply
from bots.execution.ledger import RequestLedger
from bots.execution.requests import ExecRequest, ExecResult, new_request, outcome_result
from bots.ids import EventID, RequestID, RoomID, TaskID, UserID
from bots.store import Store, statements
from bots.store.audit import AuditStore
from bots.store.migrations import STEPS
from bots.store.migrations.v03_audit import SQL
from executor.policy import Decision, Verdict

MASTER = UserID("@master:hs")
ROOM = RoomID("!council:hs")
SECRET = "hunter2-very-secret"
REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def make_request(request_id: str = "r1", command: str = "systemctl restart nginx") -> ExecRequest:
    request = new_request(
        "web1", command, MASTER, RequestID(request_id), task_id=TaskID("t1"), step=1
    )
    assert isinstance(request, ExecRequest)
    return request


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "chavion.db"


@pytest.fixture
async def audit(db_path: Path) -> AsyncIterator[RequestLedger]:
    async with await Store.open(db_path):
        pass
    store = await RequestLedger.open(db_path, secrets=[SECRET], clock=Clock())
    yield store
    await store.close()


async def raw_rows(path: Path, sql: str) -> list[Any]:
    async with aiosqlite.connect(path) as db, db.execute(sql) as cursor:
        return list(await cursor.fetchall())


async def approved(audit: RequestLedger, request_id: str = "r1") -> RequestID:
    rid = RequestID(request_id)
    assert await audit.open_request(make_request(request_id), room_id=ROOM, event_id=EventID("$q"))
    assert await audit.transition(rid, "approved", actor=MASTER, event_id=EventID("$ok"))
    return rid


# Schema -------------------------------------------------------------------------------


async def test_the_store_migrates_to_the_audit_schema(db_path: Path) -> None:
    assert [version for version, _ in STEPS] == sorted({version for version, _ in STEPS})
    async with await Store.open(db_path) as store:
        assert await store.schema_version() == STEPS[-1][0] >= 3
    tables = {row[0] for row in await raw_rows(db_path, "SELECT name FROM sqlite_master")}
    assert {"audit_log", "exec_requests", "audit_log_no_update", "audit_log_no_delete"} <= tables
    assert (await raw_rows(db_path, "PRAGMA journal_mode"))[0][0] == "wal"


LOOKUPS_BY_EVENT = [
    ("approved_under: the window between a plan's steps", "approved_under"),
]


@pytest.mark.parametrize(("what", "call"), LOOKUPS_BY_EVENT, ids=[c for _, c in LOOKUPS_BY_EVENT])
async def test_audit_rows_are_found_by_event_through_an_index(
    audit: RequestLedger, db_path: Path, what: str, call: str
) -> None:
    # The audit log only grows: a lookup by event that scans it costs 6 ms at 100k rows
    # (tests/bench/audit.py), one through `audit_log_event` (v14) 0.05 ms.
    await approved(audit)
    said: list[str] = []
    await audit.store._db.set_trace_callback(said.append)
    await getattr(audit, call)(EventID("$ok"), EventID("$plan"))
    await audit.store._db.set_trace_callback(cast(Any, None))  # off again
    [query] = [s for s in said if "audit_log" in s]
    plan = " | ".join(str(r[3]) for r in await raw_rows(db_path, f"EXPLAIN QUERY PLAN {query}"))
    assert "SCAN audit_log" not in plan, f"{what}: {plan}"
    assert "USING INDEX audit_log_event" in plan, f"{what}: {plan}"


async def test_every_commit_is_synced_to_disk(db_path: Path) -> None:
    # In WAL, synchronous=NORMAL may lose the last commits on power loss: an event claim or
    # an intent row lost that way could let a command run twice.
    async with await Store.open(db_path) as store, store._db.execute("PRAGMA synchronous") as rows:
        assert await rows.fetchone() == (2,)  # FULL
    audit = await AuditStore.open(db_path)
    try:
        async with audit._db.execute("PRAGMA synchronous") as cursor:
            assert await cursor.fetchone() == (2,)
    finally:
        await audit.close()


def test_the_migration_splits_into_whole_statements() -> None:
    parts = statements(SQL)
    assert sum(part.startswith("CREATE TRIGGER") for part in parts) == 2
    assert all(sqlite3.complete_statement(part + ";") for part in parts)


async def test_an_unmigrated_database_is_refused(db_path: Path) -> None:
    async with aiosqlite.connect(db_path) as db:
        await db.execute("PRAGMA user_version=1")
        await db.commit()
    with pytest.raises(StoreError, match="needs 3"):
        await RequestLedger.open(db_path)


# Append-only --------------------------------------------------------------------------

TAMPERING = [
    ("update", "UPDATE audit_log SET actor = '@eve:hs'"),
    ("delete", "DELETE FROM audit_log"),
    ("delete one", "DELETE FROM audit_log WHERE seq = 1"),
    (
        "replace",
        "INSERT OR REPLACE INTO audit_log (seq, at, request_id, kind) VALUES (1, 0, 'x', 'end')",
    ),
    (
        "upsert",
        "INSERT INTO audit_log (seq, at, request_id, kind) VALUES (1, 0, 'x', 'end') "
        "ON CONFLICT (seq) DO UPDATE SET kind = 'end'",
    ),
]


@pytest.mark.parametrize("sql", [row[1] for row in TAMPERING], ids=[row[0] for row in TAMPERING])
async def test_the_audit_log_cannot_be_changed(
    audit: RequestLedger, db_path: Path, sql: str
) -> None:
    await audit.open_request(make_request())
    before = await raw_rows(db_path, "SELECT * FROM audit_log")
    async with aiosqlite.connect(db_path) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            await db.execute(sql)
        await db.rollback()
    assert await raw_rows(db_path, "SELECT * FROM audit_log") == before


async def test_details_must_be_json(audit: RequestLedger, db_path: Path) -> None:
    async with aiosqlite.connect(db_path) as db:
        with pytest.raises(sqlite3.IntegrityError):
            await db.execute(
                "INSERT INTO audit_log (at, request_id, kind, detail) VALUES (0, 'r', 'x', '{')"
            )


# Idempotency and the state machine ----------------------------------------------------


async def test_a_request_id_opens_once(audit: RequestLedger) -> None:
    request = make_request()
    assert await audit.open_request(request, room_id=ROOM, event_id=EventID("$q"))
    assert not await audit.open_request(request, room_id=ROOM, event_id=EventID("$q"))
    assert not await audit.open_request(make_request(command="reboot"))  # same id, other command
    record = await audit.get(RequestID("r1"))
    assert record is not None
    assert record.state == "pending"
    assert record.command == "systemctl restart nginx"
    history = await audit.history(RequestID("r1"))
    assert [entry.kind for entry in history] == ["request"]
    assert history[0].actor == MASTER
    assert history[0].event_id == "$q"
    assert history[0].command_digest == request.digest
    assert history[0].detail["task_id"] == "t1"
    assert history[0].detail["step"] == 1


async def test_a_request_with_a_forged_digest_is_not_opened(audit: RequestLedger) -> None:
    forged = ExecRequest(RequestID("r9"), "web1", "reboot", make_request().digest, MASTER, "body")
    with pytest.raises(ValueError, match="digest"):
        await audit.open_request(forged)
    assert await audit.get(RequestID("r9")) is None


async def test_a_request_runs_once(audit: RequestLedger) -> None:
    rid = RequestID("r1")
    assert await audit.open_request(make_request())
    assert not await audit.mark_started(rid)  # pending: not approved yet
    assert await audit.transition(rid, "approved", actor=MASTER, event_id=EventID("$ok"))
    assert not await audit.transition(rid, "approved", actor=MASTER)  # double approval
    assert await audit.mark_started(rid)
    assert not await audit.mark_started(rid)  # the intent row is there: never twice
    assert not await audit.transition(rid, "denied", actor=MASTER)
    result = ExecResult(rid, make_request().digest, "failed", "body", 3, 1500, "f" * 64)
    assert await audit.finish(rid, result)
    assert not await audit.finish(rid, result)
    record = await audit.get(rid)
    assert record is not None
    assert record.state == "finished"
    history = await audit.history(rid)
    assert [entry.kind for entry in history] == ["request", "approval", "start", "end"]
    approval, end = history[1], history[3]
    assert approval.actor == MASTER
    assert approval.event_id == "$ok"
    assert end.detail == {
        "state": "finished",
        "status": "failed",
        "exit_status": 3,
        "duration_ms": 1500,
        "output_digest": "f" * 64,
    }
    assert all(entry.host == "web1" for entry in history)


async def test_concurrent_starts_run_once(audit: RequestLedger) -> None:
    rid = await approved(audit)
    started = await asyncio.gather(*(audit.mark_started(rid) for _ in range(8)))
    assert started.count(True) == 1


async def test_a_cancelled_run_ends_cancelled(audit: RequestLedger) -> None:
    rid = await approved(audit)
    assert await audit.mark_started(rid)
    result = ExecResult(rid, make_request().digest, "cancelled", "body", None, 300, "0" * 64)
    assert await audit.finish(rid, result)
    record = await audit.get(rid)
    assert record is not None
    assert record.state == "cancelled"
    assert (await audit.history(rid))[-1].kind == "end"


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        ("denied", "denial"),
        ("expired", "expired"),
        ("cancelled", "cancel"),
        ("forbidden", "decision"),
    ],
)
async def test_ending_without_a_run(audit: RequestLedger, state: Any, kind: str) -> None:
    assert await audit.open_request(make_request())
    assert await audit.transition(RequestID("r1"), state, detail={"reason": "because"})
    entry = (await audit.history(RequestID("r1")))[-1]
    assert entry.kind == kind
    assert entry.detail == {"state": state, "reason": "because"}
    assert not await audit.transition(RequestID("r1"), "approved")
    assert not await audit.mark_started(RequestID("r1"))


async def test_unknown_requests_and_states(audit: RequestLedger) -> None:
    assert not await audit.transition(RequestID("nope"), "approved")
    assert not await audit.mark_started(RequestID("nope"))
    assert not await audit.transition(RequestID("nope"), "pending")
    with pytest.raises(ValueError, match="unknown request state"):
        await audit.transition(RequestID("nope"), "bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown audit kind"):
        await audit.append(RequestID("r1"), "bogus")  # type: ignore[arg-type]


async def test_a_failed_audit_write_leaves_the_state_unchanged(audit: RequestLedger) -> None:
    assert await audit.open_request(make_request())
    with pytest.raises(ValueError, match="unknown audit kind"):
        await audit.transition(RequestID("r1"), "approved", kind="bogus")  # type: ignore[arg-type]
    record = await audit.get(RequestID("r1"))
    assert record is not None
    assert record.state == "pending"
    assert [entry.kind for entry in await audit.history(RequestID("r1"))] == ["request"]


# The policy decision and approvals ------------------------------------------------------

NEEDS_APPROVAL = Decision(Verdict.NEEDS_APPROVAL, "not read-only: needs approval", "default")
FORBIDDEN = Decision(Verdict.FORBID, "forbidden: writes onto a disk", "disk-write")
ALLOWED = Decision(Verdict.ALLOW, "read-only", "readonly")


@pytest.mark.parametrize(
    ("decision", "state", "kinds"),
    [
        (NEEDS_APPROVAL, "pending", ["request", "decision"]),
        (FORBIDDEN, "forbidden", ["request", "decision", "decision"]),
        (ALLOWED, "approved", ["request", "decision", "approval"]),
    ],
    ids=["needs approval", "forbidden", "allowed"],
)
async def test_a_request_opens_with_its_decision_and_the_state_it_leads_to(
    audit: RequestLedger, decision: Decision, state: str, kinds: list[str]
) -> None:
    assert await audit.open_request(make_request(), decision=decision)
    record = await audit.get(RequestID("r1"))
    assert record is not None
    assert record.state == state
    history = await audit.history(RequestID("r1"))
    assert [entry.kind for entry in history] == kinds
    assert history[1].detail == {
        "verdict": decision.verdict.value,
        "rule": decision.rule,
        "reason": decision.reason,
    }
    assert await audit.verdict(RequestID("r1")) is decision.verdict


async def test_only_a_request_sent_for_approval_can_be_approved(audit: RequestLedger) -> None:
    for rid, decision in (("asked", NEEDS_APPROVAL), ("forbidden", FORBIDDEN), ("auto", ALLOWED)):
        assert await audit.open_request(make_request(rid), decision=decision)
    assert await audit.open_request(make_request("undecided"))

    assert await audit.approve(RequestID("asked"), actor=MASTER, event_id=EventID("$ok"))
    assert not await audit.approve(RequestID("asked"), actor=MASTER)  # once
    for rid in ("forbidden", "auto", "undecided", "unknown"):
        assert not await audit.approve(RequestID(rid), actor=MASTER), rid
    undecided = await audit.get(RequestID("undecided"))
    assert undecided is not None
    assert undecided.state == "pending"
    approval = (await audit.history(RequestID("asked")))[-1]
    assert (approval.kind, approval.actor, approval.event_id) == ("approval", MASTER, "$ok")


async def test_a_pending_request_whose_decision_forbids_it_cannot_be_approved(
    audit: RequestLedger,
) -> None:
    # What a store written before decisions were atomic can hold: pending, then forbidden.
    rid = RequestID("r1")
    assert await audit.open_request(make_request(command="dd of=/dev/sda"))
    await audit.append(rid, "decision", detail={"verdict": "forbid", "reason": "disk"})
    await audit.append(rid, "decision", detail={"verdict": "refused", "reason": "not a verdict"})

    assert await audit.verdict(rid) is Verdict.FORBID
    assert not await audit.approve(rid, actor=MASTER)
    record = await audit.get(rid)
    assert record is not None
    assert record.state == "pending"


# Crashes ------------------------------------------------------------------------------


async def test_a_run_cut_short_is_reported_interrupted_and_not_rerun(db_path: Path) -> None:
    async with await Store.open(db_path):
        pass
    first = await RequestLedger.open(db_path)
    rid = await approved(first)
    await approved(first, "r2")  # approved, never started: not interrupted
    assert await first.mark_started(rid)
    await first.close()  # the executor dies here, before any result

    second = await RequestLedger.open(db_path)
    try:
        interrupted = await second.interrupted_on_startup()
        assert [record.request_id for record in interrupted] == ["r1"]
        assert interrupted[0].state == "interrupted"
        assert await second.interrupted_on_startup() == []
        assert not await second.mark_started(rid)
        assert not await second.open_request(make_request())
        record = await second.get(rid)
        assert record is not None
        assert record.state == "interrupted"
        assert (await second.get(RequestID("r2")) or record).state == "approved"
        last = (await second.history(rid))[-1]
        assert last.kind == "interrupted"
        assert "restarted" in str(last.detail["reason"])
    finally:
        await second.close()


CRASHING_EXECUTOR = """
import asyncio, os, sys
from pathlib import Path
from bots.execution.requests import new_request
from bots.ids import RequestID, UserID
from bots.store import Store
from bots.execution.ledger import RequestLedger

async def main() -> None:
    path = Path(sys.argv[1])
    async with await Store.open(path):
        pass
    audit = await RequestLedger.open(path)
    request = new_request("web1", "touch /tmp/once", UserID("@master:hs"), RequestID("r1"))
    assert await audit.open_request(request)
    assert await audit.transition(RequestID("r1"), "approved", actor=UserID("@master:hs"))
    assert await audit.mark_started(RequestID("r1"))
    os.kill(os.getpid(), 9)  # crash between the intent row and the result

asyncio.run(main())
"""


async def test_kill_9_between_intent_and_result(db_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(CRASHING_EXECUTOR),
        str(db_path),
        cwd=REPO,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == -9, stderr.decode()
    async with await Store.open(db_path):
        pass
    audit = await RequestLedger.open(db_path)
    try:
        interrupted = await audit.interrupted_on_startup()
        assert [record.request_id for record in interrupted] == ["r1"]
        state = interrupted[0].as_state()
        assert state.status == "interrupted"
        assert not await audit.mark_started(RequestID("r1"))
        kinds = [entry.kind for entry in await audit.history(RequestID("r1"))]
        assert kinds == ["request", "approval", "start", "interrupted"]
    finally:
        await audit.close()


def test_the_machine_agrees_that_an_interrupted_request_is_final() -> None:
    request = make_request()
    running = RequestState(request.request_id, request.digest, MASTER, "running", 0.0)
    state, outcome = apply(running, Interrupt(), ApprovalRules())
    assert state.final
    assert "not run again" in outcome.text
    assert outcome_result(request, "interrupted", "restart").status == "interrupted"


# Secrets ------------------------------------------------------------------------------


async def test_secrets_are_never_written(audit: RequestLedger, db_path: Path) -> None:
    request = make_request(command=f"deploy --token {SECRET} && mysql --password=pw123456")
    assert await audit.open_request(request)
    await audit.append(
        RequestID("r1"),
        "decision",
        detail={"reason": f"mentions {SECRET}", "nested": {"list": [f"x {SECRET}"]}},
    )
    record = await audit.get(RequestID("r1"))
    assert record is not None
    assert SECRET not in record.command
    assert "pw123456" not in record.command
    dump = json.dumps(
        [
            await raw_rows(db_path, "SELECT * FROM exec_requests"),
            await raw_rows(db_path, "SELECT * FROM audit_log"),
        ]
    )
    assert SECRET not in dump
    assert "pw123456" not in dump
    assert "[masked]" in dump


# Reading ------------------------------------------------------------------------------


async def test_recent_lists_the_last_rows_oldest_first(audit: RequestLedger) -> None:
    for n in range(5):
        await audit.open_request(make_request(f"r{n}"))
    recent = await audit.recent(3)
    assert [entry.request_id for entry in recent] == ["r2", "r3", "r4"]
    assert [entry.seq for entry in recent] == sorted(entry.seq for entry in recent)
    assert await audit.recent(0) == []


async def test_finding_a_request_by_its_message(audit: RequestLedger) -> None:
    await audit.open_request(make_request(), room_id=ROOM, event_id=EventID("$request"))
    found = await audit.find_by_event(EventID("$request"))
    assert found is not None
    assert found.request_id == "r1"
    assert await audit.set_message(RequestID("r1"), ROOM, EventID("$prompt"))
    assert await audit.find_by_event(EventID("$request")) is None
    prompt = await audit.find_by_event(EventID("$prompt"))
    assert prompt is not None
    assert prompt.room_id == ROOM
    assert not await audit.set_message(RequestID("nope"), ROOM, EventID("$x"))


async def test_a_reaction_finds_a_request_by_its_prompt_only(audit: RequestLedger) -> None:
    await audit.open_request(make_request(), room_id=ROOM, event_id=EventID("$request"))
    assert await audit.find_by_prompt(EventID("$request")) is None  # the asking message
    assert await audit.set_message(RequestID("r1"), ROOM, EventID("$prompt"))
    assert await audit.find_by_prompt(EventID("$request")) is None
    prompt = await audit.find_by_prompt(EventID("$prompt"))
    assert prompt is not None
    assert prompt.request_id == "r1"


async def test_requests_by_state(audit: RequestLedger) -> None:
    await audit.open_request(make_request("r1"))
    await approved(audit, "r2")
    assert [record.request_id for record in await audit.in_state("pending")] == ["r1"]
    assert [record.request_id for record in await audit.in_state("approved")] == ["r2"]
    record = await audit.get(RequestID("r2"))
    assert record is not None
    state = record.as_state()
    assert state.status == "approved"
    assert state.digest == make_request("r2").digest


# One state machine: the ledger saves what apply() returns ---------------------------------

APPROVERS = ApprovalRules(approvers=(MASTER,))


async def test_the_ledger_saves_what_the_machine_returns(audit: RequestLedger) -> None:
    assert await audit.open_request(make_request(), decision=NEEDS_APPROVAL)
    record = await audit.get(RequestID("r1"))
    assert record is not None
    before = record.as_state()
    approval = Approve(MASTER, before.digest, EventID("$ok"), at=1_000.0)
    after, outcome = apply(before, approval, APPROVERS)
    assert outcome.accepted

    assert await audit.save(before, after, actor=MASTER, event_id=EventID("$ok"))
    assert not await audit.save(before, after, actor=MASTER)  # compare and set: once
    saved = await audit.get(RequestID("r1"))
    assert saved is not None
    assert saved.state == "approved"
    last = (await audit.history(RequestID("r1")))[-1]
    assert (last.kind, last.actor, last.detail["state"]) == ("approval", MASTER, "approved")


async def test_a_refused_event_saves_nothing(audit: RequestLedger) -> None:
    assert await audit.open_request(make_request(), decision=NEEDS_APPROVAL)
    record = await audit.get(RequestID("r1"))
    assert record is not None
    before = record.as_state()
    unchanged, outcome = apply(before, Start(), APPROVERS)  # pending cannot start
    assert not outcome.accepted
    assert not await audit.save(before, unchanged)
    assert [entry.kind for entry in await audit.history(RequestID("r1"))] == [
        "request",
        "decision",
    ]


async def test_an_approval_is_saved_only_when_the_policy_asked_for_one(
    audit: RequestLedger,
) -> None:
    assert await audit.open_request(make_request())  # no recorded decision
    record = await audit.get(RequestID("r1"))
    assert record is not None
    before = record.as_state()
    after, outcome = apply(before, Approve(MASTER, before.digest, None, 1_000.0), APPROVERS)
    assert outcome.accepted  # the machine alone would take it
    assert not await audit.save(before, after, actor=MASTER)
    still = await audit.get(RequestID("r1"))
    assert still is not None
    assert still.state == "pending"


async def test_an_unknown_stored_state_reads_as_interrupted(
    audit: RequestLedger, db_path: Path
) -> None:
    assert await audit.open_request(make_request())
    async with aiosqlite.connect(db_path) as db:
        await db.execute("UPDATE exec_requests SET state = 'bogus'")
        await db.commit()
    record = await audit.get(RequestID("r1"))
    assert record is not None
    assert record.state == "interrupted"
    assert not await audit.mark_started(RequestID("r1"))


async def test_a_query_error_leaves_the_store_as_a_store_error(
    audit: RequestLedger, db_path: Path
) -> None:
    async with aiosqlite.connect(db_path) as db:
        await db.execute("ALTER TABLE exec_requests RENAME TO gone")
        await db.commit()
    with pytest.raises(StoreError, match="no such table"):
        await audit.get(RequestID("r1"))
    with pytest.raises(StoreError, match="no such table"):
        await audit.open_request(make_request())
