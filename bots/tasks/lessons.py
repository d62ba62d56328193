"""What a finished task teaches, as one short text; and the texts about lessons. Pure.

A lesson is what the next planner should know: the mission, the plan's commands, each
failure with the end of its output (where the error is), the fix that worked and the
outcome, cut to `tasks.lesson_chars`. The engine (`bots.coordinator.tasks.lessons`) saves it
once a task is final and puts the lessons most like a new mission into the planner's,
reviewer's and fixer's prompts; the store finds them (`bots.store.lessons`).

The records come in as the store's values, read through the small protocols below (this
package does not import the store).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from executor.masking import mask_text

MISSION_CHARS = 300
COMMAND_CHARS = 200
REASON_CHARS = 300
MIN_OUTPUT_CHARS = 120
"""A failure's output keeps at least its last this many characters, however many failed."""
LIST_MISSION_CHARS = 80
_ANSWER_PREFIX = re.compile(r"\A\s*#\d+\s*(?:[^\w\s#]\S*\s*)?")
_OUTCOME_MARK = {"completed": "✅", "failed": "❌", "cancelled": "🛑"}


class TaskFacts(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def mission(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def plan(self) -> str | None: ...
    @property
    def attempt(self) -> int: ...


class MoveFacts(Protocol):
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str: ...
    @property
    def reason(self) -> str: ...


class StepFacts(Protocol):
    @property
    def attempt(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def command(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def exit_status(self) -> int | None: ...
    @property
    def output(self) -> str | None: ...


class AnswerFacts(Protocol):
    @property
    def ask(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def text(self) -> str: ...


class LessonView(Protocol):
    """A stored lesson as the texts show it (`bots.store.lessons.Lesson`)."""

    @property
    def id(self) -> int: ...
    @property
    def task_id(self) -> int: ...
    @property
    def mission(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class LessonDraft:
    """A lesson to store: the mission, the outcome word (the task's final state), the text."""

    mission: str
    outcome: str
    text: str


def lesson_from(
    task: TaskFacts,
    moves: Sequence[MoveFacts],
    steps: Sequence[StepFacts],
    answers: Sequence[AnswerFacts],
    *,
    chars: int,
) -> LessonDraft | None:
    """The task's lesson, or None when it has nothing to teach: not final, or no command
    was planned or run (a question answered in words, a task cancelled before any step).

    The plan is the first attempt's commands (as sent, else as planned); failures are every
    request that did not succeed, with their output's end; the fix that worked is the
    attempt that succeeded after a failure, with its author's explanation."""
    if task.state not in _OUTCOME_MARK:
        return None
    planned = _planned_commands(task.plan)
    if not steps and not planned:
        return None
    failures = [s for s in steps if s.status not in ("succeeded", "sent")]
    fixed = _fixed_attempt(steps)
    lines = [
        f"Task #{task.id} ({_outcome_words(task, steps)}): {_clip(task.mission, MISSION_CHARS)}"
    ]
    first = min((s.attempt for s in steps), default=1)
    first_commands = [_command_line(s.host, s.command) for s in _mains(steps, first)]
    lines.append("Plan:")
    lines += [f"  {c}" for c in first_commands or [_command_line(h, c) for h, c in planned]]
    for move in moves:
        if move.reason.startswith("denied: "):
            lines.append(f"Denied by the master: {_clip(move.reason[8:], REASON_CHARS)}")
    outputs: list[tuple[int, str]] = []
    for run in failures:
        which = "" if run.kind == "main" else f" ({run.kind})"
        exit_words = f", exit {run.exit_status}" if run.exit_status is not None else ""
        lines.append(
            f"Failed (attempt {run.attempt}): step {run.step}{which} on {run.host}, "
            f"{run.status.replace('_', ' ')}{exit_words}: "
            f"{_clip(mask_text(run.command), COMMAND_CHARS)}"
        )
        output = mask_text((run.output or "").strip())
        if output:
            outputs.append((len(lines), output))
            lines.append("")  # its output goes here once the budget is known
    if fixed is not None and fixed > first:
        why = _fix_explanation(answers, task.id, fixed - 1)
        lines.append(f"Fix that worked (attempt {fixed})" + (f": {why}" if why else ":"))
        lines += [f"  {_command_line(s.host, s.command)}" for s in _mains(steps, fixed)]
    if task.state == "failed":
        last = moves[-1].reason if moves else ""
        lines.append(
            f"Outcome: failed — {_clip(last, REASON_CHARS)}" if last else "Outcome: failed"
        )
    else:
        lines.append(f"Outcome: {task.state}.")
    fixed_size = sum(len(line) + 1 for line in lines)
    share = max(MIN_OUTPUT_CHARS, (chars - fixed_size) // max(1, len(outputs)))
    for index, output in outputs:
        label = "  output: "
        lines[index] = label + _tail(output.replace("\n", "\n    "), share - len(label))
    text = "\n".join(line for line in lines if line != "")
    return LessonDraft(mission=task.mission, outcome=task.state, text=_clip(text, chars))


def lesson_context(lessons: Sequence[LessonView]) -> list[dict[str, Any]]:
    """The lessons as an ask's `context["lessons"]` carries them."""
    return [{"id": lesson.id, "text": lesson.text} for lesson in lessons]


def lessons_used_line(ids: Sequence[int]) -> str:
    """The report's line: "Lessons used: #3, #7"."""
    return "Lessons used: " + ", ".join(f"#{n}" for n in ids)


def with_lessons_used(body: str, markup: str, ids: Sequence[int]) -> tuple[str, str]:
    """The report with its "Lessons used" line added (nothing when none was used)."""
    if not ids:
        return body, markup
    line = lessons_used_line(ids)
    return f"{body}\n\n{line}", f"{markup}<p><em>{html.escape(line)}</em></p>"


def lesson_line(lesson: LessonView) -> str:
    """One lesson in `!lessons`: "#3 · task #12 · ❌ failed · web-1의 디스크 정리"."""
    mark = _OUTCOME_MARK.get(lesson.outcome, "")
    first = lesson.mission.strip().split("\n", 1)[0]
    return (
        f"#{lesson.id} · task #{lesson.task_id} · {mark} {lesson.outcome} · "
        f"{_clip(first, LIST_MISSION_CHARS)}"
    )


def lesson_list(lessons: Sequence[LessonView], *, query: str = "") -> tuple[str, str]:
    """`!lessons [query]`: the newest (or best matching) lessons, one line each."""
    query = " ".join(query.split())
    if not lessons:
        text = (
            f"📚 No lesson matches “{query}”. !lessons lists the newest."
            if query
            else "📚 No lessons yet: every finished task that ran a command leaves one."
        )
        return text, f"<p>{html.escape(text)}</p>"
    head = f"📚 Lessons matching “{query}”:" if query else "📚 The newest lessons:"
    lines = [lesson_line(lesson) for lesson in lessons]
    tip = "!forget <id> removes one (the master)."
    body = "\n".join([head, *(f"• {line}" for line in lines), tip])
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    markup = f"<p>{html.escape(head)}</p><ul>{items}</ul><p><em>{html.escape(tip)}</em></p>"
    return body, markup


def forgotten_line(lesson: LessonView) -> str:
    return f"🗑️ Lesson #{lesson.id} (task #{lesson.task_id}) forgotten: {_clip(lesson.mission, 80)}"


# --- helpers ------------------------------------------------------------------------------


def _outcome_words(task: TaskFacts, steps: Sequence[StepFacts]) -> str:
    attempts = len({s.attempt for s in steps})
    if task.state == "completed":
        return (
            "completed"
            if attempts <= 1
            else f"completed on attempt {max(s.attempt for s in steps)}"
        )
    if task.state == "failed" and attempts > 1:
        return f"failed after {attempts} attempts"
    return task.state


def _mains(steps: Sequence[StepFacts], attempt: int) -> list[StepFacts]:
    return [s for s in steps if s.attempt == attempt and s.kind == "main"]


def _fixed_attempt(steps: Sequence[StepFacts]) -> int | None:
    """The newest attempt whose every request succeeded, if any did."""
    attempts = sorted({s.attempt for s in steps}, reverse=True)
    for attempt in attempts:
        runs = [s for s in steps if s.attempt == attempt and s.kind != "rollback"]
        if runs and all(s.status == "succeeded" for s in runs):
            return attempt
    return None


def _fix_explanation(answers: Sequence[AnswerFacts], task_id: int, attempt: int) -> str:
    """What the fix's author said before its JSON (the ask `t12-fix-1` or its re-ask)."""
    ask = f"t{task_id}-fix-{attempt}"
    for answer in reversed(answers):
        if answer.stage == "fix" and answer.status == "ok" and answer.ask in (ask, f"{ask}-r"):
            text = _ANSWER_PREFIX.sub("", answer.text, count=1)
            prose = re.split(r"```|\{", text, maxsplit=1)[0]
            return _clip(" ".join(prose.split()), REASON_CHARS)
    return ""


def _planned_commands(plan: str | None) -> list[tuple[str, str]]:
    """(host, command) of a stored plan (JSON); none when it cannot be read."""
    try:
        steps = json.loads(plan or "{}").get("steps") or []
    except (ValueError, AttributeError):
        return []
    found = []
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict) and isinstance(step.get("command"), str):
            found.append((str(step.get("host", "")), step["command"]))
    return found


def _command_line(host: str, command: str) -> str:
    return f"{host}$ {_clip(mask_text(command), COMMAND_CHARS)}"


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :].lstrip()
