"""Minutes and status reports, pure: the facts of a task → the fixed-format status report
("Done / Errors / Fixed / On hold", "—" when empty), the scribe's input and the message."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bots.tasks.minutes import (
    DiscussionLine,
    Minutes,
    PlannedStep,
    ProposalFact,
    RunFact,
    StatusReport,
    TaskFacts,
    decision_record,
    discussion_input,
    discussion_record,
    minutes_body,
    minutes_message,
    scribe_answer_body,
    scribe_input,
    status_block,
    status_report,
    task_head,
)


def run(
    attempt: int,
    step: int,
    command: str,
    status: str = "succeeded",
    exit_status: int | None = 0,
    kind: str = "main",
    host: str = "local",
) -> RunFact:
    return RunFact(attempt, step, kind, host, command, status, exit_status)


FACTS = TaskFacts(task_id=12, mission="upgrade web-1", state="completed")


@pytest.mark.parametrize(
    ("facts", "block"),
    [
        (
            FACTS,
            "Done: answered without commands\nErrors: —\nFixed: —\nOn hold: —",
        ),
        (
            TaskFacts(12, "say hi", "completed", answer="Hello, master."),
            "Done: answered without commands: Hello, master.\nErrors: —\nFixed: —\nOn hold: —",
        ),
        (
            TaskFacts(12, "disk", "completed", runs=(run(1, 1, "df -h"),)),
            "Done: step 1 `df -h` on local\nErrors: —\nFixed: —\nOn hold: —",
        ),
        (
            TaskFacts(
                12,
                "upgrade",
                "completed",
                runs=(
                    run(1, 1, "apt-get upgrade", "failed", 100, host="web-1"),
                    run(2, 1, "apt-get clean && apt-get upgrade", host="web-1"),
                ),
            ),
            "Done: step 1 `apt-get clean && apt-get upgrade` on web-1\nErrors: —\n"
            "Fixed: step 1 `apt-get upgrade` on web-1 failed (exit 100) in attempt 1; "
            "attempt 2 ran `apt-get clean && apt-get upgrade` instead\nOn hold: —",
        ),
        (
            TaskFacts(
                12,
                "restart",
                "failed",
                reason="3 attempts failed",
                planned=(PlannedStep(1, "local", "true"), PlannedStep(2, "local", "reboot")),
                runs=(run(1, 1, "true"), run(1, 2, "reboot", "denied", None)),
            ),
            "Done: step 1 `true` on local\nErrors: step 2 `reboot` on local was denied\n"
            "Fixed: —\nOn hold: —",
        ),
        (
            TaskFacts(
                12,
                "restart",
                "failed",
                planned=(PlannedStep(1, "local", "a"), PlannedStep(2, "local", "b")),
                runs=(
                    run(1, 1, "a", "failed", 1),
                    run(1, 1, "undo a", kind="rollback"),
                ),
            ),
            "Done: —\nErrors: step 1 `a` on local failed (exit 1); step 1 rolled back with "
            "`undo a`\nFixed: —\nOn hold: step 2 `b` on local: not run",
        ),
        (
            TaskFacts(12, "x", "failed", reason="no proposal came: Claude: quota exhausted"),
            "Done: —\nErrors: no proposal came: Claude: quota exhausted\nFixed: —\nOn hold: —",
        ),
        (
            TaskFacts(
                12,
                "x",
                "cancelled",
                reason="Cancelled by the master while running.",
                runs=(run(1, 1, "sleep 100", "sent", None),),
            ),
            "Done: —\nErrors: —\nFixed: —\nOn hold: step 1 `sleep 100` on local: no result "
            "yet; Cancelled by the master while running.",
        ),
        (
            TaskFacts(
                12,
                "x",
                "awaiting_approval",
                reason="waiting for the master's approval",
                planned=(PlannedStep(1, "local", "df -h"),),
            ),
            "Done: —\nErrors: —\nFixed: —\nOn hold: step 1 `df -h` on local: not run; the "
            "task is awaiting approval; waiting for the master's approval",
        ),
        (
            TaskFacts(
                12,
                "x",
                "completed",
                runs=(run(1, 1, "df -h"), run(1, 1, "test -d /", kind="verify")),
                agent_failures=("Gemini (proposal): quota exhausted",),
            ),
            "Done: step 1 `df -h` on local; step 1 check `test -d /` on local\n"
            "Errors: Gemini (proposal): quota exhausted\nFixed: —\nOn hold: —",
        ),
    ],
    ids=[
        "nothing-run",
        "an-answer",
        "one-step",
        "a-failure-fixed-by-another-command",
        "a-denied-step",
        "rolled-back-and-a-step-never-run",
        "failed-before-planning",
        "cancelled-mid-step",
        "still-active",
        "a-check-and-a-failed-agent",
    ],
)
def test_status_report_from_facts(facts: TaskFacts, block: str) -> None:
    assert status_block(status_report(facts)) == block


PROPOSED = TaskFacts(
    task_id=3,
    mission="report disk usage of local",
    state="completed",
    proposals=(
        ProposalFact("Claude", "A", "Run df -h."),
        ProposalFact("GPT", "B", "Use du on /var."),
    ),
    votes=(("Claude", "B"), ("GPT", "A"), ("Gemini", "B")),
    decision="GPT's proposal (B) won the vote",
    plan_author="GPT",
    plan_summary="Measure /var.",
    runs=(run(1, 1, "du -sh /var"),),
)


@pytest.mark.parametrize(
    ("facts", "record"),
    [
        (
            PROPOSED,
            "Proposals: Claude (A), GPT (B). Decision: GPT's proposal (B) won the vote.",
        ),
        (
            TaskFacts(3, "x", "completed", proposals=(ProposalFact("Claude", None, "df"),)),
            "Proposals: Claude. Decision: none.",
        ),
        (TaskFacts(3, "x", "failed"), "Proposals: none. Decision: none."),
        (
            TaskFacts(
                3,
                "x",
                "completed",
                decision="the task was divided into parts (no vote), merged by GPT",
                parts=("1. Search — Perplexity ✅", "2. Write — Claude ❌ missing: no answer"),
            ),
            "Parts: 1. Search — Perplexity ✅; 2. Write — Claude ❌ missing: no answer. "
            "Decision: the task was divided into parts (no vote), merged by GPT.",
        ),
    ],
    ids=["a-vote", "one-proposal", "nothing", "divided"],
)
def test_the_decision_record_names_proposals_and_decision(facts: TaskFacts, record: str) -> None:
    assert decision_record(facts) == record


def test_the_scribe_reads_who_proposed_what_the_vote_the_decision_and_the_runs() -> None:
    assert scribe_input(PROPOSED) == [
        "Task #3: report disk usage of local",
        "Outcome: completed",
        "Proposals:",
        "- Claude (A): Run df -h.",
        "- GPT (B): Use du on /var.",
        "Votes: Claude → B; GPT → A; Gemini → B",
        "Tally: B 2, A 1",
        "Decision: GPT's proposal (B) won the vote",
        "Plan by GPT: Measure /var.",
        "Run:",
        "- attempt 1, step 1 `du -sh /var` on local: succeeded, exit 0",
        "Open items: none",
    ]


def test_the_scribe_reads_the_critiques_and_who_revised() -> None:
    facts = replace(
        PROPOSED,
        critiques=("Claude on B: misses the backup", "GPT on A: df alone says too little"),
        revised=("GPT",),
    )
    lines = scribe_input(facts)
    at = lines.index("Critiques:")
    assert lines[at - 1] == "- GPT (B): Use du on /var."
    assert lines[at + 1 : at + 4] == [
        "- Claude on B: misses the backup",
        "- GPT on A: df alone says too little",
        "Revised after the critiques: GPT",
    ]
    assert lines[at + 4].startswith("Votes: ")


def test_the_scribe_reads_a_divided_tasks_parts_instead_of_no_proposals() -> None:
    facts = TaskFacts(
        5,
        "survey prices",
        "completed",
        decision="the task was divided into parts (no vote), merged by GPT",
        parts=("1. Search — Perplexity ✅", "2. Write — Claude ✅"),
        answer="Prices compared.",
    )
    lines = scribe_input(facts)
    assert "Proposals: none" not in lines
    at = lines.index("Parts:")
    assert lines[at + 1 : at + 3] == ["- 1. Search — Perplexity ✅", "- 2. Write — Claude ✅"]
    assert lines[at + 3] == "Decision: the task was divided into parts (no vote), merged by GPT"


def test_the_scribe_reads_why_a_task_failed_and_what_is_open() -> None:
    facts = TaskFacts(
        4,
        "upgrade web-1",
        "failed",
        reason="3 attempts failed",
        runs=(run(1, 1, "apt-get upgrade", "failed", 100),),
        agent_failures=("Gemini (proposal): quota exhausted",),
    )
    lines = scribe_input(facts)
    assert lines[1] == "Outcome: failed — 3 attempts failed"
    assert "Proposals: none" in lines
    assert lines[-2] == "Agents that failed: Gemini (proposal): quota exhausted"
    assert lines[-1] == (
        "Open items: step 1 `apt-get upgrade` on local failed (exit 100); "
        "Gemini (proposal): quota exhausted"
    )


@pytest.mark.parametrize(
    ("minutes", "body"),
    [
        (
            Minutes(
                task_head(3, "report disk usage"),
                scribe_text="GPT's plan won; du ran fine.",
                record="Proposals: Claude (A), GPT (B). Decision: GPT's proposal (B) won.",
                status=StatusReport(done=("step 1 `du` on local",)),
            ),
            "#3 🗒️ Minutes of task #3: report disk usage\n\nGPT's plan won; du ran fine.\n\n"
            "Proposals: Claude (A), GPT (B). Decision: GPT's proposal (B) won.\n\n**Status**\n"
            "- Done: step 1 `du` on local\n- Errors: —\n- Fixed: —\n- On hold: —",
        ),
        (
            Minutes(
                task_head(3, "x"),
                scribe_problem="GPT did not answer within 3 min",
                facts=("Task #3: x", "Outcome: completed"),
                status=StatusReport(),
            ),
            "#3 🗒️ Minutes of task #3: x\n\n(No minutes from the scribe: GPT did not answer "
            "within 3 min. The facts as recorded:)\n\nTask #3: x\nOutcome: completed\n\n"
            "**Status**\n- Done: —\n- Errors: —\n- Fixed: —\n- On hold: —",
        ),
        (
            Minutes(
                "🗒️ Minutes of the discussion (2 messages with Master)",
                scribe_problem="GPT could not write them: quota exhausted",
            ),
            "🗒️ Minutes of the discussion (2 messages with Master)\n\n(No minutes from the "
            "scribe: GPT could not write them: quota exhausted.)",
        ),
    ],
    ids=["written", "scribe-silent", "a-discussion-without-minutes"],
)
def test_the_minutes_message(minutes: Minutes, body: str) -> None:
    text, html = minutes_message(minutes)
    assert text == body
    assert ("<strong>Status</strong>" in html) is (minutes.status is not None)


WRITTEN = Minutes(
    task_head(3, "report disk usage"),
    scribe_text="GPT's plan won; du ran fine.",
    record="Proposals: Claude (A), GPT (B). Decision: GPT's proposal (B) won.",
    status=StatusReport(done=("step 1 `du` on local",)),
)
SILENT = Minutes(
    task_head(3, "x"),
    scribe_problem="GPT did not answer within 3 min",
    facts=("Task #3: x", "Outcome: completed"),
    record="Proposals: none. Decision: none.",
    status=StatusReport(),
)


TALK = Minutes(
    "🗒️ Minutes of the discussion (2 messages with Master and Claude)",
    scribe_text="The master asked; Claude backed Caddy.",
    record="Who said what:\n- Master (1): nginx or caddy?\n- Claude (1): Caddy.",
)


@pytest.mark.parametrize(
    ("minutes", "body"),
    [
        (
            WRITTEN,
            "#3 🗒️ Minutes of task #3: report disk usage\n\n"
            "Proposals: Claude (A), GPT (B). Decision: GPT's proposal (B) won.\n\n**Status**\n"
            "- Done: step 1 `du` on local\n- Errors: —\n- Fixed: —\n- On hold: —",
        ),
        (SILENT, minutes_body(SILENT)),
        (
            TALK,
            "🗒️ Minutes of the discussion (2 messages with Master and Claude)\n\n"
            "Who said what:\n- Master (1): nginx or caddy?\n- Claude (1): Caddy.",
        ),
    ],
    ids=[
        "the-scribes-text-is-not-said-twice",
        "without-it-the-post-is-the-whole",
        "a-discussion-the-same",
    ],
)
def test_the_coordinators_post_after_the_scribes_own_message(minutes: Minutes, body: str) -> None:
    """The scribe's answer is in the thread already: the post adds only the decision and
    the status (a discussion's: who said what); the stored minutes (`minutes_body`) stay
    the whole, each paragraph once."""
    text, html = minutes_message(minutes, scribe_posted=True)
    assert text == body
    assert ("<strong>Status</strong>" in html) is (minutes.status is not None)
    whole = minutes_body(minutes).split("\n\n")
    assert len(whole) == len(set(whole))
    if minutes.scribe_text:
        assert minutes.scribe_text not in text
        assert minutes.scribe_text in minutes_body(minutes)


@pytest.mark.parametrize(
    ("task", "text", "body"),
    [(12, " The minutes. ", "#12 🗒️ The minutes."), (0, "Talked.", "🗒️ Talked.")],
)
def test_the_scribes_answer_body(task: int, text: str, body: str) -> None:
    assert scribe_answer_body(task, text) == body


def test_a_long_discussion_keeps_its_newest_lines() -> None:
    lines = [DiscussionLine("Claude", f"message {n} " + "x" * 80) for n in range(100)]
    kept = discussion_input(lines, max_chars=1000)
    assert kept[-1].startswith("Claude: message 99 ")
    assert sum(len(k) + 1 for k in kept) <= 1000
    assert len(kept) < 100
    assert discussion_input([DiscussionLine("Master", "a\n  b")]) == ["Master: a b"]


@pytest.mark.parametrize(
    ("lines", "record"),
    [
        ([], "Who said what: nobody."),
        (
            [
                DiscussionLine("Master", "We keep nginx.\nFor now."),
                DiscussionLine("Claude", "Caddy renews TLS by itself."),
                DiscussionLine("Master", "Caddy in the spring."),
            ],
            "Who said what:\n- Master (2): We keep nginx. · Caddy in the spring.\n"
            "- Claude (1): Caddy renews TLS by itself.",
        ),
        (
            [DiscussionLine("GPT", "y" * 400)],
            "Who said what:\n- GPT (1): " + "y" * 159 + "…",
        ),
        (
            [DiscussionLine("GPT", "a" * 150) for _ in range(3)],
            "Who said what:\n- GPT (3): " + " · ".join(["a" * 150, "a" * 150, "a" * 13]) + "…",
        ),
        (
            [DiscussionLine("GPT", "  \n "), DiscussionLine("GPT", "ok")],
            "Who said what:\n- GPT (2): (empty) · ok",
        ),
    ],
    ids=[
        "nobody",
        "in-the-order-they-first-spoke",
        "a-line-is-clipped",
        "a-speaker-is-clipped",
        "an-empty-message",
    ],
)
def test_who_said_what(lines: list[DiscussionLine], record: str) -> None:
    assert discussion_record(lines) == record
