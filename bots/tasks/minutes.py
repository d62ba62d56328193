"""Minutes and status reports, pure: a task's facts as the scribe reads them, and the
status report computed from those facts (never by a model).

The scribe writes the prose; what must be right whatever the model says is computed here:
who proposed what and what was decided (one line), and the status report in one fixed
format — "Done / Errors / Fixed / On hold", one line each, "—" when empty. The minutes
message is the scribe's text (or, when the scribe was silent or failed, the facts and its
reason) followed by those lines. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from bots.text.markdown import markdown_to_html

EMPTY: Final = "—"
MINUTES_EMOJI: Final = "🗒️"
LINE_CHARS: Final = 160
"""A proposal's first line, a command, a reason: as long as they are quoted."""
MISSION_CHARS: Final = 200
DISCUSSION_LINE_CHARS: Final = 500
"""Each message of a discussion as the scribe reads it."""
DISCUSSION_CHARS: Final = 12_000
"""The whole transcript the scribe reads (the oldest messages are dropped first)."""
SUCCEEDED: Final = "succeeded"
FINAL_STATES: Final = frozenset({"completed", "failed", "cancelled"})
_UNFINISHED: Final = frozenset({"sent"})
_FAILURE_WORDS: Final[Mapping[str, str]] = {
    "failed": "failed",
    "timed_out": "timed out",
    "cancelled": "was cancelled",
    "interrupted": "was interrupted",
    "denied": "was denied",
    "expired": "expired unapproved",
    "forbidden": "is forbidden",
    "lost": "got no result",
}


@dataclass(frozen=True)
class ProposalFact:
    """One proposal: its author's display name, its option letter in the vote (None when
    there was no vote) and its first line."""

    author: str
    key: str | None
    first_line: str


@dataclass(frozen=True)
class RunFact:
    """One execution request of the plan as it ended (`status` as the store has it)."""

    attempt: int
    step: int
    kind: str
    host: str
    command: str
    status: str
    exit_status: int | None = None


@dataclass(frozen=True)
class PlannedStep:
    """A step of the last plan (to say which were never run)."""

    step: int
    host: str
    command: str


@dataclass(frozen=True)
class TaskFacts:
    """What happened in one task, from its records, as display names and plain words."""

    task_id: int
    mission: str
    state: str
    proposals: tuple[ProposalFact, ...] = ()
    votes: tuple[tuple[str, str], ...] = ()
    """(voter's display name, option key), the latest per voter."""
    decision: str = ""
    """E.g. "GPT's proposal (B) won the vote"; "" when nothing was decided."""
    plan_author: str = ""
    plan_summary: str = ""
    planned: tuple[PlannedStep, ...] = ()
    runs: tuple[RunFact, ...] = ()
    reason: str = ""
    """Why the task failed or was cancelled, or what it waits for while active."""
    agent_failures: tuple[str, ...] = ()
    """ "Gemini (proposal): quota exhausted"."""
    answer: str = ""
    """A task that needed no command: the first line of its final answer."""
    critiques: tuple[str, ...] = ()
    """The critique round: "Claude on B: misses the backup", one per critique."""
    revised: tuple[str, ...] = ()
    """Display names of the proposers who revised their proposal after the critiques."""
    parts: tuple[str, ...] = ()
    """A divided task's parts: "1. Search the facts — Perplexity ✅", one line each."""

    @property
    def state_is_final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class StatusReport:
    """The fixed-format status report: each field a list of short items."""

    done: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    on_hold: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiscussionLine:
    """One message of a broadcast discussion, as the scribe reads it."""

    speaker: str
    text: str


@dataclass(frozen=True)
class Minutes:
    """A minutes message: the heading, the scribe's text (or why there is none), and the
    lines computed from facts."""

    head: str
    scribe_text: str = ""
    scribe_problem: str = ""
    """Set when the scribe gave nothing: "GPT did not answer within 3 min"."""
    facts: tuple[str, ...] = field(default_factory=tuple)
    """Shown only when the scribe gave nothing (its input, so nothing is lost)."""
    record: str = ""
    status: StatusReport | None = None


# ---- small text helpers -------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    """One line, at most `limit` characters ("…" where cut)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def first_line(text: str) -> str:
    """The first non-empty line of a text, clipped."""
    found = next((ln for ln in text.splitlines() if ln.strip()), "")
    return clip(found.strip(" #*_>-"), LINE_CHARS)


def _code(command: str) -> str:
    return "`" + clip(command, LINE_CHARS).replace("`", "'") + "`"


def _names(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ---- the status report --------------------------------------------------------------------


def _why(run: RunFact) -> str:
    words = _FAILURE_WORDS.get(run.status, run.status.replace("_", " "))
    if run.exit_status is not None and run.status == "failed":
        words += f" (exit {run.exit_status})"
    return words


def _what(run: RunFact) -> str:
    kind = {"verify": " check", "rollback": " rollback"}.get(run.kind, "")
    return f"step {run.step}{kind} {_code(run.command)} on {run.host}"


def status_report(facts: TaskFacts) -> StatusReport:
    """Done / Errors / Fixed / On hold, from the records alone.

    Done: steps (and their checks) that succeeded in the last attempt that ran them, or the
    answer of a task that needed no command. Errors: failures no later attempt got past, a
    failed task's reason, agents that failed. Fixed: a failure of an earlier attempt that a
    later attempt got past. On hold: steps of the last plan never run, requests without a
    result, a cancelled task, an active task's wait.
    """
    done: list[str] = []
    errors: list[str] = []
    fixed: list[str] = []
    on_hold: list[str] = []
    runs = [r for r in facts.runs if r.kind != "rollback"]
    last = max((r.attempt for r in runs), default=0)
    for run in runs:
        later = [r for r in runs if r.attempt > run.attempt]
        if run.status == SUCCEEDED:
            if not any(r.step == run.step and r.kind == run.kind for r in later):
                done.append(_what(run))
        elif run.status in _UNFINISHED:
            on_hold.append(f"{_what(run)}: no result yet")
        elif _got_past(run, later, facts.state):
            fixed.append(f"{_what(run)} {_why(run)} in attempt {run.attempt}; {_after(run, later)}")
        else:
            errors.append(f"{_what(run)} {_why(run)}")
    for run in (r for r in facts.runs if r.kind == "rollback"):
        if run.status == SUCCEEDED:
            errors.append(f"step {run.step} rolled back with {_code(run.command)}")
        else:
            errors.append(f"rollback of step {run.step} {_code(run.command)} {_why(run)}")
    ran = {r.step for r in runs if r.attempt == last}
    if facts.state != "completed":
        for planned in facts.planned:
            if planned.step not in ran:
                on_hold.append(
                    f"step {planned.step} {_code(planned.command)} on {planned.host}: not run"
                )
    if facts.state == "completed" and not runs:
        done.append(
            f"answered without commands: {clip(facts.answer, LINE_CHARS)}"
            if facts.answer
            else "answered without commands"
        )
    if facts.state == "failed" and facts.reason and not errors:
        errors.append(clip(facts.reason, 2 * LINE_CHARS))
    errors.extend(clip(f, LINE_CHARS) for f in facts.agent_failures)
    if facts.state == "cancelled":
        on_hold.append(clip(facts.reason or "the task was cancelled", 2 * LINE_CHARS))
    elif not facts.state_is_final:
        waiting = f"; {facts.reason}" if facts.reason else ""
        on_hold.append(f"the task is {facts.state.replace('_', ' ')}{waiting}")
    return StatusReport(tuple(done), tuple(errors), tuple(fixed), tuple(on_hold))


def _got_past(run: RunFact, later: Sequence[RunFact], state: str) -> bool:
    """A failure counts as fixed when a later attempt succeeded at that step or beyond it,
    or the task completed after it."""
    if state == "completed" and later:
        return True
    return any(r.status == SUCCEEDED and r.step >= run.step for r in later)


def _after(run: RunFact, later: Sequence[RunFact]) -> str:
    again = [r for r in later if r.step == run.step and r.kind == run.kind]
    if again and again[-1].status == SUCCEEDED:
        if again[-1].command != run.command:
            return f"attempt {again[-1].attempt} ran {_code(again[-1].command)} instead"
        return f"it succeeded in attempt {again[-1].attempt}"
    return f"attempt {max(r.attempt for r in later)} went on past it"


def status_lines(report: StatusReport) -> list[str]:
    """The four lines, in their fixed order; "—" for an empty one."""
    return [
        f"{label}: {'; '.join(items) if items else EMPTY}"
        for label, items in (
            ("Done", report.done),
            ("Errors", report.errors),
            ("Fixed", report.fixed),
            ("On hold", report.on_hold),
        )
    ]


def status_block(report: StatusReport) -> str:
    return "\n".join(status_lines(report))


# ---- what the scribe reads ----------------------------------------------------------------


def decision_record(facts: TaskFacts) -> str:
    """One line naming the proposals (with their authors) and the decision, from facts."""
    proposed = [f"{p.author} ({p.key})" if p.key else p.author for p in facts.proposals]
    if proposed:
        parts = [f"Proposals: {', '.join(proposed)}."]
    elif facts.parts:
        parts = [f"Parts: {'; '.join(facts.parts)}."]
    else:
        parts = ["Proposals: none."]
    parts.append(f"Decision: {facts.decision}." if facts.decision else "Decision: none.")
    return " ".join(parts)


def scribe_input(facts: TaskFacts) -> list[str]:
    """The task's facts as lines for the scribe's prompt (and for minutes without one)."""
    lines = [f"Task #{facts.task_id}: {clip(facts.mission, MISSION_CHARS)}"]
    outcome = facts.state.replace("_", " ")
    if facts.reason and facts.state in ("failed", "cancelled"):
        outcome += f" — {clip(facts.reason, 2 * LINE_CHARS)}"
    lines.append(f"Outcome: {outcome}")
    if facts.proposals:
        lines.append("Proposals:")
        for p in facts.proposals:
            label = f"{p.author} ({p.key})" if p.key else p.author
            lines.append(f"- {label}: {p.first_line or '(empty)'}")
    elif not facts.parts:
        lines.append("Proposals: none")
    if facts.critiques:
        lines.append("Critiques:")
        lines.extend(f"- {clip(c, 2 * LINE_CHARS)}" for c in facts.critiques)
    if facts.revised:
        lines.append("Revised after the critiques: " + ", ".join(facts.revised))
    if facts.parts:
        lines.append("Parts:")
        lines.extend(f"- {part}" for part in facts.parts)
    if facts.votes:
        lines.append("Votes: " + "; ".join(f"{voter} → {key}" for voter, key in facts.votes))
        counts: dict[str, int] = {}
        for _, key in facts.votes:
            counts[key] = counts.get(key, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("Tally: " + ", ".join(f"{k} {n}" for k, n in ranked))
    lines.append(f"Decision: {facts.decision or 'none'}")
    if facts.plan_author or facts.plan_summary:
        by = f" by {facts.plan_author}" if facts.plan_author else ""
        lines.append(f"Plan{by}: {clip(facts.plan_summary, 2 * LINE_CHARS) or '(no summary)'}")
    if facts.runs:
        lines.append("Run:")
        for run in facts.runs:
            exit_status = f", exit {run.exit_status}" if run.exit_status is not None else ""
            lines.append(
                f"- attempt {run.attempt}, {_what(run)}: {run.status.replace('_', ' ')}"
                f"{exit_status}"
            )
    elif facts.answer:
        lines.append(f"Answer (no command needed): {clip(facts.answer, 2 * LINE_CHARS)}")
    if facts.agent_failures:
        lines.append("Agents that failed: " + "; ".join(facts.agent_failures))
    report = status_report(facts)
    open_items = [*report.errors, *report.on_hold]
    lines.append("Open items: " + ("; ".join(open_items) if open_items else "none"))
    return lines


def discussion_input(
    lines: Sequence[DiscussionLine], *, max_chars: int = DISCUSSION_CHARS
) -> list[str]:
    """A discussion as "Speaker: text" lines, each clipped, the oldest dropped first so the
    whole fits `max_chars`."""
    out: list[str] = []
    total = 0
    for line in reversed(lines):
        said = f"{line.speaker}: {clip(line.text, DISCUSSION_LINE_CHARS)}"
        if total + len(said) + 1 > max_chars:
            break
        out.append(said)
        total += len(said) + 1
    return out[::-1]


def discussion_record(lines: Sequence[DiscussionLine]) -> str:
    """Who said what, from the messages themselves (never from a model): one line per
    speaker in the order they first spoke, with how many messages and the first line of
    each, clipped. The facts block of a discussion's minutes, as the decision record and
    the status report are a task's."""
    said: dict[str, list[str]] = {}
    for line in lines:
        said.setdefault(line.speaker, []).append(first_line(line.text) or "(empty)")
    rows = [
        f"- {speaker} ({len(texts)}): {clip(' · '.join(texts), 2 * LINE_CHARS)}"
        for speaker, texts in said.items()
    ]
    return "\n".join(["Who said what:", *rows]) if rows else "Who said what: nobody."


# ---- the minutes message ------------------------------------------------------------------


def task_head(task_id: int, mission: str) -> str:
    return f"#{task_id} {MINUTES_EMOJI} Minutes of task #{task_id}: {clip(mission, MISSION_CHARS)}"


def discussion_head(messages: int, speakers: Sequence[str]) -> str:
    who = f" with {_names(list(speakers))}" if speakers else ""
    return f"{MINUTES_EMOJI} Minutes of the discussion ({messages} messages{who})"


def minutes_body(minutes: Minutes, *, scribe_posted: bool = False) -> str:
    """The message text: heading, the scribe's text or the facts with the scribe's reason,
    the decision record and the status report.

    `scribe_posted`: the scribe's text is already in the thread as its own message, just
    above; the coordinator's post then leaves it out (said once) and carries only what it
    lacks: the decision record and the status report. The stored minutes keep the whole."""
    parts = [minutes.head]
    if minutes.scribe_text.strip():
        if not scribe_posted:
            parts.append(minutes.scribe_text.strip())
    else:
        problem = minutes.scribe_problem or "no minutes were written"
        if minutes.facts:
            parts.append(f"(No minutes from the scribe: {problem}. The facts as recorded:)")
            parts.append("\n".join(minutes.facts))
        else:
            parts.append(f"(No minutes from the scribe: {problem}.)")
    if minutes.record:
        parts.append(minutes.record)
    if minutes.status is not None:
        parts.append("**Status**\n" + "\n".join(f"- {line}" for line in _status(minutes)))
    return "\n\n".join(parts)


def _status(minutes: Minutes) -> list[str]:
    assert minutes.status is not None
    return status_lines(minutes.status)


def minutes_message(minutes: Minutes, *, scribe_posted: bool = False) -> tuple[str, str]:
    """(body, html) of a minutes message (see `minutes_body` for `scribe_posted`)."""
    body = minutes_body(minutes, scribe_posted=scribe_posted)
    return body, markdown_to_html(body)


def scribe_answer_body(task_id: int, text: str) -> str:
    """The scribe's answer as posted: "#12 🗒️ <text>" (a discussion has no task number)."""
    lead = f"#{task_id} " if task_id > 0 else ""
    return f"{lead}{MINUTES_EMOJI} {text.strip()}"


def search_words(query: str) -> list[str]:
    """The words of a `!minutes search` query (at most 8, each without quotes)."""
    return [w.replace('"', "") for w in query.split() if w.replace('"', "")][:8]
