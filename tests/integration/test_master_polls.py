"""The master's own polls end to end: `!poll <question> | <option> | …` posts a real poll,
every agent votes from its own account with a one-line reason, the master votes in his
client, and `!poll close` or the timeout ends it with the tally.

Real Synapse, the master's encrypted nio client, the coordinator in its own process (so one
test can SIGKILL it) and four agents on the real SDKs against the fake LLM server
(`CouncilScript`: a poll prompt is read as a vote). Assertions are on what the master's
client receives, the store's poll tables and what each agent's model was asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bots.events import COUNCIL_KEY, POLL_END, POLL_RESPONSE, POLL_START
from tests.support.council_script import CouncilScript
from tests.support.person import Seen
from tests.support.tasks import (
    AGENTS,
    CoordinatorProcess,
    StartTaskBots,
    TaskBots,
    TaskMaster,
)

pytestmark = pytest.mark.integration

POLL_SECONDS = 25
"""Long enough for four agents to vote on a loaded machine, short enough to wait out."""
REASONS = {
    "claude": ("B", "one file, nothing to run"),
    "gpt": ("B", "the app is small"),
    "gemini": ("C", "the team knows it"),
    "local": ("B", "fewest moving parts"),
}


@pytest.fixture(scope="module")
async def bots(start_task_bots: StartTaskBots) -> AsyncIterator[TaskBots]:
    async with start_task_bots(
        "polls", tasks={"poll_seconds": POLL_SECONDS}, own_process=True
    ) as started:
        yield started


@pytest.fixture
def script(script: CouncilScript) -> CouncilScript:
    """The shared script, with each agent's vote and reason on a poll."""
    for agent, (key, why) in REASONS.items():
        script.set("vote", agent, f"VOTE: {key}\nREASON: {why}.")
    return script


@pytest.fixture
def process(bots: TaskBots) -> CoordinatorProcess:
    assert bots.process is not None
    return bots.process


# ---- helpers ---------------------------------------------------------------------------------


def poll_id_of(seen: Seen) -> int | None:
    council = seen.content.get(COUNCIL_KEY)
    poll = council.get("poll") if isinstance(council, dict) else None
    return poll if isinstance(poll, int) else None


async def poll_start(boss: TaskMaster, question: str, timeout: float = 30) -> Seen:
    """The coordinator's poll start for `question` (its text is "📊 Poll #N: <question>")."""
    try:
        return await boss.person.wait_for_event(
            POLL_START,
            lambda s: s.sender == boss.coordinator and question in s.body,
            timeout=timeout,
        )
    except TimeoutError:
        said = [s.body[:120] for s in boss.person.seen[-10:]]
        raise AssertionError(f"no poll for {question!r} in {timeout} s; last: {said}") from None


def responses(boss: TaskMaster, poll: Seen) -> dict[str, str]:
    """Sender → answer id of the poll responses the master's client saw for `poll`."""
    found: dict[str, str] = {}
    for kind, seen in boss.person.events:
        if kind == POLL_RESPONSE and seen.relates_to.get("event_id") == poll.event_id:
            found[seen.sender] = seen.content[POLL_RESPONSE]["answers"][0]
    return found


async def reason_lines(boss: TaskMaster, poll: Seen, count: int) -> list[Seen]:
    """The agents' reason lines answering `poll` (council stage "poll", replying to it)."""

    def is_reason(seen: Seen) -> bool:
        council = seen.content.get(COUNCIL_KEY)
        return (
            isinstance(council, dict)
            and council.get("stage") == "poll"
            and council.get("kind") == "answer"
            and seen.in_reply_to == poll.event_id
        )

    await boss.wait(lambda s: True, is_reason, what=f"{count} reasons", count=count)
    return boss.person.matching(is_reason)


async def stored_votes(boss: TaskMaster, poll_id: int, count: int, timeout: float = 30) -> None:
    """Waits until the coordinator has stored `count` votes (the master's included)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await boss.db.rows("SELECT voter FROM poll_votes WHERE poll_id = ?", poll_id)
        if len(rows) >= count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"poll #{poll_id} stored {len(rows)} votes, not {count}")
        await asyncio.sleep(0.2)


async def tally_notice(boss: TaskMaster, poll_id: int, timeout: float = 60) -> Seen:
    return await boss.wait(
        lambda s: s.sender == boss.coordinator,
        lambda s: s.body.startswith(f"📊 Poll #{poll_id} closed"),
        what=f"the tally of poll #{poll_id}",
        timeout=timeout,
    )


def display(boss: TaskMaster, *agents: str) -> str:
    """The agents' display names as the tally lists them."""
    settings = boss.council.settings
    return ", ".join(settings.agent(a).account.display_name for a in agents)


def names(boss: TaskMaster) -> dict[str, str]:
    return {boss.council.user_id(agent): agent for agent in AGENTS}


# ---- tests -------------------------------------------------------------------------------------


async def test_every_agent_votes_with_a_reason_and_the_masters_vote_decides(
    boss: TaskMaster, script: CouncilScript
) -> None:
    question = "Which database for the new app?"
    await boss.command(f"!poll {question} | PostgreSQL | SQLite | MySQL")
    poll = await poll_start(boss, question)
    poll_id = poll_id_of(poll)
    assert poll_id is not None
    assert "m.relates_to" not in poll.content  # given in the main timeline, posted there
    answers = poll.content[POLL_START]["answers"]
    assert [a["id"] for a in answers] == ["A", "B", "C"]

    reasons = await reason_lines(boss, poll, len(AGENTS))
    by_agent = {names(boss)[r.sender]: r.body for r in reasons}
    assert by_agent == {agent: f"🗳️ {key} — {why}." for agent, (key, why) in REASONS.items()}
    assert all(not r.relates_to.get("rel_type") for r in reasons)  # main timeline, as a reply
    voted = {names(boss)[sender]: key for sender, key in responses(boss, poll).items()}
    assert voted == {agent: key for agent, (key, _) in REASONS.items()}
    asked = [r for r in script.asked if r[1] == "vote"]
    assert sorted(agent for agent, _ in asked) == sorted(AGENTS)  # one call per agent

    await boss.vote(poll.event_id, "A")
    await stored_votes(boss, poll_id, len(AGENTS) + 1)
    await boss.command("!poll close")
    notice = await tally_notice(boss, poll_id)
    lines = notice.body.splitlines()
    assert lines[0] == f"📊 Poll #{poll_id} closed (closed by you): {question}"
    assert lines[1] == "Result: A — PostgreSQL (1 vote: you, your vote decides)"
    assert lines[2:] == [
        "A · PostgreSQL — 1 vote: you",
        f"B · SQLite — 3 votes: {display(boss, 'claude', 'gpt', 'local')}",
        f"C · MySQL — 1 vote: {display(boss, 'gemini')}",
    ]
    end = await boss.person.wait_for_event(
        POLL_END, lambda s: s.relates_to.get("event_id") == poll.event_id, timeout=30
    )
    assert end.sender == boss.coordinator
    [row] = await boss.db.rows("SELECT state, closed_by FROM polls WHERE id = ?", poll_id)
    assert row == {"state": "closed", "closed_by": boss.person.user_id}


async def test_a_poll_in_a_thread_closes_by_timeout(
    boss: TaskMaster, script: CouncilScript
) -> None:
    root = await boss.command("Before the poll: we need a cache.")
    question = "Which cache?"
    thread = {"rel_type": "m.thread", "event_id": root, "is_falling_back": True}
    await boss.person.say(
        boss.room, f"!poll {question} | Redis | Memcached", **{"m.relates_to": thread}
    )
    poll = await poll_start(boss, question)
    poll_id = poll_id_of(poll)
    assert poll_id is not None
    assert poll.relates_to.get("event_id") == root
    reasons = await reason_lines(boss, poll, len(AGENTS))
    assert all(r.relates_to.get("event_id") == root for r in reasons)  # in the thread
    started = time.monotonic()
    notice = await tally_notice(boss, poll_id, timeout=POLL_SECONDS + 30)
    assert time.monotonic() - started < POLL_SECONDS + 20
    lines = notice.body.splitlines()
    assert lines[0] == f"📊 Poll #{poll_id} closed (time is up): {question}"
    assert lines[1] == f"Result: B — Memcached (3 votes: {display(boss, 'claude', 'gpt', 'local')})"
    [row] = await boss.db.rows("SELECT state, closed_by FROM polls WHERE id = ?", poll_id)
    assert row == {"state": "closed", "closed_by": "timeout"}


@pytest.mark.parametrize(
    ("options", "says"),
    [
        pytest.param(["PostgreSQL"], "A poll needs at least 2 options, not 1", id="one option"),
        pytest.param(
            [f"option {n}" for n in range(11)],
            "A poll takes at most 10 options, not 11",
            id="eleven options",
        ),
    ],
)
async def test_bad_input_gets_a_clear_message_and_no_poll(
    boss: TaskMaster, script: CouncilScript, options: list[str], says: str
) -> None:
    question = f"Bad poll {len(options)}?"
    sent = await boss.command(f"!poll {question} | " + " | ".join(options))
    refusal = await boss.wait(
        lambda s: s.in_reply_to == sent,
        lambda s: s.sender == boss.coordinator,
        what="the refusal",
        timeout=30,
    )
    assert says in refusal.body
    assert not [s for kind, s in boss.person.events if kind == POLL_START and question in s.body]


async def test_killed_while_everyone_votes_it_counts_every_vote_and_closes_once(
    boss: TaskMaster, script: CouncilScript, process: CoordinatorProcess
) -> None:
    script.delays["vote"] = 3.0  # the agents vote while the coordinator is down
    question = "Which queue?"
    await boss.command(f"!poll {question} | RabbitMQ | Redis streams | Kafka")
    poll = await poll_start(boss, question)
    poll_id = poll_id_of(poll)
    assert poll_id is not None
    await process.kill()
    await boss.vote(poll.event_id, "C")
    await reason_lines(boss, poll, len(AGENTS))
    await process.start()
    # A restarted process on a loaded machine may take a while to sync: a slow start is
    # not what this test is about (every vote, once, is).
    await stored_votes(boss, poll_id, len(AGENTS) + 1, timeout=90)
    notice = await tally_notice(boss, poll_id, timeout=POLL_SECONDS + 30)
    lines = notice.body.splitlines()
    assert lines[0] == f"📊 Poll #{poll_id} closed (time is up): {question}"
    assert lines[1] == "Result: C — Kafka (2 votes: Gemini, you, your vote decides)"
    starts = [s for kind, s in boss.person.events if kind == POLL_START and question in s.body]
    ends = [
        s
        for kind, s in boss.person.events
        if kind == POLL_END and s.relates_to.get("event_id") == poll.event_id
    ]
    assert (len(starts), len(ends)) == (1, 1)
    tallies = [s for s in boss.person.seen if s.body.startswith(f"📊 Poll #{poll_id} closed")]
    assert len(tallies) == 1
    assert sorted(a for a, stage in script.asked if stage == "vote") == sorted(AGENTS)


async def test_a_poll_that_ran_out_while_down_counts_the_votes_that_came_meanwhile(
    boss: TaskMaster, script: CouncilScript, process: CoordinatorProcess
) -> None:
    script.delays["vote"] = 3.0  # the agents vote while the coordinator is down
    question = "Which broker for the jobs?"
    await boss.command(f"!poll {question} | RabbitMQ | Redis streams | Kafka")
    poll = await poll_start(boss, question)
    poll_id = poll_id_of(poll)
    assert poll_id is not None
    opened = time.monotonic()
    await process.kill()
    await boss.vote(poll.event_id, "C")
    await reason_lines(boss, poll, len(AGENTS))
    await asyncio.sleep(max(0.0, POLL_SECONDS + 2 - (time.monotonic() - opened)))
    assert await boss.db.rows("SELECT voter FROM poll_votes WHERE poll_id = ?", poll_id) == []
    await process.start()  # the poll ran out while it was down: read the votes, then close
    notice = await tally_notice(boss, poll_id, timeout=60)
    lines = notice.body.splitlines()
    assert lines[0] == f"📊 Poll #{poll_id} closed (time is up): {question}"
    assert lines[1] == "Result: C — Kafka (2 votes: Gemini, you, your vote decides)"
    assert lines[3] == f"B · Redis streams — 3 votes: {display(boss, 'claude', 'gpt', 'local')}"
    rows = await boss.db.rows("SELECT voter FROM poll_votes WHERE poll_id = ?", poll_id)
    assert len(rows) == len(AGENTS) + 1
    tallies = [s for s in boss.person.seen if s.body.startswith(f"📊 Poll #{poll_id} closed")]
    assert len(tallies) == 1
