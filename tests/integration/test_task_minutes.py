"""Minutes end to end: a task ends → the scribe (an agent on the fake LLM) is asked with the
task's facts → the minutes in the task's thread name the proposals (with their authors)
and the decision, with the status report; `!minutes N` shows them and `!minutes search`
finds them. `!minutes` in the main timeline: the room's recent discussion, through the
scribe, in a thread under the command — the post names who said what and does not repeat
the scribe's text; a coordinator restart between the ask and the answer still gives them,
once.

Real Synapse, the master's encrypted client, the executor on the embedded SSH server
(`local`), agents on the real SDKs against the fake LLM server (`CouncilScript`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import pytest

from tests.fakes.llm_server import FakeLLMServer, reply
from tests.support.council import InProcessBots
from tests.support.council_script import CouncilScript, stage_of
from tests.support.person import Seen
from tests.support.tasks import (
    StartTaskBots,
    TaskBots,
    TaskMaster,
    council_of,
    models_of,
)

pytestmark = pytest.mark.integration

SCRIBE = "claude"
SCRIBE_TEXT = "Minutes by the scribe: GPT's approach was chosen and df ran cleanly."


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots) -> AsyncIterator[TaskBots]:
    async with start_task_bots(
        "minutes", tasks={"scribe": SCRIBE, "minutes_seconds": 30}
    ) as started:
        yield started


async def reply_to(boss: TaskMaster, command: str, what: str) -> Seen:
    sent = await boss.command(command)
    return await boss.wait(
        lambda s: s.in_reply_to == sent,
        lambda s: s.sender == boss.coordinator,
        what=what,
        timeout=60,
    )


async def test_minutes_name_the_proposals_and_the_decision(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer, bots: TaskBots
) -> None:
    script.set("minutes", SCRIBE, SCRIBE_TEXT)
    names = {a.name: a.display_name for a in models_of(bots.config_path)}
    task = await boss.order("//chavion_task: report disk usage of local for the cvxminutes log")
    plan = await boss.plan(task)
    await boss.react(plan.event_id, "✅")
    report = await boss.report(task)
    assert report.body.startswith(f"#{task.id} ✅ Done")

    minutes = await boss.council_message(task, "minutes", what="the minutes", timeout=90)
    body = minutes.body
    assert body.startswith(f"#{task.id} 🗒️ Minutes of task #{task.id}: report disk usage")
    # Said once: the scribe's own answer in the thread is the minutes' text; the
    # coordinator's post follows it with only the decision and the status.
    written = await boss.in_thread(
        task,
        lambda s: council_of(s).get("kind") == "answer" and council_of(s).get("stage") == "minutes",
        what="the scribe's minutes",
    )
    assert written.sender == boss.council.user_id(SCRIBE)
    assert written.body == f"#{task.id} 🗒️ {SCRIBE_TEXT}"
    assert SCRIBE_TEXT not in body
    proposers = [name for name, stage in script.asked if stage == "propose"]
    assert len(proposers) >= 3
    for agent in proposers:
        assert re.search(rf"{re.escape(names[agent])} \([A-D]\)", body), f"{agent} not named"
    assert re.search(rf"Decision: {names['gpt']}'s proposal \([A-D]\) won the vote\.", body)
    assert "- Done: step 1 `df -h` on local" in body
    assert "- Errors: —" in body

    # The scribe was asked in the thread, with the facts it wrote from.
    ask = await boss.in_thread(
        task,
        lambda s: council_of(s).get("kind") == "ask" and council_of(s).get("stage") == "minutes",
        what="the minutes ask",
    )
    assert council_of(ask)["agents"] == [SCRIBE]
    asked = [r for r in llm.requests if stage_of(r) == "minutes"]
    assert asked, "the scribe's model was never asked"
    prompt = asked[-1].system
    for agent in proposers:
        assert re.search(rf"- {re.escape(names[agent])} \([A-D]\): ", prompt)
    assert f"Decision: {names['gpt']}'s proposal" in prompt
    assert "`df -h` on local: succeeded" in prompt

    # The stored minutes are the whole: the scribe's text, the decision and the status.
    head, rest = body.split("\n\n", 1)
    whole = f"{head}\n\n{SCRIBE_TEXT}\n\n{rest}"
    shown = await reply_to(boss, f"!minutes {task.id}", "the reply to !minutes N")
    assert shown.body == whole
    found = await reply_to(boss, "!minutes search cvxminutes", "the reply to !minutes search")
    assert found.body == whole
    assert await boss.db.state(task.id) == "completed"


def in_thread_of(root: str) -> Callable[[Seen], bool]:
    return lambda s: s.relates_to.get("event_id") == root


def council_kind(kind: str, stage: str | None = None) -> Callable[[Seen], bool]:
    return lambda s: (
        council_of(s).get("kind") == kind and (stage is None or council_of(s).get("stage") == stage)
    )


async def test_minutes_of_the_recent_discussion_in_the_room(
    boss: TaskMaster, script: CouncilScript, llm: FakeLLMServer
) -> None:
    # What earlier tests said in the room is closed by minutes of its own first: this
    # discussion starts after them, whichever tests ran before.
    script.set("minutes", SCRIBE, "Minutes: what came before.")
    earlier = await boss.command("!minutes")
    await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: (
            (in_thread_of(earlier)(s) and council_kind("minutes")(s))
            or (s.in_reply_to == earlier and s.body.startswith("Nothing was said here"))
        ),
        what="the minutes of what came before (or that there was nothing)",
        timeout=90,
    )
    text = "Minutes: the master keeps nginx (cvxdiscussion)."
    script.set("minutes", SCRIBE, text)
    await boss.command("We keep nginx on web-1 for now, cvxdiscussion-1.")
    await boss.command("Caddy can wait until the spring, cvxdiscussion-2.")
    sent = await boss.command("!minutes")
    minutes = await boss.wait(
        in_thread_of(sent),
        lambda s: s.sender == boss.coordinator and council_kind("minutes")(s),
        what="the discussion's minutes in a thread under !minutes",
        timeout=90,
    )
    assert minutes.body.startswith("🗒️ Minutes of the discussion (")
    # Said once: the scribe's own message in the thread is the text; the post names who
    # said what, from the messages themselves.
    written = await boss.wait(
        in_thread_of(sent), council_kind("answer", "minutes"), what="the scribe's minutes"
    )
    assert written.sender == boss.council.user_id(SCRIBE)
    assert written.body == f"🗒️ {text}"
    assert text not in minutes.body
    assert re.search(
        r"Who said what:\n- .+ \(2\): We keep nginx on web-1 for now, cvxdiscussion-1\. · "
        r"Caddy can wait until the spring, cvxdiscussion-2\.",
        minutes.body,
    ), minutes.body
    asked = [r for r in llm.requests if stage_of(r) == "minutes"]
    assert asked, "the scribe's model was never asked"
    prompt = asked[-1].system
    assert "# The minutes of a discussion" in prompt
    first = prompt.index("We keep nginx on web-1 for now, cvxdiscussion-1.")
    assert first < prompt.index("Caddy can wait until the spring, cvxdiscussion-2.")
    assert "!minutes" not in prompt
    head, rest = minutes.body.split("\n\n", 1)
    found = await reply_to(boss, "!minutes search cvxdiscussion", "the search")
    assert found.body == f"{head}\n\n{text}\n\n{rest}"


async def test_a_restart_between_the_ask_and_the_answer_still_gives_the_minutes_once(
    boss: TaskMaster, script: CouncilScript, bots: TaskBots
) -> None:
    text = "Minutes: backups move to db-2 (cvxrestart)."
    script.set("minutes", SCRIBE, reply(text, delay_s=6))  # answers while the coordinator is down
    await boss.command("Backups move to db-2 this week, cvxrestart-1.")
    sent = await boss.command("!minutes")
    await boss.wait(
        in_thread_of(sent),
        lambda s: s.sender == boss.coordinator and council_kind("ask", "minutes")(s),
        what="the minutes ask",
    )
    assert bots.coordinator is not None
    await bots.coordinator.stop()
    await boss.wait(
        in_thread_of(sent), council_kind("answer", "minutes"), what="the scribe's answer"
    )
    bots.coordinator = await InProcessBots.start(bots.settings, ["coordinator"])
    minutes = await boss.wait(
        in_thread_of(sent),
        lambda s: s.sender == boss.coordinator and council_kind("minutes")(s),
        what="the minutes after the restart",
        timeout=90,
    )
    assert re.search(r"- .+ \(1\): Backups move to db-2 this week, cvxrestart-1\.", minutes.body)
    assert "No minutes from the scribe" not in minutes.body
    await asyncio.sleep(3)  # a second post would come by now
    posted = [
        s
        for s in boss.person.seen
        if in_thread_of(sent)(s) and s.sender == boss.coordinator and council_kind("minutes")(s)
    ]
    asks = [s for s in boss.person.seen if in_thread_of(sent)(s) and council_kind("ask")(s)]
    assert (len(posted), len(asks)) == (1, 1)
    stored = await reply_to(boss, "!minutes search cvxrestart", "the search")
    assert text in stored.body
