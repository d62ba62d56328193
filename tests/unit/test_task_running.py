"""The task engine from the approved plan to the report: running, healing, reporting.

The real task store (SQLite in a temporary directory), the real driver and phases, and a
recording outbox in Chavion's own protocol (`Reply` values and raw events, as the Matrix
layer would send them). Results come in as `RoomEvent`s from the executor's account.

- Parallel-marked steps go out together; the next stage waits for the previous one.
- A verify runs after its step and its failure is the step's; so is executor silence and a
  denied, expired or forbidden request.
- A failed step goes to the plan's author; a valid fix is the next attempt (re-reviewed);
  an invalid one is asked again once; after `max_attempts` the steps that ran are rolled
  back, newest first, and the task fails with what each attempt tried.
- `stop_running` asks the executor to cancel what has not finished.
- A new context on the same store (a restart) sends nothing twice.
- The report mentions the master and carries real outputs, costs per agent and the time.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pytest

from bots.context import BotContext
from bots.coordinator.tasks import reporting, running
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.driver import PHASES, Phase, TaskDriver
from bots.coordinator.tasks.steps import request_id
from bots.execution.requests import (
    CANCEL_EVENT,
    REQUEST_EVENT,
    ExecOutput,
    ExecResult,
    ResultStatus,
    command_digest,
    result_content,
)
from bots.ids import Digest, EventID, RequestID, RoomID, UserID
from bots.message import Reply, RoomEvent
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.store import Store
from bots.store.tasks import Answer, StepRun, Task
from bots.tasks.plans import Plan, Step, plan_digest, plan_json
from bots.tasks.states import TaskState
from bridge.speech import VoiceClip

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "config" / "chavion.example.yaml"
ROOM = RoomID("!council:localhost")
ROOT = EventID("$intake")
T0 = 1_000_000.0
MY_STATES: tuple[TaskState, ...] = ("running", "fixing", "completed", "failed", "cancelled")
MINE: dict[TaskState, Phase] = {state: PHASES[state] for state in MY_STATES}
"""Only this part's phases: the tests play E1's (review, approval) by moving the task."""


@dataclass(frozen=True)
class Sent:
    kind: str  # "message", "event" or "file"
    key: str
    event_id: EventID
    event_type: str = ""
    content: dict[str, Any] = field(default_factory=dict)
    reply: Reply | None = None
    filename: str = ""
    data: bytes = b""


class RecordingOutbox:
    """The Matrix side as the engine sees it; a key sent again is the same event (the
    homeserver's transaction id), as on a real homeserver."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._by_key: dict[str, EventID] = {}
        self._ids = itertools.count()

    def _deliver(self, key: str, **what: Any) -> EventID:
        if key in self._by_key:
            return self._by_key[key]
        event_id = EventID(f"$out{next(self._ids)}")
        self._by_key[key] = event_id
        self.sent.append(Sent(key=key, event_id=event_id, **what))
        return event_id

    async def send(self, reply: Reply) -> EventID:
        return self._deliver(reply.key, kind="message", reply=reply)

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID:
        return self._deliver(key, kind="event", event_type=event_type, content=content)

    async def send_file(
        self, reply: Reply, filename: str, data: bytes, mimetype: str = "text/plain"
    ) -> EventID:
        return self._deliver(reply.key, kind="file", reply=reply, filename=filename, data=data)

    async def send_voice(self, reply: Reply, clip: VoiceClip) -> EventID:
        return self._deliver(reply.key, kind="voice", reply=reply, data=clip.data)

    async def typing(self, room_id: RoomID, on: bool) -> None:
        return None

    async def redact(self, room_id: RoomID, event_id: EventID, reason: str, key: str) -> EventID:
        raise AssertionError("the task engine redacts nothing")

    # --- reading back -------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        return [s.content for s in self.sent if s.event_type == REQUEST_EVENT]

    def request_ids(self) -> list[str]:
        return [str(c["request_id"]) for c in self.requests()]

    def cancels(self) -> list[dict[str, Any]]:
        return [s.content for s in self.sent if s.event_type == CANCEL_EVENT]

    def messages(self) -> list[Reply]:
        return [s.reply for s in self.sent if s.kind == "message" and s.reply is not None]

    def bodies(self) -> list[str]:
        return [reply.body for reply in self.messages()]

    def council(self, kind: str, stage: str | None = None) -> list[dict[str, Any]]:
        found = [dict(r.council) for r in self.messages() if r.council is not None]
        return [c for c in found if c["kind"] == kind and stage in (None, c.get("stage"))]

    def report(self) -> Reply:
        [report] = [r for r in self.messages() if r.council and r.council["kind"] == "report"]
        return report


@dataclass
class Bench:
    store: Store
    outbox: RecordingOutbox
    settings: Settings
    now: float = T0
    driver: TaskDriver = field(init=False)
    ctx: TaskContext = field(init=False)
    results: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new context and driver on the same store: what a coordinator restart keeps."""
        bot = BotContext(
            settings=self.settings,
            account=self.settings.coordinator,
            identity=cast(Any, None),
            roster=cast(Any, None),
            matrix=cast(Any, self.outbox),
            store=self.store,
        )
        self.ctx = TaskContext(bot, clock=lambda: self.now)
        self.driver = TaskDriver(self.ctx, MINE)

    def configure(self, **tasks: Any) -> None:
        self.settings = replace(self.settings, tasks=replace(self.settings.tasks, **tasks))
        self.restart()

    async def running_task(
        self, steps: Sequence[Step], *, attempt: int = 1, author: str = "claude"
    ) -> Task:
        """A task whose plan the master approved, entering `running` as E1 leaves it."""
        task, _ = await self.store.tasks.create(
            intake_key=f"k{next(self.results)}",
            room_id=ROOM,
            thread_root=ROOT,
            mission="report disk usage of local",
            priority="medium",
            requester=self.master,
            source="matrix",
            now=T0,
        )
        plan = Plan(tuple(steps), "check the disks")
        await self.move(task.id, "pending", "planning", winner=author)
        await self.move(task.id, "planning", "reviewing", plan=plan_json(plan))
        await self.move(task.id, "reviewing", "awaiting_approval", plan_event=EventID("$plan"))
        moved = await self.move(
            task.id,
            "awaiting_approval",
            "running",
            attempt=attempt,
            plan_digest=plan_digest(plan),
            plan_author=author,
            approved_by=self.master,
            approval_event=EventID("$approve"),
        )
        return moved

    async def move(self, task_id: int, a: str, b: str, **fields: Any) -> Task:
        moved = await self.store.tasks.move(
            task_id, a, b, actor="test", reason="", now=T0, **fields
        )
        assert moved is not None, (a, b)
        return moved

    async def drive(self, task_id: int) -> Task:
        task = await self.driver.drive(task_id)
        assert task is not None
        return task

    @property
    def master(self) -> UserID:
        return self.settings.master_user_id

    async def result(
        self,
        rid: str,
        status: ResultStatus = "succeeded",
        *,
        exit_status: int | None = 0,
        stdout: str = "",
        stderr: str = "",
        sender: UserID | None = None,
        digest: str | None = None,
    ) -> int | None:
        """The executor's result event for request `rid`; what `on_exec_result` returns."""
        run = await self.store.tasks.step(RequestID(rid))
        if digest is None:
            assert run is not None, rid
            digest = command_digest(run.host, run.command)
        ran = status in ("succeeded", "failed", "timed_out", "cancelled", "interrupted")
        result = ExecResult(
            RequestID(rid),
            Digest(digest),
            status,
            f"Execution {rid} {status}",
            exit_status=exit_status if ran else None,
            duration_ms=100 if ran else None,
            output=ExecOutput.tails(stdout, stderr) if ran else None,
        )
        content: dict[str, Any] = result_content(result)
        event = RoomEvent(
            ROOM,
            EventID(f"$result{next(self.results)}"),
            sender or self.settings.user_id(self.settings.executor),
            "org.chavion.exec.result",
            content,
        )
        return await running.on_exec_result(self.ctx, event)

    async def finish(
        self, task_id: int, rid: str, status: ResultStatus = "succeeded", **kw: Any
    ) -> Task:
        """A result for `rid`, then the drive the service does after it."""
        assert await self.result(rid, status, **kw) == task_id
        return await self.drive(task_id)

    async def answer(self, task_id: int, ask: str, agent: str, text: str, **kw: Any) -> None:
        added = await self.store.tasks.add_answer(
            Answer(
                task_id,
                ask,
                agent,
                kw.pop("stage", "fix"),
                kw.pop("status", "ok"),
                text,
                EventID(f"$answer-{ask}-{agent}"),
                self.now,
                **kw,
            )
        )
        assert added

    async def step_runs(self, task_id: int) -> dict[str, StepRun]:
        return {run.request_id: run for run in await self.store.tasks.steps(task_id)}


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    store = await Store.open(tmp_path / "chavion.db")
    yield Bench(store, RecordingOutbox(), load_settings(EXAMPLE_CONFIG))
    await store.close()


def step(command: str, **kw: Any) -> Step:
    return Step("local", command, purpose=kw.pop("purpose", f"run {command}"), **kw)


def rid(task: Task, n: int, kind: str = "main", attempt: int = 1) -> str:
    return request_id(task.id, attempt, n, cast(Any, kind))


# --- stages ----------------------------------------------------------------------------------


async def test_two_parallel_steps_go_out_together_and_the_third_waits_for_both(
    bench: Bench,
) -> None:
    task = await bench.running_task(
        [step("df -h", parallel=True), step("uptime", parallel=True), step("free -m")]
    )
    await bench.drive(task.id)
    assert bench.outbox.request_ids() == [rid(task, 1), rid(task, 2)]

    await bench.finish(task.id, rid(task, 1), stdout="/dev/sda1 40%\n")
    assert bench.outbox.request_ids() == [rid(task, 1), rid(task, 2)]

    await bench.finish(task.id, rid(task, 2), stdout="up 3 days\n")
    assert bench.outbox.request_ids() == [rid(task, 1), rid(task, 2), rid(task, 3)]

    done = await bench.finish(task.id, rid(task, 3), stdout="Mem: 16G\n")
    assert done.state == "completed"
    assert [r["step"] for r in bench.outbox.requests()] == [1, 2, 3]


async def test_a_request_carries_the_design_fields(bench: Bench) -> None:
    task = await bench.running_task([step("df -h")])
    await bench.drive(task.id)
    [content] = bench.outbox.requests()
    assert content["request_id"] == f"t{task.id}-a1-s1"
    assert content["task_id"] == str(task.id)
    assert content["step"] == 1
    assert content["requester"] == bench.master
    assert content["digest"] == command_digest("local", "df -h")
    assert content["plan_approval"] == {"plan_event": "$plan", "approval_event": "$approve"}
    assert content["m.relates_to"]["event_id"] == ROOT
    waiting = await bench.store.tasks.get(task.id)
    assert waiting is not None
    assert "df -h" in waiting.waiting_for
    assert waiting.deadline == T0 + bench.settings.tasks.step_seconds


async def test_a_failed_stage_stops_the_plan(bench: Bench) -> None:
    task = await bench.running_task([step("false"), step("df -h")])
    await bench.drive(task.id)
    moved = await bench.finish(task.id, rid(task, 1), "failed", exit_status=1, stderr="nope")
    assert moved.state == "fixing"
    assert rid(task, 2) not in bench.outbox.request_ids()
    assert any("exit 1" in body and "nope" in body for body in bench.outbox.bodies())


# --- verify ----------------------------------------------------------------------------------


async def test_verify_runs_after_its_step_and_its_failure_is_the_steps(bench: Bench) -> None:
    task = await bench.running_task(
        [step("systemctl restart nginx", verify="curl -fsS localhost"), step("df -h")]
    )
    await bench.drive(task.id)
    assert bench.outbox.request_ids() == [rid(task, 1)]

    await bench.finish(task.id, rid(task, 1))
    assert bench.outbox.request_ids() == [rid(task, 1), rid(task, 1, "verify")]
    assert bench.outbox.requests()[1]["command"] == "curl -fsS localhost"

    moved = await bench.finish(
        task.id, rid(task, 1, "verify"), "failed", exit_status=7, stderr="connection refused"
    )
    assert moved.state == "fixing"
    assert rid(task, 2) not in bench.outbox.request_ids()
    [fix] = bench.outbox.council("ask", "fix")
    assert fix["agents"] == ["claude"]
    assert fix["context"]["failed_step"] == 1
    assert "connection refused" in fix["context"]["output"]


# --- outcomes that are failures ----------------------------------------------------------------

NOT_RUN: dict[str, ResultStatus] = {
    "denied": "denied",
    "expired": "expired",
    "forbidden": "forbidden",
}


@pytest.mark.parametrize("status", NOT_RUN.values(), ids=NOT_RUN)
async def test_a_request_that_did_not_run_fails_its_step_with_the_reason(
    bench: Bench, status: ResultStatus
) -> None:
    task = await bench.running_task([step("rm -rf /tmp/x")])
    await bench.drive(task.id)
    moved = await bench.finish(task.id, rid(task, 1), status)
    assert moved.state == "fixing"
    run = (await bench.step_runs(task.id))[rid(task, 1)]
    assert run.status == status
    assert run.output == f"Execution {rid(task, 1)} {status}"


async def test_a_silent_executor_loses_the_step_after_step_seconds(bench: Bench) -> None:
    task = await bench.running_task([step("df -h")])
    await bench.drive(task.id)
    bench.now = T0 + bench.settings.tasks.step_seconds - 1
    assert (await bench.drive(task.id)).state == "running"

    bench.now = T0 + bench.settings.tasks.step_seconds
    due = await bench.store.tasks.due(bench.now)
    assert [t.id for t in due] == [task.id]
    moved = await bench.drive(task.id)
    assert moved.state == "fixing"
    run = (await bench.step_runs(task.id))[rid(task, 1)]
    assert run.status == "lost"
    assert run.output == "the executor did not answer in 15m 0s"
    # The executor is told to drop it, so it never runs after the task went on.
    [cancel] = bench.outbox.cancels()
    assert cancel["request_id"] == rid(task, 1)
    assert "went on without it" in cancel["reason"]
    # A late result changes nothing.
    assert await bench.result(rid(task, 1)) is None


# --- results in --------------------------------------------------------------------------------


async def test_a_result_is_stored_once_and_only_from_the_executor(bench: Bench) -> None:
    task = await bench.running_task([step("df -h")])
    await bench.drive(task.id)
    assert await bench.result(rid(task, 1), sender=bench.master) is None
    assert await bench.result(rid(task, 1), digest="0" * 64) is None
    assert await bench.result("t99-a1-s1", digest="0" * 64) is None
    assert await bench.result(rid(task, 1), stdout="first") == task.id
    assert await bench.result(rid(task, 1), stdout="second") is None
    assert (await bench.step_runs(task.id))[rid(task, 1)].output == "first"


async def test_a_malformed_result_is_ignored(bench: Bench) -> None:
    event = RoomEvent(
        ROOM,
        EventID("$bad"),
        bench.settings.user_id(bench.settings.executor),
        "org.chavion.exec.result",
        {"request_id": "t1-a1-s1", "status": "exploded"},
    )
    assert await running.on_exec_result(bench.ctx, event) is None


# --- healing -----------------------------------------------------------------------------------

FIX = json.dumps({"steps": [{"host": "local", "command": "df -h /", "purpose": "only root"}]})


async def test_a_fix_from_the_author_is_the_next_attempt_and_succeeds(bench: Bench) -> None:
    task = await bench.running_task([step("df -h /nope")])
    await bench.drive(task.id)
    await bench.finish(task.id, rid(task, 1), "failed", exit_status=1, stderr="no such file")
    [ask] = bench.outbox.council("ask", "fix")
    assert ask["ask"] == f"t{task.id}-fix-1"
    assert ask["context"]["attempt"] == 1
    assert "df -h /nope" in ask["context"]["plan"]

    await bench.answer(task.id, ask["ask"], "claude", f"#{task.id} 🩹 Here:\n```json\n{FIX}\n```")
    fixed = await bench.drive(task.id)
    assert fixed.state == "reviewing"
    assert fixed.attempt == 2
    assert fixed.plan_author == "claude"
    assert fixed.plan_event is None
    assert fixed.approval_event is None
    assert fixed.plan is not None
    assert "df -h /" in fixed.plan

    # E1 reviews and the master approves the fixed plan again.
    await bench.move(task.id, "reviewing", "awaiting_approval", plan_event=EventID("$plan2"))
    await bench.move(task.id, "awaiting_approval", "running", approval_event=EventID("$ok2"))
    await bench.drive(task.id)
    assert bench.outbox.request_ids()[-1] == f"t{task.id}-a2-s1"
    assert bench.outbox.requests()[-1]["plan_approval"]["plan_event"] == "$plan2"
    done = await bench.finish(task.id, f"t{task.id}-a2-s1", stdout="/dev/sda1 41% /")
    assert done.state == "completed"
    report = bench.outbox.report().body
    assert "/dev/sda1 41% /" in report
    assert "Attempt 1: step 1 on local failed (exit 1): df -h /nope" in report
    assert "no such file" in report
    assert "2 attempts" in report


async def test_an_invalid_fix_is_asked_again_once_then_the_task_fails(bench: Bench) -> None:
    task = await bench.running_task([step("df -h /nope")])
    await bench.drive(task.id)
    await bench.finish(task.id, rid(task, 1), "failed", exit_status=1)
    await bench.answer(task.id, f"t{task.id}-fix-1", "claude", "Try turning it off and on.")
    assert (await bench.drive(task.id)).state == "fixing"
    [_, again] = bench.outbox.council("ask", "fix")
    assert again["ask"] == f"t{task.id}-fix-1-r"
    assert "No plan found" in again["context"]["error"]

    bad_host = json.dumps({"steps": [{"host": "web9", "command": "uptime"}]})
    await bench.answer(task.id, f"t{task.id}-fix-1-r", "claude", bad_host)
    failed = await bench.drive(task.id)
    assert failed.state == "failed"
    assert "not a plan twice" in failed.note
    assert "web9" in failed.note
    assert bench.outbox.report().body.startswith(f"#{task.id} ❌ Failed")


async def test_a_fix_that_never_comes_fails_the_task_when_its_wait_runs_out(bench: Bench) -> None:
    task = await bench.running_task([step("df -h /nope")])
    await bench.drive(task.id)
    await bench.finish(task.id, rid(task, 1), "failed", exit_status=1)
    waiting = await bench.store.tasks.get(task.id)
    assert waiting is not None
    assert waiting.waiting_for.startswith("Claude's fix")
    bench.now = T0 + bench.settings.tasks.plan_seconds
    failed = await bench.drive(task.id)
    assert failed.state == "failed"
    assert "Claude proposed no fix within 3 min" in failed.note


async def test_after_max_attempts_what_ran_is_rolled_back_newest_first(bench: Bench) -> None:
    bench.configure(max_attempts=1)
    task = await bench.running_task(
        [
            step("cp new.conf /etc/app.conf", rollback="cp old.conf /etc/app.conf"),
            step("systemctl restart app", rollback="systemctl restart app-old"),
            step("curl localhost", rollback="true"),
        ]
    )
    await bench.drive(task.id)
    await bench.finish(task.id, rid(task, 1))
    moved = await bench.finish(task.id, rid(task, 2), "failed", exit_status=3, stderr="boom")
    assert moved.state == "fixing"
    assert bench.outbox.council("ask", "fix") == []  # no attempt left
    assert bench.outbox.request_ids()[-1] == rid(task, 2, "rollback")
    assert f"#{task.id} ↩️ Out of attempts (1); rolling back: step 2 and 1." in bench.outbox.bodies()

    await bench.finish(task.id, rid(task, 2, "rollback"))
    assert bench.outbox.request_ids()[-1] == rid(task, 1, "rollback")
    assert bench.outbox.requests()[-1]["command"] == "cp old.conf /etc/app.conf"
    failed = await bench.finish(task.id, rid(task, 1, "rollback"))
    assert failed.state == "failed"
    assert rid(task, 3, "rollback") not in bench.outbox.request_ids()  # step 3 never ran
    report = bench.outbox.report().body
    assert "Attempt 1: step 2 on local failed (exit 3)" in report
    assert "Step 2 (rollback) on local: systemctl restart app-old — exit 0" in report
    assert "Step 1 (rollback) on local: cp old.conf /etc/app.conf — exit 0" in report


# --- cancel ------------------------------------------------------------------------------------


async def test_stop_running_cancels_what_has_not_finished_once(bench: Bench) -> None:
    task = await bench.running_task(
        [step("sleep 1", parallel=True), step("sleep 2", parallel=True)]
    )
    await bench.drive(task.id)
    await bench.result(rid(task, 1))
    await running.stop_running(bench.ctx, task, "the master cancelled")
    assert bench.outbox.cancels() == [
        {"request_id": rid(task, 2), "task_id": str(task.id), "reason": "the master cancelled"}
    ]
    cancelled = await bench.move(task.id, "running", "cancelled")
    await bench.drive(cancelled.id)  # the cancelled phase stops what runs too: no second event
    assert len(bench.outbox.cancels()) == 1
    assert bench.outbox.report().body.startswith(f"#{task.id} 🛑 Cancelled")


# --- restart -----------------------------------------------------------------------------------


async def test_a_restart_sends_nothing_twice(bench: Bench) -> None:
    task = await bench.running_task(
        [step("df -h", parallel=True), step("uptime", parallel=True), step("free -m")]
    )
    await bench.drive(task.id)
    await bench.result(rid(task, 1))
    sent = list(bench.outbox.sent)
    bench.restart()
    await bench.drive(task.id)
    assert bench.outbox.sent[: len(sent)] == sent
    assert bench.outbox.request_ids() == [rid(task, 1), rid(task, 2)]

    await bench.finish(task.id, rid(task, 2))
    await bench.finish(task.id, rid(task, 3))
    count = len(bench.outbox.sent)
    bench.restart()
    assert (await bench.drive(task.id)).state == "completed"
    assert len(bench.outbox.sent) == count
    assert await reporting.unreported(bench.ctx) == []


async def test_a_step_recorded_but_never_sent_is_sent_after_a_restart(bench: Bench) -> None:
    task = await bench.running_task([step("df -h")])
    # The crash came between recording the request and sending it.
    await bench.store.tasks.add_step(
        StepRun(RequestID(rid(task, 1)), task.id, 1, 1, "main", "local", "df -h", sent_at=T0)
    )
    await bench.drive(task.id)
    assert bench.outbox.request_ids() == [rid(task, 1)]


# --- the report --------------------------------------------------------------------------------


async def test_the_report_has_outputs_costs_duration_and_mentions_the_master(bench: Bench) -> None:
    task = await bench.running_task([step("df -h")])
    for agent, cost in (("claude", 0.0123), ("gpt", 0.002)):
        await bench.answer(
            task.id,
            f"t{task.id}-propose-1",
            agent,
            "a proposal",
            stage="propose",
            tokens_in=1000,
            tokens_out=234,
            cost=cost,
        )
    await bench.drive(task.id)
    bench.now = T0 + 130
    await bench.finish(task.id, rid(task, 1), stdout="Filesystem Size Used\n/dev/sda1 40G 16G\n")

    report = bench.outbox.report()
    assert report.body.startswith(f"#{task.id} ✅ Done: report disk usage of local")
    assert report.mention == (bench.master,)
    assert report.notice is False
    assert report.thread_root == ROOT
    assert "/dev/sda1 40G 16G" in report.body
    assert "Time: 2m 10s" in report.body
    assert "Claude $0.0123 (1,234 tokens)" in report.body
    assert "GPT $0.0020 (1,234 tokens)" in report.body
    assert "total $0.0143" in report.body
    [line] = [r for r in bench.outbox.messages() if r.key.endswith("/report-line")]
    assert line.thread_root is None
    assert line.notice
    assert line.body == f"#{task.id} ✅ report disk usage of local — done in 2m 10s (thread)"
    assert not [s for s in bench.outbox.sent if s.kind == "file"]


async def test_a_long_output_is_trimmed_in_the_report_and_whole_in_a_file(bench: Bench) -> None:
    bench.configure(output_chars=100)
    task = await bench.running_task([step("journalctl -n 500")])
    await bench.drive(task.id)
    lines = "".join(f"line {n}\n" for n in range(300))
    await bench.finish(task.id, rid(task, 1), stdout=lines)
    report = bench.outbox.report().body
    assert "line 299" in report
    assert "line 0\n" not in report
    assert "The full outputs are attached." in report
    [file] = [s for s in bench.outbox.sent if s.kind == "file"]
    assert file.filename == f"task-{task.id}-outputs.log"
    assert b"line 0\n" in file.data
    assert b"line 299" in file.data


async def test_a_task_without_commands_reports_the_winners_refined_answer(bench: Bench) -> None:
    plain, _ = await bench.store.tasks.create(
        intake_key="question",
        room_id=ROOM,
        thread_root=ROOT,
        mission="compare A and B",
        priority="low",
        requester=bench.master,
        source="matrix",
        now=T0,
    )
    await bench.answer(
        plain.id, f"t{plain.id}-propose-1", "gpt", "GPT: A is better", stage="propose"
    )
    await bench.answer(plain.id, f"t{plain.id}-propose-1", "gemini", "Gemini: B", stage="propose")
    await bench.move(plain.id, "pending", "planning", winner="gpt")
    await bench.move(plain.id, "planning", "completed", plan=json.dumps({"steps": []}))
    assert (await bench.drive(plain.id)).state == "completed"
    [refine] = bench.outbox.council("ask", "refine")
    assert refine["agents"] == ["gpt"]
    assert refine["context"] == {"proposal": "GPT: A is better", "others": ["Gemini: B"]}
    assert await reporting.unreported(bench.ctx) == [plain.id]

    await bench.answer(plain.id, refine["ask"], "gpt", "A, because of X and Y.", stage="refine")
    await bench.drive(plain.id)
    report = bench.outbox.report().body
    assert report.startswith(f"#{plain.id} ✅ Done: compare A and B")
    assert "A, because of X and Y." in report


async def test_a_refine_that_never_comes_reports_the_proposal(bench: Bench) -> None:
    plain, _ = await bench.store.tasks.create(
        intake_key="q2",
        room_id=ROOM,
        thread_root=ROOT,
        mission="write a haiku",
        priority="medium",
        requester=bench.master,
        source="matrix",
        now=T0,
    )
    await bench.answer(plain.id, f"t{plain.id}-propose-1", "claude", "old pond", stage="propose")
    await bench.move(plain.id, "pending", "planning", winner="claude")
    await bench.move(plain.id, "planning", "completed", plan=json.dumps({"steps": []}))
    await bench.drive(plain.id)
    assert await reporting.unreported(bench.ctx, bench.now) == []
    bench.now = T0 + bench.settings.tasks.plan_seconds
    assert await reporting.unreported(bench.ctx, bench.now) == [plain.id]
    await bench.drive(plain.id)
    report = bench.outbox.report().body
    assert "Claude did not answer within 3 min" in report
    assert "old pond" in report
