"""The coordinator's task engine from intake to approval, against the real store and a
recording homeserver (our own Outbox protocol, not nio), answers fed as Messages and the
clock injected.

- Intake acknowledges in the thread and asks the participants in one notice.
- Two or more proposals become an anonymised poll; votes decide (the master's first), a tie
  waits for the master and then the judge; the poll is ended with the tally.
- One proposal skips the vote; none fails the task, naming who was silent or failed and why.
- The winner's plan is parsed; an invalid one is asked for again once, then the task fails.
- The policy judges every command (a forbidden one fails the task); the judge's "reject"
  sends the plan back once.
- The plan is shown verbatim with its verdicts and ✅ ❌; ✅ runs it, ❌ re-plans, silence
  expires it; read-only plans may be approved by the policy.
- Restarted on the same store, the engine sends nothing twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.coordinator.tasks import facts
from bots.errors import CommandError, StoreError
from bots.events import COUNCIL_KEY, POLL_END, POLL_START
from bots.ids import EventID
from bots.tasks.intake import TaskOrder
from tests.support.task_engine import (
    FORBIDDEN_PLAN,
    INTAKE,
    MASTER,
    READ_ONLY_PLAN,
    ROOM,
    WRITING_PLAN,
    Bench,
    open_bench,
    use,
)


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    bench = await open_bench(tmp_path)
    yield bench
    await bench.store.close()


# --- intake and proposals -------------------------------------------------------------------


async def test_intake_acknowledges_in_the_thread_and_asks_every_participant(bench: Bench) -> None:
    task = await bench.order()
    assert (task.id, task.state) == (1, "discussing")
    ack = bench.matrix.by_key("ack")
    assert ack.body.startswith(
        "#1 📋 Task #1 registered: report disk usage of local, priority medium"
    )
    assert "Asking Claude, GPT and Gemini for proposals (3 min)." in ack.body
    assert ack.reply is not None
    assert ack.reply.thread_root == INTAKE
    assert ack.reply.notice
    assert ack.content["ask"] == "t1-propose-1"
    assert ack.content["agents"] == ["claude", "gpt", "gemini"]
    assert ack.content["deadline_ms"] == int((bench.clock.now + 180) * 1000)
    assert (await bench.order()).id == 1, "the same intake key is the same task"
    assert bench.matrix.sent_keys() == ["ack"]


async def test_a_task_from_outside_matrix_is_rooted_at_its_ack(bench: Bench) -> None:
    task = await bench.service.intake(
        TaskOrder("say hello"),
        requester=MASTER,
        source="http",
        room_id=ROOM,
        thread_root=None,
        intake_key="http-1",
    )
    assert task.thread_root == bench.matrix.by_key("ack").event_id


@pytest.mark.parametrize(
    ("answers", "state", "says"),
    [
        # (agent, status, reason) answered; the others stay silent until the deadline
        (
            [("claude", "ok", None), ("gpt", "failed", "quota exhausted")],
            "planning",
            "#1 ⚠️ GPT: quota exhausted — skipped.\n#1 ⚠️ Gemini: no answer within 3 min — skipped.",
        ),
        (
            [("gemini", "failed", "no credentials")],
            "failed",
            "#1 ⚠️ Claude: no answer within 3 min — skipped.\n"
            "#1 ⚠️ GPT: no answer within 3 min — skipped.\n"
            "#1 ⚠️ Gemini: no credentials — skipped.",
        ),
    ],
    ids=["one-proposal-skips-the-vote", "none-fails"],
)
async def test_the_deadline_names_the_silent_and_the_failed(
    bench: Bench, answers: list[tuple[str, str, str | None]], state: str, says: str
) -> None:
    await bench.order()
    for agent, status, reason in answers:
        await bench.answer(agent, "t1-propose-1", "Run df -h.", status=status, reason=reason)
    assert (await bench.task()).state == "discussing"
    await bench.later(179)
    assert (await bench.task()).state == "discussing"
    await bench.later(1)
    task = await bench.task()
    assert task.state == state
    assert bench.matrix.by_key("proposals-missing").body == says
    if state == "planning":
        assert task.winner == "claude"
        assert "poll-1" not in bench.matrix.sent_keys()
    else:
        assert "no proposal came" in task.note


# --- voting ---------------------------------------------------------------------------------


async def test_proposals_become_an_anonymised_poll(bench: Bench) -> None:
    await bench.order()
    await bench.propose_all()
    assert (await bench.task()).state == "voting"
    poll = bench.matrix.by_key("poll-1")
    assert poll.kind == POLL_START
    answers = poll.content[POLL_START]["answers"]
    assert [a["id"] for a in answers] == ["A", "B", "C"]
    assert "Claude" not in str(answers), "options are anonymised"
    council = poll.content[COUNCIL_KEY]
    assert council["stage"] == "vote"
    assert council["ask"] == "t1-vote-1"
    assert council["context"]["own"] == {"claude": "A", "gpt": "B", "gemini": "C"}
    assert [o["text"] for o in council["context"]["options"]] == [
        "Run df -h on local.",
        "Use du on /var.",
        "Check df -i too.",
    ]
    assert all("author" not in o for o in council["context"]["options"])


@pytest.mark.parametrize(
    ("votes", "winner", "why"),
    [
        # voter → key; claude wrote A, gpt B, gemini C
        ({"claude": "B", "gpt": "A", "gemini": "B"}, "gpt", "B wins — A 1 · B 2 · C 0."),
        (
            {"claude": "B", "gpt": "A", "gemini": "A", MASTER: "C"},
            "gemini",
            "the master chose C — A 0 · B 0 · C 1.",  # at once: nobody else had voted
        ),
    ],
    ids=["plurality", "master-decides"],
)
async def test_votes_decide_the_winner(
    bench: Bench, votes: dict[str, str], winner: str, why: str
) -> None:
    await bench.order()
    await bench.propose_all()
    if MASTER in votes:
        await bench.vote(MASTER, votes[MASTER])
    for voter, key in votes.items():
        if voter != MASTER:
            await bench.vote(bench.user(voter), key)
    task = await bench.task()
    assert (task.state, task.winner) == ("planning", winner)
    end = bench.matrix.by_key("poll-end")
    assert end.kind == POLL_END
    assert end.content["m.relates_to"]["event_id"] == bench.matrix.by_key("poll-1").event_id
    assert end.body == f"#1 🗳️ Vote closed: {why}"
    assert bench.matrix.by_key("winner").body.startswith("#1 🏆")
    assert bench.matrix.by_key("plan-ask-1").content["agents"] == [winner]


@pytest.mark.parametrize(
    ("gpt", "not_counted"),
    [
        ("A", ""),
        (None, " Not counted: GPT: no answer."),
        ("", " Not counted: GPT: no valid vote."),
        ("failed", " Not counted: GPT: failed (quota exhausted)."),
        ("B", " Not counted: GPT: voted for its own proposal."),
    ],
    ids=["everyone", "silent", "no valid vote", "failed", "its own proposal"],
)
async def test_the_closed_vote_names_each_agent_not_counted_and_why(
    bench: Bench, gpt: str | None, not_counted: str
) -> None:
    """claude wrote A, gpt B, gemini C; claude and gemini vote B, gpt as given; the vote
    closes at its deadline (or once everyone has voted)."""
    await bench.order()
    await bench.propose_all()
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gemini"), "B")
    if gpt == "failed":
        await bench.answer("gpt", "t1-vote-1", "", status="failed", reason="quota exhausted")
    elif gpt == "":
        await bench.answer("gpt", "t1-vote-1", "I like them all")
    elif gpt is not None:
        await bench.vote(bench.user("gpt"), gpt)
    await bench.later(120)
    assert (await bench.task()).state == "planning"
    counts = "A 1 · B 2 · C 0" if gpt == "A" else "A 0 · B 2 · C 0"
    assert bench.matrix.by_key("poll-end").body == (
        f"#1 🗳️ Vote closed: B wins — {counts}.{not_counted}"
    )


@pytest.mark.parametrize(
    ("self_vote", "state", "winner"),
    [(False, "voting", None), (True, "planning", "claude")],
    ids=["ignored-a-tie", "allowed-decides"],
)
async def test_a_self_vote(bench: Bench, self_vote: bool, state: str, winner: str | None) -> None:
    use(bench, self_vote=self_vote)
    await bench.order()
    await bench.propose_all()
    await bench.vote(bench.user("claude"), "A")  # its own
    await bench.vote(bench.user("gpt"), "A")
    await bench.vote(bench.user("gemini"), "B")
    task = await bench.task()
    assert (task.state, task.winner) == (state, winner)


async def test_the_masters_vote_decides_at_once(bench: Bench) -> None:
    await bench.order()
    await bench.propose_all()
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(MASTER, "A")
    task = await bench.task()
    assert (task.state, task.winner) == ("planning", "claude")


async def test_weights_count(bench: Bench) -> None:
    use(bench, weights={"claude": 3.0})
    await bench.order()
    await bench.propose_all()
    await bench.vote(bench.user("claude"), "C")
    await bench.vote(bench.user("gpt"), "A")
    await bench.vote(bench.user("gemini"), "A")
    assert (await bench.task()).winner == "gemini"


async def test_a_tie_waits_for_the_master_then_the_judge_chooses(bench: Bench) -> None:
    await bench.order()
    await bench.propose_all()
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gpt"), "A")
    await bench.answer("gemini", "t1-vote-1", "", status="failed", reason="quota exhausted")
    task = await bench.task()
    assert task.state == "voting"
    assert "tie between A and B" in task.waiting_for
    tie = bench.matrix.by_key("tie")
    assert tie.reply is not None
    assert tie.reply.mention == (MASTER,)
    assert not tie.reply.notice
    await bench.later(299)
    assert "tie-ask" not in bench.matrix.sent_keys()
    await bench.later(1)
    ask = bench.matrix.by_key("tie-ask")
    assert ask.kind == POLL_START, "an agent votes from a poll start"
    assert [a["id"] for a in ask.content[POLL_START]["answers"]] == ["A", "B"]
    council = ask.content[COUNCIL_KEY]
    assert council["agents"] == ["gpt"]
    assert council["context"]["tie"] == ["A", "B"]
    await bench.vote(bench.user("claude"), "A", poll=ask.event_id)  # not the judge: ignored
    assert (await bench.task()).state == "voting"
    await bench.vote(bench.user("gpt"), "B", poll=ask.event_id)
    await bench.answer("gpt", "t1-tie-1", "B — du is finer.", choice="B")
    task = await bench.task()
    assert (task.state, task.winner) == ("planning", "gpt")
    assert bench.matrix.by_key("winner").body == (
        "#1 ⚖️ GPT (judge) broke the tie: B.\n#1 🏆 B wins: GPT's proposal. GPT writes the plan."
    )


async def test_a_judge_that_does_not_choose_leaves_the_earliest(bench: Bench) -> None:
    await bench.order()
    await bench.propose_all()
    await bench.later(120)  # nobody voted
    await bench.later(300)  # nor did the master
    await bench.answer("gpt", "t1-tie-1", "", status="failed", reason="quota exhausted")
    task = await bench.task()
    assert (task.state, task.winner) == ("planning", "claude")
    ends = [s for s in bench.matrix.sent if s.kind == POLL_END]
    assert len(ends) == 2, "both polls are closed"


async def test_the_master_breaks_a_tie(bench: Bench) -> None:
    await bench.order()
    await bench.propose_all()
    await bench.later(120)  # nobody voted: every option is tied
    assert "tie" in bench.matrix.sent_keys()
    await bench.vote(MASTER, "C")
    assert (await bench.task()).winner == "gemini"


# --- planning -------------------------------------------------------------------------------


async def test_the_plan_ask_carries_the_proposals_and_the_hosts(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    ask = bench.matrix.by_key("plan-ask-1")
    assert ask.content["ask"] == "t1-plan-1"
    assert ask.content["agents"] == ["claude"]
    context = ask.content["context"]
    assert context["proposal"] == "Run df -h on local."
    assert context["others"] == []
    assert list(context["hosts"]) == ["local"]


async def test_an_invalid_plan_is_asked_again_once_then_fails(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", '{"steps": [{"host": "web9", "command": "df"}]}')
    again = bench.matrix.by_key("plan-ask-1-r")
    assert again.content["ask"] == "t1-plan-1-r"
    assert "web9" in again.content["context"]["error"]
    assert "web9" in again.body
    assert (await bench.task()).state == "planning"
    await bench.answer("claude", "t1-plan-1-r", "Sorry, I cannot.")
    task = await bench.task()
    assert task.state == "failed"
    assert task.note.startswith("the plan from Claude was invalid twice:")


async def test_a_corrected_plan_goes_on(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", "df -h, I think")
    await bench.answer("claude", "t1-plan-1-r", READ_ONLY_PLAN)
    assert (await bench.task()).state == "reviewing"


@pytest.mark.parametrize(
    ("answer", "status", "note"),
    [
        (None, "", "Claude sent no plan within 3 min"),
        ("", "failed", "Claude could not write the plan: budget exhausted"),
    ],
    ids=["silent", "failed"],
)
async def test_no_plan_fails_with_the_reason(
    bench: Bench, answer: str | None, status: str, note: str
) -> None:
    await bench.to_planning_with_one_proposal()
    if answer is not None:
        await bench.answer("claude", "t1-plan-1", answer, status=status, reason="budget exhausted")
    else:
        await bench.later(180)
    task = await bench.task()
    assert (task.state, task.note) == ("failed", note)


async def test_a_plan_of_no_steps_completes_the_task(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", '{"summary": "Nginx is fine.", "steps": []}')
    task = await bench.task()
    assert (task.state, task.note) == ("completed", "Nginx is fine.")


async def test_a_winner_that_needs_no_command_is_asked_to_refine(bench: Bench) -> None:
    await bench.order("compare nginx and caddy")
    await bench.answer("claude", "t1-propose-1", "Caddy is simpler.\nCOMMANDS: no", commands=False)
    await bench.later(180)
    task = await bench.task()
    assert task.state == "completed"
    assert "plan-ask-1" not in bench.matrix.sent_keys()
    refine = bench.matrix.by_key("ask-refine")  # part E2's report asks for the final answer
    assert refine.content["stage"] == "refine"
    assert refine.content["agents"] == ["claude"]


# --- review ---------------------------------------------------------------------------------


async def test_a_forbidden_step_fails_the_task_naming_it(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", FORBIDDEN_PLAN)
    task = await bench.task()
    assert task.state == "failed"
    assert task.note.startswith("step 2 on local is forbidden: `dd if=/dev/zero of=/dev/sda` —")
    assert "review-ask-1" not in bench.matrix.sent_keys()
    said = bench.matrix.by_key("forbidden").body
    assert said.startswith("#1 ⛔ Step 2 is forbidden")
    assert said.endswith("\n    dd if=/dev/zero of=/dev/sda")


async def test_the_judge_reviews_with_the_verdicts(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", WRITING_PLAN)
    ask = bench.matrix.by_key("review-ask-1")
    assert ask.content["agents"] == ["gpt"]
    assert ask.content["stage"] == "review"
    [verdict] = ask.content["context"]["verdicts"]
    assert (verdict["step"], verdict["verdict"]) == (1, "needs_approval")
    assert '"command": "touch /tmp/x"' in ask.content["context"]["plan"]


async def test_a_rejection_sends_the_plan_back_once(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", WRITING_PLAN)
    await bench.answer("gpt", "t1-review-1", "REJECT: touching /tmp is pointless.")
    assert (await bench.task()).state == "planning"
    assert bench.matrix.by_key("review-rejected-1").body == (
        "#1 🔎 GPT rejected the plan: REJECT: touching /tmp is pointless. — Claude plans again "
        "(once)."
    )
    ask = bench.matrix.by_key("plan-ask-2")
    assert ask.content["ask"] == "t1-plan-2"
    assert ask.content["context"]["review"] == "REJECT: touching /tmp is pointless."
    await bench.answer("claude", "t1-plan-2", WRITING_PLAN)
    await bench.answer("gpt", "t1-review-2", "Reject, still.")
    task = await bench.task()
    assert task.state == "awaiting_approval", "the judge is advisory: one rejection only"
    assert "Reject, still." in bench.matrix.by_key("plan-msg-2").body


@pytest.mark.parametrize(
    ("text", "verdict", "state"),
    [
        ("VERDICT: reject\nREASON: too broad", None, "planning"),
        ("Looks risky but fine.", "reject", "planning"),
        ("Nothing to reject here.", "approve", "awaiting_approval"),
        ("I would not reject this.", None, "awaiting_approval"),
    ],
    ids=["reject-line", "declared-reject", "declared-approve", "reject-mid-sentence"],
)
async def test_what_counts_as_a_rejection(
    bench: Bench, text: str, verdict: str | None, state: str
) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", WRITING_PLAN)
    if verdict is None:
        await bench.answer("gpt", "t1-review-1", text)
    else:
        await bench.answer("gpt", "t1-review-1", text, verdict=verdict)
    assert (await bench.task()).state == state


async def test_a_silent_judge_does_not_hold_the_plan(bench: Bench) -> None:
    await bench.to_planning_with_one_proposal()
    await bench.answer("claude", "t1-plan-1", WRITING_PLAN)
    await bench.later(120)
    assert (await bench.task()).state == "awaiting_approval"
    assert "no review from GPT within 2 min" in bench.matrix.by_key("plan-msg-1").body


# --- approval -------------------------------------------------------------------------------


async def test_the_plan_is_shown_verbatim_with_its_verdicts(bench: Bench) -> None:
    plan = await bench.to_approval(WRITING_PLAN)
    task = await bench.task()
    assert task.state == "awaiting_approval"
    assert task.plan_event == plan.event_id
    assert plan.reply is not None
    assert not plan.reply.notice
    assert plan.reply.mention == (MASTER,)
    assert "Step 1 on local — mark [needs approval]\n    touch /tmp/x\n" in plan.body
    assert "expires in 1h." in plan.body
    council = plan.content
    assert (council["kind"], council["digest"], council["attempt"]) == ("plan", task.plan_digest, 1)
    assert council["steps"][0]["command"] == "touch /tmp/x"
    reactions = [s for s in bench.matrix.sent if s.kind == "m.reaction"]
    assert [r.content["m.relates_to"]["key"] for r in reactions] == ["✅", "❌"]
    assert {r.content["m.relates_to"]["event_id"] for r in reactions} == {plan.event_id}


@pytest.mark.parametrize("key", ["✅", "✅\ufe0f"], ids=["plain", "with-variation-selector"])
async def test_a_tick_on_the_plan_approves_it(bench: Bench, key: str) -> None:
    plan = await bench.to_approval(WRITING_PLAN)
    [reply] = await bench.react(plan.event_id, key)
    assert reply.body == "#1 ✅ Approved by the master: running 1 step."
    task = await bench.task()
    assert (task.state, task.approved_by) == ("running", MASTER)
    assert task.approval_event is not None
    assert task.approval_event.startswith("$r")


async def test_approvals_that_do_not_count(bench: Bench) -> None:
    plan = await bench.to_approval(WRITING_PLAN)
    assert await bench.react(plan.event_id, "✅", sender=bench.user("claude")) == []
    assert await bench.react(bench.matrix.by_key("ack").event_id, "✅") == []
    assert await bench.react(plan.event_id, "👍") == []
    assert (await bench.task()).state == "awaiting_approval"
    assert (
        await bench.service.approve(1, MASTER, EventID("$cmd"))
        == "#1 ✅ Approved by the master: running 1 step."
    )
    with pytest.raises(CommandError, match="#1 is running: no plan waits for approval"):
        await bench.service.approve(1, MASTER, EventID("$again"))


async def test_a_denial_sends_the_plan_back_with_the_reason(bench: Bench) -> None:
    await bench.to_approval(WRITING_PLAN)
    text = await bench.service.deny(1, MASTER, "use /var/tmp", EventID("$deny"))
    assert text == "#1 ↩️ Denied by the master: use /var/tmp. Claude plans again."
    task = await bench.task()
    assert (task.state, task.plan_event) == ("planning", None)
    assert bench.matrix.by_key("plan-ask-2").content["context"]["denied"] == "use /var/tmp"


async def test_a_cross_on_the_plan_denies_it(bench: Bench) -> None:
    plan = await bench.to_approval(WRITING_PLAN)
    await bench.react(plan.event_id, "❌")
    assert (await bench.task()).state == "planning"


async def test_an_unanswered_plan_expires(bench: Bench) -> None:
    await bench.to_approval(WRITING_PLAN)
    await bench.later(3600)
    task = await bench.task()
    assert (task.state, task.note) == ("failed", "approval expired; !retry 1")


async def test_a_read_only_plan_may_be_approved_by_the_policy(bench: Bench) -> None:
    use(bench, auto_approve_readonly=True)
    await bench.to_approval(READ_ONLY_PLAN)
    task = await bench.task()
    assert (task.state, task.approved_by) == ("running", "policy")


async def test_a_plan_that_writes_is_never_approved_by_the_policy(bench: Bench) -> None:
    use(bench, auto_approve_readonly=True)
    await bench.to_approval(WRITING_PLAN)
    assert (await bench.task()).state == "awaiting_approval"


# --- restart safety -------------------------------------------------------------------------


async def restarted(bench: Bench) -> list[str]:
    """Restarts the engine and takes up the active tasks; what it sent anew."""
    before = len(bench.matrix.sent)
    bench.restart()
    await bench.service.resume()
    return bench.matrix.sent_keys()[before:]


async def test_a_restart_at_every_step_sends_nothing_twice(bench: Bench) -> None:
    await bench.order()
    assert await restarted(bench) == []
    await bench.propose_all()
    assert await restarted(bench) == []
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gpt"), "A")
    await bench.vote(bench.user("gemini"), "B")
    assert await restarted(bench) == []
    await bench.answer("gpt", "t1-plan-1", WRITING_PLAN)
    assert await restarted(bench) == []
    await bench.answer("gpt", "t1-review-1", "Looks fine.")
    assert await restarted(bench) == []
    plan = bench.matrix.by_key("plan-msg-1")
    await bench.react(plan.event_id, "✅")
    assert await restarted(bench) == []
    assert (await bench.task()).state == "running"
    assert bench.matrix.repeats == 0, "not even a send the homeserver had to deduplicate"
    assert bench.matrix.sent_keys() == [
        "ack",
        "poll-1",
        "poll-end",
        "winner",
        "plan-ask-1",
        "review-ask-1",
        "plan-msg-1",
        "plan-ok-1",
        "plan-no-1",
        "req-t1-a1-s1",  # part E2's running phase takes it from here
    ]


async def test_answers_and_votes_seen_again_change_nothing(bench: Bench) -> None:
    await bench.order()
    await bench.propose_all()
    await bench.propose_all({"claude": "Something else entirely."})  # a replayed ask id
    poll = bench.matrix.by_key("poll-1")
    assert poll.content[COUNCIL_KEY]["context"]["options"][0]["text"] == "Run df -h on local."


async def test_a_failed_task_restarted_is_reported_once(bench: Bench) -> None:
    await bench.order()
    await bench.later(180)  # nobody proposed
    assert (await bench.task()).state == "failed"
    sent = bench.matrix.sent_keys()
    assert "report" in sent
    assert "report-line" in sent
    assert await restarted(bench) == []
    assert bench.matrix.repeats == 0


async def test_a_wait_that_expired_while_down_is_expired(bench: Bench) -> None:
    await bench.order()
    await bench.answer("claude", "t1-propose-1", "Run df -h.")
    bench.clock.now += 600
    await restarted(bench)
    task = await bench.task()
    assert (task.state, task.winner) == ("planning", "claude")


async def test_a_late_proposal_is_kept_out_of_the_vote(bench: Bench) -> None:
    await bench.order()
    await bench.answer("claude", "t1-propose-1", "Run df -h.")
    await bench.answer("gpt", "t1-propose-1", "Use du.")
    await bench.later(180)
    await bench.answer("gemini", "t1-propose-1", "Too late.")
    await restarted(bench)
    options = bench.matrix.by_key("poll-1").content[POLL_START]["answers"]
    assert [a["id"] for a in options] == ["A", "B"]
    assert len(await bench.store.tasks.answers(1, ask="t1-propose-1")) == 3, "its cost is kept"


# --- admission and operations ---------------------------------------------------------------


async def test_tasks_beyond_max_active_wait_and_priority_goes_first(bench: Bench) -> None:
    use(bench, max_active=1)
    await bench.order("first", key="$1")
    low = await bench.service.intake(
        TaskOrder("low one", "low"),
        requester=MASTER,
        source="matrix",
        room_id=ROOM,
        thread_root=EventID("$2"),
        intake_key="$2",
    )
    high = await bench.service.intake(
        TaskOrder("urgent one", "high"),
        requester=MASTER,
        source="matrix",
        room_id=ROOM,
        thread_root=EventID("$3"),
        intake_key="$3",
    )
    assert (low.state, high.state) == ("pending", "pending")
    assert "waits for a free slot (1 of 1 tasks in work)" in bench.matrix.by_key("queued").body
    await bench.service.cancel(1, MASTER)
    assert (await bench.task(3)).state == "discussing"
    assert (await bench.task(2)).state == "pending"


async def test_assign_skips_proposals_and_vote(bench: Bench) -> None:
    await bench.order()
    text = await bench.service.assign(1, "Gemini", MASTER)
    assert text == "#1 👉 Assigned to Gemini: it writes the plan."
    task = await bench.task()
    assert (task.state, task.assigned) == ("planning", "gemini")
    assert bench.matrix.by_key("plan-ask-1").content["agents"] == ["gemini"]
    with pytest.raises(CommandError, match="no agent named 'nobody'"):
        await bench.service.assign(1, "nobody", MASTER)


async def test_pause_and_resume_come_back_to_the_same_state(bench: Bench) -> None:
    await bench.order()
    assert (await bench.service.pause(1, MASTER)).startswith("#1 ⏸️ Paused while discussing")
    await bench.later(600)  # a paused task does not expire
    assert (await bench.task()).state == "paused"
    await bench.service.resume(1, MASTER)
    task = await bench.task()
    assert task.state == "discussing"
    assert task.deadline == bench.clock.now + 180


async def test_proposals_that_arrive_while_paused_still_count(bench: Bench) -> None:
    await bench.order()
    await bench.service.pause(1, MASTER)
    bench.clock.now += 5  # the master paused it first; the proposals come after
    await bench.answer("claude", "t1-propose-1", "Run df -h.")
    await bench.answer("gpt", "t1-propose-1", "Use du.")
    await bench.service.resume(1, MASTER)
    await bench.later(180)
    task = await bench.task()
    assert task.state == "voting"
    options = bench.matrix.by_key("poll-1").content[POLL_START]["answers"]
    assert [a["id"] for a in options] == ["A", "B"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.approve(9, MASTER, None), "there is no task #9"),
        (lambda s: s.resume(1, MASTER), "#1 is discussing, not paused"),
        (lambda s: s.retry(1, MASTER), "only a failed or cancelled task is retried"),
    ],
    ids=["unknown-task", "resume-unpaused", "retry-active"],
)
async def test_operations_refuse_with_a_reason(bench: Bench, call: Any, message: str) -> None:
    await bench.order()
    with pytest.raises(CommandError, match=message):
        await call(bench.service)


async def test_retry_makes_a_new_task_in_the_same_thread(bench: Bench) -> None:
    await bench.order()
    await bench.service.cancel(1, MASTER)
    assert await bench.service.retry(1, MASTER) == "#2 🔁 Task #1 again, as #2."
    again = await bench.task(2)
    assert (again.mission, again.thread_root, again.state) == (
        "report disk usage of local",
        INTAKE,
        "discussing",
    )


@pytest.mark.parametrize(("failures", "kept"), [(0, True), (2, True), (3, False)])
async def test_a_fact_is_stored_again_after_a_store_error(
    monkeypatch: pytest.MonkeyPatch, failures: int, kept: bool
) -> None:
    """Events arrive unclaimed and are not handed over twice: a locked store is retried."""
    monkeypatch.setattr(facts, "FACT_RETRY_SECONDS", 0.0)
    tries: list[int] = []

    async def write() -> None:
        tries.append(1)
        if len(tries) <= failures:
            raise StoreError("the task store failed: database is locked")

    assert await facts.keep("a vote", write) is kept
    assert len(tries) == min(failures + 1, facts.FACT_TRIES)


async def test_a_task_at_its_spend_cap_pauses_until_the_master_resumes_it(bench: Bench) -> None:
    await bench.order()
    await bench.answer(
        "claude",
        "t1-propose-1",
        "",
        status="failed",
        reason="out of budget: the task's cap ($2.00) would be crossed",
    )
    task = await bench.task()
    assert (task.state, task.paused_from) == ("paused", "discussing")
    await bench.answer(  # a second agent meeting the cap changes nothing
        "gpt", "t1-propose-1", "", status="failed", reason="out of budget: the task's cap"
    )
    assert (await bench.task()).state == "paused"
    await bench.service.resume(1, MASTER)
    assert (await bench.task()).state == "discussing"


async def test_an_agents_own_daily_cap_does_not_pause_the_task(bench: Bench) -> None:
    await bench.order()
    await bench.answer(
        "claude",
        "t1-propose-1",
        "",
        status="failed",
        reason="out of budget: daily cost budget ($5.00) would be crossed",
    )
    assert (await bench.task()).state == "discussing"
