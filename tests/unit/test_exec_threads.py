"""The executor speaks about a request in the thread it was asked in.

An `org.chavion.exec.request` sent in a thread (a task's steps are sent in the task's
thread) gets every notice about it there: the approval prompt, the answer to a ✅, the
progress message, the result text and its file, a refusal, a cancel, and an expiry said
after a restart (the thread is kept with the request). A request asked outside any thread
gets them in the main timeline, as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.context import BotContext
from bots.execution.ledger import RequestLedger
from bots.execution.requests import (
    CANCEL_EVENT,
    REQUEST_EVENT,
    ExecRequest,
    new_request,
    request_content,
    thread_root_of,
)
from bots.execution.service import ExecutionService
from bots.ids import EventID, RequestID, TaskID
from bots.message import Reply, RoomEvent
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.store import Store
from executor.runner import CommandRunner
from tests.unit.test_executor_flow import (
    ASKS_APPROVAL,
    AUTO_APPROVED,
    EXAMPLE_CONFIG,
    FORBIDDEN_COMMAND,
    ROOM,
    FakeEngine,
    FakeHomeserver,
    ran,
)

ROOT = EventID("$task-thread-root")
T0 = 1_700_000_000.0


def in_thread(root: str) -> dict[str, Any]:
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }


@pytest.mark.parametrize(
    ("relates", "root"),
    [
        (in_thread(ROOT), ROOT),
        ({"rel_type": "m.thread", "event_id": ROOT}, ROOT),
        ({"m.in_reply_to": {"event_id": ROOT}}, None),
        ({"rel_type": "m.reference", "event_id": ROOT}, None),
        ({"rel_type": "m.thread", "event_id": 12}, None),
        ({"rel_type": "m.thread", "event_id": "not-an-event"}, None),
        ({"rel_type": "m.thread", "event_id": "$" + "x" * 300}, None),
        ("m.thread", None),
        (None, None),
    ],
    ids=[
        "a thread",
        "a thread without fallback",
        "a plain reply",
        "a reference",
        "a root that is no string",
        "a root that is no event id",
        "an oversized root",
        "relations that are no object",
        "no relations",
    ],
)
def test_the_thread_a_request_was_sent_in(relates: object, root: EventID | None) -> None:
    content: dict[str, object] = {} if relates is None else {"m.relates_to": relates}
    assert thread_root_of(content) == root


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Bench:
    settings: Settings
    service: ExecutionService
    engine: FakeEngine
    homeserver: FakeHomeserver
    audit: RequestLedger
    bot: BotContext
    clock: Clock
    task: str | None = None
    """The task the requests asked are steps of (None: a plain request)."""

    async def ask(self, command: str, rid: str, root: EventID | None) -> list[Reply]:
        request = new_request(
            "local",
            command,
            self.settings.master_user_id,
            RequestID(rid),
            task_id=None if self.task is None else TaskID(self.task),
        )
        assert isinstance(request, ExecRequest)
        content: dict[str, Any] = request_content(request)
        if root is not None:
            content["m.relates_to"] = in_thread(root)
        return await self.event(f"${rid}", REQUEST_EVENT, content)

    async def event(self, event_id: str, kind: str, content: dict[str, Any]) -> list[Reply]:
        sender = self.settings.master_user_id
        event = RoomEvent(ROOM, EventID(event_id), sender, kind, content)
        return await self.service.on_event(event, self.bot)

    async def tick(self, rid: str) -> list[Reply]:
        prompt = self.homeserver.sent[f"{rid}/prompt"][0]
        relates = {"rel_type": "m.annotation", "event_id": prompt, "key": "✅"}
        return await self.event(f"$tick-{rid}", "m.reaction", {"m.relates_to": relates})

    async def settled(self) -> None:
        await self.service._work.drain(timeout=10)

    def every_text(self, rid: str) -> dict[str, Reply]:
        """Every text message and edit about `rid` (a file's body is its file name)."""
        return {
            key: sent
            for key, (_, sent) in self.homeserver.sent.items()
            if key.startswith(f"{rid}/") and isinstance(sent, Reply) and key != f"{rid}/file"
        }

    def said(self, rid: str) -> dict[str, Reply]:
        """What the executor said about `rid` (edits of its progress message aside)."""
        return {
            key: sent
            for key, (_, sent) in self.homeserver.sent.items()
            if key.startswith(f"{rid}/") and isinstance(sent, Reply) and sent.replaces is None
        }


def executor(settings: Settings, engine: FakeEngine, audit: RequestLedger, clock: Clock) -> Any:
    return ExecutionService(settings, cast(CommandRunner, engine), audit, ROOM, clock=clock)


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    settings = load_settings(EXAMPLE_CONFIG)
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    clock = Clock()
    audit = await RequestLedger.open(db, clock=clock)
    engine, homeserver = FakeEngine(), FakeHomeserver()
    service = executor(settings, engine, audit, clock)
    bot = cast(BotContext, SimpleNamespace(matrix=homeserver))
    service.attach(bot)
    yield Bench(settings, service, engine, homeserver, audit, bot, clock)
    await service.aclose()
    await audit.close()
    await store.close()


LONG_OUTPUT = "line of output\n" * 500
"""Long enough to be attached as a file besides the result text."""


async def approved_and_run(bench: Bench, root: EventID | None) -> tuple[list[Reply], set[str]]:
    bench.engine.outcome = lambda command: ran(command, LONG_OUTPUT)
    answers = await bench.ask(ASKS_APPROVAL, "r1", root)
    answers += await bench.tick("r1")
    await bench.settled()
    return answers, {"r1/prompt", "r1/progress", "r1/result", "r1/file"}


async def auto_approved(bench: Bench, root: EventID | None) -> tuple[list[Reply], set[str]]:
    answers = await bench.ask(AUTO_APPROVED, "r1", root)
    await bench.settled()
    return answers, {"r1/progress", "r1/result"}


async def forbidden(bench: Bench, root: EventID | None) -> tuple[list[Reply], set[str]]:
    return await bench.ask(FORBIDDEN_COMMAND, "r1", root), {"r1/forbidden"}


async def asked_twice(bench: Bench, root: EventID | None) -> tuple[list[Reply], set[str]]:
    answers = await bench.ask(ASKS_APPROVAL, "r1", root)
    answers += await bench.ask(ASKS_APPROVAL, "r1", root)
    return answers, {"r1/prompt", "r1/duplicate/$r1"}


async def cancelled(bench: Bench, root: EventID | None) -> tuple[list[Reply], set[str]]:
    answers = await bench.ask(ASKS_APPROVAL, "r1", root)
    answers += await bench.event("$cancel", CANCEL_EVENT, {"request_id": "r1"})
    assert answers, "the cancel is answered"
    return answers, {"r1/prompt"}


async def refused(bench: Bench, root: EventID | None) -> tuple[list[Reply], set[str]]:
    content: dict[str, Any] = {"request_id": "r1", "host": "local"}
    if root is not None:
        content["m.relates_to"] = in_thread(root)
    answers = await bench.event("$bad", REQUEST_EVENT, content)
    assert [a.body for a in answers if "Refused execution request" in a.body]
    return answers, set()


async def expired_after_a_restart(
    bench: Bench, root: EventID | None
) -> tuple[list[Reply], set[str]]:
    """The executor restarted while the request waited: the thread is read back."""
    answers = await bench.ask(ASKS_APPROVAL, "r1", root)
    later = executor(bench.settings, bench.engine, bench.audit, bench.clock)
    later.attach(bench.bot)
    bench.clock.now = T0 + bench.settings.execution.approval_expiry_seconds + 1
    await later.sweeper.sweep()
    return answers, {"r1/prompt", "r1/expired"}


Scenario = Callable[[Bench, EventID | None], Awaitable[tuple[list[Reply], set[str]]]]
SCENARIOS: list[tuple[str, Scenario]] = [
    ("approved with ✅, run, long output", approved_and_run),
    ("auto-approved and run", auto_approved),
    ("forbidden", forbidden),
    ("asked twice", asked_twice),
    ("cancelled by an event", cancelled),
    ("a malformed request refused", refused),
    ("expired, said after a restart", expired_after_a_restart),
]


@pytest.mark.parametrize("root", [ROOT, None], ids=["asked in a thread", "asked in the room"])
@pytest.mark.parametrize("scenario", [s[1] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
async def test_every_notice_about_a_request_goes_where_it_was_asked(
    bench: Bench, scenario: Scenario, root: EventID | None
) -> None:
    answers, expected = await scenario(bench, root)
    said = bench.said("r1")
    assert expected <= set(said), sorted(said)
    wrong = {key: reply.thread_root for key, reply in said.items() if reply.thread_root != root}
    assert not wrong, f"said outside {root}: {wrong}"
    assert [a.thread_root for a in answers] == [root] * len(answers)


TAGGED = [s for s in SCENARIOS if s[1] is not refused]


@pytest.mark.parametrize("task", ["12", None], ids=["a task's step", "a plain request"])
@pytest.mark.parametrize("scenario", [s[1] for s in TAGGED], ids=[s[0] for s in TAGGED])
async def test_what_is_said_about_a_tasks_step_starts_with_its_task(
    bench: Bench, scenario: Scenario, task: str | None
) -> None:
    """Element X shows threads inline: like every message of a task, the executor's start
    with `#N` (edits too), and a plain request's do not."""
    bench.task = task
    answers, _ = await scenario(bench, ROOT)
    texts = [*bench.every_text("r1").values(), *answers]
    assert texts
    for text in texts:
        assert text.body.startswith("#12 ") is (task is not None), text.body
        if text.html is not None:
            assert text.html.startswith("#12 ") is (task is not None), text.html


@pytest.mark.parametrize("task", ["12", None], ids=["a task's step", "a plain request"])
async def test_a_tasks_step_result_is_a_quiet_notice(bench: Bench, task: str | None) -> None:
    """The coordinator's report buzzes the master once per task; each step's result would
    buzz once more. A plain request's result still mentions whoever asked for it."""
    bench.task = task
    await auto_approved(bench, ROOT)
    result = bench.said("r1")["r1/result"]
    if task is None:
        assert (result.notice, len(result.mention)) == (False, 1)
    else:
        assert (result.notice, result.mention) == (True, ())


async def test_a_prompt_in_the_thread_still_replies_to_the_request(bench: Bench) -> None:
    """Element shows the reply quote inside the thread: the prompt quotes the request."""
    await bench.ask(ASKS_APPROVAL, "r1", ROOT)
    prompt = bench.said("r1")["r1/prompt"]
    assert (prompt.thread_root, prompt.reply_to) == (ROOT, EventID("$r1"))
