"""The running phase: the approved plan's steps go to the executor, stage by stage.

A stage is one step, or a run of consecutive parallel-marked steps sent together; the next
stage is sent only when every step of the one before succeeded (verify included). Everything
is read back from the store on every drive, so a restart re-sends nothing (the request ids
are the executor's idempotency keys, and `event_once` records every send). Results come in
through `on_exec_result`, which stores them once; the drive that follows moves the task on:
to `fixing` when a step failed, to `completed` when all succeeded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bots.coordinator.tasks.steps import (
    LOST,
    SENT,
    advance,
    attempt_of,
    load_plan,
    stages,
    waiting_deadline,
)
from bots.execution.requests import (
    CANCEL_EVENT,
    EventError,
    ExecCancel,
    cancel_content,
    command_digest,
    parse_result,
)
from bots.message import Reply, RoomEvent
from bots.tasks.plans import PlanError
from bots.tasks.render import StepResultView, step_result_line

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import StepRun, Task

log = logging.getLogger(__name__)

OUTPUT_KEEP_CHARS = 8_000
"""What is stored of one request's output (the executor sends at most 4000 per stream)."""


async def phase(ctx: TaskContext, task: Task) -> None:
    """Sends what the plan needs next, notices silence, and moves the task when the
    attempt has ended."""
    plan = load_plan(task)
    if isinstance(plan, PlanError):
        await ctx.move(task, "failed", actor="coordinator", reason=plan.text)
        return
    if not plan.steps:
        await ctx.move(task, "completed", actor="coordinator", reason="the plan has no steps")
        return
    attempt = attempt_of(task)
    runs = {run.request_id: run for run in await ctx.tasks.steps(task.id, attempt)}
    outcome = "completed"
    failed: StepRun | None = None
    for stage in stages(plan.steps):
        states = [
            await advance(ctx, task, runs, attempt=attempt, number=i + 1, step=plan.steps[i])
            for i in stage
        ]
        if any(state == "waiting" for state, _ in states):
            outcome = "waiting"
            break
        failures = [run for state, run in states if state == "failed" and run is not None]
        if failures:
            outcome, failed = "fixing", failures[0]
            break
    now_runs = await ctx.tasks.steps(task.id, attempt)
    await announce_results(ctx, task, now_runs)
    if outcome == "waiting":
        await _wait(ctx, task, now_runs)
    elif outcome == "fixing" and failed is not None:
        reason = f"step {failed.step} ({failed.kind}) {failed.status}"
        await ctx.move(task, "fixing", actor="executor", reason=reason)
    else:
        reason = f"all {len(plan.steps)} step(s) succeeded on attempt {attempt}"
        await ctx.move(task, "completed", actor="executor", reason=reason)


async def _wait(ctx: TaskContext, task: Task, runs: list[StepRun]) -> None:
    """Says what the task waits for (`!task N`) and when that wait runs out (the tick)."""
    out = [run for run in runs if run.status == SENT]
    names = ", ".join(f"step {run.step} ({run.command[:60]} on {run.host})" for run in out)
    waiting_for = f"the executor: {names}" if names else "the executor"
    deadline = waiting_deadline(out, ctx.settings.step_seconds)
    if task.waiting_for != waiting_for or task.deadline != deadline:
        await ctx.tasks.update(
            task.id,
            expect_state=task.state,
            now=ctx.clock(),
            waiting_for=waiting_for,
            deadline=deadline,
        )


async def announce_results(ctx: TaskContext, task: Task, runs: list[StepRun]) -> None:
    """One line in the thread per finished request (once each): results come back where
    the task is discussed; a failure says the last line of its output."""
    for run in runs:
        if run.status == SENT:
            continue
        took = None
        if run.finished_at is not None and run.status != LOST:
            took = max(run.finished_at - run.sent_at, 0.0)
        view = StepResultView(
            task.id,
            run.step,
            run.host,
            run.status,
            kind=run.kind,
            exit_status=run.exit_status,
            duration_s=took,
            reason="" if run.status == "succeeded" else last_line(run.output or ""),
        )
        reply = Reply(task.room_id, step_result_line(view), thread_root=task.thread_root)
        await ctx.send_once(task, f"result-{run.request_id}", reply)


def last_line(text: str) -> str:
    """The last line that says something: usually why a command failed."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def output_text(stdout: str, stderr: str) -> str:
    """A step's output as one text: stdout, then stderr under a marker when there is any."""
    out, err = stdout.rstrip(), stderr.rstrip()
    if not err:
        return out
    return f"{out}\n--- stderr ---\n{err}" if out else f"--- stderr ---\n{err}"


async def on_exec_result(ctx: TaskContext, event: RoomEvent) -> int | None:
    """Stores an `org.chavion.exec.result` for a task's request, once; the task's id for the
    caller to drive, or None (not ours, not from the executor, malformed, seen before)."""
    settings = ctx.bot.settings
    if event.sender != settings.user_id(settings.executor):
        return None
    result = parse_result(event.content)
    if isinstance(result, EventError):
        log.warning("unreadable execution result %s: %s", event.event_id, result)
        return None
    run = await ctx.tasks.step(result.request_id)
    if run is None:
        return None
    if result.digest != command_digest(run.host, run.command):
        log.warning("result %s names another command than %s", event.event_id, run.request_id)
        return None
    output = (
        None if result.output is None else output_text(result.output.stdout, result.output.stderr)
    )
    if output is None or not result.ran:
        # Not run (denied, expired, forbidden): the reason is in the body; ran without an
        # output field (an older executor): the body says how it ended.
        output = result.body if output is None else f"{result.body}\n{output}".strip()
    finished = await ctx.tasks.finish_step(
        result.request_id,
        result.status,
        result.exit_status,
        output[-OUTPUT_KEEP_CHARS:],
        event.event_id,
        ctx.clock(),
    )
    return None if finished is None else finished.task_id


async def stop_running(ctx: TaskContext, task: Task, reason: str = "") -> None:
    """Asks the executor to cancel every request of the task that has not finished (once
    each). Their results still come in and are stored as usual."""
    why = reason or f"task #{task.id} was stopped"
    for run in await ctx.tasks.steps(task.id):
        if run.status != SENT:
            continue
        content = cancel_content(ExecCancel(run.request_id, task.task_id, why))
        await ctx.event_once(task, f"cancel-{run.request_id}", CANCEL_EVENT, content)
