"""Plan approvals: a task's steps run on the master's ✅ on the plan, and on nothing else.

- A plan is remembered only from the configured coordinator, with every step's digest the
  digest of its command and every command (verify, rollback) shown verbatim in the body.
- A request is approved by its plan only when its digest is one of the plan's, its task is
  the plan's, the plan is the newest of its task, the named event is an approver's ✅ or
  `!approve N` of it, nobody who may approve denied it, and the approval has not expired.
- Every forged or stale case is refused with its reason, and then the prompt asks as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.app.assembly import build_roster
from bots.context import BotContext
from bots.execution.approvals import ApprovalRules
from bots.execution.plan_approvals import (
    PlanApprovals,
    PlanGrant,
    PlanRefusal,
    check_grant,
    command_verdict,
    reaction_verdict,
    read_plan,
)
from bots.execution.requests import (
    CANCEL_EVENT,
    REQUEST_EVENT,
    ExecRequest,
    PlanApprovalRef,
    command_digest,
    new_request,
    request_content,
)
from bots.execution.service import ExecutionService
from bots.ids import EventID, RequestID, RoomID, TaskID, UserID
from bots.message import Message, RoomEvent
from bots.routing.addressing import Identity, Roster
from bots.settings.loading import load_settings
from bots.store import Store
from bots.store.plan_approvals import PlanApprovalStore, StoredPlan, StoredVerdict
from bots.tasks.plans import steps_digest
from bots.text.markdown import markdown_to_html
from executor.runner import CommandRunner
from tests.unit.test_executor_flow import EXAMPLE_CONFIG, FakeEngine, FakeHomeserver, MeddledAudit

COORD = UserID("@chavion:hs")
MASTER = UserID("@master:hs")
OPS = UserID("@ops:hs")
EVE = UserID("@eve:hs")
CLAUDE = UserID("@claude:hs")
ROOM = RoomID("!council:hs")
RULES = ApprovalRules(approvers=(MASTER, "@ops*"), expiry_seconds=600, excluded=(COORD, CLAUDE))
T0 = 1_700_000_000.0
PLAN = EventID("$plan")
TICK = EventID("$tick")


def step(host: str, command: str, n: int = 1, **extra: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "step": n,
        "host": host,
        "command": command,
        "digest": command_digest(host, command),
        "verify": None,
        "verify_digest": None,
        "rollback": None,
        "rollback_digest": None,
        "parallel": False,
    }
    for name in ("verify", "rollback"):
        if name in extra:
            value[name] = extra.pop(name)
            value[f"{name}_digest"] = command_digest(host, value[name])
    value.update(extra)
    return value


STEPS = [
    step("local", "touch /tmp/a", 1, verify="test -e /tmp/a", rollback="rm -f /tmp/a"),
    step("local", "df -h", 2),
]


def shown(steps: list[dict[str, Any]]) -> str:
    """A plan body as the coordinator renders it: each command in a code block."""
    lines = ["#12 🛠️ Plan for approval"]
    for s in steps:
        lines += [f"{s['step']}. on {s['host']}:", "```", s["command"], "```"]
        for extra in ("verify", "rollback"):
            if s.get(extra):
                lines.append(f"{extra}: `{s[extra]}`")
    return "\n".join(lines)


def digest_of(steps: Any) -> str:
    """The plan digest the coordinator states: `steps_digest` of the steps it sends."""
    readable = isinstance(steps, list) and all(isinstance(s, dict) for s in steps)
    return steps_digest(steps) if readable else "p" * 64


def plan_message(
    steps: Any = None,
    *,
    body: str | None = None,
    sender: UserID = COORD,
    event_id: EventID = PLAN,
    task: object = 12,
    at: float = T0,
    **council: Any,
) -> Message:
    steps = STEPS if steps is None else steps
    content = {"v": 1, "kind": "plan", "task": task, "attempt": 1, "digest": digest_of(steps)}
    content.update(steps=steps, expires_ms=0, **council)
    return Message(
        ROOM,
        event_id,
        sender,
        body if body is not None else shown(steps),
        council=content,
        timestamp_ms=int(at * 1000),
    )


def remembered(**changes: Any) -> StoredPlan:
    plan = read_plan(plan_message(), COORD)
    assert isinstance(plan, StoredPlan), plan
    return replace(plan, **changes)


# Reading plan messages ----------------------------------------------------------------


def test_a_plan_is_remembered_with_every_digest_it_shows() -> None:
    plan = remembered()
    assert plan.task_id == "12"
    assert plan.attempt == 1
    assert plan.at == T0
    assert plan.step_digests == {
        command_digest("local", c)
        for c in ("touch /tmp/a", "test -e /tmp/a", "rm -f /tmp/a", "df -h")
    }


FORGED_PLANS = [
    ("from another sender", plan_message(sender=EVE), "not from the coordinator"),
    ("from an agent", plan_message(sender=CLAUDE), "not from the coordinator"),
    (
        "a command not shown verbatim",
        plan_message(body=shown(STEPS).replace("touch /tmp/a", "touch  /tmp/a")),
        "step 1: the command is not shown verbatim",
    ),
    (
        "a rollback not shown",
        plan_message(body=shown(STEPS).replace("rm -f /tmp/a", "(undo)")),
        "step 1: the rollback is not shown verbatim",
    ),
    (
        "a step digest of another command",
        plan_message([step("local", "df -h", digest=command_digest("local", "rm -rf /"))]),
        "step 1: digest does not match",
    ),
    (
        "a step digest of another host",
        plan_message([step("web-1", "df -h", digest=command_digest("local", "df -h"))]),
        "step 1: digest does not match",
    ),
    (
        "a verify digest of another command",
        plan_message(
            [
                step("local", "df -h"),
                step("local", "uptime", 2, verify="true", verify_digest="0" * 64),
            ]
        ),
        "step 2: verify_digest does not match",
    ),
    (
        "HTML that shows another command",
        replace(plan_message(), formatted_body="<pre><code>df -h</code></pre>"),
        "step 1: the command is not shown verbatim in its HTML",
    ),
    ("an empty command", plan_message([step("local", " ")]), "step 1 has no command"),
    ("no host", plan_message([step("", "df -h")]), "step 1 has no host"),
    (
        "a step that is text",
        plan_message([cast(dict[str, Any], "df -h")], body="df -h"),
        "not an object",
    ),
    ("no task number", plan_message(task="twelve"), "not a task number"),
    ("a negative task", plan_message(task=-1), "not a task number"),
    ("no step list", plan_message("df -h", body="df -h"), "no list of steps"),
    ("an edit", replace(plan_message(), replaces=EventID("$old")), "an edit of a plan"),
    ("a plan digest of other steps", plan_message(digest="0" * 64), "digest of its steps"),
    (
        "steps reordered under the stated digest",
        plan_message(STEPS[::-1], digest=steps_digest(STEPS)),
        "the plan's digest is not the digest of its steps",
    ),
    (
        "a parallel mark flipped under the stated digest",
        plan_message([{**s, "parallel": True} for s in STEPS], digest=steps_digest(STEPS)),
        "the plan's digest is not the digest of its steps",
    ),
    ("no plan digest", plan_message(digest=""), "the plan has no digest"),
]


@pytest.mark.parametrize(
    ("message", "reason"), [r[1:] for r in FORGED_PLANS], ids=[r[0] for r in FORGED_PLANS]
)
def test_a_forged_plan_is_not_remembered(message: Message, reason: str) -> None:
    refused = read_plan(message, COORD)
    assert isinstance(refused, PlanRefusal), refused
    assert reason in refused.reason


@pytest.mark.parametrize(
    "council",
    [None, {"kind": "ask"}, {"kind": "answer", "steps": []}, {}],
    ids=["no council object", "an ask", "an answer", "no kind"],
)
def test_other_messages_are_no_plans(council: dict[str, Any] | None) -> None:
    assert read_plan(Message(ROOM, PLAN, COORD, "df -h", council=council), COORD) is None


def test_a_plan_rendered_to_html_is_remembered() -> None:
    """The coordinator's HTML escapes the commands; unescaped, they read verbatim."""
    steps = [step("local", 'echo "a <b>" >&2 && true', verify="test -e '/tmp/a b'")]
    message = plan_message(steps)
    message = replace(message, formatted_body=markdown_to_html(message.body))
    assert "&amp;&amp;" in (message.formatted_body or "")
    assert isinstance(read_plan(message, COORD), StoredPlan)


def test_a_plan_with_no_steps_is_remembered_and_approves_nothing() -> None:
    plan = read_plan(plan_message([]), COORD)
    assert isinstance(plan, StoredPlan)
    assert plan.step_digests == frozenset()


@pytest.mark.parametrize(
    ("key", "verdict"),
    [("✅", "approve"), ("✅\ufe0f", "approve"), ("❌", "deny"), ("❌️", "deny"), ("👍", None)],
)
def test_reaction_keys(key: str, verdict: str | None) -> None:
    assert reaction_verdict(key) == verdict


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("approve", "12", ("approve", "12")),
        ("approve", "#12", ("approve", "12")),
        ("deny", "12 too risky", ("deny", "12")),
        ("deny", "#012", ("deny", "12")),
        ("approve", "r1a2b3", None),
        ("cancel", "12", None),
        ("approve", "", None),
    ],
)
def test_task_commands(name: str, args: str, expected: tuple[str, str] | None) -> None:
    assert command_verdict(name, args) == expected


# Whether a request is approved by its plan ---------------------------------------------


def request(
    command: str = "touch /tmp/a",
    *,
    task: str | None = "12",
    plan_event: EventID = PLAN,
    approval: EventID = TICK,
    host: str = "local",
) -> ExecRequest:
    built = new_request(
        host,
        command,
        MASTER,
        RequestID("t12-a1-s1"),
        task_id=None if task is None else TaskID(task),
        plan_approval=PlanApprovalRef(plan_event, approval),
    )
    assert isinstance(built, ExecRequest), built
    return built


def verdict(
    event_id: str = TICK,
    *,
    actor: UserID = MASTER,
    kind: str = "approve",
    on: EventID | None = PLAN,
    task: str | None = None,
    at: float = T0 + 60,
    room: RoomID = ROOM,
) -> StoredVerdict:
    return StoredVerdict(
        EventID(event_id),
        room,
        on,
        None if task is None else TaskID(task),
        actor,
        "approve" if kind == "approve" else "deny",
        at,
    )


@dataclass(frozen=True)
class Case:
    request: ExecRequest
    plan: StoredPlan | None
    others: tuple[StoredPlan, ...] = ()
    verdicts: tuple[StoredVerdict, ...] = (verdict(),)
    now: float = T0 + 120


COMMAND_APPROVAL = verdict(EventID("$typed"), on=None, task="12", at=T0 + 30)

ACCEPTED = [
    ("✅ on the plan, main step", Case(request(), remembered())),
    ("✅ on the plan, verify", Case(request("test -e /tmp/a"), remembered())),
    ("✅ on the plan, rollback", Case(request("rm -f /tmp/a"), remembered())),
    ("✅ on the plan, another step", Case(request("df -h"), remembered())),
    ("an approver by glob", Case(request(), remembered(), verdicts=(verdict(actor=OPS),))),
    (
        "!approve 12 after the plan",
        Case(request(approval=EventID("$typed")), remembered(), verdicts=(COMMAND_APPROVAL,)),
    ),
    (
        "an older plan of the task does not matter",
        Case(request(), remembered(), others=(remembered(plan_event="$old", at=T0 - 500),)),
    ),
    (
        "a non-approver's ❌ does not void",
        Case(request(), remembered(), verdicts=(verdict(), verdict("$x", actor=EVE, kind="deny"))),
    ),
    ("just before expiry", Case(request(), remembered(), now=T0 + 60 + 600)),
]


@pytest.mark.parametrize("case", [r[1] for r in ACCEPTED], ids=[r[0] for r in ACCEPTED])
def test_a_step_of_an_approved_plan_is_approved(case: Case) -> None:
    granted = check(case)
    assert isinstance(granted, PlanGrant), granted
    approval = next(v for v in case.verdicts if v.verdict == "approve")
    assert (granted.by, granted.event_id) == (approval.actor, approval.event_id)
    assert granted.detail == {"plan_event": PLAN, "plan_digest": steps_digest(STEPS)}


REFUSED = [
    (
        "the plan was never seen",
        Case(request(), None),
        "is not a plan the executor saw",
    ),
    (
        "the plan came from another sender",
        Case(request(), remembered(sender=EVE)),
        "not the coordinator",
    ),
    ("another task", Case(request(task="13"), remembered()), "for task 13, the plan for task 12"),
    ("no task", Case(request(task=None), remembered()), "for task (none)"),
    ("a digest not in the plan", Case(request("rm -rf /tmp"), remembered()), "not one of"),
    (
        "the same command on another host",
        Case(request(host="web-1"), remembered()),
        "not one of the plan's steps",
    ),
    (
        "a newer plan superseded it",
        Case(request(), remembered(), others=(remembered(plan_event="$new", at=T0 + 90),)),
        "a newer plan of task 12 ($new) replaced it",
    ),
    (
        "a later attempt superseded it",
        Case(request(), remembered(), others=(remembered(plan_event="$a2", attempt=2, at=T0),)),
        "replaced it",
    ),
    (
        "the approval event was never seen",
        Case(request(approval=EventID("$other")), remembered()),
        "$other is not an approval of this plan",
    ),
    (
        "a ✅ on another plan",
        Case(request(), remembered(), verdicts=(verdict(on=EventID("$elsewhere")),)),
        "is not an approval of this plan",
    ),
    (
        "the named event is a ❌",
        Case(request(), remembered(), verdicts=(verdict(kind="deny"),)),
        "denies the plan",
    ),
    (
        "a ✅ from a non-approver",
        Case(request(), remembered(), verdicts=(verdict(actor=EVE),)),
        "@eve:hs is not an approver",
    ),
    (
        "a ✅ from a bot matching an approver glob",
        Case(request(), remembered(), verdicts=(verdict(actor=CLAUDE),)),
        "@claude:hs is not an approver",
    ),
    (
        "denied after approval",
        Case(
            request(), remembered(), verdicts=(verdict(), verdict("$no", kind="deny", at=T0 + 90))
        ),
        "denied by @master:hs ($no)",
    ),
    (
        "!deny 12 after approval",
        Case(
            request(),
            remembered(),
            verdicts=(verdict(), verdict("$no", kind="deny", on=None, task="12", at=T0 + 90)),
        ),
        "denied by",
    ),
    ("expired", Case(request(), remembered(), now=T0 + 60 + 601), "the approval expired"),
    (
        "!approve 12 sent before the plan",
        Case(
            request(approval=EventID("$typed")),
            remembered(),
            verdicts=(replace(COMMAND_APPROVAL, at=T0 - 1),),
        ),
        "not an approval of this plan",
    ),
    (
        "!approve 13 for another task",
        Case(
            request(approval=EventID("$typed")),
            remembered(),
            verdicts=(replace(COMMAND_APPROVAL, task_id=TaskID("13")),),
        ),
        "not an approval of this plan",
    ),
    (
        "!approve 12 in another room",
        Case(
            request(approval=EventID("$typed")),
            remembered(),
            verdicts=(replace(COMMAND_APPROVAL, room_id=RoomID("!dm:hs")),),
        ),
        "not an approval of this plan",
    ),
]


@pytest.mark.parametrize(("case", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_a_forged_or_stale_approval_is_refused_with_its_reason(case: Case, reason: str) -> None:
    refused = check(case)
    assert isinstance(refused, PlanRefusal), refused
    assert reason in refused.reason


def check(case: Case) -> PlanGrant | PlanRefusal:
    plans = (*case.others, case.plan) if case.plan is not None else case.others
    return check_grant(
        case.request,
        case.plan,
        sorted(plans, key=lambda p: p.at),
        case.verdicts,
        coordinator=COORD,
        rules=RULES,
        now=case.now,
    )


# The memory, on the real store -----------------------------------------------------------


@pytest.fixture
async def plans(tmp_path: Path) -> AsyncIterator[PlanApprovalStore]:
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    opened = await PlanApprovalStore.open(db, clock=lambda: T0 + 100)
    yield opened
    await opened.close()
    await store.close()


def memory(store: PlanApprovalStore, now: float = T0 + 120) -> PlanApprovals:
    return PlanApprovals(
        store, coordinator=COORD, rules=RULES, clock=lambda: now, settle_seconds=0.1
    )


ROSTER = Roster((Identity(COORD, "Coordinator", kind="coordinator"), Identity(CLAUDE, "Claude")))


def tick(target: EventID, sender: UserID = MASTER, key: str = "✅") -> RoomEvent:
    relates = {"rel_type": "m.annotation", "event_id": target, "key": key}
    return RoomEvent(
        ROOM, TICK, sender, "m.reaction", {"m.relates_to": relates}, timestamp_ms=int(T0 * 1000)
    )


async def test_seen_plans_and_ticks_approve_and_seeing_them_again_changes_nothing(
    plans: PlanApprovalStore,
) -> None:
    remembering = memory(plans)
    for _ in range(2):
        await remembering.observe(plan_message(at=T0 - 10), ROSTER)
        assert await remembering.observe_reaction(tick(PLAN))
    assert await plans.plan(PLAN) == remembered(at=T0 - 10)
    assert len(await plans.verdicts(PLAN, TaskID("12"))) == 1
    granted = await remembering.grant(request())
    assert isinstance(granted, PlanGrant), granted
    assert granted.by == MASTER


async def test_a_plan_whose_digest_is_not_its_steps_is_logged_and_not_remembered(
    plans: PlanApprovalStore, caplog: pytest.LogCaptureFixture
) -> None:
    remembering = memory(plans)
    await remembering.observe(plan_message(digest=steps_digest(STEPS[:1]), at=T0 - 10), ROSTER)
    assert await plans.plan(PLAN) is None
    assert "the plan's digest is not the digest of its steps" in caplog.text


async def test_only_an_approvers_tick_is_remembered(plans: PlanApprovalStore) -> None:
    remembering = memory(plans)
    await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    assert not await remembering.observe_reaction(tick(PLAN, sender=EVE))
    assert not await remembering.observe_reaction(tick(PLAN, sender=COORD))
    assert not await remembering.observe_reaction(tick(PLAN, key="👍"))
    refused = await remembering.grant(request())
    assert isinstance(refused, PlanRefusal)
    assert "not an approval of this plan" in refused.reason


@pytest.mark.parametrize(
    ("body", "sender", "counts"),
    [
        ("!approve 12", MASTER, True),
        ("Coordinator: !approve #12", MASTER, True),
        ("!approve 12", EVE, False),
        ("!approve r1a2b3", MASTER, False),
        ("approve 12 please", MASTER, False),
    ],
)
async def test_a_typed_approval_is_read_as_the_coordinator_reads_it(
    plans: PlanApprovalStore, body: str, sender: UserID, counts: bool
) -> None:
    remembering = memory(plans)
    await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    typed = Message(ROOM, EventID("$typed"), sender, body, timestamp_ms=int(T0 * 1000))
    await remembering.observe(typed, ROSTER)
    granted = await remembering.grant(request(approval=EventID("$typed")))
    assert isinstance(granted, PlanGrant) is counts, granted


async def test_a_tick_handled_a_moment_after_the_request_still_counts(
    plans: PlanApprovalStore,
) -> None:
    """One sync batch is handled concurrently: the request may be judged before the ✅."""
    remembering = PlanApprovals(
        plans, coordinator=COORD, rules=RULES, clock=lambda: T0 + 120, settle_seconds=2
    )
    await remembering.observe(plan_message(at=T0 - 10), ROSTER)
    asking = asyncio.create_task(remembering.grant(request()))
    await asyncio.sleep(0.3)
    await remembering.observe_reaction(tick(PLAN))
    assert isinstance(await asking, PlanGrant)


# The executor: no prompt for an approved plan's step, the prompt otherwise; cancel events --


@dataclass
class Executor:
    service: ExecutionService
    engine: FakeEngine
    homeserver: FakeHomeserver
    audit: MeddledAudit
    bot: BotContext
    coordinator: UserID
    master: UserID

    async def plan(self, steps: list[dict[str, Any]]) -> None:
        message = replace(plan_message(steps, sender=self.coordinator, at=T0), room_id=ROOM)
        assert await self.service.observe(message, self.bot) == []

    async def react(self, sender: UserID, target: EventID = PLAN) -> None:
        assert (
            await self.service.on_event(replace(tick(target, sender), room_id=ROOM), self.bot) == []
        )

    async def ask(self, command: str, rid: str, *, plan: bool = True) -> RequestID:
        built = new_request(
            "local",
            command,
            self.master,
            RequestID(rid),
            task_id=TaskID("12"),
            plan_approval=PlanApprovalRef(PLAN, TICK) if plan else None,
        )
        assert isinstance(built, ExecRequest)
        content = request_content(built)
        event = RoomEvent(ROOM, EventID(f"${rid}"), self.coordinator, REQUEST_EVENT, content)
        assert await self.service.on_event(event, self.bot) == []
        return built.request_id

    async def cancel(self, sender: UserID, content: dict[str, Any]) -> list[Any]:
        event = RoomEvent(ROOM, EventID(f"$cancel{len(content)}"), sender, CANCEL_EVENT, content)
        return await self.service.on_event(event, self.bot)

    async def state(self, rid: RequestID) -> str:
        record = await self.audit.get(rid)
        assert record is not None
        return record.state


@pytest.fixture
async def executor(tmp_path: Path) -> AsyncIterator[Executor]:
    settings = load_settings(EXAMPLE_CONFIG)
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    audit = cast(MeddledAudit, await MeddledAudit.open(db))
    plans = await PlanApprovalStore.open(db)
    engine, homeserver = FakeEngine(), FakeHomeserver()
    service = ExecutionService(
        settings, cast(CommandRunner, engine), audit, ROOM, clock=lambda: T0 + 120, plans=plans
    )
    roster = build_roster(settings)
    me = roster.get(settings.user_id(settings.executor))
    bot = cast(BotContext, SimpleNamespace(matrix=homeserver, roster=roster, identity=me))
    service.attach(bot)
    yield Executor(
        service,
        engine,
        homeserver,
        audit,
        bot,
        settings.user_id(settings.coordinator),
        settings.master_user_id,
    )
    await service.aclose()
    await plans.close()
    await audit.close()
    await store.close()


WRITES = [step("local", "touch /tmp/cvx-a", 1), step("local", "touch /tmp/cvx-b", 2)]


async def test_the_steps_of_an_approved_plan_run_without_a_prompt(executor: Executor) -> None:
    await executor.plan(WRITES)
    await executor.react(executor.master)
    first = await executor.ask("touch /tmp/cvx-a", "t12-a1-s1")
    second = await executor.ask("touch /tmp/cvx-b", "t12-a1-s2")
    await executor.service._work.drain(timeout=10)
    assert executor.engine.started == ["touch /tmp/cvx-a", "touch /tmp/cvx-b"]
    assert not [key for key in executor.homeserver.sent if key.endswith("/prompt")]
    for rid in (first, second):
        assert await executor.state(rid) == "finished"
        [approval] = [e for e in await executor.audit.history(rid) if e.kind == "approval"]
        assert approval.actor == executor.master
        assert approval.event_id == TICK
        assert approval.detail["plan_event"] == PLAN
        assert approval.detail["plan_digest"] == steps_digest(WRITES)


async def test_a_step_not_in_the_plan_gets_a_prompt(executor: Executor) -> None:
    await executor.plan(WRITES)
    await executor.react(executor.master)
    rid = await executor.ask("touch /tmp/cvx-other", "t12-a1-s9")
    assert await executor.state(rid) == "pending"
    assert f"{rid}/prompt" in executor.homeserver.sent
    refusals = [e.detail for e in await executor.audit.history(rid) if e.kind == "approval"]
    assert refusals[0]["verdict"] == "refused"
    assert "not one of the plan's steps" in str(refusals[0]["reason"])
    assert executor.engine.started == []


async def test_a_plan_ticked_by_a_non_approver_approves_nothing(executor: Executor) -> None:
    await executor.plan(WRITES)
    await executor.react(UserID("@eve:localhost"))
    rid = await executor.ask("touch /tmp/cvx-a", "t12-a1-s1")
    assert await executor.state(rid) == "pending"
    assert f"{rid}/prompt" in executor.homeserver.sent


async def test_a_forbidden_step_stays_forbidden_whatever_the_plan(executor: Executor) -> None:
    await executor.plan([step("local", "dd if=/dev/zero of=/dev/sda")])
    await executor.react(executor.master)
    rid = await executor.ask("dd if=/dev/zero of=/dev/sda", "t12-a1-s1")
    assert await executor.state(rid) == "forbidden"
    assert executor.engine.started == []


CANCELS = [
    ("the coordinator", "coordinator", {}, "cancelled"),
    ("the master", "master", {"reason": "changed my mind"}, "cancelled"),
    ("a stranger", "@eve:localhost", {}, "pending"),
    ("the coordinator, naming another task", "coordinator", {"task_id": "13"}, "pending"),
    ("the coordinator, naming the task", "coordinator", {"task_id": "12"}, "cancelled"),
]


@pytest.mark.parametrize(
    ("sender", "extra", "state"), [c[1:] for c in CANCELS], ids=[c[0] for c in CANCELS]
)
async def test_a_cancel_event_stops_a_waiting_request(
    executor: Executor, sender: str, extra: dict[str, Any], state: str
) -> None:
    rid = await executor.ask("touch /tmp/cvx-wait", "t12-a1-s5", plan=False)
    assert await executor.state(rid) == "pending"
    who = {"coordinator": executor.coordinator, "master": executor.master}.get(sender, sender)
    await executor.cancel(UserID(who), {"request_id": rid, **extra})
    assert await executor.state(rid) == state
    kinds = [e.kind for e in await executor.audit.history(rid)]
    if state == "cancelled":
        assert kinds[-1] == "cancel"
        assert executor.homeserver.result_event(rid)["status"] == "cancelled"
    assert executor.engine.started == []


async def test_a_bad_or_unknown_cancel_changes_nothing(executor: Executor) -> None:
    assert await executor.cancel(executor.coordinator, {"request_id": "no such"}) == []
    assert await executor.cancel(executor.coordinator, {"request_id": "t99-a1-s1"}) == []


async def test_a_memory_that_fails_is_logged_never_answered(
    executor: Executor, caplog: pytest.LogCaptureFixture
) -> None:
    """The executor answers none of the messages it watches, not even with an apology."""
    assert executor.service.plans is not None
    await executor.service.plans.store.close()
    message = replace(plan_message(WRITES, sender=executor.coordinator), room_id=ROOM)
    assert await executor.service.observe(message, executor.bot) == []
    assert "remembering $plan for plan approvals failed" in caplog.text
