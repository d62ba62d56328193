"""The master's polls from `open` to the tally: `PollService` on the real store (SQLite in a
temporary directory) and the real settings, with a recording outbox in Chavion's own
protocol (as the Matrix layer would send). Votes come in as `RoomEvent`s.

- `open` stores the poll and sends one poll start carrying a stage "poll" ask for every
  participant; the same open key is the same poll and the same start.
- The master's and the asked agents' latest responses count; others, unknown answers and
  votes after the close do not. An agent's reason names its choice when its response is lost.
- `close` (by the master, or the tick past `tasks.poll_seconds`) sends the poll end and the
  tally notice once; a restart (a new service on the same store) sends nothing twice and
  finishes what a crash left.
- The master's vote decides, or weighs `tasks.poll_master_weight`.
- Bad input: clear texts, nothing sent.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pytest

from bots.background import BackgroundTasks
from bots.context import BotContext
from bots.coordinator.polls import PollService, is_poll_answer
from bots.errors import CommandError, StoreError
from bots.events import COUNCIL_KEY, POLL_END, POLL_RESPONSE, POLL_START
from bots.ids import EventID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from bots.store.polls import PollBallot, PollReason

ROOM = RoomID("!council:localhost")
T0 = 1_000_000.0


@dataclass
class Outbox:
    """What the service sent; a key sent again is the same event (the transaction id)."""

    sent: list[tuple[str, str, Any]] = field(default_factory=list)
    fail: bool = False
    _by_key: dict[str, EventID] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def _deliver(self, key: str, kind: str, what: Any) -> EventID:
        if self.fail:
            raise ConnectionError("homeserver away")
        if key not in self._by_key:
            self._by_key[key] = EventID(f"$out{next(self._ids)}")
            self.sent.append((kind, key, what))
        return self._by_key[key]

    async def send(self, reply: Reply) -> EventID:
        return self._deliver(reply.key, "message", reply)

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID:
        return self._deliver(key, event_type, content)

    def event_of(self, key: str) -> EventID:
        return self._by_key[key]

    def of(self, kind: str) -> list[Any]:
        return [what for sent_kind, _, what in self.sent if sent_kind == kind]


@dataclass
class Bench:
    store: Store
    settings: Settings
    outbox: Outbox = field(default_factory=Outbox)
    now: float = T0
    service: PollService = field(init=False)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new service on the same store: what a coordinator restart keeps."""
        bot = BotContext(
            settings=self.settings,
            account=self.settings.coordinator,
            identity=cast(Any, None),
            roster=cast(Any, None),
            matrix=cast(Any, self.outbox),
            store=self.store,
        )
        self.service = PollService(bot, clock=lambda: self.now)

    def configure(self, **tasks: Any) -> None:
        self.settings = replace(self.settings, tasks=replace(self.settings.tasks, **tasks))
        self.restart()

    @property
    def master(self) -> UserID:
        return self.settings.master_user_id

    def user(self, agent: str) -> UserID:
        return self.settings.user_id(self.settings.agent(agent).account)

    async def open(self, *options: str, key: str = "$cmd", root: str | None = None) -> int:
        poll = await self.service.open(
            "Which database?",
            options or ("PostgreSQL", "SQLite", "MySQL"),
            requester=self.master,
            source="matrix",
            room_id=ROOM,
            thread_root=EventID(root) if root else None,
            open_key=key,
        )
        return poll.id

    def start_event(self) -> EventID:
        """The event id of the one poll start sent."""
        [key] = [key for kind, key, _ in self.outbox.sent if kind == POLL_START]
        return self.outbox.event_of(key)

    async def vote(self, sender: UserID, key: str, *, at_ms: int | None = None) -> None:
        event = RoomEvent(
            ROOM,
            EventID(f"$vote{next(self._ids)}"),
            sender,
            POLL_RESPONSE,
            {
                POLL_RESPONSE: {"answers": [key]},
                "m.relates_to": {"rel_type": "m.reference", "event_id": self.start_event()},
            },
            timestamp_ms=at_ms if at_ms is not None else int(self.now * 1000),
        )
        assert await self.service.owns(event)
        await self.service.on_event(event, self.service.bot)

    async def reason(
        self, agent: str, poll_id: int, choice: str | None, status: str = "ok"
    ) -> None:
        council = {"v": 1, "kind": "answer", "stage": "poll", "task": 0, "poll": poll_id}
        council.update(ask=f"p{poll_id}-vote", status=status)
        if choice is not None:
            council["choice"] = choice
        message = Message(
            ROOM,
            EventID(f"$reason{next(self._ids)}"),
            self.user(agent),
            f"🗳️ {choice} — why",
            council=council,
        )
        assert is_poll_answer(message)
        await self.service.on_answer(message, self.service.bot)

    def notices(self) -> list[str]:
        return [reply.body for reply in self.outbox.of("message")]


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    store = await Store.open(tmp_path / "s.db")
    made = Bench(store, load_settings(EXAMPLE_CONFIG))
    yield made
    await store.close()


# ---- opening -------------------------------------------------------------------------------


async def test_open_sends_one_poll_start_carrying_the_ask(bench: Bench) -> None:
    poll_id = await bench.open(root="$thread")
    [content] = bench.outbox.of(POLL_START)
    start = content[POLL_START]
    assert start["question"]["body"] == f"📊 Poll #{poll_id}: Which database?"
    assert [
        (a["id"], a["body"] if "body" in a else a["org.matrix.msc1767.text"])
        for a in start["answers"]
    ] == [
        ("A", "PostgreSQL"),
        ("B", "SQLite"),
        ("C", "MySQL"),
    ]
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == "$thread"
    ask = content[COUNCIL_KEY]
    assert ask == {
        "v": 1,
        "kind": "ask",
        "stage": "poll",
        "task": 0,
        "poll": poll_id,
        "ask": f"p{poll_id}-vote",
        "agents": list(bench.settings.task_participants),
        "deadline_ms": int((T0 + bench.settings.tasks.poll_seconds) * 1000),
        "mission": "Which database?",
        "context": {
            "options": [
                {"key": "A", "text": "PostgreSQL"},
                {"key": "B", "text": "SQLite"},
                {"key": "C", "text": "MySQL"},
            ]
        },
    }
    stored = await bench.store.polls.get(poll_id)
    assert stored is not None
    assert stored.poll_event == bench.start_event()
    assert stored.open


async def test_a_poll_in_the_main_timeline_has_no_thread(bench: Bench) -> None:
    await bench.open()
    [content] = bench.outbox.of(POLL_START)
    assert "m.relates_to" not in content


async def test_the_same_command_twice_is_one_poll_and_one_start(bench: Bench) -> None:
    first = await bench.open(key="$cmd")
    bench.restart()
    assert await bench.open(key="$cmd") == first
    assert len(bench.outbox.of(POLL_START)) == 1
    assert await bench.open(key="$other") == first + 1


async def test_a_start_lost_to_a_failed_send_is_sent_by_the_tick(bench: Bench) -> None:
    bench.outbox.fail = True
    with pytest.raises(ConnectionError):
        await bench.open()
    bench.outbox.fail = False
    bench.restart()
    await bench.service.tick()
    assert len(bench.outbox.of(POLL_START)) == 1
    stored = await bench.store.polls.newest_open()
    assert stored is not None
    assert stored.poll_event is not None


@pytest.mark.parametrize(
    ("options", "says"),
    [
        pytest.param(("only one",), "at least 2 options, not 1", id="one option"),
        pytest.param(tuple(f"o{n}" for n in range(11)), "at most 10 options", id="eleven"),
        pytest.param(("a", "A"), "both", id="duplicate"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_sent(
    bench: Bench, options: tuple[str, ...], says: str
) -> None:
    with pytest.raises(CommandError, match=says):
        await bench.open(*options)
    assert bench.outbox.sent == []
    assert await bench.store.polls.list() == []


# ---- votes and the tally ---------------------------------------------------------------------


async def test_agents_and_the_master_vote_and_the_master_decides(bench: Bench) -> None:
    poll_id = await bench.open()
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gpt"), "B")
    await bench.vote(bench.user("gemini"), "A")
    await bench.vote(bench.master, "A")
    assert await bench.service.close(None, bench.master) == ""
    [end] = bench.outbox.of(POLL_END)
    assert end["m.relates_to"] == {"rel_type": "m.reference", "event_id": bench.start_event()}
    [notice] = bench.notices()
    assert notice.splitlines()[:2] == [
        f"📊 Poll #{poll_id} closed (closed by you): Which database?",
        "Result: A — PostgreSQL (2 votes: Gemini, you, your vote decides)",
    ]
    assert end["body"] == notice
    stored = await bench.store.polls.get(poll_id)
    assert stored is not None
    assert stored.state == "closed"
    assert stored.result == notice
    assert stored.closed_by == bench.master


async def test_with_a_weight_the_master_is_counted_not_obeyed(bench: Bench) -> None:
    bench.configure(poll_master_weight=1.5)
    await bench.open()
    for agent in ("claude", "gpt"):
        await bench.vote(bench.user(agent), "B")
    await bench.vote(bench.master, "A")
    await bench.service.close(None, bench.master)
    assert bench.notices()[0].splitlines()[1] == "Result: B — SQLite (2 votes: Claude, GPT)"


async def test_the_latest_response_counts_and_strangers_do_not(bench: Bench) -> None:
    await bench.open()
    await bench.vote(bench.user("claude"), "A", at_ms=2000)
    await bench.vote(bench.user("claude"), "C", at_ms=1000)  # older, arriving late
    await bench.vote(bench.user("claude"), "B", at_ms=3000)
    await bench.vote(UserID("@stranger:localhost"), "C")
    await bench.vote(bench.user("gpt"), "Z")  # not an option
    await bench.service.close(None, bench.master)
    lines = bench.notices()[0].splitlines()
    assert lines[1] == "Result: B — SQLite (1 vote: Claude)"
    assert lines[4] == "C · MySQL — 0 votes"


async def test_a_reason_counts_when_its_poll_response_never_came(bench: Bench) -> None:
    poll_id = await bench.open()
    await bench.reason("claude", poll_id, "C")
    await bench.reason("gpt", poll_id, "C")
    await bench.reason("gemini", poll_id, None, status="failed")
    await bench.vote(bench.user("gpt"), "A")  # its response wins over its reason
    await bench.service.close(poll_id, bench.master)
    lines = bench.notices()[0].splitlines()
    assert lines[2:] == [
        "A · PostgreSQL — 1 vote: GPT",
        "B · SQLite — 0 votes",
        "C · MySQL — 1 vote: Claude",
    ]
    reasons = await bench.store.polls.reasons(poll_id)
    assert {(r.agent, r.status, r.choice) for r in reasons} == {
        ("claude", "ok", "C"),
        ("gpt", "ok", "C"),
        ("gemini", "failed", None),
    }


async def test_a_vote_after_the_close_is_not_counted(bench: Bench) -> None:
    poll_id = await bench.open()
    await bench.vote(bench.user("claude"), "A")
    await bench.service.close(poll_id, bench.master)
    await bench.vote(bench.user("gpt"), "B")
    assert [b.voter for b in await bench.store.polls.votes(poll_id)] == ["claude"]


async def test_a_response_to_a_task_poll_is_not_the_polls(bench: Bench) -> None:
    await bench.open()
    event = RoomEvent(
        ROOM,
        EventID("$v"),
        bench.master,
        POLL_RESPONSE,
        {
            POLL_RESPONSE: {"answers": ["A"]},
            "m.relates_to": {"rel_type": "m.reference", "event_id": "$a-task-poll"},
        },
    )
    assert not await bench.service.owns(event)


# ---- closing -------------------------------------------------------------------------------


async def test_the_timeout_closes_the_poll_with_its_tally(bench: Bench) -> None:
    poll_id = await bench.open()
    await bench.vote(bench.user("gpt"), "C")
    bench.now = T0 + bench.settings.tasks.poll_seconds - 1
    await bench.service.tick()
    assert bench.outbox.of(POLL_END) == []
    bench.now = T0 + bench.settings.tasks.poll_seconds
    await bench.service.tick()
    await bench.service.tick()
    [notice] = bench.notices()
    assert notice.splitlines()[:2] == [
        f"📊 Poll #{poll_id} closed (time is up): Which database?",
        "Result: C — MySQL (1 vote: GPT)",
    ]
    assert len(bench.outbox.of(POLL_END)) == 1


async def test_a_poll_that_expired_while_down_closes_at_start(bench: Bench) -> None:
    await bench.open()
    bench.now = T0 + 10 * bench.settings.tasks.poll_seconds
    bench.restart()
    await bench.service.resume()
    assert len(bench.outbox.of(POLL_END)) == 1
    assert "time is up" in bench.notices()[0]


async def test_votes_that_came_while_down_are_read_before_the_expired_poll_closes(
    bench: Bench,
) -> None:
    poll_id = await bench.open()
    bench.now = T0 + 10 * bench.settings.tasks.poll_seconds
    bench.restart()
    # The first sync hands the catch-up's events to handlers running on their own (as the
    # Matrix client spawns them): here a vote that takes a few turns of the loop to store.
    catch_up = BackgroundTasks("catch-up")

    async def handled(sender: UserID, key: str) -> None:
        await asyncio.sleep(0.05)
        await bench.vote(sender, key, at_ms=int(T0 * 1000) + 1)

    catch_up.spawn(handled(bench.user("gpt"), "B"), "the vote")
    catch_up.spawn(handled(bench.master, "C"), "the master's vote")
    await bench.service.resume(lambda: catch_up.settle(5))
    [notice] = bench.notices()
    assert notice.splitlines()[:2] == [
        f"📊 Poll #{poll_id} closed (time is up): Which database?",
        "Result: C — MySQL (1 vote: you, your vote decides)",
    ]
    assert len(bench.outbox.of(POLL_END)) == 1


async def test_the_catch_up_waits_for_what_was_in_flight_only() -> None:
    work = BackgroundTasks("catch-up")
    order: list[str] = []
    gate = asyncio.Event()

    async def step(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        await asyncio.sleep(0.01)
        order.append(name)

    work.spawn(step("in flight"), "in flight")
    settled = asyncio.create_task(work.settle(5))
    await asyncio.sleep(0)  # settling has begun: what is spawned now comes after
    work.spawn(step("spawned later", gate), "later")
    assert await settled is True
    assert order == ["in flight"]
    assert await work.settle(0.01) is False  # timed out: left running, not cancelled
    gate.set()
    assert await work.settle(5) is True
    assert order == ["in flight", "spawned later"]


async def test_an_end_lost_to_a_crash_is_sent_once_after_the_restart(bench: Bench) -> None:
    poll_id = await bench.open()
    bench.outbox.fail = True
    with pytest.raises(ConnectionError):
        await bench.service.close(poll_id, bench.master)
    bench.outbox.fail = False
    bench.restart()
    await bench.service.tick()
    await bench.service.tick()
    assert len(bench.outbox.of(POLL_END)) == 1
    assert len(bench.notices()) == 1


@pytest.mark.parametrize(
    ("target", "says"),
    [
        pytest.param(None, "No poll is open", id="none open"),
        pytest.param(7, "There is no poll #7", id="unknown"),
    ],
)
async def test_closing_nothing_says_why(bench: Bench, target: int | None, says: str) -> None:
    with pytest.raises(CommandError, match=says):
        await bench.service.close(target, bench.master)


async def test_closing_a_closed_poll_names_its_result(bench: Bench) -> None:
    poll_id = await bench.open()
    await bench.vote(bench.master, "B")
    await bench.service.close(poll_id, bench.master)
    with pytest.raises(CommandError, match=rf"Poll #{poll_id} is already closed: Result: B"):
        await bench.service.close(poll_id, bench.master)


async def test_close_without_a_number_takes_the_newest_open_poll(bench: Bench) -> None:
    first = await bench.open(key="$1")
    second = await bench.open(key="$2")
    await bench.service.close(None, bench.master)
    polls = {p.id: p.state for p in await bench.store.polls.list()}
    assert polls == {first: "open", second: "closed"}


# ---- the store -------------------------------------------------------------------------------


async def test_the_store_keeps_facts_once(bench: Bench) -> None:
    polls = bench.store.polls
    poll, created = await polls.create(
        open_key="k",
        room_id=ROOM,
        thread_root=None,
        question="Q",
        options=["a", "b"],
        agents=["claude"],
        requester=bench.master,
        source="voice",
        now=T0,
        deadline=T0 + 60,
    )
    assert created
    assert (poll.options, poll.agents, poll.source) == (
        ("a", "b"),
        ("claude",),
        "voice",
    )
    assert (
        await polls.create(
            open_key="k",
            room_id=ROOM,
            thread_root=None,
            question="other",
            options=["x", "y"],
            agents=[],
            requester=bench.master,
            source="voice",
            now=T0,
            deadline=T0,
        )
    )[0] == poll
    reason = PollReason(poll.id, "claude", "ok", "A", "because", EventID("$r"), T0)
    assert await polls.add_reason(reason)
    assert not await polls.add_reason(replace(reason, choice="B"))
    assert not await polls.add_reason(replace(reason, poll_id=99))
    assert not await polls.add_vote(PollBallot(99, "claude", "A", EventID("$v"), 1))
    await polls.set_event(poll.id, EventID("$start"))
    await polls.set_event(poll.id, EventID("$other"))
    assert (await polls.by_event(EventID("$start"))) is not None
    assert await polls.due(T0 + 59) == []
    assert [p.id for p in await polls.due(T0 + 60)] == [poll.id]
    closed = await polls.close(poll.id, by="timeout", result="r", now=T0 + 60)
    assert closed is not None
    assert (closed.state, closed.closed_at) == ("closed", T0 + 60)
    assert await polls.close(poll.id, by="timeout", result="again", now=T0 + 61) is None
    assert [p.id for p in await polls.unfinished("result")] == [poll.id]
    await polls.record_action(poll.id, "result", EventID("$n"), T0)
    await polls.record_action(poll.id, "result", EventID("$n2"), T0)
    assert await polls.action_done(poll.id, "result") == "$n"
    assert await polls.unfinished("result") == []


async def test_the_store_refuses_a_state_it_does_not_know(bench: Bench) -> None:
    await bench.open()
    with pytest.raises(StoreError):
        await bench.store.polls._write("UPDATE polls SET state = 'maybe'", ())
