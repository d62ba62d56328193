"""Divide and merge in the task engine, against the real store and a recording homeserver
(our own Outbox protocol, not nio), answers fed as Messages and the clock injected.

- Admission divides a task ordered with `split:`, or (`tasks.split: auto`) one whose mission
  lists several jobs; never an assigned one; `tasks.split: never` only when ordered.
- The planner (the judge, GPT, here) is asked for the split with the participants, their
  roles and the hosts; an unusable split is asked again once with the error; a second one,
  a failure or silence is said in the thread and the council works on the task as usual.
- Each part is asked of its agent at once, naming that part only; a failed, silent or
  (for a commands part) plan-less answer gives the part to another agent once, then it is
  missing; an answer to an old try changes nothing.
- The merger gets every result and what is missing; its answer is the deliverable (else
  the coordinator joins the results, saying why); commands parts' plans become one plan
  that goes to review; the report has the deliverable and who did which part.
- Restarted on the same store, the engine sends nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.coordinator.task_views import status_view
from bots.ids import EventID
from bots.store.task_parts import PartRow
from bots.tasks.intake import TaskOrder
from bots.tasks.render import ReportView, report_message
from bots.tasks.render_status import task_status
from tests.support.task_engine import MASTER, ROOM, Bench, open_bench, use

THREE_PARTS = {
    "parts": [
        {"title": "Search the release notes", "detail": "nginx 1.26", "agent": "Claude"},
        {"title": "Analyse the error logs", "detail": "last 24 h", "agent": "gpt"},
        {"title": "Write the summary", "agent": "gemini"},
    ],
    "merger": "Claude",
}
COMMANDS_PARTS = {
    "parts": [
        {"title": "Check the disk", "agent": "claude", "commands": True},
        {"title": "Explain what to watch", "agent": "gemini"},
    ]
}
DF_PLAN = '{"summary": "disk", "steps": [{"host": "local", "command": "df -h"}]}'


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    bench = await open_bench(tmp_path)
    yield bench
    await bench.store.close()


async def order(bench: Bench, mission: str, *, split: bool = True, key: str = "$intake") -> None:
    await bench.service.intake(
        TaskOrder(mission, mode="split" if split else None),
        requester=MASTER,
        source="matrix",
        room_id=ROOM,
        thread_root=EventID(key),
        intake_key=key,
    )


def fenced(split: dict[str, Any]) -> str:
    """A split as a chatty planner writes it."""
    return f"Here is how I would divide it:\n```json\n{json.dumps(split)}\n```"


async def to_working(bench: Bench, split: dict[str, Any] = THREE_PARTS) -> None:
    await order(bench, "check nginx after the upgrade")
    await bench.answer("gpt", "t1-split-1", fenced(split))


async def parts(bench: Bench) -> list[PartRow]:
    return await bench.store.parts.of(1)


# --- admission ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mission", "ordered", "setting", "state"),
    [
        ("check nginx", True, "auto", "dividing"),
        ("check nginx", True, "never", "dividing"),
        ("1. search the notes\n2. analyse the logs\n3. write it up", False, "auto", "dividing"),
        ("1. search the notes\n2. analyse the logs\n3. write it up", False, "never", "discussing"),
        ("report disk usage of local", False, "auto", "discussing"),
    ],
    ids=["ordered", "ordered-despite-never", "a-list-auto", "a-list-never", "one-job"],
)
async def test_admission_divides_an_ordered_or_listed_mission(
    bench: Bench, mission: str, ordered: bool, setting: str, state: str
) -> None:
    use(bench, split=setting)
    await order(bench, mission, split=ordered)
    task = await bench.task()
    assert task.state == state
    assert task.mode == ("split" if state == "dividing" else "council")


async def test_an_assigned_task_is_never_divided(bench: Bench) -> None:
    use(bench, max_active=0)  # it stays pending until assigned
    await order(bench, "1. search the notes\n2. analyse the logs", split=False)
    await bench.service.assign(1, "claude", MASTER)
    use(bench, max_active=3)
    await bench.later(1)
    assert (await bench.task()).state == "planning"


# --- dividing -------------------------------------------------------------------------------


async def test_the_planner_is_asked_with_the_participants_roles_and_hosts(bench: Bench) -> None:
    await order(bench, "check nginx after the upgrade")
    ask = bench.matrix.by_key("split-ask-1")
    assert ask.content["ask"] == "t1-split-1"
    assert ask.content["stage"] == "split"
    assert ask.content["agents"] == ["gpt"], "the judge plans when tasks.planner is unset"
    context = ask.content["context"]
    assert context["agents"] == [
        {"name": "claude", "display": "Claude", "role": "thinking"},
        {"name": "gpt", "display": "GPT", "role": "judging"},
        {"name": "gemini", "display": "Gemini", "role": "cognitive"},
    ]
    assert context["max_parts"] == 6
    assert list(context["hosts"]) == ["local"]
    assert "error" not in context
    assert ask.body == "#1 ✂️ Asking GPT to split the mission into parts (3 min)."


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        (fenced({"parts": []}), fenced({"parts": []}), "the split from GPT was unusable twice"),
        ("No split needed.", "Still one job.", "the split from GPT was unusable twice"),
        (None, None, "GPT sent no split within 3 min"),
        ("failed", None, "GPT could not split it: quota exhausted"),
    ],
    ids=["zero-parts-twice", "no-json-twice", "silent", "failed"],
)
async def test_no_usable_split_hands_the_task_to_the_council(
    bench: Bench, first: str | None, second: str | None, why: str
) -> None:
    await order(bench, "check nginx after the upgrade")
    if first == "failed":
        await bench.answer("gpt", "t1-split-1", "", status="failed", reason="quota exhausted")
    elif first is None:
        await bench.later(300)
    else:
        await bench.answer("gpt", "t1-split-1", first)
        again = bench.matrix.by_key("split-ask-2")
        assert again.content["ask"] == "t1-split-2"
        assert again.content["context"]["error"], "the planner is told what was wrong"
        assert again.body.startswith("#1 ✂️ The split from GPT is unusable: ")
        assert again.body.endswith("Asking GPT once more (3 min).")
        assert second is not None
        await bench.answer("gpt", "t1-split-2", second)
    task = await bench.task()
    assert (task.state, task.mode) == ("discussing", "council")
    fallback = bench.matrix.by_key("split-fallback").body
    assert fallback.startswith(f"#1 ✂️ No usable split: {why}")
    assert fallback.endswith("The council works on it as one task: proposals, vote, plan.")
    assert bench.matrix.by_key("ack").content["ask"] == "t1-propose-1", "proposals are asked"
    assert await parts(bench) == []


async def test_a_corrected_split_goes_on(bench: Bench) -> None:
    await order(bench, "check nginx after the upgrade")
    await bench.answer("gpt", "t1-split-1", fenced({"parts": [{"title": "only one"}]}))
    await bench.answer("gpt", "t1-split-2", fenced(THREE_PARTS))
    assert (await bench.task()).state == "working"
    assert "split-fallback" not in bench.matrix.sent_keys()


# --- working --------------------------------------------------------------------------------


async def test_each_agent_is_asked_its_own_part_only(bench: Bench) -> None:
    await to_working(bench)
    rows = await parts(bench)
    assert [(r.n, r.agent, r.status, r.try_) for r in rows] == [
        (1, "claude", "asked", 1),
        (2, "gpt", "asked", 1),
        (3, "gemini", "asked", 1),
    ]
    line = bench.matrix.by_key("split").body
    assert line.startswith("#1 ✂️")
    for title, name in [
        ("Search the release notes", "Claude"),
        ("Analyse the error logs", "GPT"),
        ("Write the summary", "Gemini"),
    ]:
        assert title in line
        assert name in line
    for n, agent, title in [
        (1, "claude", "Search the release notes"),
        (2, "gpt", "Analyse the error logs"),
        (3, "gemini", "Write the summary"),
    ]:
        ask = bench.matrix.by_key(f"part-ask-{n}-1")
        assert (ask.content["ask"], ask.content["stage"]) == (f"t1-part-{n}-1", "part")
        assert ask.content["agents"] == [agent]
        context = ask.content["context"]
        assert context["part"]["n"] == n
        assert context["part"]["title"] == title
        assert context["total"] == 3
        assert context["parts"] == [
            "Search the release notes",
            "Analyse the error logs",
            "Write the summary",
        ]
        assert "hosts" not in context, "a text part needs no hosts"
    task = await bench.task()
    assert task.waiting_for == "parts 1, 2, 3 from Claude, GPT, Gemini"
    assert task.deadline == bench.clock.now + 300


async def test_parts_done_go_to_the_merger_with_every_result(bench: Bench) -> None:
    await to_working(bench)
    await bench.answer("claude", "t1-part-1-1", "1.26 fixes the HTTP/3 leak.")
    await bench.answer("gpt", "t1-part-2-1", "No errors since the upgrade.")
    assert (await bench.task()).state == "working"
    await bench.answer("gemini", "t1-part-3-1", "All is well.")
    assert (await bench.task()).state == "merging"
    ask = bench.matrix.by_key("merge-ask")
    assert (ask.content["ask"], ask.content["stage"]) == ("t1-merge-1", "merge")
    assert ask.content["agents"] == ["claude"], "the split named Claude the merger"
    assert ask.content["context"] == {
        "parts": [
            {
                "n": 1,
                "title": "Search the release notes",
                "agent": "Claude",
                "result": "1.26 fixes the HTTP/3 leak.",
            },
            {
                "n": 2,
                "title": "Analyse the error logs",
                "agent": "GPT",
                "result": "No errors since the upgrade.",
            },
            {"n": 3, "title": "Write the summary", "agent": "Gemini", "result": "All is well."},
        ],
        "missing": [],
        "commands": False,
    }
    await bench.answer("claude", "t1-merge-1", "nginx 1.26 runs cleanly; the leak is fixed.")
    task = await bench.task()
    assert (task.state, task.note) == ("completed", "nginx 1.26 runs cleanly; the leak is fixed.")
    report = bench.matrix.by_key("report").body
    assert "nginx 1.26 runs cleanly; the leak is fixed." in report
    for title, name in [
        ("Search the release notes", "Claude"),
        ("Analyse the error logs", "GPT"),
        ("Write the summary", "Gemini"),
    ]:
        assert title in report
        assert name in report
    assert "ask-refine" not in bench.matrix.sent_keys(), "the deliverable is the answer"


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("failed", "quota exhausted"),
        ("silent", "no answer within 5 min"),
        ("empty", "an empty answer"),
    ],
)
async def test_a_failed_part_is_given_to_another_agent_once(
    bench: Bench, how: str, why: str
) -> None:
    await to_working(bench)
    await bench.answer("claude", "t1-part-1-1", "Found it.")
    await bench.answer("gemini", "t1-part-3-1", "Summary.")
    if how == "failed":
        await bench.answer("gpt", "t1-part-2-1", "", status="failed", reason="quota exhausted")
    elif how == "empty":
        await bench.answer("gpt", "t1-part-2-1", "   ")
    else:
        await bench.later(300)
    row = (await parts(bench))[1]
    assert (row.status, row.try_, row.tried) == ("asked", 2, ("gpt",))
    assert row.agent in ("claude", "gemini")
    failed = bench.matrix.by_key("part-failed-2-1").body
    assert why in failed
    assert "GPT" in failed
    again = bench.matrix.by_key("part-ask-2-2")
    assert again.content["ask"] == "t1-part-2-2"
    assert again.content["agents"] == [row.agent]
    await bench.answer(row.agent, "t1-part-2-2", "The logs are clean.")
    assert (await bench.task()).state == "merging"
    assert (await parts(bench))[1].result == "The logs are clean."


async def test_a_part_that_fails_twice_stays_missing_and_the_merge_says_so(bench: Bench) -> None:
    await to_working(bench)
    await bench.answer("claude", "t1-part-1-1", "Found it.")
    await bench.answer("gemini", "t1-part-3-1", "Summary.")
    await bench.answer("gpt", "t1-part-2-1", "", status="failed", reason="quota exhausted")
    second = (await parts(bench))[1].agent
    await bench.later(300)
    row = (await parts(bench))[1]
    assert (row.status, row.why) == ("missing", "no answer within 5 min")
    assert bench.matrix.by_key("part-failed-2-2").body.endswith("; it stays missing.")
    assert (await bench.task()).state == "merging"
    missing = bench.matrix.by_key("merge-ask").content["context"]["missing"]
    assert missing == [{"n": 2, "title": "Analyse the error logs", "why": row.why}]
    await bench.answer("claude", "t1-merge-1", "Two of three; the logs were not read.")
    report = bench.matrix.by_key("report").body
    shown = {"claude": "Claude", "gemini": "Gemini"}[second]
    assert "Analyse the error logs" in report
    assert "GPT" in report
    assert shown in report


async def test_an_answer_to_an_old_try_changes_nothing(bench: Bench) -> None:
    await to_working(bench)
    await bench.answer("gpt", "t1-part-2-1", "", status="failed", reason="quota exhausted")
    before = await parts(bench)
    await bench.answer("gpt", "t1-part-2-1", "Late, but here it is.")
    assert await parts(bench) == before


async def test_no_part_done_fails_the_task_naming_why(bench: Bench) -> None:
    use(bench, participants=("claude", "gpt"))
    await order(bench, "check nginx after the upgrade")
    split = {"parts": [{"title": "Search", "agent": "claude"}, {"title": "Read", "agent": "gpt"}]}
    await bench.answer("gpt", "t1-split-1", fenced(split))
    for _ in range(2):
        await bench.later(300)
    task = await bench.task()
    assert task.state == "failed"
    assert task.note.startswith("no part was done: 1. Search: no answer within 5 min")
    assert "merge-ask" not in bench.matrix.sent_keys()


# --- merging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("merger", "why"),
    [
        (None, "Claude did not merge within 5 min"),
        ("failed", "Claude could not merge: quota exhausted"),
    ],
    ids=["silent", "failed"],
)
async def test_without_a_merge_the_coordinator_joins_the_results(
    bench: Bench, merger: str | None, why: str
) -> None:
    await to_working(bench)
    for n, agent in enumerate(("claude", "gpt", "gemini"), start=1):
        await bench.answer(agent, f"t1-part-{n}-1", f"result {n}")
    if merger == "failed":
        await bench.answer("claude", "t1-merge-1", "", status="failed", reason="quota exhausted")
    else:
        await bench.later(300)
    task = await bench.task()
    assert task.state == "completed"
    assert task.note.startswith(f"({why}; the parts as they came:)")
    for n in (1, 2, 3):
        assert f"result {n}" in task.note
    assert task.note in bench.matrix.by_key("report").body


async def test_commands_parts_become_one_plan_that_is_reviewed(bench: Bench) -> None:
    await order(bench, "check the disk and explain it")
    await bench.answer("gpt", "t1-split-1", fenced(COMMANDS_PARTS))
    ask = bench.matrix.by_key("part-ask-1-1")
    assert ask.content["context"]["part"]["commands"] is True
    assert list(ask.content["context"]["hosts"]) == ["local"]
    await bench.answer("claude", "t1-part-1-1", f"```json\n{DF_PLAN}\n```")
    await bench.answer("gemini", "t1-part-2-1", "Watch the root partition.")
    merge = bench.matrix.by_key("merge-ask").content
    assert merge["agents"] == ["gpt"], "no merger named: the planner merges"
    assert merge["context"]["commands"] is True
    assert "df -h" in merge["context"]["parts"][0]["result"]
    await bench.answer("gpt", "t1-merge-1", "Check the disk, then watch the root partition.")
    task = await bench.task()
    assert task.state == "reviewing"
    assert (task.plan_author, task.winner) == ("gpt", "gpt")
    assert task.plan is not None
    assert "df -h" in task.plan
    assert task.plan_digest
    assert bench.matrix.by_key("review-ask-1").content["stage"] == "review"


async def test_a_commands_part_without_a_valid_plan_counts_as_failed(bench: Bench) -> None:
    await order(bench, "check the disk and explain it")
    await bench.answer("gpt", "t1-split-1", fenced(COMMANDS_PARTS))
    await bench.answer("claude", "t1-part-1-1", "Just run df, I guess.")
    failed = bench.matrix.by_key("part-failed-1-1").body
    assert "its plan is invalid" in failed
    row = (await parts(bench))[0]
    assert (row.status, row.try_) == ("asked", 2)


# --- restarts and !task N -------------------------------------------------------------------


async def test_a_restart_at_every_step_sends_nothing_twice(bench: Bench) -> None:
    await to_working(bench)
    bench.restart()
    await bench.service.resume()
    await bench.answer("claude", "t1-part-1-1", "one")
    bench.restart()
    await bench.service.resume()
    await bench.answer("gpt", "t1-part-2-1", "", status="failed", reason="quota exhausted")
    bench.restart()
    await bench.service.resume()
    second = (await parts(bench))[1].agent
    await bench.answer(second, "t1-part-2-2", "two")
    await bench.answer("gemini", "t1-part-3-1", "three")
    bench.restart()
    await bench.service.resume()
    await bench.answer("claude", "t1-merge-1", "all three")
    bench.restart()
    await bench.service.resume()
    assert (await bench.task()).state == "completed"
    assert bench.matrix.repeats == 0
    keys = bench.matrix.sent_keys()
    assert len(keys) == len(set(keys))


async def test_task_n_shows_each_part_who_does_it_and_how_far_it_is(bench: Bench) -> None:
    await to_working(bench)
    await bench.answer("claude", "t1-part-1-1", "Found it.")
    await bench.answer("gpt", "t1-part-2-1", "", status="failed", reason="quota exhausted")
    task = await bench.task()
    names = {"claude": "Claude", "gpt": "GPT", "gemini": "Gemini"}
    rows = await parts(bench)
    view = status_view(task, await bench.store.tasks.moves(1), [], names, rows)
    body, html = task_status(view, now=bench.clock.now)
    second = names[rows[1].agent]
    assert (
        "Parts:\n"
        "• 1. Search the release notes — Claude ✅\n"
        f"• 2. Analyse the error logs — {second} (reassigned from GPT) ⏳ working\n"
        "• 3. Write the summary — Gemini ⏳ working"
    ) in body
    assert "<p>Parts:</p><ul><li>1. Search the release notes — Claude ✅</li>" in html


async def test_a_split_task_from_outside_matrix_is_rooted_at_its_split_ask(bench: Bench) -> None:
    task = await bench.service.intake(
        TaskOrder("check nginx", mode="split"),
        requester=MASTER,
        source="http",
        room_id=ROOM,
        thread_root=None,
        intake_key="http-1",
    )
    assert task.thread_root == bench.matrix.by_key("split-ask-1").event_id


async def test_parts_go_by_the_records_on_their_own_kind(bench: Bench) -> None:
    """Gemini's disk plans worked and its writing failed; Claude's the other way round.
    Neither part names an agent nor a role word, so the records on each part's kind choose."""
    use(bench, participants=("claude", "gemini"))
    history = [
        ("$d1", "free up the disk on web-1", "gemini", "completed"),
        ("$d2", "clean the disk of db-2", "claude", "failed"),
        ("$w1", "write a summary for the team", "claude", "completed"),
        ("$w2", "draft the summary of the week", "gemini", "failed"),
    ]
    for key, mission, author, end in history:
        done, _ = await bench.store.tasks.create(
            intake_key=key,
            room_id=ROOM,
            thread_root=EventID(key),
            mission=mission,
            priority="medium",
            requester=MASTER,
            source="matrix",
            now=1.0,
        )
        await bench.store.tasks.move(done.id, "pending", "planning", actor="c", reason="r", now=2)
        await bench.store.tasks.move(
            done.id, "planning", end, actor="c", reason="r", now=3, plan_author=author
        )
    await order(bench, "tidy up", key="$order")
    split = {"parts": [{"title": "Free up the disk"}, {"title": "Write a summary"}]}
    await bench.answer("gpt", "t5-split-1", fenced(split), task=5)
    assert [r.agent for r in await bench.store.parts.of(5)] == ["gemini", "claude"]


@pytest.mark.parametrize(
    ("summary", "html"),
    [
        ("B is better because …", "<p>B is better because …</p>"),
        ("Merged.\n\nParts:\n1. A — Claude ✅", "<p>Merged.</p><p>Parts:<br>1. A — Claude ✅</p>"),
        ("<b>x</b>\nline two", "<p>&lt;b&gt;x&lt;/b&gt;<br>line two</p>"),
    ],
    ids=["one-line", "deliverable-and-parts", "escaped"],
)
def test_the_reports_summary_keeps_its_lines_in_html(summary: str, html: str) -> None:
    view = ReportView(7, "completed", "survey", 42.0, summary=summary)
    _, markup = report_message(view)
    assert html in markup


async def test_retry_splits_a_split_task_again(bench: Bench) -> None:
    use(bench, participants=("claude", "gpt"))
    await order(bench, "check nginx after the upgrade")
    split = {"parts": [{"title": "Search", "agent": "claude"}, {"title": "Read", "agent": "gpt"}]}
    await bench.answer("gpt", "t1-split-1", fenced(split))
    for _ in range(2):
        await bench.later(300)
    assert (await bench.task()).state == "failed"
    said = await bench.service.retry(1, MASTER)
    assert said.startswith("#2 🔁")
    again = await bench.task(2)
    assert (again.state, again.mode) == ("dividing", "split")


@pytest.mark.parametrize("state", ["working", "merging"])
async def test_a_wait_that_ran_out_while_down_is_expired_at_start(bench: Bench, state: str) -> None:
    await to_working(bench)
    if state == "merging":
        for n, agent in enumerate(("claude", "gpt", "gemini"), start=1):
            await bench.answer(agent, f"t1-part-{n}-1", f"result {n}")
    assert (await bench.task()).state == state
    bench.restart()
    bench.clock.now += 301
    await bench.service.resume()
    if state == "working":
        assert all(r.try_ == 2 for r in await parts(bench)), "every silent part is given on"
    else:
        assert (await bench.task()).state == "completed"
        assert (await bench.task()).note.startswith("(Claude did not merge within 5 min;")


async def test_the_scribe_reads_the_parts_and_who_merged_not_no_proposals(bench: Bench) -> None:
    await to_working(bench)
    await bench.answer("claude", "t1-part-1-1", "1.26 fixes the HTTP/3 leak.")
    await bench.answer("gpt", "t1-part-2-1", "No errors since the upgrade.")
    await bench.answer("gemini", "t1-part-3-1", "All is well.")
    await bench.answer("claude", "t1-merge-1", "nginx 1.26 runs cleanly.")
    assert (await bench.task()).state == "completed"
    facts = bench.matrix.by_key("minutes-ask").content["context"]["facts"]
    assert "Proposals: none" not in facts
    at = facts.index("Parts:")
    assert facts[at + 1 : at + 4] == [
        "- 1. Search the release notes — Claude ✅",
        "- 2. Analyse the error logs — GPT ✅",
        "- 3. Write the summary — Gemini ✅",
    ]
    assert "Decision: the task was divided into parts (no vote), merged by Claude" in facts
