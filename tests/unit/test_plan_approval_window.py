"""A plan approval's window covers the plan's run, and a grant waits on what it names.

- The FIRST request under an approval must come within `approval_expiry_seconds` of it.
- Each further request under the same approval of the same plan must come within
  `approval_expiry_seconds` of the end of the last request run under it, or while one still
  runs: a plan whose steps take longer than the window keeps running on one ✅.
- A denial voids it at once; another plan's approval, a newer plan or a step not in the plan
  gets no window at all.
- `PlanApprovals.grant` waits for a plan or verdict it has not seen on a signal set when one
  is remembered (not by polling the store), and a fact remembered between its read of the
  store and its wait still wakes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.app.assembly import build_roster
from bots.context import BotContext
from bots.execution.ledger import RequestLedger
from bots.execution.plan_approvals import (
    PlanApprovals,
    PlanGrant,
    PlanRefusal,
    PlanRun,
    check_grant,
    plan_runs,
)
from bots.execution.requests import (
    REQUEST_EVENT,
    ExecRequest,
    PlanApprovalRef,
    new_request,
    request_content,
)
from bots.execution.service import ExecutionService
from bots.ids import EventID, RequestID, TaskID, UserID
from bots.message import Message, RoomEvent
from bots.settings.loading import load_settings
from bots.store import Store
from bots.store.plan_approvals import PlanApprovalStore, StoredPlan, StoredVerdict
from executor.policy import Decision, Verdict
from executor.runner import CommandRunner
from tests.unit.test_executor_flow import EXAMPLE_CONFIG, FakeEngine, FakeHomeserver, FakeRun
from tests.unit.test_plan_approvals import (
    COORD,
    MASTER,
    PLAN,
    ROOM,
    ROSTER,
    RULES,
    T0,
    TICK,
    plan_message,
    remembered,
    request,
    step,
    tick,
    verdict,
)

EXPIRY = RULES.expiry_seconds
APPROVED_AT = T0 + 60
"""When `verdict()` says the master's ✅ was given."""


def ended(at: float | None, rid: str = "t12-a1-s1") -> PlanRun:
    return PlanRun(rid, at)


A_STEP = request()
THE_PLAN = remembered()


@dataclass(frozen=True)
class Window:
    now: float
    runs: tuple[PlanRun, ...] = ()
    request: ExecRequest = A_STEP
    plan: StoredPlan = THE_PLAN
    verdicts: tuple[StoredVerdict, ...] = (verdict(),)
    others: tuple[StoredPlan, ...] = ()


DENIED = verdict("$no", kind="deny", at=T0 + 5001)

WINDOWS: list[tuple[str, Window, str | None]] = [
    ("first step just inside the window", Window(APPROVED_AT + EXPIRY), None),
    (
        "first step out of the window",
        Window(APPROVED_AT + EXPIRY + 1),
        "the approval expired: given 10 min ago",
    ),
    (
        "a late stage after a long step",
        Window(T0 + 5000 + EXPIRY, (ended(T0 + 5000),)),
        None,
    ),
    ("a late stage at once after a long step", Window(T0 + 5001, (ended(T0 + 5000),)), None),
    (
        "a late stage too long after the last step ended",
        Window(T0 + 5000 + EXPIRY + 1, (ended(T0 + 5000),)),
        "the last step run under it ended 10 min ago",
    ),
    (
        "the window slides from the LAST end",
        Window(T0 + 5000 + 30, (ended(T0 + 100, "s1"), ended(T0 + 5000, "s2"))),
        None,
    ),
    (
        "a step while another under the approval runs (a parallel stage)",
        Window(T0 + 9000, (ended(None),)),
        None,
    ),
    (
        "one step ended long ago, another still runs",
        Window(T0 + 9000, (ended(T0 + 100, "s1"), ended(None, "s2"))),
        None,
    ),
    (
        "after a denial, while a step runs",
        Window(T0 + 5010, (ended(None),), verdicts=(verdict(), DENIED)),
        "denied by @master:hs ($no)",
    ),
    (
        "after a denial, the late stage",
        Window(T0 + 5010, (ended(T0 + 5000),), verdicts=(verdict(), DENIED)),
        "denied by",
    ),
    (
        "after a typed !deny 12, the late stage",
        Window(
            T0 + 5010,
            (ended(T0 + 5000),),
            verdicts=(verdict(), replace(DENIED, plan_event=None, task_id=TaskID("12"))),
        ),
        "denied by",
    ),
    (
        "another plan's approval, while this plan runs",
        Window(T0 + 9000, (ended(None),), verdicts=(verdict(on=EventID("$elsewhere")),)),
        "is not an approval of this plan",
    ),
    (
        "a forged digest, while the plan runs",
        Window(T0 + 9000, (ended(None),), request=request("rm -rf /tmp")),
        "not one of the plan's steps",
    ),
    (
        "another task's request, while the plan runs",
        Window(T0 + 9000, (ended(None),), request=request(task="13")),
        "for task 13, the plan for task 12",
    ),
    (
        "a newer plan replaced it while it ran",
        Window(T0 + 9000, (ended(None),), others=(remembered(plan_event="$fix", at=T0 + 8000),)),
        "a newer plan of task 12 ($fix) replaced it",
    ),
]


@pytest.mark.parametrize(
    ("window", "refused"), [w[1:] for w in WINDOWS], ids=[w[0] for w in WINDOWS]
)
def test_the_approval_window_covers_the_plans_run(window: Window, refused: str | None) -> None:
    plans = sorted((*window.others, window.plan), key=lambda p: p.at)
    outcome = check_grant(
        window.request,
        window.plan,
        plans,
        window.verdicts,
        coordinator=COORD,
        rules=RULES,
        now=window.now,
        runs=window.runs,
    )
    if refused is None:
        assert isinstance(outcome, PlanGrant), outcome
        assert (outcome.by, outcome.event_id) == (MASTER, TICK)
    else:
        assert isinstance(outcome, PlanRefusal), outcome
        assert refused in outcome.reason


@pytest.mark.parametrize(
    ("state", "ends"),
    [
        ("approved", False),
        ("running", False),
        ("finished", True),
        ("interrupted", True),
        ("cancelled", True),
        ("denied", True),
    ],
)
def test_a_request_ends_when_it_reaches_a_final_state(state: str, ends: bool) -> None:
    [run] = plan_runs([("t12-a1-s1", state, T0 + 7)])
    assert run == PlanRun("t12-a1-s1", T0 + 7 if ends else None)


# The executor on the real stores: a long first step, then the next stage -----------------


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 120

    def __call__(self) -> float:
        return self.now


class GatedEngine(FakeEngine):
    """Commands whose name is in `held` run until the test releases them."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[str, asyncio.Event] = {}

    def start(self, host: str, command: str, **kwargs: Any) -> FakeRun:
        run = super().start(host, command, **kwargs)
        gate = self.gates.get(command)
        if gate is None:
            return run
        inner = run.wait

        async def wait() -> Any:
            await gate.wait()
            return await inner()

        run.wait = wait  # type: ignore[method-assign]
        return run


@dataclass
class Bench:
    service: ExecutionService
    engine: GatedEngine
    homeserver: FakeHomeserver
    audit: RequestLedger
    bot: BotContext
    clock: Clock
    coordinator: UserID
    master: UserID

    async def plan(
        self, steps: list[dict[str, Any]], event_id: EventID = PLAN, task: int = 12
    ) -> None:
        message = plan_message(steps, sender=self.coordinator, event_id=event_id, task=task, at=T0)
        await self.service.observe(message, self.bot)

    async def react(self, target: EventID = PLAN, key: str = "✅", event_id: str = TICK) -> None:
        event = replace(tick(target, self.master, key), event_id=EventID(event_id))
        await self.service.on_event(event, self.bot)

    async def ask(
        self, command: str, rid: str, *, plan: EventID = PLAN, approval: EventID = TICK
    ) -> RequestID:
        built = new_request(
            "local",
            command,
            self.master,
            RequestID(rid),
            task_id=TaskID(rid.split("-")[0].removeprefix("t")),
            plan_approval=PlanApprovalRef(plan, approval),
        )
        assert isinstance(built, ExecRequest)
        event = RoomEvent(
            ROOM, EventID(f"${rid}"), self.coordinator, REQUEST_EVENT, request_content(built)
        )
        await self.service.on_event(event, self.bot)
        return built.request_id

    async def state(self, rid: RequestID) -> str:
        for _ in range(200):  # the run is background work: let it reach its next state
            record = await self.audit.get(rid)
            assert record is not None
            if record.state not in ("approved",):
                return record.state
            await asyncio.sleep(0.01)
        return "approved"

    async def finish(self, command: str) -> None:
        self.engine.gates[command].set()
        await self.service._work.drain(timeout=10)

    def prompted(self, rid: RequestID) -> bool:
        return f"{rid}/prompt" in self.homeserver.sent

    async def refusal(self, rid: RequestID) -> str:
        rows = [e.detail for e in await self.audit.history(rid) if e.kind == "approval"]
        return str(rows[0].get("reason", ""))


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    loaded = load_settings(EXAMPLE_CONFIG)
    settings = replace(loaded, execution=replace(loaded.execution, approval_expiry_seconds=EXPIRY))
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    clock = Clock()
    audit = await RequestLedger.open(db, clock=clock)
    plans = await PlanApprovalStore.open(db, clock=clock)
    engine, homeserver = GatedEngine(), FakeHomeserver()
    service = ExecutionService(
        settings, cast(CommandRunner, engine), audit, ROOM, clock=clock, plans=plans
    )
    roster = build_roster(settings)
    me = roster.get(settings.user_id(settings.executor))
    bot = cast(BotContext, SimpleNamespace(matrix=homeserver, roster=roster, identity=me))
    service.attach(bot)
    yield Bench(
        service,
        engine,
        homeserver,
        audit,
        bot,
        clock,
        settings.user_id(settings.coordinator),
        settings.master_user_id,
    )
    await service.aclose()
    await plans.close()
    await audit.close()
    await store.close()


LONG, NEXT = "touch /tmp/cvx-long", "touch /tmp/cvx-next"
TWO_STAGES = [step("local", LONG, 1), step("local", NEXT, 2)]


async def long_first_step(bench: Bench, *, ends_at: float) -> RequestID:
    """The plan ticked at T0, its first step asked at once and ending at `ends_at`."""
    await bench.plan(TWO_STAGES)
    await bench.react()
    bench.engine.gates[LONG] = asyncio.Event()
    first = await bench.ask(LONG, "t12-a1-s1")
    assert await bench.state(first) == "running"
    bench.clock.now = ends_at
    await bench.finish(LONG)
    assert await bench.state(first) == "finished"
    return first


async def test_the_next_stage_after_a_step_longer_than_the_window_runs_without_a_prompt(
    bench: Bench,
) -> None:
    await long_first_step(bench, ends_at=T0 + 3 * EXPIRY)
    bench.clock.now = T0 + 3 * EXPIRY + EXPIRY - 1
    second = await bench.ask(NEXT, "t12-a1-s2")
    await bench.service._work.drain(timeout=10)
    assert await bench.state(second) == "finished"
    assert not bench.prompted(second)
    assert bench.engine.started == [LONG, NEXT]
    [approval] = [e for e in await bench.audit.history(second) if e.kind == "approval"]
    assert (approval.actor, approval.event_id) == (bench.master, TICK)


async def test_the_next_stage_long_after_the_last_step_ended_is_prompted(bench: Bench) -> None:
    await long_first_step(bench, ends_at=T0 + 3 * EXPIRY)
    bench.clock.now = T0 + 4 * EXPIRY + 1
    second = await bench.ask(NEXT, "t12-a1-s2")
    assert await bench.state(second) == "pending"
    assert bench.prompted(second)
    assert "the last step run under it ended 10 min ago" in await bench.refusal(second)


async def test_a_step_sent_while_another_runs_under_the_approval_needs_no_prompt(
    bench: Bench,
) -> None:
    await bench.plan(TWO_STAGES)
    await bench.react()
    bench.engine.gates[LONG] = asyncio.Event()
    first = await bench.ask(LONG, "t12-a1-s1")
    assert await bench.state(first) == "running"
    bench.clock.now = T0 + 5 * EXPIRY
    second = await bench.ask(NEXT, "t12-a1-s2")
    assert not bench.prompted(second)
    await bench.finish(LONG)
    assert await bench.state(second) == "finished"


async def test_a_denial_voids_the_window_at_once(bench: Bench) -> None:
    await long_first_step(bench, ends_at=T0 + 3 * EXPIRY)
    denial = replace(tick(PLAN, bench.master, "❌"), event_id=EventID("$no"))
    await bench.service.on_event(
        replace(denial, timestamp_ms=int((T0 + 3 * EXPIRY) * 1000)), bench.bot
    )
    bench.clock.now = T0 + 3 * EXPIRY + 5
    second = await bench.ask(NEXT, "t12-a1-s2")
    assert await bench.state(second) == "pending"
    assert "denied by" in await bench.refusal(second)


async def test_another_plans_run_does_not_extend_an_approval(bench: Bench) -> None:
    """Task 12's plan ran late under its ✅; task 13's ✅ (given at T0 too) has lapsed."""
    await long_first_step(bench, ends_at=T0 + 3 * EXPIRY)
    other = EventID("$plan13")
    await bench.plan([step("local", NEXT, 1)], event_id=other, task=13)
    await bench.react(other, event_id="$tick13")
    bench.clock.now = T0 + 3 * EXPIRY + 5
    late = await bench.ask(NEXT, "t13-a1-s1", plan=other, approval=EventID("$tick13"))
    assert await bench.state(late) == "pending"
    assert "the approval expired: given" in await bench.refusal(late)


async def test_a_second_tick_on_the_same_plan_has_its_own_window(bench: Bench) -> None:
    """The window follows the approval the requests name: a step under another ✅ of the
    same plan, given long ago and never used, is prompted."""
    await long_first_step(bench, ends_at=T0 + 3 * EXPIRY)
    await bench.react(event_id="$tick2")
    bench.clock.now = T0 + 3 * EXPIRY + 5
    second = await bench.ask(NEXT, "t12-a1-s2", approval=EventID("$tick2"))
    assert await bench.state(second) == "pending"
    assert "the approval expired: given" in await bench.refusal(second)


# grant waits on a signal, not a poll -------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PlanApprovalStore]:
    db = tmp_path / "chavion.db"
    opened = await Store.open(db)
    plans = await PlanApprovalStore.open(db, clock=lambda: T0 + 100)
    yield plans
    await plans.close()
    await opened.close()


def memory(store: PlanApprovalStore, settle: float) -> PlanApprovals:
    return PlanApprovals(
        store, coordinator=COORD, rules=RULES, clock=lambda: T0 + 120, settle_seconds=settle
    )


TYPED = Message(ROOM, EventID("$typed"), MASTER, "!approve 12", timestamp_ms=int(T0 * 1000))


async def arrives_late(remembering: PlanApprovals, what: str) -> None:
    await asyncio.sleep(0.05)
    if what == "tick":
        await remembering.observe_reaction(tick(PLAN))
    elif what == "typed":
        await remembering.observe(TYPED, ROSTER)
    else:
        await remembering.observe(plan_message(at=T0 - 10), ROSTER)
        await remembering.observe_reaction(tick(PLAN))


@pytest.mark.parametrize(
    ("late", "approval"),
    [("tick", TICK), ("typed", EventID("$typed")), ("plan", TICK)],
    ids=["the ✅", "a typed !approve 12", "the plan and its ✅"],
)
async def test_a_grant_wakes_as_soon_as_what_it_names_is_remembered(
    store: PlanApprovalStore, late: str, approval: EventID
) -> None:
    remembering = memory(store, settle=10)
    if late != "plan":
        await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    began = time.monotonic()
    asking = asyncio.create_task(remembering.grant(request(approval=approval)))
    await arrives_late(remembering, late)
    granted = await asking
    assert isinstance(granted, PlanGrant), granted
    assert time.monotonic() - began < 2, "woken by the signal, not the 10 s settle bound"


async def test_a_grant_gives_up_after_the_settle_bound(store: PlanApprovalStore) -> None:
    remembering = memory(store, settle=0.3)
    await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    began = time.monotonic()
    refused = await remembering.grant(request())
    took = time.monotonic() - began
    assert isinstance(refused, PlanRefusal)
    assert refused.unseen
    assert 0.3 <= took < 2


async def test_a_grant_for_a_plan_it_sees_at_once_does_not_wait(store: PlanApprovalStore) -> None:
    remembering = memory(store, settle=10)
    await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    await remembering.observe_reaction(tick(PLAN))
    began = time.monotonic()
    assert isinstance(await remembering.grant(request()), PlanGrant)
    refused = await remembering.grant(request("rm -rf /tmp"))  # refused, and not unseen
    assert isinstance(refused, PlanRefusal)
    assert time.monotonic() - began < 2


class TickDuringRead(PlanApprovalStore):
    """The ✅ is remembered just after the grant read the verdicts (without it) and before
    it waits: the moment a signal taken too late would miss."""

    remembering: PlanApprovals | None = None

    async def verdicts(self, plan_event: EventID, task_id: TaskID) -> list[StoredVerdict]:
        read = await super().verdicts(plan_event, task_id)
        remembering, self.remembering = self.remembering, None
        if remembering is not None:
            await remembering.observe_reaction(tick(PLAN))
        return read


async def test_a_fact_remembered_between_the_read_and_the_wait_still_wakes_the_grant(
    tmp_path: Path,
) -> None:
    db = tmp_path / "chavion.db"
    opened = await Store.open(db)
    plans = cast(TickDuringRead, await TickDuringRead.open(db, clock=lambda: T0 + 100))
    try:
        remembering = memory(plans, settle=10)
        await remembering.observe(plan_message(at=T0 - 10), ROSTER)
        plans.remembering = remembering
        began = time.monotonic()
        granted = await remembering.grant(request())
        assert isinstance(granted, PlanGrant), granted
        assert time.monotonic() - began < 2, "the tick was missed: the grant waited it out"
    finally:
        await plans.close()
        await opened.close()


# Which requests an approval approved, as the audit log says -----------------------------


async def test_the_requests_an_approval_approved_are_read_from_its_approval_rows(
    tmp_path: Path,
) -> None:
    db = tmp_path / "chavion.db"
    opened = await Store.open(db)
    ledger = await RequestLedger.open(db)
    asks = Decision(Verdict.NEEDS_APPROVAL, "writes", "write")
    try:
        for rid, command in (("s1", "touch /a"), ("s2", "touch /b"), ("s3", "touch /c")):
            built = new_request("local", command, MASTER, RequestID(rid))
            assert isinstance(built, ExecRequest)
            assert await ledger.open_request(built, decision=asks)
        assert await ledger.approve(
            RequestID("s1"), actor=MASTER, event_id=TICK, detail={"plan_event": PLAN}
        )
        refusal = {"verdict": "refused", "reason": "not one of the plan's steps"}
        await ledger.append(
            RequestID("s2"), "approval", actor=MASTER, event_id=TICK, detail=refusal
        )
        other = {"plan_event": "$other-plan"}
        assert await ledger.approve(RequestID("s3"), actor=MASTER, event_id=TICK, detail=other)
        assert [r.request_id for r in await ledger.approved_under(TICK, PLAN)] == ["s1"]
        assert await ledger.approved_under(EventID("$another-tick"), PLAN) == []
    finally:
        await ledger.close()
        await opened.close()
