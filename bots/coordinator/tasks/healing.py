"""The fixing phase: a failed step goes back to the plan's author, whose fix is reviewed and
approved again like any plan; after `max_attempts` (or when no fix comes) the steps that
ran are rolled back through the executor and the task fails.

Decisions are read back from the store on every drive: the fix ask and its re-ask are
council messages sent once (`ask-fix-<attempt>`, `ask-fix-<attempt>-r`), and giving up is
recorded by its notice (`give-up`, with the reason in the task's `note`), after which only
the rollback remains: one request at a time, newest step first, each sent once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.coordinator.tasks.common import (
    ask_object,
    by_agent,
    display,
    expired,
    in_thread,
    minutes,
    wait_for,
)
from bots.coordinator.tasks.lessons import lessons_for
from bots.coordinator.tasks.running import announce_results
from bots.coordinator.tasks.steps import (
    RAN_STATUSES,
    SENT,
    attempt_of,
    first_failure,
    load_plan,
    send_request,
    settle_silence,
    waiting_deadline,
)
from bots.tasks.plans import Plan, PlanError, parse_plan, plan_digest, plan_json
from bots.tasks.render import fix_request_line, note_line, plan_invalid_line, rollback_line, tail

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import StepRun, Task

GIVE_UP_KEY = "give-up"


async def phase(ctx: TaskContext, task: Task) -> None:
    """Asks for a fix, accepts it (→ reviewing, next attempt), or gives up and rolls back
    (→ failed)."""
    plan = load_plan(task)
    if isinstance(plan, PlanError):
        await ctx.move(task, "failed", actor="coordinator", reason=plan.text)
        return
    attempt = attempt_of(task)
    runs = await ctx.tasks.steps(task.id, attempt)
    if await ctx.tasks.action_done(task.id, GIVE_UP_KEY) is None:
        failed = first_failure(runs)
        if failed is None:
            reason = "no failed step was found to fix"
        elif attempt >= ctx.settings.max_attempts:
            reason = f"{failure_words(failed)} on attempt {attempt}, the last allowed"
        else:
            verdict = await _heal(ctx, task, plan, failed, attempt)
            if verdict is None:
                return
            reason = verdict
        targets = [run.step for run in rollback_targets(plan, runs)]
        await ctx.tasks.update(task.id, expect_state=task.state, now=ctx.clock(), note=reason)
        if attempt >= ctx.settings.max_attempts and targets:
            body = rollback_line(task.id, targets, attempt)
        else:
            steps = ", ".join(map(str, targets))
            then = f"rolling back step {steps}" if targets else "nothing to roll back"
            body = note_line(task.id, "⛔", f"Giving up: {reason}; {then}.")
        await ctx.send_once(task, GIVE_UP_KEY, in_thread(task, body))
        task = await ctx.tasks.get(task.id) or task
    await _roll_back(ctx, task, plan, runs, attempt)


async def _heal(
    ctx: TaskContext, task: Task, plan: Plan, failed: StepRun, attempt: int
) -> str | None:
    """None while waiting for the fix or once it was accepted; else why there is none."""
    author = task.plan_author or task.winner or task.assigned
    if not author:
        return "no agent wrote the plan, so none can fix it"
    name = display(ctx, author)
    seconds = ctx.settings.plan_seconds
    ask = f"t{task.id}-fix-{attempt}"
    context: dict[str, object] = {
        "plan": plan_json(plan),
        "failed_step": failed.step,
        "output": tail(failed.output or "", ctx.settings.output_chars)[0],
        "attempt": attempt,
        "lessons": await lessons_for(ctx, task, f"ask-fix-{attempt}-r"),
    }
    body = fix_request_line(task.id, failed.step, name, attempt + 1, ctx.settings.max_attempts)
    for round_ask, key in ((ask, f"ask-fix-{attempt}"), (f"{ask}-r", f"ask-fix-{attempt}-r")):
        council = ask_object(task, round_ask, "fix", [author], ctx.clock() + seconds, context)
        await ctx.send_once(task, key, in_thread(task, body, council=council))
        answer = by_agent(await ctx.tasks.answers(task.id, round_ask)).get(author)
        if answer is None:
            again = "corrected " if round_ask != ask else ""
            label = f"{name}'s {again}fix for step {failed.step} (attempt {attempt})"
            if expired(ctx, await wait_for(ctx, task, label, seconds)):
                return f"{name} proposed no fix within {minutes(seconds)}"
            return None
        if answer.status != "ok":
            return f"{name} could not propose a fix: {answer.text or 'no reason given'}"
        fix = _read_fix(ctx, answer.text)
        if isinstance(fix, Plan):
            await ctx.move(
                task,
                "reviewing",
                actor=author,
                reason=f"{name}'s fix after attempt {attempt}",
                attempt=attempt + 1,
                plan=plan_json(fix),
                plan_digest=plan_digest(fix),
                plan_author=author,
                plan_event=None,
                approved_by=None,
                approval_event=None,
            )
            return None
        context = {**context, "error": fix.text}
        body = plan_invalid_line(task.id, name, fix.text, asking_again=True)
    return f"{name}'s fix was not a plan twice: {context.get('error')}"


def _read_fix(ctx: TaskContext, text: str) -> Plan | PlanError:
    hosts = ctx.bot.settings.execution.hosts.keys()
    fix = parse_plan(text, hosts=hosts, max_steps=ctx.settings.max_steps)
    if isinstance(fix, Plan) and not fix.steps:
        return PlanError('A fix needs at least one step ("steps" is empty).')
    return fix


def failure_words(run: StepRun) -> str:
    """ "step 2 (verify) on local failed (exit 1)": what stopped an attempt."""
    which = "" if run.kind == "main" else f" ({run.kind})"
    how = run.status.replace("_", " ")
    if run.exit_status is not None and run.status != "succeeded":
        how += f" (exit {run.exit_status})"
    return f"step {run.step}{which} on {run.host} {how}"


def rollback_targets(plan: Plan, runs: list[StepRun]) -> list[StepRun]:
    """The main requests that ran and whose step has a rollback, newest step first."""
    ran = [
        run
        for run in runs
        if run.kind == "main"
        and run.status in RAN_STATUSES
        and 0 < run.step <= len(plan.steps)
        and plan.steps[run.step - 1].rollback is not None
    ]
    return sorted(ran, key=lambda run: run.step, reverse=True)


async def _roll_back(
    ctx: TaskContext, task: Task, plan: Plan, runs: list[StepRun], attempt: int
) -> None:
    """Runs the rollbacks one after another (newest first), then fails the task."""
    done: list[StepRun] = []
    for target in rollback_targets(plan, runs):
        step = plan.steps[target.step - 1]
        assert step.rollback is not None  # rollback_targets keeps only those
        run = await send_request(
            ctx,
            task,
            attempt=attempt,
            step=target.step,
            kind="rollback",
            host=step.host,
            command=step.rollback,
        )
        run = await settle_silence(ctx, task, run)
        if run.status == SENT:
            await announce_results(ctx, task, done)
            label = f"the executor: rollback of step {run.step} ({run.command[:60]})"
            deadline = waiting_deadline([run], ctx.settings.step_seconds)
            if task.waiting_for != label or task.deadline != deadline:
                await ctx.tasks.update(
                    task.id,
                    expect_state=task.state,
                    now=ctx.clock(),
                    waiting_for=label,
                    deadline=deadline,
                )
            return
        done.append(run)
    await announce_results(ctx, task, done)
    reason = task.note or "the task could not be healed"
    if done:
        rolled = ", ".join(
            f"step {run.step} {'✅' if run.status == 'succeeded' else '❌'}" for run in done
        )
        reason = f"{reason}; rolled back: {rolled}"
    await ctx.move(task, "failed", actor="coordinator", reason=reason)
