"""Tasks end to end: `//chavion_task: …` → a thread where the council proposes, votes in a
poll, plans, reviews, waits for the master, runs over SSH, heals and reports.

Real Synapse, the master's encrypted nio client, the executor on the embedded SSH server
(`local`) and on a real OpenSSH sshd (`web-1`), agents on the real SDKs against the fake LLM
server, scripted per test by what the coordinator asks (`CouncilScript`). One council for
the module; every test gives its own task and waits for it to end, so tests do not meet.
Assertions are on what the master's client receives, the store's task tables, the fake
server's request log and the executor's audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from bots.events import COUNCIL_KEY, POLL_END, POLL_RESPONSE, POLL_START
from bots.execution.requests import REQUEST_EVENT, RESULT_EVENT
from tests.fakes.llm_server import FakeLLMServer, RecordedRequest, error
from tests.fakes.sshd import SshdServer
from tests.support.council import ThrowawayCouncil
from tests.support.council_script import CouncilScript, plan_json, step
from tests.support.person import Seen
from tests.support.tasks import (
    AGENTS,
    REMOTE_HOST,
    StartTaskBots,
    TaskBots,
    TaskMaster,
    TaskRef,
    command_started,
    council_of,
    mentions,
)

pytestmark = pytest.mark.integration

MAX_ATTEMPTS = 2

# Parts of issue 16 merged later than these tests were written: until all are in the
# checkout, the tests are skipped, saying which are missing.


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots, sshd: SshdServer) -> AsyncIterator[TaskBots]:
    async with start_task_bots("tasks", sshd=sshd, tasks={"max_attempts": MAX_ATTEMPTS}) as started:
        yield started


# ---- helpers ---------------------------------------------------------------------------------


def requests_of(boss: TaskMaster, task: TaskRef) -> list[Seen]:
    """The exec requests the coordinator sent for this task, as the master's client saw them."""
    return [
        s
        for kind, s in boss.person.events
        if kind == REQUEST_EVENT and s.content.get("task_id") == str(task.id)
    ]


async def result_of(boss: TaskMaster, request_id: str, timeout: float = 60) -> Seen:
    return await boss.person.wait_for_event(
        RESULT_EVENT, lambda s: s.content.get("request_id") == request_id, timeout=timeout
    )


@contextlib.asynccontextmanager
async def approving_every_plan(boss: TaskMaster, task: TaskRef) -> AsyncIterator[list[str]]:
    """Taps ✅ on each plan the coordinator shows for `task` while the block runs."""
    approved: list[str] = []

    async def keep_approving() -> None:
        while True:
            for seen in boss.thread(task):
                council = council_of(seen)
                if council.get("kind") == "plan" and seen.event_id not in approved:
                    approved.append(seen.event_id)
                    await boss.react(seen.event_id, "✅")
            await asyncio.sleep(0.2)

    runner = asyncio.create_task(keep_approving())
    try:
        yield approved
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def approved_run(boss: TaskMaster, text: str) -> tuple[TaskRef, Seen]:
    """Gives the order, approves its plan with ✅ and returns the report."""
    task = await boss.order(text)
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    return task, await boss.report(task)


# ---- the happy path --------------------------------------------------------------------------


@pytest.mark.backend
async def test_report_disk_usage_of_local_from_order_to_report(
    council: ThrowawayCouncil, boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    task = await boss.order("//chavion_task: report disk usage of local")
    [ack] = [s for s in boss.thread(task) if council_of(s).get("kind") == "ask"]
    assert ack.body.startswith(f"#{task.id} ")
    assert f"Task #{task.id} registered" in ack.body
    assert "priority medium" in ack.body
    assert council_of(ack)["stage"] == "propose"

    proposals = await boss.answers(task, "propose", count=3)
    assert len({s.sender for s in proposals}) >= 3
    assert all(s.body.startswith(f"#{task.id} 💡") for s in proposals)

    poll = await boss.poll(task)
    assert poll.sender == boss.coordinator
    ended = await boss.person.wait_for_event(
        POLL_END, lambda s: s.relates_to.get("event_id") == poll.event_id, timeout=60
    )
    assert ended.sender == boss.coordinator
    votes = [
        s
        for kind, s in boss.person.events
        if kind == POLL_RESPONSE and s.relates_to.get("event_id") == poll.event_id
    ]
    assert len({s.sender for s in votes}) >= 3
    reasons = await boss.answers(task, "vote", count=3)
    assert all(council_of(s).get("choice") for s in reasons)
    assert all(s.body.startswith(f"#{task.id} 🗳️") for s in reasons)

    plan = await boss.plan(task)
    assert "df -h" in plan.body
    assert mentions(plan, boss.person.user_id)
    assert plan.content["msgtype"] == "m.text"
    assert [s["command"] for s in council_of(plan)["steps"]] == ["df -h"]
    review = await boss.answers(task, "review", count=1)
    assert review[0].body.startswith(f"#{task.id} 🔎")
    # The coordinator pre-adds ✅ and ❌ so the master only taps.
    offered = await asyncio.wait_for(_reactions_on(boss, plan.event_id, count=2), 30)
    assert {key.replace("\ufe0f", "") for key in offered} == {"✅", "❌"}

    await boss.react(plan.event_id, "✅")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    assert mentions(report, boss.person.user_id)
    assert report.content["msgtype"] == "m.text"
    assert "Filesystem" in report.body  # the real output of df -h
    await boss.state(task, "completed")

    [request] = requests_of(boss, task)
    assert request.content["request_id"] == f"t{task.id}-a1-s1"
    assert request.content["command"] == "df -h"
    result = await result_of(boss, f"t{task.id}-a1-s1")
    assert result.content["status"] == "succeeded"
    line = await boss.wait(
        lambda s: s.sender == boss.coordinator and not s.relates_to,
        lambda s: s.body.startswith(f"#{task.id} ✅"),
        what="the main-timeline line",
    )
    assert "disk usage of local" in line.body
    audit = await boss.db.audit(task.id)
    assert audit[f"t{task.id}-a1-s1"].count("start") == 1
    moves = [to for _, to in await boss.db.moves(task.id)]
    assert moves == [
        "pending",
        "discussing",
        "voting",
        "planning",
        "reviewing",
        "awaiting_approval",
        "running",
        "completed",
    ]
    assert script.count("propose") == len(AGENTS)
    assert script.count("plan", "gpt") == 1  # the winner plans


async def _reactions_on(boss: TaskMaster, event_id: str, count: int) -> list[str]:
    while True:
        keys = [
            str(s.relates_to.get("key"))
            for kind, s in boss.person.events
            if kind == "m.reaction"
            and s.sender == boss.coordinator
            and s.relates_to.get("event_id") == event_id
        ]
        if len(keys) >= count:
            return keys
        await asyncio.sleep(0.1)


# ---- approval, healing, policy ---------------------------------------------------------------


async def test_a_denied_plan_goes_back_to_the_planner_with_the_reason(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    script.set("plan", "*", plan_json(step("local", "df -h")), plan_json(step("local", "df -h /")))
    task = await boss.order("//chavion_task: report disk usage of local")
    first = await boss.plan(task)
    await boss.command(f"!deny {task.id} only the root filesystem please")

    def second_plan(s: Seen) -> bool:
        return council_of(s).get("kind") == "plan" and s.event_id != first.event_id

    second = await boss.in_thread(task, second_plan, what="a new plan after the denial")
    assert "df -h /" in second.body
    replans = [r for r in llm.requests if "only the root filesystem please" in r.text]
    assert replans, "the planner was not told why the plan was denied"
    await boss.command(f"!approve {task.id}")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    assert [s.content["command"] for s in requests_of(boss, task)] == ["df -h /"]


async def test_a_failing_step_is_fixed_on_the_second_attempt(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    script.plan = plan_json(step("local", "ls /nonexistent-cvx-fix"))
    script.set("fix", "*", plan_json(step("local", "ls /")))
    task = await boss.order("//chavion_task: list the root directory of local")
    async with approving_every_plan(boss, task) as approved:
        report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    assert len(approved) == 2
    ids = [s.content["request_id"] for s in requests_of(boss, task)]
    assert ids == [f"t{task.id}-a1-s1", f"t{task.id}-a2-s1"]
    fixes = [r for r in llm.requests if script.agent_of(r) and "nonexistent-cvx-fix" in r.text]
    assert any("No such file or directory" in r.text for r in fixes), "no output in the fix ask"
    assert script.count("fix", "gpt") == 1  # the plan's author heals it
    assert "fixing" in [to for _, to in await boss.db.moves(task.id)]


async def test_after_the_last_attempt_the_rollback_runs_and_the_task_fails(
    boss: TaskMaster, script: CouncilScript
) -> None:
    broken = step("local", "ls /nonexistent-cvx-rb", rollback="echo rolled-back-cvx")
    script.plan = plan_json(broken)
    script.set("fix", "*", plan_json(broken))
    task = await boss.order("//chavion_task: list a directory that is not there")
    async with approving_every_plan(boss, task):
        report = await boss.report(task, timeout=120)
    assert report.body.startswith(f"#{task.id} ❌ Failed")
    assert "nonexistent-cvx-rb" in report.body
    ids = [s.content["request_id"] for s in requests_of(boss, task)]
    mains = [i for i in ids if not i.endswith(("-rb", "-v"))]
    assert len(mains) == MAX_ATTEMPTS
    [rollback] = [i for i in ids if i.endswith("-rb")]
    assert (await result_of(boss, rollback)).content["status"] == "succeeded"
    assert await boss.state(task, "failed") == "failed"


async def test_a_forbidden_step_stops_the_plan_with_the_reason(
    boss: TaskMaster, script: CouncilScript
) -> None:
    script.plan = plan_json(step("local", "rm -rf /"))
    task = await boss.order("//chavion_task: free some disk space on local")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ❌ Failed")
    assert "forbidden" in report.body.lower()
    await boss.state(task, "failed")
    assert requests_of(boss, task) == []
    assert await boss.db.audit(task.id) == {}
    assert "awaiting_approval" not in [to for _, to in await boss.db.moves(task.id)]


# ---- steering ----------------------------------------------------------------------------------


async def test_cancel_while_running_stops_the_command(
    boss: TaskMaster, script: CouncilScript
) -> None:
    script.plan = plan_json(step("local", "sleep 60"))
    task = await boss.order("//chavion_task: wait a minute on local")
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    await boss.state(task, "running")
    request_id = f"t{task.id}-a1-s1"
    await boss.person.wait_for_event(
        REQUEST_EVENT, lambda s: s.content.get("request_id") == request_id
    )
    await command_started(boss, request_id, task)
    await boss.command(f"!cancel {task.id}")
    report = await boss.report(task, timeout=30)
    assert report.body.startswith(f"#{task.id} 🛑 Cancelled")
    result = await result_of(boss, request_id, timeout=30)
    assert result.content["status"] == "cancelled"
    await boss.state(task, "cancelled")


async def test_pause_holds_a_task_and_resume_continues_it(
    boss: TaskMaster, script: CouncilScript
) -> None:
    script.delays["propose"] = 2.0  # the proposals arrive while the task is paused
    task = await boss.order("//chavion_task: report disk usage of local")
    await boss.command(f"!pause {task.id}")
    await boss.state(task, "paused")
    await boss.answers(task, "propose", count=len(AGENTS))
    await boss.person.settle(3)
    assert await boss.db.state(task.id) == "paused"
    assert boss.events(task, POLL_START) == []
    await boss.command(f"!resume {task.id}")
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    moves = await boss.db.moves(task.id)
    assert ("discussing", "paused") in moves
    assert ("paused", "discussing") in moves


async def test_a_task_with_no_command_ends_with_the_refined_answer(
    boss: TaskMaster, script: CouncilScript
) -> None:
    script.commands = False  # every proposal ends "COMMANDS: no"
    script.set("refine", "*", "REFINED-cvx: Go for small static CLIs, Rust for speed.")
    task = await boss.order("//chavion_task: compare Rust and Go for command-line tools")
    report = await boss.report(task)
    assert "REFINED-cvx" in report.body
    assert mentions(report, boss.person.user_id)
    assert await boss.state(task, "completed") == "completed"
    assert requests_of(boss, task) == []
    assert not [s for s in boss.thread(task) if council_of(s).get("kind") == "plan"]


async def test_two_tasks_run_at_once_each_in_its_own_thread(
    boss: TaskMaster, script: CouncilScript
) -> None:
    def plan_for(request: RecordedRequest) -> str:
        if REMOTE_HOST in request.text:
            return plan_json(step(REMOTE_HOST, "uptime"))
        return plan_json(step("local", "df -h"))

    script.plan = plan_for
    local, remote = await asyncio.gather(
        boss.order("//chavion_task: report disk usage of local"),
        boss.order(f"//chavion_task: report the uptime of {REMOTE_HOST}"),
    )
    assert local.id != remote.id
    plans = await asyncio.gather(boss.plan(local), boss.plan(remote))
    for plan in plans:
        await boss.react(plan.event_id, "✅")
    reports = await asyncio.gather(boss.report(local), boss.report(remote))
    assert all("✅ Done" in r.body for r in reports)
    assert "load average" in reports[1].body  # uptime ran on the real sshd
    for task in (local, remote):
        assert all(s.body.startswith(f"#{task.id} ") for s in boss.thread(task))
    [remote_request] = requests_of(boss, remote)
    assert remote_request.content["host"] == REMOTE_HOST


async def test_the_masters_poll_vote_overrides_the_agents(
    boss: TaskMaster, script: CouncilScript
) -> None:
    script.delays["vote"] = 4.0  # the agents think; the master taps first
    task = await boss.order("//chavion_task: report disk usage of local")
    poll = await boss.poll(task)
    own = council_of(poll)["context"]["own"]
    await boss.vote(poll.event_id, own["claude"])
    await boss.plan(task)
    row = await boss.db.task(task.id)
    assert row is not None
    assert row["winner"] == "claude"
    assert script.count("plan", "claude") == 1
    assert script.count("plan", "gpt") == 0
    await boss.command(f"!cancel {task.id}")
    await boss.state(task, "cancelled")


async def test_an_agent_whose_provider_fails_is_named_with_the_reason_and_skipped(
    boss: TaskMaster, script: CouncilScript
) -> None:
    script.winner, script.runner_up = "claude", "gemini"
    quota = error(429, error_code="insufficient_quota", message="You exceeded your quota.")
    script.set("propose", "gpt", quota)
    task = await boss.order("//chavion_task: report disk usage of local")
    named = await boss.in_thread(
        task,
        lambda s: s.sender == boss.coordinator and "GPT: quota exhausted" in s.body,
        what="GPT named with its reason",
    )
    assert named.body.startswith(f"#{task.id} ⚠️")
    poll = await boss.poll(task)
    options = council_of(poll)["context"]["options"]
    assert len(options) == len(AGENTS) - 1
    await boss.command(f"!cancel {task.id}")
    await boss.state(task, "cancelled")


# ---- intake ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "mission", "priority"),
    [
        ("//chavion_task: report disk usage of local", "report disk usage of local", "medium"),
        ("/chavion_task: report disk usage of local", "report disk usage of local", "medium"),
        ("!task report disk usage of local", "report disk usage of local", "medium"),
        ("!task high: check nginx on local", "check nginx on local", "high"),
    ],
    ids=["element-x", "element-web", "bang", "bang-priority"],
)
async def test_the_three_intake_shapes_register_a_task(
    boss: TaskMaster, script: CouncilScript, order: str, mission: str, priority: str
) -> None:
    task = await boss.order(order)
    ack = next(s for s in boss.thread(task) if council_of(s).get("kind") == "ask")
    assert f"Task #{task.id} registered: {mission}" in ack.body
    assert f"priority {priority}" in ack.body
    row = await boss.db.task(task.id)
    assert row is not None
    assert (row["mission"], row["priority"], row["source"]) == (mission, priority, "matrix")
    assert row["requester"] == boss.person.user_id
    assert row["thread_root"] == task.root
    await boss.command(f"!cancel {task.id}")
    await boss.state(task, "cancelled")


@pytest.mark.parametrize(
    ("order", "says"),
    [
        ("//chavion_task:", "Send the mission after the colon"),
        ("!task   ", "Send the mission after the colon"),
        ("//chavion_task: " + "x" * 5000, "the limit is 4,000"),
    ],
    ids=["empty", "blank", "oversized"],
)
async def test_an_empty_or_oversized_order_is_refused_saying_what_to_send(
    boss: TaskMaster, order: str, says: str
) -> None:
    before = await boss.db.rows("SELECT count(*) AS n FROM tasks")
    root = await boss.command(order)
    refusal = await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: s.in_reply_to == root or s.relates_to.get("event_id") == root,
        what=f"the refusal of {order[:30]!r}",
    )
    assert says in refusal.body
    assert COUNCIL_KEY not in refusal.content or council_of(refusal).get("task") is None
    assert await boss.db.rows("SELECT count(*) AS n FROM tasks") == before


# ---- approvals by reply ---------------------------------------------------------------------


async def test_a_bare_deny_or_approve_replying_to_the_plan_answers_that_plan(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    """What Element users do: reply to the plan message. The coordinator takes the reply, the
    executor approves the plan's step from it (no prompt) and says nothing itself."""
    marker = "/tmp/chavion-approved-by-reply"
    script.set(
        "plan",
        "*",
        plan_json(step("local", "touch /tmp/chavion-first-plan")),
        plan_json(step("local", f"touch {marker}")),
    )
    task = await boss.order("//chavion_task: create the marker file on local")

    async def reply(plan: Seen, body: str) -> str:
        """A reply in the thread, as Element sends it (mentioning whom it answers)."""
        relates = {
            "rel_type": "m.thread",
            "event_id": task.root,
            "is_falling_back": False,
            "m.in_reply_to": {"event_id": plan.event_id},
        }
        mentions = {"user_ids": [boss.coordinator]}
        return await boss.person.say(
            boss.room, body, **{"m.relates_to": relates, "m.mentions": mentions}
        )

    first = await boss.plan(task)
    denial = await reply(first, "!deny only the marker file please")

    def second_plan(s: Seen) -> bool:
        return council_of(s).get("kind") == "plan" and s.event_id != first.event_id

    second = await boss.in_thread(task, second_plan, what="a new plan after the denial by reply")
    assert any("only the marker file please" in r.text for r in llm.requests)
    approval = await reply(second, "!approve")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")
    [request] = requests_of(boss, task)
    assert request.content["command"] == f"touch {marker}"
    approvals = await boss.db.rows(
        "SELECT actor, event_id FROM audit_log WHERE request_id = ? AND kind = 'approval'",
        request.content["request_id"],
    )
    assert approvals == [{"actor": boss.person.user_id, "event_id": approval}]
    executor = boss.council.user_id("executor")
    assert not [
        s
        for s in boss.person.matching(lambda s: s.in_reply_to in (denial, approval))
        if s.sender == executor
    ]
