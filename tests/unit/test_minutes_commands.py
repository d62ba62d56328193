"""`!minutes`: its arguments as a table, then the handler over the real engine and store:
a task's minutes by number or from inside its thread, the recent discussion through the
scribe, a search, and who may run it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.coordinator.minutes_commands import Search, read_minutes, search_text
from bots.errors import CommandError
from bots.ids import EventID, RoomID, UserID
from bots.message import HistoryEntry, Message
from bots.routing.dispatch import Dispatcher
from bots.store.minutes import MinutesRecord
from tests.support.task_engine import INTAKE, MASTER, ROOM, open_bench
from tests.support.task_engine import Bench as EngineBench

T0 = 1_000_000.0
NOT_A_NUMBER = '"tomorrow" is not a task number. Send !minutes, !minutes 12 or !minutes search'


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", None),
        ("12", 12),
        ("#12", 12),
        ("search disk full", Search("disk full")),
        ("검색 디스크", Search("디스크")),
        ("SEARCH nginx", Search("nginx")),
        ("search", CommandError("Search for what? e.g. !minutes search nginx.")),
        ("tomorrow", CommandError(NOT_A_NUMBER)),
    ],
)
def test_minutes_arguments(args: str, expected: object) -> None:
    if isinstance(expected, CommandError):
        with pytest.raises(CommandError, match=str(expected).replace("?", r"\?")):
            read_minutes(args)
    else:
        assert read_minutes(args) == expected


def record(n: int, task_id: int | None, text: str) -> MinutesRecord:
    return MinutesRecord(n, task_id, ROOM, None, text, "", "gpt", None, T0 + 3600 * n)


def test_search_results() -> None:
    utc = ZoneInfo("UTC")
    assert search_text("zzz", [], utc) == '🔎 No minutes mention "zzz".'
    one = record(1, 3, "#3 🗒️ Minutes of task #3: x\n\nnginx was reloaded.")
    assert search_text("nginx", [one], utc) == one.text, "one found is shown whole"
    two = record(2, None, "🗒️ Minutes of the discussion (3 messages)\n\nnginx or caddy?")
    assert search_text("nginx", [one, two], utc) == (
        '🔎 Minutes mentioning "nginx":\n'
        "- #3 · 12 Jan 14:46 — nginx was reloaded.\n"
        "- Discussion · 12 Jan 15:46 — nginx or caddy?\n"
        "!minutes 12 shows a task's in full."
    )


# --- the handler ------------------------------------------------------------------------


@dataclass
class Bench:
    engine: EngineBench
    dispatcher: Dispatcher
    history: list[HistoryEntry]
    said: int = 0

    async def say(
        self, body: str, *, sender: UserID = MASTER, power: int = 100, **kw: Any
    ) -> list[str]:
        self.said += 1
        message = Message(ROOM, EventID(f"$m{self.said}"), sender, body, sender_power=power, **kw)
        return [reply.body for reply in await self.dispatcher.handle(message)]


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    engine = await open_bench(tmp_path)
    history: list[HistoryEntry] = []

    async def recent(room_id: RoomID, thread_root: EventID | None, limit: int) -> list[Any]:
        return history[-limit:]

    engine.matrix.history = recent  # type: ignore[method-assign]
    registry = coordinator_commands(
        engine.service, clock=engine.clock, minutes=engine.service.minutes
    )
    yield Bench(engine, Dispatcher(engine.bot, registry), history)
    await engine.store.close()


async def failed_task_with_minutes(bench: Bench) -> None:
    engine = bench.engine
    await engine.order()
    await engine.later(180)  # nobody proposed
    await engine.answer("gpt", "t1-minutes-1", "Nobody proposed; the task failed.")


async def test_a_tasks_minutes_by_number_or_from_its_thread(bench: Bench) -> None:
    await failed_task_with_minutes(bench)
    posted = bench.engine.matrix.by_key("minutes").body
    # The thread has the scribe's text and the post after it; the command shows the whole.
    head, rest = posted.split("\n\n", 1)
    whole = f"{head}\n\nNobody proposed; the task failed.\n\n{rest}"
    assert await bench.say("!minutes 1") == [whole]
    assert await bench.say("!minutes", thread_root=INTAKE) == [whole]
    assert await bench.say("!minutes search nobody") == [whole]
    assert await bench.say("!minutes 9") == ["There is no task #9. !tasks all lists them."]


async def test_anyone_in_the_room_may_read_minutes(bench: Bench) -> None:
    await failed_task_with_minutes(bench)
    said = await bench.say("!minutes 1", sender=UserID("@guest:localhost"), power=0)
    assert said[0].startswith("#1 🗒️ Minutes of task #1")


TALK_HEAD = "🗒️ Minutes of the discussion (2 messages with Master and Claude)"
WHO_SAID_WHAT = (
    "Who said what:\n- Master (1): 얘들아, nginx or caddy?\n- Claude (1): Caddy: it renews TLS."
)
SCRIBED = "The master asked nginx or Caddy; Claude backed Caddy."


def a_discussion(bench: Bench) -> None:
    bench.history.extend(
        [
            HistoryEntry(EventID("$h1"), MASTER, "Master", "얘들아, nginx or caddy?", 1000),
            HistoryEntry(
                EventID("$h2"), bench.engine.user("claude"), "Claude", "Caddy: it renews TLS.", 2000
            ),
            HistoryEntry(EventID("$h3"), MASTER, "Master", "!status", 3000),
        ]
    )


def asks(bench: Bench) -> list[Any]:
    return [s for s in bench.engine.matrix.sent if s.key.endswith("/minutes-ask")]


def posts(bench: Bench) -> list[Any]:
    return [s for s in bench.engine.matrix.sent if s.key.endswith("/minutes")]


def scribe_answer(bench: Bench, ask: str, body: str, **council: Any) -> Message:
    return Message(
        ROOM,
        EventID(f"$scribe{len(bench.engine.matrix.sent)}"),
        council.pop("sender", bench.engine.user("gpt")),
        body,
        thread_root=EventID("$m1"),
        council={
            "v": 1,
            "kind": "answer",
            "task": 0,
            "ask": ask,
            "stage": "minutes",
            "status": "ok",
            **council,
        },
    )


async def test_the_recent_discussion_through_the_scribe(bench: Bench) -> None:
    engine = bench.engine
    a_discussion(bench)
    assert await bench.say("!minutes") == []  # the ask and the minutes are in its thread
    [ask] = asks(bench)
    assert ask.body == "🗒️ Asking GPT for the minutes (3 min)."
    assert ask.reply is not None
    assert ask.reply.thread_root == "$m1"
    assert (ask.content["task"], ask.content["stage"], ask.content["agents"]) == (
        0,
        "minutes",
        ["gpt"],
    )
    assert ask.content["context"]["discussion"] == [
        "Master: 얘들아, nginx or caddy?",
        "Claude: Caddy: it renews TLS.",
    ]
    answer = scribe_answer(bench, ask.content["ask"], f"🗒️ {SCRIBED}")
    assert await engine.service.on_task_message(answer, engine.bot) == []
    [posted] = posts(bench)
    # Said once: the scribe's text is its own message just above; the post adds who said
    # what, and the stored minutes are the whole.
    assert posted.body == f"{TALK_HEAD}\n\n{WHO_SAID_WHAT}"
    assert posted.reply is not None
    assert posted.reply.thread_root == "$m1"
    stored = await engine.store.minutes.recent(ROOM)
    whole = f"{TALK_HEAD}\n\n{SCRIBED}\n\n{WHO_SAID_WHAT}"
    assert [(m.task_id, m.text) for m in stored] == [(None, whole)]
    assert await bench.say("!minutes search caddy") == [whole]
    assert await bench.say("!minutes") == [
        "Nothing was said here since the last minutes. For a task's: !minutes 12."
    ]
    again = scribe_answer(bench, ask.content["ask"], "🗒️ A second go.")
    assert await engine.service.on_task_message(again, engine.bot) == []
    assert len(posts(bench)) == 1, "an answer after the minutes changes nothing"


async def answer_after_a_restart(bench: Bench, ask: str) -> None:
    bench.engine.restart()
    await bench.engine.service.resume()
    answer = scribe_answer(bench, ask, f"🗒️ {SCRIBED}")
    await bench.engine.service.on_task_message(answer, bench.engine.bot)


async def restart_after_the_answer(bench: Bench, ask: str) -> None:
    engine = bench.engine
    await engine.store.minutes.answered(ask, answer=SCRIBED, problem=None)  # then the kill
    engine.restart()
    await engine.service.resume()


async def restart_after_the_post(bench: Bench, ask: str) -> None:
    engine = bench.engine
    answer = scribe_answer(bench, ask, f"🗒️ {SCRIBED}")
    await engine.service.on_task_message(answer, engine.bot)
    engine.restart()
    await engine.service.resume()
    await engine.service.on_task_message(answer, engine.bot)  # seen again after the restart


async def the_command_again_after_a_restart(bench: Bench, ask: str) -> None:
    engine = bench.engine
    engine.restart()
    bench.dispatcher = Dispatcher(
        engine.bot,
        coordinator_commands(engine.service, clock=engine.clock, minutes=engine.service.minutes),
    )
    bench.said -= 1  # the same `!minutes` event, handed over again
    assert await bench.say("!minutes") == []
    answer = scribe_answer(bench, ask, f"🗒️ {SCRIBED}")
    await engine.service.on_task_message(answer, engine.bot)


RESTARTS = {
    "between the ask and the answer": answer_after_a_restart,
    "after the answer was kept, before the post": restart_after_the_answer,
    "after the post, the answer seen again": restart_after_the_post,
    "the same command again": the_command_again_after_a_restart,
}


@pytest.mark.parametrize("case", list(RESTARTS))
async def test_a_restart_still_gives_the_discussions_minutes_once(bench: Bench, case: str) -> None:
    a_discussion(bench)
    await bench.say("!minutes")
    [ask] = asks(bench)
    await RESTARTS[case](bench, ask.content["ask"])
    assert [s.body for s in posts(bench)] == [f"{TALK_HEAD}\n\n{WHO_SAID_WHAT}"]
    assert len(asks(bench)) == 1
    stored = await bench.engine.store.minutes.recent(ROOM)
    assert [m.text for m in stored] == [f"{TALK_HEAD}\n\n{SCRIBED}\n\n{WHO_SAID_WHAT}"]


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("silent", "GPT did not answer within 3 min"),
        ("failed", "GPT could not write them: quota exhausted"),
        ("silent through a restart", "GPT did not answer within 3 min"),
    ],
)
async def test_without_the_scribes_text_the_minutes_say_why(
    bench: Bench, how: str, says: str
) -> None:
    engine = bench.engine
    a_discussion(bench)
    await bench.say("!minutes")
    [ask] = asks(bench)
    stranger = scribe_answer(bench, ask.content["ask"], "🗒️ Not mine.", sender=MASTER)
    assert await engine.service.on_task_message(stranger, engine.bot) == []
    await engine.later(60)
    assert posts(bench) == [], "the scribe has time left; only the scribe's answer counts"
    if how == "failed":
        failed = scribe_answer(
            bench, ask.content["ask"], "", status="failed", reason="quota exhausted"
        )
        await engine.service.on_task_message(failed, engine.bot)
    elif how == "silent":
        await engine.later(180)
    else:
        engine.restart()
        engine.clock.now += 180
        await engine.service.resume()
    text = f"{TALK_HEAD}\n\n(No minutes from the scribe: {says}.)\n\n{WHO_SAID_WHAT}"
    assert [s.body for s in posts(bench)] == [text]
    stored = await engine.store.minutes.recent(ROOM)
    assert [m.text for m in stored] == [text]
