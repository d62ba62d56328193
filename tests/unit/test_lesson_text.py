"""What a finished task teaches (`bots.tasks.lessons`), as tables: which tasks leave a
lesson, what its text says (mission, plan, each failure with its output's end, the fix
that worked, the outcome), that it fits `lesson_chars`, and the texts about lessons."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from bots.ids import EventID, RequestID, RoomID, UserID
from bots.store.lessons import Lesson
from bots.store.tasks import Answer, Move, StepRun, Task
from bots.tasks.lessons import (
    LessonDraft,
    lesson_context,
    lesson_from,
    lesson_line,
    lesson_list,
    lessons_used_line,
    with_lessons_used,
)

MISSION = "web-1의 디스크 정리"
UPGRADE = "apt upgrade -y"
NO_SPACE = "E: You don't have enough free space in /var/cache/apt/archives/."


def task(state: str = "completed", *, plan: list[tuple[str, str]] | None = None) -> Task:
    steps = [{"host": h, "command": c} for h, c in plan or []]
    return Task(
        id=12,
        intake_key="$k",
        room_id=RoomID("!r:hs"),
        thread_root=None,
        mission=MISSION,
        priority="medium",
        state=state,
        paused_from=None,
        requester=UserID("@master:hs"),
        source="matrix",
        assigned=None,
        winner="claude",
        attempt=2,
        plan=json.dumps({"steps": steps}) if plan is not None else None,
        plan_digest=None,
        plan_author="claude",
        plan_event=None,
        approved_by=None,
        approval_event=None,
        waiting_for="",
        deadline=None,
        note="",
        created_at=0.0,
        updated_at=0.0,
        finished_at=None,
    )


def run(
    attempt: int,
    step: int,
    command: str,
    status: str = "succeeded",
    *,
    output: str = "",
    exit_status: int | None = 0,
    kind: str = "main",
) -> StepRun:
    return StepRun(
        request_id=RequestID(f"t12-a{attempt}-s{step}-{kind}"),
        task_id=12,
        attempt=attempt,
        step=step,
        kind=kind,  # type: ignore[arg-type]
        host="web-1",
        command=command,
        sent_at=0.0,
        status=status,
        exit_status=exit_status,
        output=output,
    )


def move(to: str, reason: str = "", frm: str = "running") -> Move:
    return Move(12, 1, frm, to, "coordinator", reason, 0.0)


def fix_answer(text: str, ask: str = "t12-fix-1") -> Answer:
    return Answer(12, ask, "claude", "fix", "ok", text, EventID("$a"), 0.0)


FAILED_THEN_FIXED = [
    run(1, 1, UPGRADE, "failed", output=f"Reading package lists...\n{NO_SPACE}", exit_status=100),
    run(2, 1, "apt clean"),
    run(2, 2, UPGRADE),
]
EXPLAINED = fix_answer(
    '#12 🩹 The disk was full; clean the apt cache first.\n```json\n{"steps": []}\n```'
)


@dataclass(frozen=True)
class Case:
    name: str
    task: Task
    steps: list[StepRun]
    moves: list[Move]
    answers: list[Answer]
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    none: bool = False


CASES = [
    Case(
        "a failure and the fix that worked",
        task("completed"),
        FAILED_THEN_FIXED,
        [move("completed")],
        [EXPLAINED],
        has=(
            f"Task #12 (completed on attempt 2): {MISSION}",
            f"Plan:\n  web-1$ {UPGRADE}",
            f"Failed (attempt 1): step 1 on web-1, failed, exit 100: {UPGRADE}",
            NO_SPACE,
            "Fix that worked (attempt 2): The disk was full; clean the apt cache first.",
            "  web-1$ apt clean\n  web-1$ apt upgrade -y",
            "Outcome: completed.",
        ),
        lacks=("```", '"steps"', "#12 🩹"),
    ),
    Case(
        "a failure never fixed: the reason it failed",
        task("failed"),
        [
            run(1, 1, UPGRADE, "failed", output=NO_SPACE, exit_status=100),
            run(2, 1, UPGRADE, "failed", output=NO_SPACE, exit_status=100),
        ],
        [move("failed", "step 1 on web-1 failed (exit 100) on attempt 2, the last allowed")],
        [],
        has=(
            "(failed after 2 attempts)",
            "Failed (attempt 2): step 1 on web-1, failed, exit 100",
            "Outcome: failed — step 1 on web-1 failed (exit 100) on attempt 2",
        ),
        lacks=("Fix that worked",),
    ),
    Case(
        "a forbidden plan that never ran: its commands from the stored plan",
        task("failed", plan=[("web-1", "rm -rf /var/log")]),
        [],
        [move("failed", "step 1 on web-1 is forbidden: `rm -rf /var/log`", "reviewing")],
        [],
        has=("Plan:\n  web-1$ rm -rf /var/log", "Outcome: failed — step 1 on web-1 is forbidden"),
    ),
    Case(
        "a denial and a verify failure are named",
        task("completed"),
        [
            run(1, 1, "systemctl restart nginx"),
            run(1, 1, "curl -fsS localhost", "failed", output="refused", kind="verify"),
            run(2, 1, "nginx -t && systemctl reload nginx"),
        ],
        [move("planning", "denied: not during office hours", "awaiting_approval")],
        [],
        has=(
            "Denied by the master: not during office hours",
            "step 1 (verify) on web-1, failed, exit 0: curl -fsS localhost",
            "Fix that worked (attempt 2):\n  web-1$ nginx -t && systemctl reload nginx",
        ),
    ),
    Case(
        "a secret in a command or an output is masked",
        task("completed"),
        [run(1, 1, "curl -H 'Authorization: Bearer sk-ant-api03-" + "x" * 40 + "' x")],
        [],
        [],
        lacks=("sk-ant-api03-" + "x" * 40,),
    ),
    Case("no command planned or run: nothing to teach", task("completed"), [], [], [], none=True),
    Case(
        "cancelled before any step ran",
        task("cancelled", plan=[]),
        [],
        [move("cancelled")],
        [],
        none=True,
    ),
    Case("not finished", task("running"), FAILED_THEN_FIXED, [], [], none=True),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_what_a_task_teaches(case: Case) -> None:
    draft = lesson_from(case.task, case.moves, case.steps, case.answers, chars=1500)
    if case.none:
        assert draft is None
        return
    assert isinstance(draft, LessonDraft)
    assert (draft.mission, draft.outcome) == (MISSION, case.task.state)
    for part in case.has:
        assert part in draft.text, f"{part!r} not in:\n{draft.text}"
    for part in case.lacks:
        assert part not in draft.text


@pytest.mark.parametrize("chars", [200, 500, 1500])
def test_a_long_output_is_cut_to_its_end_and_the_lesson_fits(chars: int) -> None:
    noisy = "\n".join(f"line {n} of noise" for n in range(2000)) + "\n" + NO_SPACE
    steps = [run(1, 1, UPGRADE, "failed", output=noisy, exit_status=100), *FAILED_THEN_FIXED[1:]]
    draft = lesson_from(task("completed"), [move("completed")], steps, [EXPLAINED], chars=chars)
    assert draft is not None
    assert len(draft.text) <= chars
    assert draft.text.startswith("Task #12")
    if chars >= 500:
        assert NO_SPACE in draft.text  # the error is at the end of the output
        assert "line 5 of noise" not in draft.text
        assert "Fix that worked" in draft.text


LESSON = Lesson(3, 12, MISSION, "failed", "Task #12 (failed): …", 0.0)


def test_the_texts_about_lessons() -> None:
    assert lessons_used_line([3, 7]) == "Lessons used: #3, #7"
    assert with_lessons_used("body", "<p>body</p>", []) == ("body", "<p>body</p>")
    assert with_lessons_used("body", "<p>b</p>", [3]) == (
        "body\n\nLessons used: #3",
        "<p>b</p><p><em>Lessons used: #3</em></p>",
    )
    assert lesson_context([LESSON]) == [{"id": 3, "text": "Task #12 (failed): …"}]
    assert lesson_line(LESSON) == f"#3 · task #12 · ❌ failed · {MISSION}"


@pytest.mark.parametrize(
    ("lessons", "query", "body"),
    [
        ([], "", "📚 No lessons yet: every finished task that ran a command leaves one."),
        ([], "nginx  <b>", "📚 No lesson matches “nginx <b>”. !lessons lists the newest."),
        (
            [LESSON],
            "",
            f"📚 The newest lessons:\n• #3 · task #12 · ❌ failed · {MISSION}\n"
            "!forget <id> removes one (the master).",
        ),
        (
            [LESSON],
            "디스크",
            f"📚 Lessons matching “디스크”:\n• #3 · task #12 · ❌ failed · {MISSION}\n"
            "!forget <id> removes one (the master).",
        ),
    ],
)
def test_the_lessons_list(lessons: list[Lesson], query: str, body: str) -> None:
    text, markup = lesson_list(lessons, query=query)
    assert text == body
    assert "<b>" not in markup  # escaped
