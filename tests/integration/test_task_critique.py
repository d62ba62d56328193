"""The critique round, the hybrid outcome and participants chosen by records, end to end.

- `!task critique: …`: every proposer's critique prompt lists the others' proposals (not its
  own as one to critique); a critique line reaches the vote prompts of the others; a
  revision replaces its proposal on the ballot (the poll and the vote prompts).
- A close vote (`hybrid_margin` 0.5; `local` weighs 0.5, so 2 to 1.5): the thread says so,
  the winner's plan prompt carries the runner-up, and the plan's credits reach the report.
- `max_participants: 2` with records: only the two best agents are asked.

Real Synapse, the master's encrypted client, agents on their real SDKs against the fake LLM
server (`CouncilScript`); assertions on the fake server's request log (what each model was
asked), what the master's client receives and the store.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml

from bots.events import POLL_START
from bots.ids import EventID, RoomID, UserID
from bots.settings.loading import load_settings
from bots.store import Store
from tests.fakes.llm_server import FakeLLMServer, RecordedRequest
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.council_script import CouncilScript, critique_token, proposal_token
from tests.support.person import Person
from tests.support.tasks import (
    AGENTS,
    TaskBots,
    TaskMaster,
    TaskRef,
    council_of,
    running_task_bots,
    task_config,
)

pytestmark = pytest.mark.integration

TASKS = {"critique_seconds": 20, "hybrid_margin": 0.5, "weights": {"local": 0.5}}
REVISED = "Revised after the critiques: df -h and df -i, then report."
_OPTION = re.compile(r"^## Option ([A-T])\b", re.M)


@pytest.fixture(scope="module")
def config_path(
    council: ThrowawayCouncil, llm: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("task-critique") / "chavion.yaml"
    return task_config(council, llm, path, tasks=TASKS)


@pytest.fixture(scope="module")
async def bots(
    council: ThrowawayCouncil, coordinator: InProcessBots, master: Person, config_path: Path
) -> AsyncIterator[TaskBots]:
    async with running_task_bots(council, coordinator, master, config_path) as started:
        yield started


def asked(llm: FakeLLMServer, task: TaskRef, heading: str) -> dict[str, RecordedRequest]:
    """Per model, the request whose stage prompt is the task's `heading`."""
    found: dict[str, RecordedRequest] = {}
    for request in llm.requests:
        if f"# Task #{task.id}: {heading}" in request.system:
            found[request.model] = request
    return found


def by_agent(script: CouncilScript, requests: dict[str, RecordedRequest]) -> dict[str, str]:
    """The requests' system prompts by agent name."""
    return {m.name: requests[m.model].system for m in script.agents if m.model in requests}


def option_of(author: str, prompt: str) -> str:
    """The option letter under which `author`'s proposal stands in a vote prompt."""
    token = prompt.find(proposal_token(author))
    assert token >= 0, f"{author}'s proposal is not in the prompt"
    return str(_OPTION.findall(prompt[:token])[-1])


def votes_for(author: str) -> Callable[[RecordedRequest], str]:
    """A vote for `author`'s proposal, whatever letter it has."""
    return lambda request: f"VOTE: {option_of(author, request.system)}\nREASON: its plan is safer."


async def cancel_and_report(boss: TaskMaster, task: TaskRef) -> None:
    await boss.command(f"!cancel {task.id}")
    await boss.report(task)


# ---- (1) the critique round ------------------------------------------------------------------


async def test_critiques_reach_the_vote_and_a_revision_replaces_its_proposal(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    script.set("revise", "gpt", f"REVISED\n{proposal_token('gpt')} {REVISED}\nCOMMANDS: yes")
    task = await boss.order("!task critique: cvxcrit check the disks of local")
    ask = await boss.council_message(
        task, "ask", stage="critique", what="the critique ask", timeout=60
    )
    own: dict[str, str] = council_of(ask)["context"]["own"]
    assert sorted(own) == sorted(AGENTS), "every proposer critiques"
    poll = await boss.poll(task, timeout=90)

    critique_prompts = by_agent(script, asked(llm, task, "critique the proposals"))
    assert sorted(critique_prompts) == sorted(AGENTS)
    for agent, prompt in critique_prompts.items():
        assert f"## Option {own[agent]} (your own proposal: do not critique it)" in prompt
        for other in AGENTS:
            assert proposal_token(other) in prompt, f"{agent} does not see {other}'s proposal"

    revise_prompts = by_agent(script, asked(llm, task, "revise your proposal"))
    assert sorted(revise_prompts) == sorted(AGENTS), "each got a critique from the others"
    assert critique_token("claude", own["gpt"]) in revise_prompts["gpt"]

    vote_prompts = by_agent(script, asked(llm, task, "your vote"))
    for voter, prompt in vote_prompts.items():
        if voter != "claude":
            assert critique_token("claude", own["gpt"]) in prompt, f"{voter}'s vote prompt"
        assert f"{proposal_token('gpt')} {REVISED}" in prompt
        assert f"{proposal_token('gpt')} Run the read-only checks" not in prompt
    options = poll.content[POLL_START]["answers"]
    shown = next(o for o in options if o["id"] == own["gpt"])
    assert REVISED[:40] in json.dumps(shown, ensure_ascii=False)
    await boss.state(task, "planning", "reviewing", "awaiting_approval", timeout=90)
    await cancel_and_report(boss, task)


# ---- (2) the hybrid --------------------------------------------------------------------------


async def test_a_close_vote_makes_a_hybrid_plan_and_the_report_credits_the_parts(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    # gpt wins with claude and gemini (2); claude gets gpt's vote and local's (0.5): 1.5.
    script.set("vote", "local", votes_for("claude"))
    credits = [{"from": "Claude", "part": "the read-only check first"}]
    script.set(
        "plan",
        "gpt",
        "Merged.\n```json\n"
        + json.dumps({"summary": "Disks are fine.", "steps": [], "credits": credits})
        + "\n```",
    )
    task = await boss.order("!task no critique: cvxhybrid check the disks of local")
    close = await boss.in_thread(
        task, lambda s: "⚖️ Close vote" in s.body, what="the close vote line", timeout=120
    )
    await boss.answers(task, "plan", 1)
    [plan_prompt] = by_agent(script, asked(llm, task, "the plan")).values()
    key = option_of("claude", next(iter(by_agent(script, asked(llm, task, "your vote")).values())))
    assert close.body == (
        f"#{task.id} ⚖️ Close vote (2 to 1.5): GPT's plan takes in the best of {key}."
    )
    assert f"--- Option {key} (Claude)" in plan_prompt
    assert proposal_token("claude") in plan_prompt
    assert '"credits"' in plan_prompt
    report = await boss.report(task, timeout=90)
    assert f"Parts from: Claude ({key}) — the read-only check first" in report.body
    assert "critique-ask" not in await boss.db.actions(task.id), "no critique: was ordered"


# ---- (3) participants by records -------------------------------------------------------------


async def recorded(council: ThrowawayCouncil, winners: list[str], losers: list[str]) -> None:
    """Research tasks whose plans worked (`winners`) and failed (`losers`), reported."""
    store = await Store.open(council.data.store)
    try:
        at = time.time() - 3600
        room = RoomID(council.council_room)
        master = UserID(council.settings.master_user_id)
        for n in range(12):
            for author, state in [(a, "completed") for a in winners] + [
                (a, "failed") for a in losers
            ]:
                key = f"cvxrec-{author}-{n}-{at}"
                task, _ = await store.tasks.create(
                    intake_key=key,
                    room_id=room,
                    thread_root=EventID(f"${key}"),
                    mission=f"investigate cvxrec alternatives {n}",
                    priority="medium",
                    requester=master,
                    source="test",
                    now=at,
                )
                await store.tasks.move(
                    task.id, "pending", "planning", actor="t", reason="t", now=at
                )
                await store.tasks.move(
                    task.id, "planning", state, actor="t", reason="t", now=at, plan_author=author
                )
                await store.tasks.record_action(task.id, "report-line", EventID("$recorded"), at)
    finally:
        await store.close()


def limited_config(config_path: Path, path: Path) -> Path:
    """The module's config with `tasks.max_participants: 2`."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["tasks"]["max_participants"] = 2
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


async def test_max_participants_asks_only_the_best_by_their_records(
    council: ThrowawayCouncil,
    bots: TaskBots,
    boss: TaskMaster,
    script: CouncilScript,
    llm: FakeLLMServer,
    config_path: Path,
    tmp_path: Path,
) -> None:
    await recorded(council, winners=["gemini", "local"], losers=["claude", "gpt"])
    limited = limited_config(config_path, tmp_path / "chavion.yaml")
    assert bots.coordinator is not None
    await bots.coordinator.stop()
    bots.coordinator = await InProcessBots.start(load_settings(limited), ["coordinator"])
    try:
        task = await boss.order("//chavion_task: investigate cvxrec alternatives for backups")
        ack = await boss.council_message(task, "ask", stage="propose", what="the ack")
        assert council_of(ack)["agents"] == ["gemini", "local"]
        shown = [bots.settings.account(n).display_name for n in ("gemini", "local")]
        assert f"Asking {shown[0]} and {shown[1]} for proposals" in ack.body
        await boss.answers(task, "propose", 2)
        proposers = sorted(by_agent(script, asked(llm, task, "your proposal")))
        assert proposers == ["gemini", "local"]
        row = await boss.db.task(task.id)
        assert row is not None
        assert json.loads(row["participants"]) == ["gemini", "local"]
        await cancel_and_report(boss, task)
    finally:
        await bots.coordinator.stop()
        bots.coordinator = await InProcessBots.start(bots.settings, ["coordinator"])
