"""What the master reads from the running, healing and final phases (pure functions).

Part A's `bots.tasks.render` had no step, fix or report texts when this was written, so
they live here, next to their only user; every line starts with `#<task>` so it reads well
inline (Element X without threads) as well as in the thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bots.store.tasks import StepRun
from bots.store.usage import UsageTotals
from bots.text.durations import coarse, tenths

MAIN_LINE_MISSION_CHARS = 80
_STEP_LINE_OUTPUT_CHARS = 600
_KIND_WORD = {"main": "", "verify": " (verify)", "rollback": " (rollback)"}
_STATUS_WORD = {
    "succeeded": "succeeded",
    "failed": "failed",
    "timed_out": "timed out",
    "cancelled": "was cancelled",
    "interrupted": "was interrupted",
    "denied": "was denied",
    "expired": "expired unapproved",
    "forbidden": "is forbidden by the policy",
    "lost": "got no answer",
    "sent": "is still running",
}


def trim_tail(text: str, limit: int) -> str:
    """The last `limit` characters (the end of an output says what went wrong), saying how
    much was cut."""
    text = text.rstrip()
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"… ({cut:,} characters cut)\n{text[-limit:]}"


def output_text(stdout: str, stderr: str) -> str:
    """A step's output as one text: stdout, then stderr under a marker when there is any."""
    out, err = stdout.rstrip(), stderr.rstrip()
    if not err:
        return out
    return f"{out}\n--- stderr ---\n{err}" if out else f"--- stderr ---\n{err}"


def fence(text: str) -> str:
    """A code block that the text cannot close early."""
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}\n{text}\n{ticks}"


def outcome_word(run: StepRun) -> str:
    word = _STATUS_WORD.get(run.status, run.status.replace("_", " "))
    if run.exit_status is not None and run.status != "succeeded":
        word += f" (exit {run.exit_status})"
    return word


def step_label(run: StepRun) -> str:
    return f"step {run.step}{_KIND_WORD.get(run.kind, '')} on {run.host}"


def step_result_line(task_id: int, run: StepRun, total: int) -> str:
    """One finished request, in the thread: what ran, how it ended, the end of its output."""
    mark = "✅" if run.status == "succeeded" else "❌"
    took = ""
    if run.finished_at is not None and run.status != "lost":
        took = f", {tenths(run.finished_at - run.sent_at)}"
    label = step_label(run)
    if run.kind != "rollback":
        label = label.replace(f"step {run.step}", f"step {run.step}/{total}", 1)
    head = f"#{task_id} {mark} {label.capitalize()} {outcome_word(run)}{took}: `{run.command}`"
    output = (run.output or "").strip()
    if not output:
        return head
    return f"{head}\n{fence(trim_tail(output, _STEP_LINE_OUTPUT_CHARS))}"


def fix_ask_line(task_id: int, agent: str, failed: StepRun, attempt: int, seconds: float) -> str:
    return (
        f"#{task_id} 🩹 {step_label(failed).capitalize()} {outcome_word(failed)} on attempt "
        f"{attempt}: `{failed.command}`. Asking {agent} for a fix ({coarse(seconds)})."
    )


def refix_ask_line(task_id: int, agent: str, error: str) -> str:
    return f"#{task_id} 🩹 {agent}'s fix is not a plan I can run ({error}). Asking once more."


def give_up_line(task_id: int, reason: str, rollbacks: int) -> str:
    tail = f" Rolling back {rollbacks} step(s)." if rollbacks else " Nothing to roll back."
    return f"#{task_id} ⛔ Giving up: {reason}.{tail}"


def refine_ask_line(task_id: int, agent: str, seconds: float) -> str:
    return (
        f"#{task_id} 📝 No command is needed. Asking {agent} for the final answer, "
        f"with the other proposals in view ({coarse(seconds)})."
    )


@dataclass(frozen=True)
class AttemptSummary:
    """How one attempt ended: every request it sent, the one that failed if any."""

    attempt: int
    runs: tuple[StepRun, ...]
    failure: StepRun | None


def attempt_lines(attempts: Sequence[AttemptSummary], output_chars: int) -> list[str]:
    """ "Attempt 1: step 2 on local failed (exit 1): `cmd`" and the end of its output."""
    lines: list[str] = []
    for summary in attempts:
        main = [r for r in summary.runs if r.kind == "main"]
        if summary.failure is None:
            lines.append(f"Attempt {summary.attempt}: {len(main)} step(s) succeeded.")
            continue
        failed = summary.failure
        lines.append(
            f"Attempt {summary.attempt}: {step_label(failed)} {outcome_word(failed)}: "
            f"`{failed.command}`"
        )
        if failed.output and failed.output.strip():
            lines.append(fence(trim_tail(failed.output, min(output_chars, 800))))
    return lines


def cost_line(costs: Mapping[str, UsageTotals], names: Mapping[str, str]) -> str:
    """ "Cost: Claude 1,234 tokens $0.0123 · GPT … — total $0.02" (nothing spent: free)."""
    if not costs:
        return "Cost: no model was used."
    parts = [
        f"{names.get(agent, agent)} {totals.tokens:,} tokens ${totals.cost_usd:.4f}"
        for agent, totals in costs.items()
    ]
    total = sum(totals.cost_usd for totals in costs.values())
    return f"Cost: {' · '.join(parts)} — total ${total:.4f}."


def outputs_section(runs: Iterable[StepRun], output_chars: int) -> list[str]:
    """Each request of the final attempt with the end of its real output."""
    lines: list[str] = []
    for run in runs:
        mark = "✅" if run.status == "succeeded" else "❌"
        lines.append(f"{mark} {step_label(run).capitalize()}: `{run.command}` {outcome_word(run)}")
        if run.output and run.output.strip():
            lines.append(fence(trim_tail(run.output, output_chars)))
    return lines


def full_output_file(task_id: int, runs: Iterable[StepRun]) -> bytes:
    """Every request's whole stored output, for the m.file of a long report."""
    parts = [f"Task #{task_id}: every command and its output\n"]
    for run in runs:
        parts.append(
            f"\n=== attempt {run.attempt}, {step_label(run)}: {run.command}\n"
            f"=== {outcome_word(run)}\n{(run.output or '').rstrip()}\n"
        )
    return "".join(parts).encode("utf-8", "replace")


def short_mission(mission: str) -> str:
    flat = " ".join(mission.split())
    if len(flat) <= MAIN_LINE_MISSION_CHARS:
        return flat
    return flat[: MAIN_LINE_MISSION_CHARS - 1].rstrip() + "…"


def main_line(task_id: int, state: str, mission: str, seconds: float) -> str:
    """The one line in the main timeline: "#12 ✅ <mission> — done in 2m 10s (thread)"."""
    mark, word = {
        "completed": ("✅", "done in"),
        "failed": ("❌", "failed after"),
        "cancelled": ("🛑", "cancelled after"),
    }[state]
    return f"#{task_id} {mark} {short_mission(mission)} — {word} {coarse(seconds)} (thread)"


def headline(task_id: int, state: str, mission: str) -> str:
    word = {"completed": "✅ Done", "failed": "❌ Failed", "cancelled": "🛑 Cancelled"}[state]
    return f"#{task_id} {word}: {short_mission(mission)}"
