"""The final phases (completed, failed, cancelled): the report to the master, once.

The report is an `m.text` in the thread that mentions the master (his phone buzzes): what
was done with the real outputs (trimmed; the whole of them as an `m.file` when cut), what
failed in every attempt, the time taken and the cost per agent. Then one notice in the main
timeline. A task that needed no command first asks its winner to `refine` its proposal with
the others in view: that answer is the report.

Each send is an action recorded once (`report`, `report-file`, `report-line`); the line goes
last, so a task whose `report-line` is recorded is fully reported (`unreported` finds the
others, for the service to drive after a restart and when a refine wait runs out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from bots.coordinator.tasks import merging, routines
from bots.coordinator.tasks import minutes as task_minutes
from bots.coordinator.tasks.common import (
    answer_text,
    ask_object,
    by_agent,
    display,
    expired,
    in_thread,
    minutes,
    wait_for,
)
from bots.coordinator.tasks.critiquing import revisions
from bots.coordinator.tasks.healing import failure_words
from bots.coordinator.tasks.hybrid import with_credits
from bots.coordinator.tasks.lessons import save_lesson, with_lessons
from bots.coordinator.tasks.outside import outside_result
from bots.coordinator.tasks.running import stop_running
from bots.coordinator.tasks.steps import attempt_of, first_failure, load_plan
from bots.message import Reply
from bots.tasks.plans import Plan
from bots.tasks.render import (
    CostView,
    Outcome,
    ReportView,
    RunView,
    ask_line,
    report_attachment,
    report_filename,
    report_message,
    timeline_line,
)
from bots.tasks.schedule_runs import origin_of

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import StepRun, Task

REPORT_KEY = "report"
FILE_KEY = "report-file"
LINE_KEY = "report-line"


async def phase(ctx: TaskContext, task: Task) -> None:
    """Sends whatever of the report is still unsent; waits only for a `refine` answer."""
    if await ctx.tasks.action_done(task.id, LINE_KEY) is not None:
        return
    if task.state == "cancelled":
        await stop_running(ctx, task, f"task #{task.id} was cancelled")
    runs = await ctx.tasks.steps(task.id)
    summary = await merging.report_summary(ctx, task)  # a split task's deliverable and parts
    if not summary and task.state == "completed" and not runs:
        refined = outside_result(ctx, task) or await _refined_answer(ctx, task)
        if refined is None:
            return
        summary = refined
    view = await report_view(ctx, task, runs, summary)
    output_chars = ctx.settings.output_chars
    body, html = report_message(view, output_chars=output_chars)
    body, html = await with_lessons(ctx, task, body, html)
    body, html = await with_credits(ctx, task, body, html)
    council: dict[str, object] = {"v": 1, "kind": "report", "task": task.id, "state": task.state}
    speaker = task.winner or task.plan_author or task.assigned
    if speaker:
        council["speaker"] = speaker  # the agent that led it speaks it (bots.voice.agent_voice)
    reply = Reply(
        task.room_id,
        body,
        html=html,
        notice=False,
        thread_root=task.thread_root,
        mention=(ctx.bot.settings.master_user_id,),
        council=council,
    )
    await ctx.send_once(task, REPORT_KEY, reply)
    await save_lesson(ctx, task)
    attachment = report_attachment(view, output_chars=output_chars)
    if attachment is not None:
        note = in_thread(task, f"#{task.id} 📎 every command and its whole output")
        data = attachment.encode("utf-8", "replace")
        await ctx.file_once(task, FILE_KEY, note, report_filename(task.id), data)
    await routines.offer(ctx, task)
    line = timeline_line(task.id, task.mission, view.outcome, view.duration_s)
    await ctx.send_once(task, LINE_KEY, Reply(task.room_id, line))
    await task_minutes.after_report(ctx, task)


async def report_view(
    ctx: TaskContext, task: Task, runs: list[StepRun], summary: str
) -> ReportView:
    """What the report says, from the task's records."""
    plan = load_plan(task)
    if not summary and isinstance(plan, Plan):
        summary = plan.summary
    failures: list[str] = []
    moves = await ctx.tasks.moves(task.id)
    last = moves[-1] if moves else None
    if task.state == "failed" and last is not None:
        failures.append(f"Why: {last.reason}")
    if task.state == "cancelled" and last is not None:
        failures.append(f"Cancelled by {last.actor} while {last.from_state or 'starting'}.")
    attempts = sorted({run.attempt for run in runs})
    if len(attempts) > 1 or task.state != "completed":
        for number in attempts:
            mine = [r for r in runs if r.attempt == number and r.kind != "rollback"]
            stopped = first_failure(mine)
            if stopped is not None:
                failures.append(f"Attempt {number}: {failure_words(stopped)}: {stopped.command}")
            elif mine:
                failures.append(f"Attempt {number}: every step sent succeeded")
    costs = await ctx.tasks.costs(task.id)
    return ReportView(
        task_id=task.id,
        outcome=cast(Outcome, task.state),
        mission=task.mission,
        duration_s=_duration(ctx, task),
        summary=summary,
        runs=tuple(_run_view(run) for run in runs),
        failures=tuple(failures),
        attempts=attempt_of(task) if runs else 1,
        costs=tuple(
            CostView(display(ctx, agent), totals.tokens, totals.cost_usd)
            for agent, totals in costs.items()
        ),
        origin=origin_of(task.source),
    )


def _run_view(run: StepRun) -> RunView:
    return RunView(
        number=run.step,
        host=run.host,
        command=run.command,
        status=run.status,
        kind=run.kind,
        exit_status=run.exit_status,
        output=run.output or "",
        attempt=run.attempt,
    )


def _duration(ctx: TaskContext, task: Task) -> float:
    end = task.finished_at if task.finished_at is not None else ctx.clock()
    return max(end - task.created_at, 0.0)


async def _refined_answer(ctx: TaskContext, task: Task) -> str | None:
    """The winner's refined answer, or its proposal when the refine failed; None while
    waiting for it."""
    proposals = [
        answer
        for answer in await ctx.tasks.answers(task.id)
        if answer.stage == "propose" and answer.status == "ok"
    ]
    winner = task.winner or task.plan_author or task.assigned
    own = next((a for a in proposals if a.agent == winner), None)
    if winner is None:
        return answer_text(proposals[0]) if proposals else "No agent gave an answer."
    name = display(ctx, winner)
    limit = ctx.settings.proposal_chars
    seconds = ctx.settings.plan_seconds
    ask = f"t{task.id}-refine-1"
    revised = await revisions(ctx, task)
    texts = {a.agent: revised.get(a.agent) or answer_text(a) for a in proposals}
    context: dict[str, object] = {
        "proposal": texts[winner][:limit] if own else "",
        "others": [texts[a.agent][:limit] for a in proposals if a.agent != winner],
    }
    council = ask_object(task, ask, "refine", [winner], ctx.clock() + seconds, context)
    body = ask_line(task.id, "refine", [name], seconds)
    await ctx.send_once(task, "ask-refine", in_thread(task, body, council=council))
    answer = by_agent(await ctx.tasks.answers(task.id, ask)).get(winner)
    if answer is not None and answer.status == "ok" and answer_text(answer):
        return answer_text(answer)
    if answer is None:
        if not expired(ctx, await wait_for(ctx, task, f"{name}'s final answer", seconds)):
            return None
        why = f"{name} did not answer within {minutes(seconds)}"
    else:
        why = f"{name} could not refine: {answer.text or 'no reason given'}"
    if own is None:
        return f"({why}; there is no proposal to fall back on.)"
    return f"({why}; its proposal as it was:)\n\n{answer_text(own)}"


async def unreported(ctx: TaskContext, now: float | None = None, limit: int = 50) -> list[int]:
    """Recent finished tasks whose report is not (fully) sent, for the service to drive: all
    of them at start (`now` None), and on its tick those whose wait (a `refine` answer) ran
    out by `now` — a final task is never `due`, so the tick would not see it otherwise."""
    return await ctx.tasks.final_lacking(LINE_KEY, due_by=now, limit=limit)
