"""A whole task as the master sees it in Element: the Element-stack client (matrix-js-sdk with
its Rust crypto, as Element Web runs it) excluding insecure devices, in the encrypted council.

He types `//chavion_task: report disk usage of local`; the coordinator acks in a thread rooted
at his message; three agents (on the fake LLM, scripted by `CouncilScript`) propose and vote
in a poll; he votes in that poll from Element and his vote decides; the plan mentions him and
shows `df -h` verbatim with ✅ ❌ pre-added; he taps ✅; `df -h` runs on the executor's `local`
host; the report mentions him with the real output, and a line reaches the main timeline.
Every bot event must decrypt with no shield, and Element's own notifier (matrix-js-sdk's push
processor on the decrypted event) must buzz for the plan and the report, and for nothing else
the coordinator sends.

What differs from the nio `Person` of test_tasks.py, and is the point: Element withholds room
keys from devices not signed by their owner, sends the `/` of `//` once, sends reactions
unencrypted (even in an encrypted room), and judges every event's shield itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from bots.events import COUNCIL_KEY, POLL_END, POLL_START, POLL_TEXT
from tests.fakes.llm_server import FakeLLMServer
from tests.integration.test_notifications import client_api
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.council_script import CouncilScript, plan_json, step
from tests.support.element import ElementClient, ElementEvent, typed_in_element_web
from tests.support.person import Person
from tests.support.push import phone_buzzes, ruleset, sound
from tests.support.task_db import TaskDb
from tests.support.tasks import (
    TaskBots,
    give_back_coordinator,
    scripted_council,
    take_over_coordinator,
    task_config,
)

pytestmark = pytest.mark.integration

AGENTS = ("claude", "gpt", "gemini")
BOTS = ("coordinator", "executor", *AGENTS)
ORDER = "//chavion_task: report disk usage of local"
LEGACY_MENTION_RULES = {
    ".m.rule.contains_display_name",
    ".m.rule.contains_user_name",
    ".m.rule.roomnotif",
}
"""Push rules that read names in a body; an event with `m.mentions` turns them off (MSC3952)."""


@pytest.fixture(scope="module")
async def llm() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
async def element(
    council: ThrowawayCouncil, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ElementClient]:
    """The master's Element session, excluding insecure devices (MSC4153), as Element makes
    mandatory. Its own cross-signing is left as it is: setting it up is test_element_client's
    job (a second bootstrap in one session finds keys it cannot read and fails), and what is
    judged here is the bots' devices, signed by their owners, not his."""
    client = await ElementClient.start(tmp_path_factory.mktemp("element-tasks"))
    master = council.provisioned.master
    try:
        await client.login(council.url, master.user_id, master.password)
        await client.isolation("only_signed")
        yield client
    finally:
        await client.close()


@pytest.fixture(scope="module")
async def bots(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    llm: FakeLLMServer,
    element: ElementClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TaskBots]:
    """The task bots with three agents, started after the master's Element device exists (it
    is in their first key query); the executor's embedded `local` host is the only one. The
    agent `local` stays unstarted: test_foundation needs an account that never ran."""
    path = tmp_path_factory.mktemp("element-tasks-config") / "chavion.yaml"
    config = task_config(council, llm, path, agents=AGENTS)
    await take_over_coordinator(coordinator)
    try:
        started = await TaskBots.start(council, config, agents=AGENTS)
        try:
            await master.sees_devices_of(*(council.user_id(n) for n in BOTS))
            yield started
        finally:
            await started.stop()
    finally:
        await give_back_coordinator(coordinator, council.settings)


@pytest.fixture
def script(llm: FakeLLMServer, bots: TaskBots) -> Iterator[CouncilScript]:
    yield from scripted_council(llm, bots)


# ---- reading what Element shows ------------------------------------------------------------


def council_of(event: ElementEvent) -> dict[str, Any]:
    """The `org.chavion.council` object of an event ({} when it has none)."""
    found = event.content.get(COUNCIL_KEY)
    if not isinstance(found, dict):
        inner = event.content.get(POLL_START)
        found = inner.get(COUNCIL_KEY) if isinstance(inner, dict) else None
    return found if isinstance(found, dict) else {}


def in_thread_of(root: str) -> Callable[[ElementEvent], bool]:
    return lambda e: (
        e.relates_to.get("rel_type") == "m.thread" and e.relates_to.get("event_id") == root
    )


def from_coordinator(council: ThrowawayCouncil, kind: str, root: str) -> Callable[..., bool]:
    """The coordinator's message of a council kind ("ask", "plan", "report") in the thread."""
    coordinator, thread = council.user_id("coordinator"), in_thread_of(root)
    return lambda e: (
        e.sender == coordinator
        and thread(e)
        and council_of(e).get("kind") == kind
        and "m.new_content" not in e.content
    )


def mentions(event: ElementEvent, user_id: str) -> bool:
    """An intentional mention (what Element's `.m.rule.is_user_mention` reads)."""
    mentioned = event.content.get("m.mentions")
    return isinstance(mentioned, dict) and user_id in mentioned.get("user_ids", [])


def poll_text(block: dict[str, Any]) -> str:
    """The text of a poll's question or answer as Element reads it (MSC1767 text)."""
    return str(block.get(POLL_TEXT, ""))


# ---- the task ----------------------------------------------------------------------------------


async def test_the_master_runs_a_task_from_element_with_no_shield_and_his_vote_deciding(
    council: ThrowawayCouncil, element: ElementClient, script: CouncilScript, master: Person
) -> None:
    room, me = council.council_room, element.user_id
    bot_ids = {council.user_id(n) for n in BOTS}
    # Without their owners' signatures Element would withhold its room keys from the bots'
    # devices: they could not read him. Said first, and plainly.
    for name in BOTS:
        devices = await element.devices(council.user_id(name))
        unsigned = [d["device_id"] for d in devices if not d["signed_by_owner"]]
        assert devices, f"no device for {name}"
        assert unsigned == [], f"{name}'s devices not signed by {name}: {unsigned}"
    seen_before = {e.event_id for e in element.events}
    script.delays["vote"] = 4.0  # the agents think; the master taps first

    # 1-2. The order, and the ack in a thread rooted at it, readable inline.
    order = await element.say(room, typed_in_element_web(ORDER))
    [ack] = await element.wait_for(from_coordinator(council, "ask", order))
    task = int(council_of(ack)["task"])
    assert ack.body.startswith(f"#{task} "), ack.body
    assert f"Task #{task} registered" in ack.body
    assert ack.relates_to["rel_type"] == "m.thread"
    assert ack.relates_to["event_id"] == order

    # 3. Three agents' proposals, in the thread.
    def proposal(e: ElementEvent) -> bool:
        found = council_of(e)
        return (
            in_thread_of(order)(e)
            and found.get("kind") == "answer"
            and found.get("stage") == "propose"
        )

    proposals = await element.wait_for(proposal, count=len(AGENTS), timeout=60)
    assert len({e.sender for e in proposals}) == len(AGENTS)
    assert all(e.body.startswith(f"#{task} 💡") for e in proposals)

    # 4. The poll as Element renders it (MSC3381), and his vote from Element decides.
    [poll] = await element.wait_for(
        lambda e: e.type == POLL_START and in_thread_of(order)(e), timeout=60
    )
    start = poll.content[POLL_START]
    assert poll_text(start["question"]), start
    answers = start["answers"]
    assert len(answers) == len(AGENTS)
    assert all(a["id"] and poll_text(a) for a in answers), answers
    assert start["max_selections"] == 1
    chosen = council_of(poll)["context"]["own"]["claude"]  # not the agents' favourite (GPT)
    assert chosen in {a["id"] for a in answers}
    await element.vote(room, poll.event_id, chosen)
    [ended] = await element.wait_for(
        lambda e: e.type == POLL_END and e.relates_to.get("event_id") == poll.event_id,
        timeout=60,
    )
    assert ended.sender == council.user_id("coordinator")
    assert f"the master chose {chosen}" in ended.body, ended.body

    # 5. The plan: a message that buzzes, names him, shows `df -h` verbatim; ✅ ❌ pre-added;
    # he taps ✅ (sent unencrypted, as Element sends every reaction).
    [plan] = await element.wait_for(from_coordinator(council, "plan", order), timeout=90)
    assert plan.content["msgtype"] == "m.text"
    assert mentions(plan, me), plan.content.get("m.mentions")
    assert "df -h" in [line.strip() for line in plan.body.splitlines()], plan.body
    assert "<pre><code>df -h</code></pre>" in plan.content.get("formatted_body", ""), plan.content
    offered = await element.wait_for(
        lambda e: (
            e.type == "m.reaction"
            and e.sender == council.user_id("coordinator")
            and e.relates_to.get("event_id") == plan.event_id
        ),
        count=2,
    )
    assert {str(e.relates_to.get("key")).replace("\ufe0f", "") for e in offered} == {"✅", "❌"}
    await element.react(room, plan.event_id, "✅")

    # 6. `df -h` ran: the report names him with its real output; the line in the main timeline.
    [report] = await element.wait_for(from_coordinator(council, "report", order), timeout=90)
    assert report.body.startswith(f"#{task} ✅ Done"), report.body
    assert report.content["msgtype"] == "m.text"
    assert mentions(report, me), report.content.get("m.mentions")
    assert "Filesystem" in report.body  # the real output of df -h
    [line] = await element.wait_for(
        lambda e: (
            e.sender == council.user_id("coordinator")
            and e.type == "m.room.message"
            and not e.relates_to
            and e.body.startswith(f"#{task} ✅")
        )
    )
    assert "disk usage of local" in line.body
    row = await TaskDb(council.data.store).task(task)
    assert row is not None
    assert (row["state"], row["winner"]) == ("completed", "claude")
    assert script.count("plan", "claude") == 1
    assert script.count("plan", "gpt") == 0

    # Every bot event of the task decrypted, with no shield: the poll's start and end
    # included. Only reactions travel in the clear (Element and nio both send them so, and
    # Element draws no shield on a reaction); everything else is encrypted.
    bot_events = [
        e
        for e in element.events
        if e.event_id not in seen_before
        and e.sender in bot_ids
        and e.room_id == room
        and e.state_key is None  # state (the bots' heartbeats) is never encrypted
    ]
    assert {poll.event_id, ended.event_id, plan.event_id, report.event_id} <= {
        e.event_id for e in bot_events
    }
    undecrypted = [(e.sender, e.type, e.failure) for e in bot_events if e.failure]
    assert undecrypted == []
    in_clear = {e.type for e in bot_events if not e.encrypted}
    assert in_clear <= {"m.reaction"}
    sealed = [e.event_id for e in bot_events if e.encrypted]
    shields = await element.shields(sealed)
    warned = {k: v for k, v in shields.items() if v is None or v.warns}
    assert warned == {}
    # Element's thread panel holds the task's messages, the poll and the report included.
    await element.wait_until_in_thread(room, order, report.event_id)
    panel = await element.thread(room, order) or []
    assert {ack.event_id, poll.event_id, plan.event_id} <= set(panel)

    # 7. Element's notifier buzzes for the plan and the report, by their mention of him; the
    # poll notifies as a poll; the coordinator's other events stay silent. No event buzzes by
    # the legacy rules that match his name in a body: his display name is "master" (the
    # localpart, by default), which "the master chose C" and "requested by @master:…" hold.
    for event in (plan, report):
        assert event.push is not None, event.body
        assert event.push["notify"], (event.body[:80], event.push)
        assert event.push["rule"] == ".m.rule.is_user_mention", (event.body[:80], event.push)
        assert event.push["sound"] == "default", (event.body[:80], event.push)
    assert poll.push is not None
    assert poll.push["notify"], poll.push
    coordinator = council.user_id("coordinator")
    buzzing = [
        e.event_id
        for e in bot_events
        if e.sender == coordinator and e.push is not None and e.push["sound"] is not None
    ]
    assert buzzing == [plan.event_id, report.event_id]
    by_name = [
        (e.type, e.body[:80], e.push["rule"])
        for e in bot_events
        if e.push is not None and e.push["rule"] in LEGACY_MENTION_RULES
    ]
    assert by_name == []
    # And as Synapse decides it (what Element X's push sees first): the server pushes the
    # encrypted event, the app then agrees on the decrypted plan and report, with a sound.
    rules = ruleset((await client_api(master, "/_matrix/client/v3/pushrules/"))["global"])
    for event in (plan, report):
        whole = {"type": event.type, "sender": event.sender, "content": event.content}
        actions = phone_buzzes(whole, rules, me, encrypted=True)
        assert actions is not None, event.body[:80]
        assert sound(actions) == "default", (event.body[:80], actions)


async def test_from_element_a_tapped_cross_sends_the_plan_back_and_element_xs_tick_runs_it(
    council: ThrowawayCouncil, element: ElementClient, script: CouncilScript
) -> None:
    """❌ tapped in Element (a reaction in the clear) sends the plan back to its author; the
    next plan approved with ✅ as Element X's quick reactions send it, with U+FE0F, runs at
    once: the executor, which checks the master's ✅ itself, reads it as the coordinator does."""
    script.set("plan", "*", plan_json(step("local", "df -h")), plan_json(step("local", "df -h /")))
    order = await element.say(council.council_room, ORDER)  # Element X sends `//` unchanged
    [ack] = await element.wait_for(from_coordinator(council, "ask", order))
    task = int(council_of(ack)["task"])
    [first] = await element.wait_for(from_coordinator(council, "plan", order), timeout=90)
    await element.react(council.council_room, first.event_id, "❌")

    def second_plan(e: ElementEvent) -> bool:
        return from_coordinator(council, "plan", order)(e) and e.event_id != first.event_id

    [second] = await element.wait_for(second_plan, timeout=90)
    assert "df -h /" in [line.strip() for line in second.body.splitlines()], second.body
    await element.react(council.council_room, second.event_id, "✅\ufe0f")
    [report] = await element.wait_for(from_coordinator(council, "report", order), timeout=90)
    assert report.body.startswith(f"#{task} ✅ Done"), report.body
    assert "Filesystem" in report.body
    moves = [to for _, to in await TaskDb(council.data.store).moves(task)]
    assert moves.count("awaiting_approval") == 2
    assert moves[-1] == "completed"
