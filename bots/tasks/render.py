"""Every text the master reads about a task, as pure functions of plain values.

Each message starts with "#<id> " so it reads well inline, where Element X shows thread
replies (threads are behind a Labs switch there). Functions return a plain body, or
`(body, html)` where the message has structure; Element X renders no tables, so listings are
lists and commands are code blocks. A command is shown verbatim: the executor approves a plan
only if every command appears in its body exactly as it will run (a one-line command on its
own indented line, a longer one in a fenced block). The engine builds the small view values
below from its records; nothing here knows the store.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bots.tasks.votes import Option, Tally
from bots.text.durations import countdown, stopwatch, wait
from executor.masking import mask_text
from executor.policy.model import Verdict

Outcome = Literal["completed", "failed", "cancelled"]
Stage = Literal["propose", "vote", "plan", "review", "fix", "refine"]

STAGE_EMOJI: Mapping[str, str] = {
    "propose": "💡",
    "vote": "🗳️",
    "plan": "🛠️",
    "review": "🔎",
    "fix": "🩹",
    "refine": "📝",
    "critique": "🧐",
    "revise": "✏️",
}
"""The emoji an agent's answer of each stage starts with, after "#<id>"."""
_ASKED_FOR: Mapping[str, tuple[str, str]] = {  # (one agent, several agents)
    "propose": ("a proposal", "proposals"),
    "vote": ("a vote", "votes"),
    "plan": ("a plan", "plans"),
    "review": ("a review of the plan", "reviews of the plan"),
    "fix": ("a fix", "fixes"),
    "refine": ("the final answer", "final answers"),
    "critique": ("a critique of the others' proposals", "critiques of each other's proposals"),
    "revise": ("a revision of its proposal", "revisions of their proposals"),
}
_OUTCOME_HEAD: Mapping[str, str] = {
    "completed": "✅ Done",
    "failed": "❌ Failed",
    "cancelled": "🛑 Cancelled",
}
_STATUS_EMOJI: Mapping[str, str] = {
    "succeeded": "✅",
    "failed": "❌",
    "timed_out": "⏱️",
    "cancelled": "⏹️",
    "interrupted": "⚠️",
    "denied": "🚫",
    "expired": "⌛",
    "forbidden": "⛔",
    "lost": "❓",
    "sent": "⏳",
}
MISSION_CHARS = 300
"""The mission as quoted in acks and reports (the whole one is the thread's first message)."""
LINE_MISSION_CHARS = 80
"""The mission in one-line texts: the main timeline, `!tasks`."""
CUT = "…"
"""Marks where a text was cut."""
_BACKTICKS = re.compile(r"`+")


def prefix(task_id: int) -> str:
    """ "#12 ": how every task message starts."""
    return f"#{task_id} "


# --- asks, answers, failures ---------------------------------------------------------------


def task_ack(
    task_id: int,
    mission: str,
    priority: str,
    agents: Sequence[str],
    seconds: float,
    *,
    mission_chars: int = MISSION_CHARS,
    origin: str = "",
) -> str:
    """The ack, which is also the proposal ask: "#12 📋 Task #12 registered: …, priority
    medium. Asking Claude, GPT, Gemini for proposals (3 min)." `agents` are display names;
    `origin` ("from schedule #3, daily 07:00") says who ordered it when nobody typed it."""
    head = f"{prefix(task_id)}📋 Task #{task_id} registered: {clip(mission, mission_chars)}"
    head += f", priority {priority}" + (f", {origin}." if origin else ".")
    if not agents:
        return head + " No agent takes part, so nobody can propose anything."
    return f"{head} {_asking(agents, 'propose', seconds)}"


def ask_line(task_id: int, stage: str, agents: Sequence[str], seconds: float) -> str:
    """ "#12 🛠️ Asking Claude for a plan (3 min)."; any stage."""
    return f"{prefix(task_id)}{STAGE_EMOJI.get(stage, '❓')} {_asking(agents, stage, seconds)}"


def _asking(agents: Sequence[str], stage: str, seconds: float) -> str:
    one, several = _ASKED_FOR.get(stage, ("an answer", "answers"))
    wanted = one if len(agents) == 1 else several
    return f"Asking {names(agents)} for {wanted} ({_minutes(seconds)})."


def agent_failure_line(task_id: int, agent: str, reason: str) -> str:
    """ "#12 ⚠️ Gemini: quota exhausted — skipped." The reason is said as the agent gave it."""
    said = clip(" ".join(reason.split()), 200) or "no reason given"
    return f"{prefix(task_id)}⚠️ {agent}: {said} — skipped."


def no_answer_reason(seconds: float) -> str:
    """The reason for an agent that did not answer in time."""
    return f"no answer within {_minutes(seconds)}"


def answer_body(task_id: int, stage: str, text: str) -> str:
    """An agent's answer as posted: "#12 💡 <text>"."""
    return f"{prefix(task_id)}{STAGE_EMOJI.get(stage, '💬')} {text.strip()}"


def vote_reason_body(task_id: int, key: str, reason: str) -> str:
    """An agent's one-line reason after its poll response: "#12 🗳️ B — <reason>"."""
    line = clip(" ".join(reason.split()), 300)
    return f"{prefix(task_id)}{STAGE_EMOJI['vote']} {key}" + (f" — {line}" if line else "")


def note_line(task_id: int, emoji: str, text: str) -> str:
    """Any other short line about a task, with its "#<id>" prefix."""
    return f"{prefix(task_id)}{emoji} {text}"


# --- the vote -------------------------------------------------------------------------------


def poll_question(task_id: int, mission: str) -> str:
    return f"{prefix(task_id)}Which proposal should we follow? ({clip(mission, 120)})"


def poll_option_text(option: Option, *, anonymous: bool, chars: int = 300) -> str:
    """ "A · <summary>", or "A · Claude: <summary>" when votes are not anonymous."""
    summary = " ".join(option.summary.split()) or "(no summary)"
    author = "" if anonymous else f"{option.author}: "
    return clip(f"{option.key} · {author}{summary}", chars)


def tally_text(
    task_id: int,
    tally: Tally,
    options: Sequence[Option],
    not_counted: Sequence[tuple[str, str]] = (),
) -> str:
    """The closing tally, also the poll end's text: "#12 🗳️ Vote closed: B wins — B 2 · A 1 ·
    C 0." (or the master's choice, or a tie), then each asked agent whose vote is not in it,
    with why: "Not counted: Llama: no valid vote; Gemini: no answer." """
    order = [o.key for o in options] + sorted(set(tally.counts) - {o.key for o in options})
    counts = " · ".join(f"{key} {_number(tally.counts.get(key, 0.0))}" for key in order)
    text = _tally_head(task_id, tally, counts)
    if not_counted:
        text += " Not counted: " + "; ".join(f"{who}: {why}" for who, why in not_counted) + "."
    return text


def _tally_head(task_id: int, tally: Tally, counts: str) -> str:
    head = f"{prefix(task_id)}🗳️ Vote closed: "
    if tally.decided_by_master and tally.winner is not None:
        return f"{head}the master chose {tally.winner} — {counts}."
    if tally.winner is not None:
        return f"{head}{tally.winner} wins — {counts}."
    if tally.tie:
        return f"{head}tie between {names(tally.tie)} — {counts}."
    return f"{head}no votes were cast."


def winner_line(task_id: int, option: Option, *, next_stage: str = "plan") -> str:
    """ "#12 🏆 B wins: Claude's proposal. Claude writes the plan." (authors are revealed
    once the vote is closed)."""
    doing = "writes the final answer" if next_stage == "refine" else "writes the plan"
    who = option.author
    return f"{prefix(task_id)}🏆 {option.key} wins: {who}'s proposal. {who} {doing}."


def tie_line(task_id: int, tie: Sequence[str], seconds: float, judge: str) -> str:
    """A tie waits for the master's vote, then the judge decides."""
    return (
        f"{prefix(task_id)}⚖️ Tie between {names(tie)}. Vote in the poll within "
        f"{_minutes(seconds)} to decide; after that {judge} (judge) decides."
    )


def tie_broken_line(task_id: int, key: str, judge: str) -> str:
    return f"{prefix(task_id)}⚖️ {judge} (judge) broke the tie: {key}."


# --- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandView:
    """One command of a step with the executor policy's verdict on it."""

    text: str
    verdict: Verdict
    reason: str = ""


@dataclass(frozen=True)
class StepView:
    number: int
    host: str
    command: CommandView
    purpose: str = ""
    verify: CommandView | None = None
    rollback: CommandView | None = None
    parallel: bool = False


@dataclass(frozen=True)
class PlanView:
    task_id: int
    attempt: int
    author: str
    steps: tuple[StepView, ...]
    expires_in: float
    summary: str = ""
    review: str = ""
    """The judge's advice in one line, if any (advisory: the policy's verdicts bind)."""
    auto_approved: bool = False
    """Every step is read-only and `tasks.auto_approve_readonly` is on: nothing to approve."""


def verdict_label(command: CommandView) -> str:
    """ "read-only", "needs approval", "forbidden: <reason>"."""
    if command.verdict is Verdict.ALLOW:
        return "read-only"
    if command.verdict is Verdict.NEEDS_APPROVAL:
        return "needs approval"
    reason = command.reason.strip()
    if reason.lower().startswith("forbidden:"):
        reason = reason[len("forbidden:") :].strip()
    return f"forbidden: {reason}" if reason else "forbidden"


def plan_message(view: PlanView, *, secrets: Iterable[str] = ()) -> tuple[str, str]:
    """The plan for approval: every command verbatim with its verdict, host and purpose,
    verify and rollback, and how to approve. A command masking changes is flagged: it is not
    verbatim any more, so the executor asks for that step on its own."""
    secrets = tuple(secrets)
    pid = prefix(view.task_id)
    head = f"{pid}🛠️ Plan by {view.author}" + (
        f" (attempt {view.attempt})" if view.attempt > 1 else ""
    )
    head += f": {clip(view.summary, 300)}" if view.summary.strip() else ""
    body = [head]
    markup = [f"<p><strong>{_esc(head)}</strong></p>"]
    if not view.steps:
        body.append("No commands: nothing runs.")
        markup.append("<p>No commands: nothing runs.</p>")
    masked_steps: list[int] = []
    for step in view.steps:
        step_body, step_html, masked = _step(step, secrets)
        body.append("")
        body += step_body
        markup += step_html
        if masked:
            masked_steps.append(step.number)
    if masked_steps:
        note = (
            f"⚠️ Parts of step {names([str(n) for n in masked_steps])} are masked as secrets, so "
            "they are not shown verbatim: the executor will ask you to approve them on their own."
        )
        body.append(note)
        markup.append(f"<p><strong>{_esc(note)}</strong></p>")
    if view.review.strip():
        review = f"🔎 Review: {clip(' '.join(view.review.split()), 400)}"
        body.append(review)
        markup.append(f"<p>{_esc(review)}</p>")
    if view.steps:
        how = _how_to_approve(view)
        body += ["", how]
        markup.append(f"<p>{_esc(how)}</p>")
    return "\n".join(body), "".join(markup)


def _how_to_approve(view: PlanView) -> str:
    if view.auto_approved:
        return "Every step is read-only: running it without approval (tasks.auto_approve_readonly)."
    n = view.task_id
    return (
        f"✅ to approve, ❌ or !deny {n} <reason> to send back (or !approve {n}); "
        f"expires in {countdown(view.expires_in)}."
    )


def _step(step: StepView, secrets: tuple[str, ...]) -> tuple[list[str], list[str], bool]:
    flags = " · in parallel" if step.parallel else ""
    what = f" — {clip(' '.join(step.purpose.split()), 200)}" if step.purpose.strip() else ""
    head = f"Step {step.number} on {step.host}{what} [{verdict_label(step.command)}]{flags}"
    head_html = (
        f"<p><strong>Step {step.number}</strong> on <code>{_esc(step.host)}</code>{_esc(what)} "
        f"[<em>{_esc(verdict_label(step.command))}</em>]{_esc(flags)}</p>"
    )
    body, markup = [head], [head_html]
    masked = False
    for label, command in (
        ("", step.command),
        ("verify", step.verify),
        ("rollback", step.rollback),
    ):
        if command is None:
            continue
        shown = mask_text(command.text, secrets)
        masked = masked or shown != command.text
        if label:
            line = f"{label} [{verdict_label(command)}]:"
            body.append(line)
            markup.append(f"<p>{_esc(line)}</p>")
        body.append(code_block(shown))
        markup.append(f"<pre><code>{_esc(shown)}</code></pre>")
    return body, markup, masked


def code_block(command: str) -> str:
    """A command in a plain body, verbatim: a one-line command on its own line indented by
    four spaces (Markdown's code block), a longer one in a fence longer than any backtick run
    inside it."""
    if "\n" not in command and "\r" not in command:
        return f"    {command}"
    longest = max((len(run) for run in _BACKTICKS.findall(command)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{command}\n{fence}"


def plan_invalid_line(task_id: int, author: str, error: str, *, asking_again: bool) -> str:
    then = "Asking again, once." if asking_again else "The task fails."
    return f"{prefix(task_id)}⚠️ {author}'s plan could not be read: {clip(error, 600)} {then}"


def review_rejected_line(task_id: int, judge: str, reason: str, planner: str) -> str:
    return (
        f"{prefix(task_id)}🔎 {judge} rejected the plan: {clip(' '.join(reason.split()), 400)} "
        f"— {planner} plans again (once)."
    )


def forbidden_line(task_id: int, step: int, reason: str) -> str:
    label = verdict_label(CommandView("", Verdict.FORBID, reason))
    return (
        f"{prefix(task_id)}⛔ Step {step} is {label} (the executor's policy). "
        "The plan stops here and the task fails."
    )


def approved_line(task_id: int, by: str, steps: int) -> str:
    return f"{prefix(task_id)}✅ Approved by {by}: running {_count(steps, 'step')}."


def denied_line(task_id: int, by: str, reason: str, planner: str) -> str:
    why = f": {clip(' '.join(reason.split()), 300)}" if reason.strip() else ""
    return f"{prefix(task_id)}↩️ Denied by {by}{why}. {planner} plans again."


def approval_expired_line(task_id: int, seconds: float) -> str:
    return (
        f"{prefix(task_id)}⌛ The plan was not approved within {_minutes(seconds)}: nothing ran. "
        f"!retry {task_id} to start over."
    )


# --- running and healing --------------------------------------------------------------------


@dataclass(frozen=True)
class StepResultView:
    task_id: int
    number: int
    host: str
    status: str
    """An exec result status (`succeeded`, `failed`, `timed_out`, …) or `lost` (the executor
    stayed silent past `tasks.step_seconds`)."""
    kind: str = "main"
    exit_status: int | None = None
    duration_s: float | None = None
    reason: str = ""


def step_result_line(view: StepResultView) -> str:
    """ "#12 ✅ Step 1 on local: exit 0 (0.4 s)"; verify and rollback runs say which."""
    emoji = _STATUS_EMOJI.get(view.status, "❓")
    which = "" if view.kind == "main" else f" ({view.kind})"
    if view.status in ("succeeded", "failed") and view.exit_status is not None:
        what = f"exit {view.exit_status}"
    elif view.status == "lost":
        what = "no result from the executor in time"
    else:
        what = view.status.replace("_", " ")
    took = f" ({stopwatch(view.duration_s)})" if view.duration_s is not None else ""
    why = f" — {clip(' '.join(view.reason.split()), 200)}" if view.reason.strip() else ""
    return (
        f"{prefix(view.task_id)}{emoji} Step {view.number}{which} on {view.host}: {what}{took}{why}"
    )


def fix_request_line(task_id: int, step: int, author: str, attempt: int, max_attempts: int) -> str:
    """A failed step goes back to the plan's author: "#12 🩹 Step 2 failed; asking GPT for a
    fix (attempt 2 of 3)."."""
    return (
        f"{prefix(task_id)}🩹 Step {step} failed; asking {author} for a fix "
        f"(attempt {attempt} of {max_attempts})."
    )


def rollback_line(task_id: int, steps: Sequence[int], attempts: int) -> str:
    which = names([str(n) for n in steps]) if steps else "nothing to roll back"
    return f"{prefix(task_id)}↩️ Out of attempts ({attempts}); rolling back: step {which}."


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """One command run as the report shows it; `output` is its (masked) output."""

    number: int
    host: str
    command: str
    status: str
    kind: str = "main"
    exit_status: int | None = None
    output: str = ""
    attempt: int = 1


@dataclass(frozen=True)
class CostView:
    agent: str
    tokens: int
    cost_usd: float


@dataclass(frozen=True)
class ReportView:
    task_id: int
    outcome: Outcome
    mission: str
    duration_s: float
    summary: str = ""
    """What the plan set out to do (its summary), or, for a task without commands, the
    winner's refined answer: then it is the report."""
    runs: tuple[RunView, ...] = ()
    failures: tuple[str, ...] = ()
    """What went wrong beyond failed runs: "Gemini: quota exhausted", "not approved in 1h"."""
    attempts: int = 1
    costs: tuple[CostView, ...] = ()
    origin: str = ""
    """Where the task came from when nobody typed it: "from schedule #3, daily 07:00"."""


def report_message(view: ReportView, *, output_chars: int = 3000) -> tuple[str, str]:
    """The final report: what was done, the real outputs (each cut to its last
    `output_chars`, marked "…"; see `report_attachment` for the whole), what failed, how long
    it took and what each agent cost."""
    head = (
        f"{prefix(view.task_id)}{_OUTCOME_HEAD[view.outcome]}: {clip(view.mission, MISSION_CHARS)}"
    )
    body, markup = [head], [f"<p><strong>{_esc(head)}</strong></p>"]
    if view.origin:
        origin = view.origin[0].upper() + view.origin[1:] + "."
        body.append(origin)
        markup.append(f"<p><em>{_esc(origin)}</em></p>")
    done = [r for r in view.runs if r.status == "succeeded"]
    failed = [r for r in view.runs if r.status != "succeeded"]
    if view.summary.strip() or done:
        body.append("")
        body.append("Done:")
        markup.append("<p><strong>Done:</strong></p>")
        if view.summary.strip():
            body.append(view.summary.strip())
            markup.append(_paragraphs(view.summary.strip()))
        if done:
            lines = [_run_line(r) for r in done]
            body += [f"• {line}" for line in lines]
            markup.append(_list(lines))
    shown = [r for r in view.runs if r.output.strip()]
    if shown:
        body += ["", "Outputs:"]
        markup.append("<p><strong>Outputs:</strong></p>")
        for run in shown:
            text, cut = tail(mask_text(run.output.rstrip("\n")), output_chars)
            label = (
                f"Step {run.number}{_kind(run)} on {run.host}"
                + (" (last part)" if cut else "")
                + ":"
            )
            body += [label, _fence(text)]
            markup.append(f"<p>{_esc(label)}</p><pre><code>{_esc(text)}</code></pre>")
        if any(tail(r.output.rstrip("\n"), output_chars)[1] for r in shown):
            note = "The full outputs are attached."
            body.append(note)
            markup.append(f"<p><em>{note}</em></p>")
    if failed or view.failures:
        lines = [_run_line(r) for r in failed] + [
            clip(" ".join(f.split()), 300) for f in view.failures
        ]
        body += ["", "Failed:", *(f"• {line}" for line in lines)]
        markup.append("<p><strong>Failed:</strong></p>" + _list(lines))
    time = f"Time: {stopwatch(view.duration_s)}" + (
        f" · {view.attempts} attempts" if view.attempts > 1 else ""
    )
    body += ["", time]
    markup.append(f"<p>{_esc(time)}</p>")
    if view.costs:
        cost = "Cost: " + cost_text(view.costs)
        body.append(cost)
        markup.append(f"<p>{_esc(cost)}</p>")
    return "\n".join(body), "".join(markup)


def report_attachment(view: ReportView, *, output_chars: int = 3000) -> str | None:
    """Every run's whole output as one text file, when the report had to cut any; else None."""
    if not any(tail(r.output.rstrip("\n"), output_chars)[1] for r in view.runs):
        return None
    parts = [f"Task #{view.task_id}: {view.mission}", ""]
    for run in view.runs:
        parts += [
            f"=== step {run.number}{_kind(run)} on {run.host}, attempt {run.attempt}: "
            f"{_status_words(run)} ===",
            f"$ {run.command}",
            mask_text(run.output.rstrip("\n")),
            "",
        ]
    return "\n".join(parts)


def report_filename(task_id: int) -> str:
    return f"task-{task_id}-outputs.log"


def cost_text(costs: Sequence[CostView]) -> str:
    """ "Claude $0.0123 (1,234 tokens) · GPT $0.0040 (800 tokens) · total $0.0163"."""
    parts = [f"{c.agent} ${c.cost_usd:.4f} ({c.tokens:,} tokens)" for c in costs]
    if len(costs) > 1:
        parts.append(f"total ${sum(c.cost_usd for c in costs):.4f}")
    return " · ".join(parts)


def timeline_line(task_id: int, mission: str, outcome: Outcome, duration_s: float) -> str:
    """The one line in the main timeline: "#12 ✅ <mission> — done in 2m 05s (thread)"."""
    emoji = _OUTCOME_HEAD[outcome].split()[0]
    took = stopwatch(duration_s)
    how = {"completed": f"done in {took}", "failed": f"failed after {took}"}.get(
        outcome, f"cancelled after {took}"
    )
    return f"{prefix(task_id)}{emoji} {clip(mission, LINE_MISSION_CHARS)} — {how} (thread)"


def _run_line(run: RunView) -> str:
    where = f"Step {run.number}{_kind(run)} on {run.host}"
    return f"{where}: {clip(run.command, 200)} — {_status_words(run)}"


def _kind(run: RunView) -> str:
    return "" if run.kind == "main" else f" ({run.kind})"


def _status_words(run: RunView) -> str:
    if run.exit_status is not None and run.status in ("succeeded", "failed"):
        return f"exit {run.exit_status}"
    if run.status == "lost":
        return "no result from the executor"
    return run.status.replace("_", " ")


# --- small helpers, public where the engine words things alike -----------------------------


def names(items: Sequence[str]) -> str:
    """ "Claude", "Claude and GPT", "Claude, GPT and Gemini"."""
    items = list(items)
    if len(items) <= 1:
        return items[0] if items else "nobody"
    return ", ".join(items[:-1]) + " and " + items[-1]


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked "…" where it was cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + CUT


def tail(text: str, limit: int) -> tuple[str, bool]:
    """The end of `text` within `limit` characters, from a line start where it can, marked
    "…" on a line of its own where it was cut; True when it was."""
    if len(text) <= limit:
        return text, False
    kept = text[-max(limit - 2, 1) :]
    newline = kept.find("\n")
    if 0 <= newline < len(kept) - 1:
        kept = kept[newline + 1 :]
    return f"{CUT}\n{kept}", True


def _fence(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _list(lines: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{_esc(line)}</li>" for line in lines) + "</ul>"


def _minutes(seconds: float) -> str:
    """ "8 s", "3 min", "1h 30m": a wait as people say it (`durations.wait`)."""
    return wait(seconds)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _paragraphs(text: str) -> str:
    """Multi-line text as HTML that keeps its lines (a split task's deliverable and parts):
    a paragraph per blank-line-separated block, its lines joined by <br>."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    return "".join(
        "<p>" + "<br>".join(_esc(line) for line in b.splitlines()) + "</p>" for b in blocks
    )


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
