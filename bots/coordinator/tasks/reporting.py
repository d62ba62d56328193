"""The final phases (completed, failed, cancelled): the report to the master, once.

The report is an `m.text` in the thread that mentions the master (his phone buzzes): what
was done with the real outputs (trimmed; the whole of them as an `m.file` when long), what
failed and what each attempt tried, the time taken and the cost per agent. Then one notice
in the main timeline. A task that needed no command first asks its winner to `refine` its
proposal with the others in view: that answer is the report.

Each send is an action recorded once (`report`, `report-file`, `report-line`); the line is
sent last, so "report-line done" means the task is fully reported (`unreported` finds the
others after a restart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.coordinator.tasks.followups import (
    agent_name,
    agent_names,
    answer_to,
    send_ask,
    wait_expired,
)
from bots.coordinator.tasks.run_texts import (
    AttemptSummary,
    attempt_lines,
    cost_line,
    full_output_file,
    headline,
    main_line,
    outputs_section,
    refine_ask_line,
)
from bots.coordinator.tasks.running import stop_running
from bots.coordinator.tasks.steps import attempt_of, first_failure, load_plan
from bots.message import Reply
from bots.tasks.plans import Plan
from bots.text.durations import coarse
from bots.text.markdown import markdown_to_html

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import StepRun, Task

REPORT_KEY = "report"
FILE_KEY = "report-file"
LINE_KEY = "report-line"
FINAL = ("completed", "failed", "cancelled")


async def phase(ctx: TaskContext, task: Task) -> None:
    """Sends whatever of the report is still unsent; waits only for a `refine` answer."""
    if await ctx.tasks.action_done(task.id, LINE_KEY) is not None:
        return
    if task.state == "cancelled":
        await stop_running(ctx, task, f"task #{task.id} was cancelled")
    runs = await ctx.tasks.steps(task.id)
    if task.state == "completed" and not runs:
        answer = await _refined_answer(ctx, task)
        if answer is None:
            return
        body = f"{headline(task.id, task.state, task.mission)}\n\n{answer}"
        body += "\n\n" + await _footer(ctx, task)
    else:
        body = await report_body(ctx, task, runs)
    long = any(len(run.output or "") > ctx.settings.output_chars for run in runs)
    if long:
        body += "\nThe whole output of every command is in the file below."
    council = {"v": 1, "kind": "report", "task": task.id, "state": task.state}
    master = ctx.bot.settings.master_user_id
    reply = Reply(
        task.room_id,
        body,
        html=markdown_to_html(body),
        notice=False,
        thread_root=task.thread_root,
        mention=(master,),
        council=council,
    )
    await ctx.send_once(task, REPORT_KEY, reply)
    if long:
        body = f"#{task.id} 📎 every command and its whole output"
        note = Reply(task.room_id, body, thread_root=task.thread_root)
        await ctx.file_once(
            task, FILE_KEY, note, f"task-{task.id}-output.txt", full_output_file(task.id, runs)
        )
    line = main_line(task.id, task.state, task.mission, _duration(ctx, task))
    await ctx.send_once(task, LINE_KEY, Reply(task.room_id, line))


async def report_body(ctx: TaskContext, task: Task, runs: list[StepRun]) -> str:
    """The report of a task whose plan ran (or that failed or was cancelled before)."""
    plan = load_plan(task)
    attempt = attempt_of(task)
    output_chars = ctx.settings.output_chars
    lines = [headline(task.id, task.state, task.mission)]
    moves = await ctx.tasks.moves(task.id)
    last = moves[-1] if moves else None
    if task.state == "failed" and last is not None:
        lines.append(f"Why: {last.reason}")
    if task.state == "cancelled" and last is not None:
        lines.append(f"Cancelled by {last.actor} while {last.from_state or 'starting'}.")
    if isinstance(plan, Plan) and plan.summary:
        lines.append(f"Plan: {plan.summary}")
    attempts = _attempts(runs)
    final = [run for run in runs if run.attempt == attempt and run.kind != "rollback"]
    if task.state == "completed":
        lines += ["", "What was done:", *outputs_section(final, output_chars)]
        earlier = [summary for summary in attempts if summary.attempt != attempt]
        if earlier:
            lines += ["", "Earlier attempts:", *attempt_lines(earlier, output_chars)]
    elif attempts:
        lines += ["", "What was tried:", *attempt_lines(attempts, output_chars)]
        if task.state == "cancelled" and final:
            lines += ["", "Last attempt:", *outputs_section(final, output_chars)]
    rollbacks = [run for run in runs if run.kind == "rollback"]
    if rollbacks:
        lines += ["", "Rolled back:", *outputs_section(rollbacks, output_chars)]
    lines += ["", await _footer(ctx, task)]
    return "\n".join(lines)


def _attempts(runs: list[StepRun]) -> list[AttemptSummary]:
    numbers = sorted({run.attempt for run in runs})
    summaries = []
    for number in numbers:
        mine = tuple(r for r in runs if r.attempt == number and r.kind != "rollback")
        summaries.append(AttemptSummary(number, mine, first_failure(mine)))
    return summaries


async def _footer(ctx: TaskContext, task: Task) -> str:
    attempts = attempt_of(task)
    took = f"Took {coarse(_duration(ctx, task))}"
    if task.plan is not None:
        took += f", {attempts} attempt{'s' if attempts != 1 else ''}"
    costs = await ctx.tasks.costs(task.id)
    return f"{took}. {cost_line(costs, agent_names(ctx))}"


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
        if proposals:
            return proposals[0].text
        return "No agent gave an answer."
    name = agent_name(ctx, winner)
    limit = ctx.settings.proposal_chars
    seconds = ctx.settings.plan_seconds
    ask = f"t{task.id}-refine-1"
    context: dict[str, object] = {
        "proposal": own.text[:limit] if own else "",
        "others": [a.text[:limit] for a in proposals if a.agent != winner],
    }
    body = refine_ask_line(task.id, name, seconds)
    await send_ask(
        ctx,
        task,
        key="ask-refine",
        ask=ask,
        stage="refine",
        agent=winner,
        context=context,
        body=body,
        seconds=seconds,
    )
    answer = await answer_to(ctx, task, ask, winner)
    if answer is not None and answer.status == "ok" and answer.text.strip():
        return answer.text.strip()
    if answer is None:
        if not await wait_expired(ctx, task, f"{name}'s final answer", seconds):
            return None
        why = f"{name} did not answer within {coarse(seconds)}"
    else:
        why = f"{name} could not refine: {answer.text or 'no reason given'}"
    if own is None:
        return f"({why}; there is no proposal to fall back on.)"
    return f"({why}; its proposal as it was:)\n\n{own.text}"


async def unreported(ctx: TaskContext, now: float | None = None, limit: int = 50) -> list[int]:
    """Recent finished tasks whose report is not (fully) sent, for the service to drive: all
    of them at start (`now` None), and on its tick those whose wait (a `refine` answer) ran
    out by `now` — a final task is never `due`, so the tick would not see it otherwise."""
    ids = []
    for task in await ctx.tasks.list(FINAL, limit=limit):
        if now is not None and (task.deadline is None or task.deadline > now):
            continue
        if await ctx.tasks.action_done(task.id, LINE_KEY) is None:
            ids.append(task.id)
    return ids
