"""Divide and merge end to end: `//chavion_task: split: …` → the planner's split, each part
asked of its own agent in parallel, one merged deliverable, the report with who did what.

Real Synapse, the master's encrypted nio client, agents on the real SDKs against the fake
LLM server (`CouncilScript`, stages split/part/merge), the executor on a real OpenSSH sshd
(`web-1`) for a part that needs commands. One council for the module; every test gives
its own task and waits for it to end. Assertions are on what the master's client receives,
the store's task tables and what each model was asked (the fake server's request log).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.llm_server import FakeLLMServer, RecordedRequest, error
from tests.fakes.sshd import SshdServer
from tests.support.council_script import CouncilScript, plan_json, stage_of, step
from tests.support.tasks import (
    REMOTE_HOST,
    StartTaskBots,
    TaskBots,
    TaskMaster,
    TaskRef,
    council_of,
    task_status,
)

pytestmark = pytest.mark.integration

PLANNER = "gpt"
"""The judge (role `judging`) splits when `tasks.planner` is unset."""
THREE: dict[str, Any] = {
    "parts": [
        {"title": "Search the release notes", "detail": "DETAIL-SEARCH", "agent": "claude"},
        {"title": "Analyse the error logs", "detail": "DETAIL-LOGS", "agent": "gemini"},
        {"title": "Draft the summary", "detail": "DETAIL-DRAFT", "agent": "local"},
    ],
    "merger": "claude",
}
DETAILS = {"claude": "DETAIL-SEARCH", "gemini": "DETAIL-LOGS", "local": "DETAIL-DRAFT"}


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots, sshd: SshdServer) -> AsyncIterator[TaskBots]:
    async with start_task_bots("split", sshd=sshd, tasks={"part_seconds": 30}) as started:
        yield started


def fenced(split: dict[str, Any]) -> str:
    return f"I would divide it so:\n```json\n{json.dumps(split)}\n```"


def asked(llm: FakeLLMServer, script: CouncilScript, stage: str) -> dict[str, list[str]]:
    """Per agent, the texts of the requests it made at `stage`."""
    found: dict[str, list[str]] = {}
    for request in llm.requests:
        agent = script.agent_of(request)
        if agent is not None and stage_of(request) == stage:
            found.setdefault(agent.name, []).append(_text(request))
    return found


def _text(request: RecordedRequest) -> str:
    return f"{request.system}\n{request.text}"


async def parts_of(boss: TaskMaster, task: TaskRef) -> list[dict[str, Any]]:
    return await boss.db.rows("SELECT * FROM task_parts WHERE task_id = ? ORDER BY n", task.id)


async def test_three_parts_on_three_agents_are_merged_into_one_deliverable(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    script.set("split", PLANNER, fenced(THREE))
    for agent in DETAILS:
        script.set("part", agent, f"RESULT-{agent}: what {agent} found.")
    script.set("merge", "claude", "DELIVERABLE: nginx 1.26 is healthy; the summary follows.")
    task = await boss.order("//chavion_task: split: check nginx after the upgrade")
    report = await boss.report(task, timeout=120)
    assert await boss.state(task, "completed") == "completed"

    line = await boss.in_thread(
        task, lambda s: s.body.startswith(f"#{task.id} ✂️ Split"), what="the split line"
    )
    for part in THREE["parts"]:
        assert part["title"] in line.body
    parts = asked(llm, script, "part")
    assert sorted(parts) == sorted(DETAILS), "each of the three agents was asked one part"
    for agent, prompts in parts.items():
        assert len(prompts) == 1
        assert DETAILS[agent] in prompts[0], f"{agent} was asked its own part"
        others = [d for a, d in DETAILS.items() if a != agent]
        assert not any(d in prompts[0] for d in others), f"{agent} saw another part's detail"
    assert list(asked(llm, script, "split")) == [PLANNER]
    [merge] = asked(llm, script, "merge")["claude"]
    for agent in DETAILS:
        assert f"RESULT-{agent}" in merge, "the merge prompt carries every result"

    assert "DELIVERABLE: nginx 1.26 is healthy" in report.body
    for part, name in zip(THREE["parts"], ("Claude", "Gemini", "Llama"), strict=True):
        assert part["title"] in report.body
        assert name in report.body
    rows = await parts_of(boss, task)
    assert [(r["agent"], r["status"]) for r in rows] == [
        ("claude", "done"),
        ("gemini", "done"),
        ("local", "done"),
    ]
    moves = [to for _, to in await boss.db.moves(task.id)]
    assert moves == ["pending", "dividing", "working", "merging", "completed"]
    status = await task_status(boss, task)
    assert "Parts:\n• 1. Search the release notes — Claude ✅" in status.body


async def test_a_split_into_zero_parts_twice_goes_to_the_council(
    boss: TaskMaster, script: CouncilScript
) -> None:
    script.set("split", PLANNER, fenced({"parts": []}), fenced({"parts": []}))
    task = await boss.order("//chavion_task: split: report disk usage of local")
    said = await boss.in_thread(
        task,
        lambda s: s.sender == boss.coordinator and "No usable split" in s.body,
        what="the line saying there is no split",
    )
    assert said.body.startswith(f"#{task.id} ✂️ No usable split: the split from GPT")
    assert "proposals, vote, plan" in said.body
    proposals = await boss.answers(task, "propose", count=2)
    assert proposals, "the council proposes as usual"
    assert script.count("split", PLANNER) == 2, "asked again once, with the error"
    await boss.command(f"!cancel {task.id}")
    await boss.state(task, "cancelled")
    assert await parts_of(boss, task) == []


async def test_a_part_whose_agent_fails_is_reassigned_once_and_the_report_says_so(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    script.set("split", PLANNER, fenced(THREE))
    quota = error(429, error_code="insufficient_quota", message="You exceeded your quota.")
    script.set("part", "gemini", quota)
    script.set("part", "*", "RESULT from whoever did it.")
    task = await boss.order("//chavion_task: split: check nginx after the upgrade")
    failed = await boss.in_thread(
        task,
        lambda s: s.sender == boss.coordinator and "given to" in s.body,
        what="the line giving Gemini's part to another agent",
    )
    assert failed.body.startswith(f"#{task.id} ⚠️ Part 2 (Analyse the error logs): Gemini — ")
    report = await boss.report(task, timeout=120)
    await boss.state(task, "completed")
    rows = await parts_of(boss, task)
    logs = rows[1]
    assert (logs["status"], logs["try"], json.loads(logs["tried"])) == ("done", 2, ["gemini"])
    assert logs["agent"] in ("claude", "gpt", "local")
    names = {"claude": "Claude", "gpt": "GPT", "local": "Llama"}
    assert "Analyse the error logs" in report.body
    assert "Gemini" in report.body
    assert names[logs["agent"]] in report.body
    assert any("DETAIL-LOGS" in p for p in asked(llm, script, "part")[logs["agent"]])


async def test_a_part_that_needs_commands_runs_after_the_masters_approval(
    boss: TaskMaster, script: CouncilScript, bots: TaskBots
) -> None:
    split = {
        "parts": [
            {"title": "Measure the disk of web-1", "agent": "claude", "commands": True},
            {"title": "Say what to watch", "agent": "gemini"},
        ]
    }
    script.set("split", PLANNER, fenced(split))
    script.set("part", "claude", plan_json(step(REMOTE_HOST, "df -h", "disk usage")))
    script.set("part", "gemini", "Watch the root partition.")
    script.set("merge", PLANNER, "DELIVERABLE: measure, then watch the root partition.")
    task = await boss.order("//chavion_task: split: measure the disk of web-1 and advise")
    plan = await boss.plan(task, timeout=120)
    assert [s["command"] for s in council_of(plan)["steps"]] == ["df -h"]
    assert [s["host"] for s in council_of(plan)["steps"]] == [REMOTE_HOST]
    await boss.react(plan.event_id, "✅")
    report = await boss.report(task, timeout=120)
    await boss.state(task, "completed")
    assert "Filesystem" in report.body, "df -h ran over SSH and its output is reported"
    assert "DELIVERABLE: measure, then watch the root partition." in report.body
    audit = await boss.db.audit(task.id)
    assert audit[f"t{task.id}-a1-s1"].count("start") == 1
    moves = [to for _, to in await boss.db.moves(task.id)]
    assert moves[:5] == ["pending", "dividing", "working", "merging", "reviewing"]
    assert moves[-3:] == ["awaiting_approval", "running", "completed"]
