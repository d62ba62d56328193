"""The critique round, the hybrid outcome and participants chosen by records, in the task
engine against the real store and a recording homeserver (the bench of test_task_engine).

- With the round on (ordered or configured), two or more proposals go to critiquing: one ask
  to the proposers with every option and which one is each agent's own; the proposers whose
  proposal got a critique are asked once to revise; the ballot carries the revisions and the
  vote ask the critiques. No critique, or silence, moves on to the vote.
- A win by at most `hybrid_margin` names the runners-up in the thread and the plan ask; the
  plan's credits reach the report. A clear win, the master's decision: no hybrid.
- `max_participants` keeps the best agents by their records; restarts send nothing twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.coordinator.tasks.minutes_facts import task_facts
from bots.events import COUNCIL_KEY, POLL_START
from bots.ids import EventID, UserID
from bots.store.tasks import Answer
from bots.tasks.intake import TaskOrder
from bots.tasks.minutes import TaskFacts
from tests.support.task_engine import MASTER, ROOM, Bench, open_bench, use


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    bench = await open_bench(tmp_path)
    yield bench
    await bench.store.close()


async def order(bench: Bench, critique: bool | None = None, mission: str = "check disks") -> None:
    await bench.service.intake(
        TaskOrder(mission, critique=critique),
        requester=MASTER,
        source="matrix",
        room_id=ROOM,
        thread_root=EventID("$intake"),
        intake_key="$intake",
    )


async def restarted(bench: Bench) -> list[str]:
    before = len(bench.matrix.sent)
    bench.restart()
    await bench.service.resume()
    return bench.matrix.sent_keys()[before:]


# --- whether there is a round ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "ordered", "state"),
    [
        (False, None, "voting"),
        (True, None, "critiquing"),
        (False, True, "critiquing"),
        (True, False, "voting"),
    ],
    ids=["off", "configured", "ordered-on", "ordered-off"],
)
async def test_the_round_is_as_ordered_else_as_configured(
    bench: Bench, configured: bool, ordered: bool | None, state: str
) -> None:
    use(bench, critique=configured)
    await order(bench, critique=ordered)
    await bench.propose_all()
    assert (await bench.task()).state == state


@pytest.mark.parametrize(
    ("configured", "ordered", "state"),
    [(False, True, "critiquing"), (True, False, "voting")],
    ids=["ordered-on", "ordered-off"],
)
async def test_a_retry_keeps_the_round_as_ordered(
    bench: Bench, configured: bool, ordered: bool, state: str
) -> None:
    use(bench, critique=configured)
    await order(bench, critique=ordered)
    await bench.service.cancel(1, MASTER)
    said = await bench.service.retry(1, MASTER)
    assert said.startswith("#2 🔁")
    assert (await bench.task(2)).critique is ordered
    for agent in ("claude", "gpt", "gemini"):
        bench.clock.now += 1
        await bench.answer(agent, "t2-propose-1", f"{agent}'s way.", task=2)
    assert (await bench.task(2)).state == state


async def test_one_proposal_needs_no_critique(bench: Bench) -> None:
    use(bench, critique=True)
    await order(bench)
    await bench.answer("claude", "t1-propose-1", "Run df -h on local.")
    await bench.later(180)
    assert (await bench.task()).state == "planning"
    assert "critique-ask" not in bench.matrix.sent_keys()


# --- the round --------------------------------------------------------------------------------


async def test_every_proposer_is_asked_to_critique_the_others(bench: Bench) -> None:
    use(bench, critique=True)
    await order(bench)
    await bench.propose_all()
    ask = bench.matrix.by_key("critique-ask")
    assert ask.body == (
        "#1 🧐 Asking Claude, GPT and Gemini for critiques of each other's proposals (2 min)."
    )
    council = ask.content
    assert (council["stage"], council["ask"]) == ("critique", "t1-critique-1")
    assert council["agents"] == ["claude", "gpt", "gemini"]
    assert council["context"]["options"] == [
        {"key": "A", "text": "Run df -h on local."},
        {"key": "B", "text": "Use du on /var."},
        {"key": "C", "text": "Check df -i too."},
    ]
    assert council["context"]["own"] == {"claude": "A", "gpt": "B", "gemini": "C"}
    assert "Claude" not in str(council["context"]["options"]), "no authors on the options"


async def critiqued(bench: Bench) -> None:
    """claude critiques B, gpt writes prose (no critique), gemini critiques B and its own."""
    use(bench, critique=True)
    await order(bench)
    await bench.propose_all()
    await bench.answer("claude", "t1-critique-1", "B: du is slow on big trees")
    await bench.answer("gpt", "t1-critique-1", "They all look fine to me.")
    await bench.answer("gemini", "t1-critique-1", "C: mine\n- Option B — misses the inodes")


async def test_only_the_criticised_are_asked_to_revise_with_their_critiques(bench: Bench) -> None:
    await critiqued(bench)
    task = await bench.task()
    assert task.state == "critiquing"
    assert task.waiting_for == "revisions from GPT"
    ask = bench.matrix.by_key("revise-ask")
    assert ask.body == "#1 ✏️ Asking GPT for a revision of its proposal (2 min)."
    assert ask.content["agents"] == ["gpt"]
    assert ask.content["context"]["own"] == {"gpt": "B"}
    assert ask.content["context"]["critiques"] == {
        "B": [
            {"by": "another member", "text": "du is slow on big trees"},
            {"by": "another member", "text": "misses the inodes"},
        ]
    }


@pytest.mark.parametrize(
    ("answer", "text", "line"),
    [
        (
            "REVISED\nUse du and df -i on /var.",
            "Use du and df -i on /var.",
            "#1 ✏️ Revised: B; the ballot carries the revisions.",
        ),
        (
            "KEEP",
            "Use du on /var.",
            "#1 ✏️ Every proposal stays as it was; on to the vote.",
        ),
        (None, "Use du on /var.", "#1 ✏️ Every proposal stays as it was; on to the vote."),
    ],
    ids=["revised", "kept", "silent"],
)
async def test_the_ballot_carries_the_revision_and_the_vote_the_critiques(
    bench: Bench, answer: str | None, text: str, line: str
) -> None:
    await critiqued(bench)
    if answer is None:
        await bench.later(119)
        assert (await bench.task()).state == "critiquing"
        await bench.later(1)
    else:
        await bench.answer("gpt", "t1-revise-1", answer)
    assert (await bench.task()).state == "voting"
    assert bench.matrix.by_key("revised").body == line
    poll = bench.matrix.by_key("poll-1")
    context = poll.content[COUNCIL_KEY]["context"]
    assert [o["text"] for o in context["options"]][1] == text
    assert poll.content[POLL_START]["answers"][1]["org.matrix.msc1767.text"] == f"B · {text}"
    assert context["critiques"] == {"B": ["du is slow on big trees", "misses the inodes"]}


async def test_the_scribe_reads_the_critiques_and_who_revised(bench: Bench) -> None:
    await critiqued(bench)
    await bench.answer("gpt", "t1-revise-1", "REVISED\nUse du and df -i on /var.")
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gpt"), "A")
    await bench.vote(bench.user("gemini"), "B")
    await bench.answer("gpt", "t1-plan-1", '{"summary": "Disks are fine.", "steps": []}')
    await bench.answer("gpt", "t1-refine-1", "Disks are fine: 40% used.")
    assert (await bench.task()).state == "completed"
    facts = bench.matrix.by_key("minutes-ask").content["context"]["facts"]
    at = facts.index("Critiques:")
    assert facts[at + 1 : at + 4] == [
        "- Claude on B: du is slow on big trees",
        "- Gemini on B: misses the inodes",
        "Revised after the critiques: GPT",
    ]


async def test_without_anonymity_critiques_name_their_critic(bench: Bench) -> None:
    use(bench, anonymous_votes=False)
    await critiqued(bench)
    ask = bench.matrix.by_key("revise-ask")
    assert [c["by"] for c in ask.content["context"]["critiques"]["B"]] == ["Claude", "Gemini"]
    await bench.answer("gpt", "t1-revise-1", "KEEP")
    context = bench.matrix.by_key("poll-1").content[COUNCIL_KEY]["context"]
    assert context["critiques"] == {
        "B": ["Claude: du is slow on big trees", "Gemini: misses the inodes"]
    }


async def test_no_critique_goes_straight_to_the_vote(bench: Bench) -> None:
    use(bench, critique=True)
    await order(bench)
    await bench.propose_all()
    await bench.answer("claude", "t1-critique-1", "All fine.")
    await bench.answer("gpt", "t1-critique-1", "", status="failed", reason="quota exhausted")
    await bench.later(120)  # gemini stays silent
    assert (await bench.task()).state == "voting"
    assert bench.matrix.by_key("critique-none").body == "#1 🧐 No critique came: on to the vote."
    assert "revise-ask" not in bench.matrix.sent_keys()
    assert "critiques" not in bench.matrix.by_key("poll-1").content[COUNCIL_KEY]["context"]


async def test_a_late_critique_or_revision_changes_nothing(bench: Bench) -> None:
    use(bench, critique=True)
    await order(bench)
    await bench.propose_all()
    await bench.answer("claude", "t1-critique-1", "B: slow")
    await bench.later(120)  # gpt and gemini silent: the stage closes
    bench.clock.now += 1
    await bench.answer("gemini", "t1-critique-1", "A: risky")  # late
    assert bench.matrix.by_key("revise-ask").content["agents"] == ["gpt"]
    await bench.later(120)
    bench.clock.now += 1
    await bench.answer("gpt", "t1-revise-1", "REVISED\nToo late.")
    assert (await bench.task()).state == "voting"
    context = bench.matrix.by_key("poll-1").content[COUNCIL_KEY]["context"]
    assert context["critiques"] == {"B": ["slow"]}
    assert context["options"][1]["text"] == "Use du on /var."


async def test_a_restart_in_the_round_sends_nothing_twice(bench: Bench) -> None:
    use(bench, critique=True)
    await order(bench)
    await bench.propose_all()
    assert await restarted(bench) == []
    await bench.answer("claude", "t1-critique-1", "B: slow")
    await bench.answer("gpt", "t1-critique-1", "A: no inodes")
    assert await restarted(bench) == []
    await bench.answer("gemini", "t1-critique-1", "A: too broad")
    assert await restarted(bench) == []
    await bench.answer("claude", "t1-revise-1", "REVISED\nRun df -hi on local.")
    assert await restarted(bench) == []
    await bench.answer("gpt", "t1-revise-1", "KEEP")
    assert await restarted(bench) == []
    assert bench.matrix.repeats == 0
    assert bench.matrix.sent_keys() == ["ack", "critique-ask", "revise-ask", "revised", "poll-1"]
    assert bench.matrix.by_key("revise-ask").content["agents"] == ["claude", "gpt"]


# --- the hybrid -------------------------------------------------------------------------------


async def voted(bench: Bench, votes: dict[str, str], margin: float | None) -> None:
    """claude wrote A, gpt B, gemini C."""
    use(bench, hybrid_margin=margin)
    await order(bench)
    await bench.propose_all()
    for voter, key in votes.items():
        await bench.vote(UserID(voter) if voter == MASTER else bench.user(voter), key)


@pytest.mark.parametrize(
    ("votes", "margin", "hybrid"),
    [
        ({"claude": "B", "gpt": "A", "gemini": "B"}, 1.0, ["A"]),
        ({"claude": "B", "gpt": "A", "gemini": "B"}, 0.5, []),
        ({"claude": "B", "gpt": "A", "gemini": "B"}, None, []),
        ({MASTER: "B", "claude": "B", "gpt": "A"}, 5.0, []),
    ],
    ids=["close", "clear", "off", "masters-decision"],
)
async def test_a_close_vote_takes_in_the_runners_up(
    bench: Bench, votes: dict[str, str], margin: float | None, hybrid: list[str]
) -> None:
    await voted(bench, votes, margin)
    task = await bench.task()
    assert (task.state, task.winner) == ("planning", "gpt")
    context = bench.matrix.by_key("plan-ask-1").content["context"]
    assert [h["key"] for h in context.get("hybrid", [])] == hybrid
    if hybrid:
        assert bench.matrix.by_key("hybrid").body == (
            "#1 ⚖️ Close vote (2 to 1): GPT's plan takes in the best of A."
        )
        assert context["hybrid"] == [
            {"key": "A", "author": "Claude", "text": "Run df -h on local."}
        ]
        assert context["others"] == ["Check df -i too."], "a runner-up is not repeated"
    else:
        assert "hybrid" not in bench.matrix.sent_keys()


async def test_the_report_says_which_parts_came_from_whom(bench: Bench) -> None:
    await voted(bench, {"claude": "B", "gpt": "A", "gemini": "B"}, 1.0)
    plan = (
        '{"summary": "Disks are fine.", "steps": [], '
        '"credits": [{"from": "A", "part": "the df check"}]}'
    )
    await bench.answer("gpt", "t1-plan-1", plan)
    assert (await bench.task()).state == "completed"
    await bench.answer("gpt", "t1-refine-1", "Disks are fine.")
    report = bench.matrix.by_key("report")
    assert report.body.endswith("\n\nParts from: Claude (A) — the df check")
    assert report.reply is not None
    assert "Parts from: Claude (A) — the df check" in (report.reply.html or "")


async def test_a_replan_after_a_denial_still_takes_in_the_runners_up(bench: Bench) -> None:
    await voted(bench, {"claude": "B", "gpt": "A", "gemini": "B"}, 1.0)
    await bench.answer(
        "gpt", "t1-plan-1", '{"steps": [{"host": "local", "command": "touch /tmp/x"}]}'
    )
    await bench.answer("gpt", "t1-review-1", "Looks fine.")
    await bench.react(bench.matrix.by_key("plan-msg-1").event_id, "❌")
    assert (await bench.task()).state == "planning"
    context = bench.matrix.by_key("plan-ask-2").content["context"]
    assert [h["key"] for h in context["hybrid"]] == ["A"]


# --- participants by records -----------------------------------------------------------------


async def past_task(bench: Bench, n: int, author: str, state: str) -> None:
    """A finished task whose plan was `author`'s (a record for that agent)."""
    store = bench.store.tasks
    task, _ = await store.create(
        intake_key=f"$past{n}",
        room_id=ROOM,
        thread_root=EventID(f"$past{n}"),
        mission="check disks on web-1",
        priority="medium",
        requester=MASTER,
        source="matrix",
        now=bench.clock.now - 3600,
    )
    await store.move(task.id, "pending", "planning", actor="t", reason="t", now=bench.clock.now)
    await store.move(
        task.id, "planning", state, actor="t", reason="t", now=bench.clock.now, plan_author=author
    )


@pytest.mark.parametrize(
    ("limit", "records", "asked"),
    [
        (0, [("gemini", "completed")], ["claude", "gpt", "gemini"]),
        (3, [("gemini", "completed")], ["claude", "gpt", "gemini"]),
        (2, [], ["claude", "gpt"]),
        (2, [("gemini", "completed"), ("claude", "failed")], ["claude", "gemini"]),
        (1, [("gemini", "completed"), ("claude", "failed")], ["gemini"]),
        (2, [("gemini", "failed"), ("claude", "completed")], ["claude", "gemini"]),
        (1, [("gemini", "failed"), ("gpt", "completed")], ["gpt"]),
    ],
    ids=[
        "off",
        "not-exceeded",
        "no-records-config-order",
        "recorded-before-unrecorded",
        "best-plans-first",
        "config-order-kept",
        "success-beats-failure",
    ],
)
async def test_max_participants_keeps_the_best_by_their_records(
    bench: Bench, limit: int, records: list[tuple[str, str]], asked: list[str]
) -> None:
    use(bench, max_participants=limit)
    for n, (author, state) in enumerate(records, start=1):
        await past_task(bench, n, author, state)
    first = len(records) + 1
    await bench.service.intake(
        TaskOrder("check disks"),
        requester=MASTER,
        source="matrix",
        room_id=ROOM,
        thread_root=EventID("$intake"),
        intake_key="$intake",
    )
    task = await bench.task(first)
    assert task.state == "discussing"
    assert bench.matrix.by_key("ack").content["agents"] == asked
    chosen = limit > 0 and limit < 3
    assert task.chosen == (tuple(asked) if chosen else None)


async def test_a_tie_break_shows_the_judge_the_critiques_of_the_tied(bench: Bench) -> None:
    await critiqued(bench)  # B got two critiques
    await bench.answer("gpt", "t1-revise-1", "KEEP")
    await bench.later(120)  # nobody voted: every option is tied
    await bench.later(300)  # nor did the master
    context = bench.matrix.by_key("tie-ask").content[COUNCIL_KEY]["context"]
    assert context["critiques"] == {"B": ["du is slow on big trees", "misses the inodes"]}


async def test_a_task_that_needs_no_command_refines_the_revised_proposal(bench: Bench) -> None:
    use(bench, critique=True)
    await order(bench, mission="compare nginx and caddy")
    await bench.answer("claude", "t1-propose-1", "Caddy.\nCOMMANDS: no", commands=False)
    await bench.answer("gpt", "t1-propose-1", "Nginx.\nCOMMANDS: no", commands=False)
    await bench.later(180)  # gemini silent
    await bench.answer("claude", "t1-critique-1", "B: nginx needs certbot")
    await bench.answer("gpt", "t1-critique-1", "A: caddy is young")
    await bench.answer("claude", "t1-revise-1", "REVISED\nCaddy, it is mature now.")
    await bench.answer("gpt", "t1-revise-1", "KEEP")
    await bench.vote(bench.user("gpt"), "A")
    await bench.vote(bench.user("gemini"), "A")
    await bench.later(120)
    assert (await bench.task()).state == "completed"
    context = bench.matrix.by_key("ask-refine").content["context"]
    assert context["proposal"] == "Caddy, it is mature now."
    assert context["others"] == ["Nginx.\nCOMMANDS: no"]


async def test_a_restart_around_a_close_vote_sends_nothing_twice(bench: Bench) -> None:
    use(bench, hybrid_margin=1.0)
    await order(bench)
    await bench.propose_all()
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gpt"), "A")
    assert await restarted(bench) == []
    await bench.vote(bench.user("gemini"), "B")
    assert await restarted(bench) == []
    assert bench.matrix.repeats == 0
    assert bench.matrix.sent_keys()[-3:] == ["winner", "hybrid", "plan-ask-1"]
    moves = await bench.store.tasks.moves(1)
    assert moves[-1].reason == "vote: B (votes); close call with A"


async def test_assign_during_the_round_skips_the_rest(bench: Bench) -> None:
    await critiqued(bench)
    text = await bench.service.assign(1, "Gemini", MASTER)
    assert text == "#1 👉 Assigned to Gemini: it writes the plan."
    task = await bench.task()
    assert (task.state, task.assigned) == ("planning", "gemini")
    assert "poll-1" not in bench.matrix.sent_keys()


# --- the minutes read the round only when there was one ---------------------------------------


class StoreReads:
    """Records the task store's reads of answers and actions while it is installed."""

    def __init__(self, bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[str] = []
        tasks = bench.store.tasks
        answers, action_done = tasks.answers, tasks.action_done

        async def recorded_answers(task_id: int, ask: str | None = None) -> list[Answer]:
            self.made.append(f"answers {ask}")
            return await answers(task_id, ask)

        async def recorded_action_done(task_id: int, key: str) -> EventID | None:
            self.made.append(f"action {key}")
            return await action_done(task_id, key)

        monkeypatch.setattr(tasks, "answers", recorded_answers)
        monkeypatch.setattr(tasks, "action_done", recorded_action_done)

    def about_the_round(self) -> list[str]:
        words = ("critique", "revise")
        return [m for m in self.made if any(w in m for w in words)]


async def facts_of(bench: Bench) -> TaskFacts:
    task = await bench.task()
    return await task_facts(bench.service.ctx, task)


@pytest.mark.parametrize(
    ("critique", "reads"),
    [
        (False, ["action critique-ask"]),
        (
            True,
            [
                "action critique-ask",
                "action critiques-in",
                "answers t1-critique-1",
                "action revise-ask",
                "answers t1-revise-1",
            ],
        ),
    ],
    ids=["no round: only asks whether there was one", "a round: reads it"],
)
async def test_the_minutes_read_critiques_only_of_a_task_that_had_a_round(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, critique: bool, reads: list[str]
) -> None:
    if critique:
        await critiqued(bench)
        await bench.answer("gpt", "t1-revise-1", "REVISED\nUse du and df -i on /var.")
    else:
        await order(bench, critique=False)
        await bench.propose_all()
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gpt"), "A")
    await bench.vote(bench.user("gemini"), "B")
    await bench.answer("gpt", "t1-plan-1", '{"summary": "Disks are fine.", "steps": []}')
    await bench.answer("gpt", "t1-refine-1", "Disks are fine: 40% used.")
    assert (await bench.task()).state == "completed"
    spy = StoreReads(bench, monkeypatch)
    facts = await facts_of(bench)
    assert spy.about_the_round() == reads
    if critique:
        assert facts.critiques == (
            "Claude on B: du is slow on big trees",
            "Gemini on B: misses the inodes",
        )
        assert facts.revised == ("GPT",)
    else:
        assert (facts.critiques, facts.revised) == ((), ())
