"""`!poll` through the coordinator's real dispatcher, access rules and `PollService`, on the
real store with a recording homeserver (tests/support/task_engine.py).

- `!poll <question> | <option> | …` posts one poll where it was given (its thread, else the
  main timeline) and says nothing else; `!poll close [N]` ends it with the tally notice.
- Bad input (one option, eleven) is answered with a clear text and nothing is posted.
- Only the master may run it; everyone else is refused.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.coordinator.polls import PollService
from bots.coordinator.task_commands import TaskOps
from bots.events import POLL_END, POLL_START
from bots.ids import EventID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.settings.model import DEFAULT_COMMAND_RULES, MASTER_ONLY
from tests.support.task_engine import MASTER, ROOM, open_bench
from tests.support.task_engine import Bench as EngineBench

GUEST = UserID("@guest:localhost")


@dataclass
class Bench:
    engine: EngineBench
    dispatcher: Dispatcher
    said: int = 0

    async def say(
        self, body: str, *, sender: UserID = MASTER, power: int = 100, **kw: Any
    ) -> list[str]:
        self.said += 1
        message = Message(ROOM, EventID(f"$m{self.said}"), sender, body, sender_power=power, **kw)
        return [reply.body for reply in await self.dispatcher.handle(message)]

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [s.content for s in self.engine.matrix.sent if s.kind == kind]


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    engine = await open_bench(tmp_path)
    polls = PollService(engine.bot, clock=engine.clock)
    registry = coordinator_commands(engine.service, clock=engine.clock, polls=polls)
    yield Bench(engine, Dispatcher(engine.bot, registry))
    await engine.store.close()


async def test_a_poll_is_posted_where_it_was_given_and_closed_with_its_tally(
    bench: Bench,
) -> None:
    assert await bench.say("!poll Which database? | PostgreSQL | SQLite | MySQL") == []
    assert await bench.say("!poll Which port? | 80 | 443", thread_root=EventID("$t")) == []
    main, threaded = bench.sent(POLL_START)
    assert "m.relates_to" not in main
    assert threaded["m.relates_to"]["event_id"] == "$t"
    assert [a["id"] for a in main[POLL_START]["answers"]] == ["A", "B", "C"]
    assert await bench.say("!poll close 1") == []
    assert await bench.say("!poll close") == []
    assert len(bench.sent(POLL_END)) == 2
    notices = [s.body for s in bench.engine.matrix.sent if s.kind == "message"]
    assert [n.splitlines()[0] for n in notices] == [
        "📊 Poll #1 closed (closed by you): Which database?",
        "📊 Poll #2 closed (closed by you): Which port?",
    ]
    assert await bench.say("!poll close") == [
        "No poll is open. Open one with !poll <question> | <option> | <option>."
    ]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        pytest.param(
            "!poll Which database? | PostgreSQL",
            "A poll needs at least 2 options, not 1; e.g. !poll Which database for the new "
            "app? | PostgreSQL | SQLite | MySQL",
            id="one option",
        ),
        pytest.param(
            "!poll Q | " + " | ".join(f"o{n}" for n in range(11)),
            "A poll takes at most 10 options, not 11: merge some or ask in two polls.",
            id="eleven options",
        ),
        pytest.param(
            "!poll",
            "Send a question and 2 to 10 options, e.g. !poll Which database for the new app? "
            "| PostgreSQL | SQLite | MySQL",
            id="nothing",
        ),
    ],
)
async def test_bad_input_gets_a_clear_message_and_no_poll(
    bench: Bench, body: str, said: str
) -> None:
    assert await bench.say(body) == [said]
    assert bench.sent(POLL_START) == []


async def test_only_the_master_opens_a_poll(bench: Bench) -> None:
    [refused] = await bench.say("!poll Q | a | b", sender=GUEST, power=50)
    assert "poll" in refused
    assert bench.sent(POLL_START) == []
    assert DEFAULT_COMMAND_RULES["poll"] == MASTER_ONLY


def test_the_poll_command_is_declared_with_the_task_commands() -> None:
    engine = cast(TaskOps, object())
    polls = cast(PollService, object())
    assert coordinator_commands(engine).get("poll") is None
    assert coordinator_commands(None, polls=polls).get("poll") is None
    assert coordinator_commands(engine, polls=polls).get("poll") is not None
