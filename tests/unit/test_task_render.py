"""What the master reads about a task: every message starts with "#<id> ", plans show each
command verbatim with its policy verdict, reports have their sections, `!task N` its history."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from bots.tasks.render import (
    CommandView,
    CostView,
    PlanView,
    ReportView,
    RunView,
    StepResultView,
    StepView,
    agent_failure_line,
    answer_body,
    approval_expired_line,
    approved_line,
    ask_line,
    clip,
    code_block,
    cost_text,
    denied_line,
    fix_request_line,
    forbidden_line,
    names,
    no_answer_reason,
    plan_invalid_line,
    plan_message,
    poll_option_text,
    poll_question,
    report_attachment,
    report_filename,
    report_message,
    review_rejected_line,
    rollback_line,
    step_result_line,
    tail,
    tally_text,
    task_ack,
    tie_broken_line,
    tie_line,
    timeline_line,
    verdict_label,
    vote_reason_body,
    winner_line,
)
from bots.tasks.render_status import MoveView, StatusView, TaskLine, task_list, task_status
from bots.tasks.votes import Option, Tally
from executor.policy.model import Verdict

OPTIONS = (Option("A", "Claude", summary="check df"), Option("B", "GPT", summary="check du"))
ALLOW, ASK, FORBID = Verdict.ALLOW, Verdict.NEEDS_APPROVAL, Verdict.FORBID


def _first(value: str | tuple[str, str]) -> str:
    return value if isinstance(value, str) else value[0]


EVERY_TASK_MESSAGE: list[tuple[str, Callable[[], str | tuple[str, str]]]] = [
    ("ack", lambda: task_ack(12, "report disk usage", "medium", ["Claude"], 180)),
    ("ask", lambda: ask_line(12, "plan", ["GPT"], 180)),
    ("agent failure", lambda: agent_failure_line(12, "Gemini", "quota exhausted")),
    ("answer", lambda: answer_body(12, "propose", "Run df -h.")),
    ("vote reason", lambda: vote_reason_body(12, "B", "safer")),
    ("poll question", lambda: poll_question(12, "report disk usage")),
    ("tally", lambda: tally_text(12, Tally({"A": 1.0}, "A"), OPTIONS)),
    ("winner", lambda: winner_line(12, OPTIONS[0])),
    ("tie", lambda: tie_line(12, ["A", "B"], 300, "Claude")),
    ("tie broken", lambda: tie_broken_line(12, "A", "Claude")),
    ("plan", lambda: plan_message(PlanView(12, 1, "Claude", (), 3600))),
    ("plan invalid", lambda: plan_invalid_line(12, "GPT", "No plan found.", asking_again=True)),
    ("review rejected", lambda: review_rejected_line(12, "Claude", "too risky", "GPT")),
    ("forbidden", lambda: forbidden_line(12, 2, "forbidden: deletes /")),
    ("approved", lambda: approved_line(12, "@master:x", 3)),
    ("denied", lambda: denied_line(12, "@master:x", "not now", "GPT")),
    ("approval expired", lambda: approval_expired_line(12, 3600)),
    ("step result", lambda: step_result_line(StepResultView(12, 1, "local", "succeeded"))),
    ("fix request", lambda: fix_request_line(12, 2, "GPT", 2, 3)),
    ("rollback", lambda: rollback_line(12, [2, 1], 3)),
    ("report", lambda: report_message(ReportView(12, "completed", "m", 1.0))),
    ("timeline", lambda: timeline_line(12, "m", "completed", 1.0)),
    ("status", lambda: task_status(StatusView(12, "m", "running", "high", "@m:x", 0.0), now=0.0)),
]


@pytest.mark.parametrize(
    "make", [m for _, m in EVERY_TASK_MESSAGE], ids=[n for n, _ in EVERY_TASK_MESSAGE]
)
def test_every_task_message_starts_with_its_id(make: Callable[[], str | tuple[str, str]]) -> None:
    assert _first(make()).startswith("#12 ")


def test_the_ack_is_the_proposal_ask() -> None:
    assert task_ack(
        12, "report disk usage of web-1", "medium", ["Claude", "GPT", "Gemini"], 180
    ) == (
        "#12 📋 Task #12 registered: report disk usage of web-1, priority medium. "
        "Asking Claude, GPT and Gemini for proposals (3 min)."
    )


@pytest.mark.parametrize(
    ("agents", "seconds", "ends"),
    [
        (["Claude"], 180, "Asking Claude for a proposal (3 min)."),
        (["Claude", "GPT"], 3600, "Asking Claude and GPT for proposals (1 h)."),
        (["Claude"], 5400, "Asking Claude for a proposal (1h 30m)."),
        ([], 180, "No agent takes part, so nobody can propose anything."),
    ],
)
def test_the_ack_names_who_is_asked_and_for_how_long(
    agents: list[str], seconds: float, ends: str
) -> None:
    assert task_ack(3, "m", "low", agents, seconds).endswith(ends)


def test_a_long_mission_is_cut_in_the_ack() -> None:
    ack = task_ack(1, "x" * 1000, "high", ["Claude"], 60)
    assert "x" * 299 + "…" in ack
    assert "x" * 300 not in ack


@pytest.mark.parametrize(
    ("stage", "text"),
    [
        ("plan", "#12 🛠️ Asking GPT for a plan (3 min)."),
        ("review", "#12 🔎 Asking GPT for a review of the plan (3 min)."),
        ("fix", "#12 🩹 Asking GPT for a fix (3 min)."),
        ("refine", "#12 📝 Asking GPT for the final answer (3 min)."),
    ],
)
def test_ask_lines(stage: str, text: str) -> None:
    assert ask_line(12, stage, ["GPT"], 180) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (8, "#12 🛠️ Asking GPT for a plan (8 s)."),
        (180, "#12 🛠️ Asking GPT for a plan (3 min)."),
        (5400, "#12 🛠️ Asking GPT for a plan (1h 30m)."),
    ],
)
def test_ask_lines_say_short_waits_in_seconds(seconds: float, text: str) -> None:
    assert ask_line(12, "plan", ["GPT"], seconds) == text


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("quota exhausted", "#12 ⚠️ Gemini: quota exhausted — skipped."),
        ("  rate\nlimited ", "#12 ⚠️ Gemini: rate limited — skipped."),
        ("", "#12 ⚠️ Gemini: no reason given — skipped."),
        (no_answer_reason(180), "#12 ⚠️ Gemini: no answer within 3 min — skipped."),
        (no_answer_reason(8), "#12 ⚠️ Gemini: no answer within 8 s — skipped."),
        (no_answer_reason(75), "#12 ⚠️ Gemini: no answer within 75 s — skipped."),
    ],
)
def test_an_agent_failure_names_the_agent_and_the_real_reason(reason: str, text: str) -> None:
    assert agent_failure_line(12, "Gemini", reason) == text


# --- the vote -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("anonymous", "text"), [(True, "A · check df"), (False, "A · Claude: check df")]
)
def test_a_poll_option_shows_its_author_only_when_votes_are_not_anonymous(
    anonymous: bool, text: str
) -> None:
    assert poll_option_text(OPTIONS[0], anonymous=anonymous) == text


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (Tally({"A": 1.0, "B": 2.0}, "B"), "#12 🗳️ Vote closed: B wins — A 1 · B 2."),
        (
            Tally({"A": 2.0, "B": 1.0}, "B", (), decided_by_master=True),
            "#12 🗳️ Vote closed: the master chose B — A 2 · B 1.",
        ),
        (
            Tally({"A": 1.5, "B": 1.5}, None, ("A", "B")),
            "#12 🗳️ Vote closed: tie between A and B — A 1.5 · B 1.5.",
        ),
        (Tally({"B": 1.0}, "B"), "#12 🗳️ Vote closed: B wins — A 0 · B 1."),
        (Tally({}, None), "#12 🗳️ Vote closed: no votes were cast."),
    ],
)
def test_the_tally_text(result: Tally, text: str) -> None:
    assert tally_text(12, result, OPTIONS) == text


@pytest.mark.parametrize(
    ("result", "not_counted", "text"),
    [
        (Tally({"A": 1.0, "B": 2.0}, "B"), [], "#12 🗳️ Vote closed: B wins — A 1 · B 2."),
        (
            Tally({"A": 1.0, "B": 2.0}, "B"),
            [("Llama", "no valid vote")],
            "#12 🗳️ Vote closed: B wins — A 1 · B 2. Not counted: Llama: no valid vote.",
        ),
        (
            Tally({"A": 1.0, "B": 1.0}, None, ("A", "B")),
            [("Llama", "no answer"), ("Gemini", "failed (quota exhausted)")],
            "#12 🗳️ Vote closed: tie between A and B — A 1 · B 1. "
            "Not counted: Llama: no answer; Gemini: failed (quota exhausted).",
        ),
        (
            Tally({}, None),
            [("Claude", "voted for its own proposal")],
            "#12 🗳️ Vote closed: no votes were cast. "
            "Not counted: Claude: voted for its own proposal.",
        ),
    ],
)
def test_the_tally_names_who_was_not_counted_and_why(
    result: Tally, not_counted: list[tuple[str, str]], text: str
) -> None:
    assert tally_text(12, result, OPTIONS, not_counted) == text


@pytest.mark.parametrize(
    ("next_stage", "text"),
    [
        ("plan", "#12 🏆 A wins: Claude's proposal. Claude writes the plan."),
        ("refine", "#12 🏆 A wins: Claude's proposal. Claude writes the final answer."),
    ],
)
def test_the_winner_is_announced_with_its_author(next_stage: str, text: str) -> None:
    assert winner_line(12, OPTIONS[0], next_stage=next_stage) == text


# --- the plan -------------------------------------------------------------------------------

MULTILINE = "cat > /etc/motd <<'EOF'\nhello ```world```\nEOF"
PLAN = PlanView(
    task_id=12,
    attempt=1,
    author="Claude",
    summary="Restart nginx safely",
    expires_in=3600,
    steps=(
        StepView(
            1,
            "local",
            CommandView("df -h", ALLOW),
            "check disk",
            verify=CommandView("test -d /var/log", ALLOW),
        ),
        StepView(
            2,
            "web-1",
            CommandView("systemctl restart nginx && echo '<ok>'", ASK, "needs approval: restart"),
            "restart nginx",
            rollback=CommandView("systemctl stop nginx", ASK),
            parallel=True,
        ),
        StepView(3, "web-1", CommandView(MULTILINE, FORBID, "forbidden: writes /etc"), "motd"),
    ),
)


def test_the_plan_shows_every_command_verbatim() -> None:
    body, markup = plan_message(PLAN)
    for command in ("df -h", "test -d /var/log", "systemctl stop nginx", MULTILINE):
        assert command in body
    assert "systemctl restart nginx && echo '<ok>'" in body
    assert "\n    df -h\n" in body  # a one-line command on its own indented line
    assert "\n````\n" + MULTILINE + "\n````\n" in body  # a fence longer than its backticks
    assert (
        "<pre><code>systemctl restart nginx &amp;&amp; echo &#x27;&lt;ok&gt;&#x27;</code></pre>"
        in markup
    )
    assert "<ok>" not in markup


def test_the_plan_gives_each_step_its_host_purpose_and_verdict() -> None:
    body, _ = plan_message(PLAN)
    assert body.splitlines()[0] == "#12 🛠️ Plan by Claude: Restart nginx safely"
    assert "Step 1 on local — check disk [read-only]" in body
    assert "verify [read-only]:" in body
    assert "Step 2 on web-1 — restart nginx [needs approval] · in parallel" in body
    assert "rollback [needs approval]:" in body
    assert "Step 3 on web-1 — motd [forbidden: writes /etc]" in body
    assert body.endswith(
        "✅ to approve, ❌ or !deny 12 <reason> to send back (or !approve 12); expires in 1h."
    )


def test_the_plan_says_its_attempt_and_the_review() -> None:
    view = PlanView(12, 2, "GPT", PLAN.steps[:1], 600, review="Looks safe; read-only.")
    body, markup = plan_message(view)
    assert body.startswith("#12 🛠️ Plan by GPT (attempt 2)\n")
    assert "🔎 Review: Looks safe; read-only." in body
    assert "expires in 10m." in body
    assert "Review" in markup


def test_a_plan_without_commands_asks_for_nothing() -> None:
    body, _ = plan_message(PlanView(12, 1, "GPT", (), 600))
    assert "No commands: nothing runs." in body
    assert "to approve" not in body


def test_an_auto_approved_plan_says_so() -> None:
    body, _ = plan_message(PlanView(12, 1, "GPT", PLAN.steps[:1], 600, auto_approved=True))
    assert "read-only: running it without approval" in body
    assert "!deny" not in body


def test_a_command_with_a_secret_is_masked_and_flagged() -> None:
    step = StepView(1, "local", CommandView("mysql -psup3rs3cret -e 'select 1'", ASK))
    body, markup = plan_message(PlanView(12, 1, "GPT", (step,), 600))
    assert "sup3rs3cret" not in body
    assert "sup3rs3cret" not in markup
    assert "Parts of step 1 are masked as secrets" in body
    assert "approve them on their own" in body


@pytest.mark.parametrize(
    ("command", "label"),
    [
        (CommandView("ls", ALLOW), "read-only"),
        (CommandView("rm x", ASK, "needs approval: deletes"), "needs approval"),
        (CommandView("rm -rf /", FORBID, "forbidden: deletes /"), "forbidden: deletes /"),
        (CommandView("rm -rf /", FORBID, "deletes /"), "forbidden: deletes /"),
        (CommandView("rm -rf /", FORBID), "forbidden"),
    ],
)
def test_verdict_labels(command: CommandView, label: str) -> None:
    assert verdict_label(command) == label


@pytest.mark.parametrize(
    ("command", "block"),
    [
        ("df -h", "    df -h"),
        ("a\nb", "```\na\nb\n```"),
        ("echo ```\nx", "````\necho ```\nx\n````"),
        ("a\rb", "```\na\rb\n```"),
    ],
)
def test_code_blocks(command: str, block: str) -> None:
    assert code_block(command) == block


# --- lines while it runs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "text"),
    [
        (
            StepResultView(12, 1, "local", "succeeded", exit_status=0, duration_s=0.44),
            "#12 ✅ Step 1 on local: exit 0 (0.4 s)",
        ),
        (
            StepResultView(12, 2, "web-1", "failed", "verify", 1, 3.0),
            "#12 ❌ Step 2 (verify) on web-1: exit 1 (3.0 s)",
        ),
        (
            StepResultView(12, 2, "web-1", "timed_out", duration_s=900),
            "#12 ⏱️ Step 2 on web-1: timed out (15m 00s)",
        ),
        (
            StepResultView(12, 3, "web-1", "lost"),
            "#12 ❓ Step 3 on web-1: no result from the executor in time",
        ),
        (
            StepResultView(12, 1, "local", "forbidden", reason="forbidden: writes /etc"),
            "#12 ⛔ Step 1 on local: forbidden — forbidden: writes /etc",
        ),
        (
            StepResultView(12, 1, "local", "succeeded", "rollback", 0),
            "#12 ✅ Step 1 (rollback) on local: exit 0",
        ),
    ],
)
def test_step_result_lines(view: StepResultView, text: str) -> None:
    assert step_result_line(view) == text


def test_the_fix_request_says_which_attempt() -> None:
    assert fix_request_line(12, 2, "GPT", 2, 3) == (
        "#12 🩹 Step 2 failed; asking GPT for a fix (attempt 2 of 3)."
    )


def test_the_forbidden_line_gives_the_policy_reason_once() -> None:
    assert forbidden_line(12, 2, "forbidden: deletes /") == (
        "#12 ⛔ Step 2 is forbidden: deletes / (the executor's policy). "
        "The plan stops here and the task fails."
    )


# --- the report -----------------------------------------------------------------------------

REPORT = ReportView(
    task_id=12,
    outcome="failed",
    mission="restart nginx on web-1",
    duration_s=125.3,
    summary="Restart nginx and check it answers",
    runs=(
        RunView(1, "web-1", "df -h", "succeeded", exit_status=0, output="Filesystem 50%\n"),
        RunView(
            2,
            "web-1",
            "systemctl restart nginx",
            "failed",
            exit_status=1,
            output="line\n" * 2000 + "Job for nginx.service failed\n",
            attempt=3,
        ),
        RunView(2, "web-1", "systemctl stop nginx", "succeeded", "rollback", 0, attempt=3),
    ),
    failures=("Gemini: quota exhausted",),
    attempts=3,
    costs=(CostView("Claude", 1234, 0.0123), CostView("GPT", 800, 0.004)),
)


def test_the_report_has_its_sections_in_order() -> None:
    body, markup = report_message(REPORT, output_chars=200)
    lines = body.splitlines()
    assert lines[0] == "#12 ❌ Failed: restart nginx on web-1"
    order = [lines.index(name) for name in ("Done:", "Outputs:", "Failed:")]
    assert order == sorted(order)
    assert "• Step 1 on web-1: df -h — exit 0" in lines
    assert "• Step 2 (rollback) on web-1: systemctl stop nginx — exit 0" in lines
    assert "• Step 2 on web-1: systemctl restart nginx — exit 1" in lines
    assert "• Gemini: quota exhausted" in lines
    assert "Time: 2m 05s · 3 attempts" in lines
    assert "Cost: Claude $0.0123 (1,234 tokens) · GPT $0.0040 (800 tokens) · total $0.0163" in lines
    for section in ("Done:", "Outputs:", "Failed:"):
        assert f"<strong>{section}</strong>" in markup


def test_the_report_shows_the_tail_of_long_outputs_and_attaches_them() -> None:
    body, _ = report_message(REPORT, output_chars=200)
    assert "Step 2 on web-1 (last part):" in body
    assert "```\n…\n" in body
    assert "Job for nginx.service failed" in body
    assert body.count("line\n") < 50
    assert "The full outputs are attached." in body
    attached = report_attachment(REPORT, output_chars=200)
    assert attached is not None
    assert attached.count("line\n") == 2000
    assert "=== step 2 on web-1, attempt 3: exit 1 ===\n$ systemctl restart nginx" in attached
    assert report_filename(12) == "task-12-outputs.log"


def test_short_outputs_are_shown_whole_with_nothing_attached() -> None:
    body, _ = report_message(REPORT, output_chars=100_000)
    assert "…" not in body
    assert "attached" not in body
    assert report_attachment(REPORT, output_chars=100_000) is None


def test_outputs_are_masked_in_the_report() -> None:
    run = RunView(1, "local", "env", "succeeded", exit_status=0, output="PASSWORD=hunter2hunter2\n")
    view = ReportView(12, "completed", "m", 1.0, runs=(run,))
    body, markup = report_message(view)
    assert "hunter2hunter2" not in body
    assert "hunter2hunter2" not in markup


def test_a_task_without_commands_reports_its_answer() -> None:
    view = ReportView(7, "completed", "compare A and B", 42.0, summary="B is better because …")
    body, _ = report_message(view)
    assert body.splitlines()[:4] == [
        "#7 ✅ Done: compare A and B",
        "",
        "Done:",
        "B is better because …",
    ]
    assert "Outputs:" not in body
    assert "Failed:" not in body
    assert "Time: 42 s" in body


def test_a_cancelled_report() -> None:
    body, _ = report_message(ReportView(7, "cancelled", "m", 3.0))
    assert body.startswith("#7 🛑 Cancelled: m")


@pytest.mark.parametrize(
    ("outcome", "seconds", "text"),
    [
        ("completed", 125, "#12 ✅ report disk usage — done in 2m 05s (thread)"),
        ("failed", 3.2, "#12 ❌ report disk usage — failed after 3.2 s (thread)"),
        ("cancelled", 60, "#12 🛑 report disk usage — cancelled after 1m 00s (thread)"),
    ],
)
def test_the_main_timeline_line(outcome: str, seconds: float, text: str) -> None:
    assert timeline_line(12, "report disk usage", outcome, seconds) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("costs", "text"),
    [
        ([CostView("Claude", 0, 0.0)], "Claude $0.0000 (0 tokens)"),
        ([CostView("GPT", 1_234_567, 1.5)], "GPT $1.5000 (1,234,567 tokens)"),
    ],
)
def test_cost_text(costs: list[CostView], text: str) -> None:
    assert cost_text(costs) == text


# --- !task N and !tasks ---------------------------------------------------------------------

T0 = datetime(2026, 12, 3, 16, 0, 0, tzinfo=UTC).timestamp()


def test_task_status_lists_state_waits_and_moves_with_times() -> None:
    view = StatusView(
        task_id=12,
        mission="restart nginx",
        state="awaiting_approval",
        priority="high",
        requester="@master:x",
        created_at=T0,
        moves=(
            MoveView(T0 + 1, "pending", "discussing", "coordinator", "asked 3 agents"),
            MoveView(T0 + 200, "discussing", "planning", "coordinator", "one proposal"),
            MoveView(T0 + 300, "planning", "reviewing", "coordinator"),
            MoveView(T0 + 400, "reviewing", "awaiting_approval", "coordinator"),
        ),
        waiting_for="the master's approval",
        deadline=T0 + 4000,
        attempt=2,
    )
    body, markup = task_status(view, now=T0 + 500)
    assert body.splitlines() == [
        "#12 📋 Task #12: awaiting approval · priority high",
        "Mission: restart nginx",
        "Asked by @master:x at 16:00:00",
        "Attempt 2",
        "Waiting for: the master's approval (for 59m more)",
        "History:",
        "• 16:00:01 pending → discussing (coordinator) — asked 3 agents",
        "• 16:03:20 discussing → planning (coordinator) — one proposal",
        "• 16:05:00 planning → reviewing (coordinator)",
        "• 16:06:40 reviewing → awaiting approval (coordinator)",
    ]
    assert "<li>16:00:01 pending → discussing (coordinator) — asked 3 agents</li>" in markup


@pytest.mark.parametrize(
    ("view", "now", "line"),
    [
        (
            StatusView(1, "m", "paused", "low", "@m:x", T0, paused_from="running"),
            T0,
            "#1 📋 Task #1: paused (from running) · priority low",
        ),
        (
            StatusView(1, "m", "running", "low", "@m:x", T0, waiting_for="step 2", deadline=T0),
            T0 + 5,
            "Waiting for: step 2 (its time is up)",
        ),
        (
            StatusView(
                1, "m", "failed", "low", "@m:x", T0, waiting_for="GPT's minutes", deadline=T0 + 60
            ),
            T0,
            "Still to come: GPT's minutes (for 1m more)",
        ),
        (
            StatusView(1, "m", "running", "low", "@m:x", T0, current_step="step 2 of 3 on web-1"),
            T0,
            "Now: step 2 of 3 on web-1",
        ),
        (
            StatusView(1, "m", "running", "low", "@m:x", T0),
            T0 + 2 * 86_400,
            "Asked by @m:x at 2026-12-03 16:00",
        ),
    ],
)
def test_task_status_details(view: StatusView, now: float, line: str) -> None:
    assert line in task_status(view, now=now)[0].splitlines()


@pytest.mark.parametrize(
    ("tasks", "state", "body"),
    [
        ([], None, "No tasks yet."),
        ([], "awaiting_approval", "No tasks are awaiting approval."),
        (
            [
                TaskLine(13, "running", "high", "restart nginx"),
                TaskLine(12, "awaiting_approval", "medium", "x" * 100, "the master's approval"),
            ],
            None,
            "Tasks (2):\n• #13 running · high · restart nginx\n"
            f"• #12 awaiting approval · medium · {'x' * 79}… — waiting for the master's approval",
        ),
        (
            [TaskLine(14, "completed", "low", "df", "GPT's minutes")],
            None,
            "Tasks (1):\n• #14 completed · low · df",
        ),
        (
            [TaskLine(13, "running", "high", "restart\nnginx")],
            "running",
            "Tasks running (1):\n• #13 running · high · restart nginx",
        ),
    ],
)
def test_the_task_list(tasks: list[TaskLine], state: str | None, body: str) -> None:
    assert task_list(tasks, state=state)[0] == body


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "text"),
    [([], "nobody"), (["A"], "A"), (["A", "B"], "A and B"), (["A", "B", "C"], "A, B and C")],
)
def test_names(items: list[str], text: str) -> None:
    assert names(items) == text


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [("abc", 3, "abc"), ("abcd", 3, "ab…"), ("  ab  ", 2, "ab"), ("ab cd", 4, "ab…")],
)
def test_clip(text: str, limit: int, clipped: str) -> None:
    assert clip(text, limit) == clipped


@pytest.mark.parametrize(
    ("text", "limit", "result"),
    [
        ("short", 10, ("short", False)),
        ("one\ntwo\nthree", 9, ("…\nthree", True)),
        ("abcdefghij", 5, ("…\nhij", True)),
    ],
)
def test_tail(text: str, limit: int, result: tuple[str, bool]) -> None:
    assert tail(text, limit) == result


def test_no_html_is_left_unescaped() -> None:
    view = PlanView(1, 1, "<b>GPT</b>", (StepView(1, "h", CommandView("<x>", ALLOW), "<p>"),), 60)
    _, markup = plan_message(view)
    assert not re.search(r"<(?!/?(?:p|strong|em|code|pre|br|ul|li)>)", markup)
