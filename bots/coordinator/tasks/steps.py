"""One plan step as execution requests: its ids, sending it once, reading its outcome.

Shared by the running phase (main and verify requests) and healing (rollbacks). A step's
request id is derived from task, attempt, step and kind, and the executor never runs an id
twice; the coordinator records the request (`task_steps`) BEFORE it sends the event, so a
result can never arrive for a request it does not know, and re-sends through
`TaskContext.event_once`, which sends at most once whatever happens in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from bots.execution.requests import (
    CANCEL_EVENT,
    REQUEST_EVENT,
    EventError,
    ExecCancel,
    PlanApprovalRef,
    cancel_content,
    new_request,
    request_content,
)
from bots.ids import RequestID
from bots.store.tasks import StepKind, StepRun
from bots.tasks.plans import Plan, PlanError, Step
from bots.text.durations import coarse

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import Task

SENT = "sent"
SUCCEEDED = "succeeded"
LOST = "lost"
"""A request the executor never answered within `step_seconds`: it counts as failed."""
RAN_STATUSES = frozenset({"succeeded", "failed", "timed_out", "cancelled", "interrupted"})
"""The command was started (so a rollback may be due), whatever became of it."""
_SUFFIX: Mapping[StepKind, str] = {"main": "", "verify": "-v", "rollback": "-rb"}

StepState = Literal["waiting", "ok", "failed"]
_T = TypeVar("_T")


def request_id(task_id: int, attempt: int, step: int, kind: StepKind = "main") -> RequestID:
    """`t12-a1-s3` (main), `t12-a1-s3-v` (verify), `t12-a1-s3-rb` (rollback): the same task,
    attempt and step is the same request, which the executor runs at most once."""
    return RequestID(f"t{task_id}-a{attempt}-s{step}{_SUFFIX[kind]}")


def attempt_of(task: Task) -> int:
    """The attempt the task is on; a plan is attempt 1 even where the store still says 0."""
    return max(task.attempt, 1)


def load_plan(task: Task) -> Plan | PlanError:
    """The plan stored on the task (as `bots.tasks.plans.plan_json` writes it). It was
    checked when it was made; here only its shape is read back, so a host removed from
    the config since then still runs as approved (the executor refuses unknown hosts)."""
    if task.plan is None:
        return Plan(())
    try:
        data = json.loads(task.plan)
        raw_steps = data["steps"] if isinstance(data, dict) else None
        if not isinstance(raw_steps, list):
            return PlanError("the stored plan has no list of steps")
        steps = tuple(_stored_step(raw) for raw in raw_steps)
    except (ValueError, KeyError, TypeError) as exc:
        return PlanError(f"the stored plan cannot be read: {exc}")
    summary = data.get("summary")
    return Plan(steps, summary if isinstance(summary, str) else "")


def _stored_step(raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise TypeError("a step is not an object")
    host, command = raw.get("host"), raw.get("command")
    if not isinstance(host, str) or not isinstance(command, str) or not command:
        raise TypeError("a step lacks its host or command")
    return Step(
        host=host,
        command=command,
        purpose=_text_or(raw.get("purpose"), ""),
        verify=_text_or(raw.get("verify"), None),
        rollback=_text_or(raw.get("rollback"), None),
        parallel=bool(raw.get("parallel")),
    )


def _text_or(value: object, default: _T) -> str | _T:
    return value if isinstance(value, str) and value else default


def stages(steps: Sequence[Step]) -> list[list[int]]:
    """Step indexes by stage, the executor's rule (`executor.plan.stages`): consecutive
    parallel-marked steps share a stage; every other step has one of its own."""
    grouped: list[list[int]] = []
    for index, step in enumerate(steps):
        if step.parallel and grouped and steps[grouped[-1][-1]].parallel:
            grouped[-1].append(index)
        else:
            grouped.append([index])
    return grouped


async def send_request(
    ctx: TaskContext,
    task: Task,
    *,
    attempt: int,
    step: int,
    kind: StepKind,
    host: str,
    command: str,
) -> StepRun:
    """The request of this step and kind, recorded then sent, each at most once; its run
    as stored now (already finished when its result came in)."""
    rid = request_id(task.id, attempt, step, kind)
    run = await ctx.tasks.step(rid)
    if run is None:
        fresh = StepRun(rid, task.id, attempt, step, kind, host, command, sent_at=ctx.clock())
        await ctx.tasks.add_step(fresh)
        run = await ctx.tasks.step(rid) or fresh
    if run.status != SENT:
        return run
    approval = None
    if task.plan_event is not None and task.approval_event is not None:
        approval = PlanApprovalRef(task.plan_event, task.approval_event)
    request = new_request(
        run.host,
        run.command,
        task.requester,
        rid,
        task_id=task.task_id,
        step=step,
        plan_approval=approval,
        secrets=ctx.bot.settings.execution.secrets,
    )
    if isinstance(request, EventError):
        finished = await ctx.tasks.finish_step(
            rid, "failed", None, f"the request could not be built: {request}", None, ctx.clock()
        )
        return finished or run
    content: dict[str, Any] = request_content(request)
    if task.thread_root is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": task.thread_root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": task.thread_root},
        }
    await ctx.event_once(task, f"req-{rid}", REQUEST_EVENT, content)
    return run


async def settle_silence(ctx: TaskContext, task: Task, run: StepRun) -> StepRun:
    """A request unanswered for `step_seconds` is lost: finished as failed, so the task
    moves on (heals or fails) instead of waiting forever. The executor is first asked to
    cancel it, so a request it still holds (an approval prompt, a stuck run) never runs
    after the task went on without it."""
    limit = ctx.settings.step_seconds
    if run.status != SENT or ctx.clock() - run.sent_at < limit:
        return run
    reason = f"no answer in {coarse(limit)}: task #{task.id} went on without it"
    cancel = cancel_content(ExecCancel(run.request_id, task.task_id, reason))
    await ctx.event_once(task, f"cancel-{run.request_id}", CANCEL_EVENT, cancel)
    finished = await ctx.tasks.finish_step(
        run.request_id,
        LOST,
        None,
        f"the executor did not answer in {coarse(limit)}",
        None,
        ctx.clock(),
    )
    return finished or (await ctx.tasks.step(run.request_id)) or run


async def advance(
    ctx: TaskContext,
    task: Task,
    runs: Mapping[RequestID, StepRun],
    *,
    attempt: int,
    number: int,
    step: Step,
) -> tuple[StepState, StepRun | None]:
    """Moves one step on by what is stored: sends its request, then its verify after it
    succeeded. "failed" comes with the run that failed (the verify's failure is the step's)."""
    kinds: list[tuple[StepKind, str]] = [("main", step.command)]
    if step.verify is not None:
        kinds.append(("verify", step.verify))
    for kind, command in kinds:
        run = runs.get(request_id(task.id, attempt, number, kind))
        if run is None or run.status == SENT:
            run = await send_request(
                ctx, task, attempt=attempt, step=number, kind=kind, host=step.host, command=command
            )
            run = await settle_silence(ctx, task, run)
        if run.status == SENT:
            return "waiting", None
        if run.status != SUCCEEDED:
            return "failed", run
    return "ok", None


def waiting_deadline(runs: Iterable[StepRun], step_seconds: float) -> float | None:
    """When the first request still out counts as lost."""
    times = [run.sent_at + step_seconds for run in runs if run.status == SENT]
    return min(times) if times else None


def first_failure(runs: Iterable[StepRun]) -> StepRun | None:
    """The failed main or verify request of the lowest step (the one that stopped the attempt)."""
    failed = [r for r in runs if r.kind != "rollback" and r.status not in (SENT, SUCCEEDED)]
    return min(failed, key=lambda r: (r.step, r.kind != "main")) if failed else None
