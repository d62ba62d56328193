"""The executor bot's flow: a fake engine and a fake homeserver around the real service and
the real audit store.

- An approval can only ever meet a request whose policy decision is "needs approval".
- A ✅ counts on the approval prompt, never on the message that asked.
- A failed send costs that message only: the command still runs, its end is recorded and
  the result event goes out.
- A lost connection ends a run `interrupted` with the output seen so far.
- Nothing starts once the executor is stopping.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.context import BotContext
from bots.errors import CommandError
from bots.execution import lifecycle
from bots.execution.ledger import RequestLedger
from bots.execution.requests import (
    REQUEST_EVENT,
    RESULT_EVENT,
    ExecRequest,
    new_request,
    request_content,
)
from bots.execution.service import ExecutionService
from bots.ids import EventID, RequestID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.routing.commands import CommandRequest
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.store import Store
from bridge.speech import VoiceClip
from executor.errors import ConnectionLost, ExecutorError, RunInterrupted
from executor.hosts import HostConfig
from executor.policy import Decision, Verdict, decide
from executor.results import RunResult
from executor.runner import CommandRunner, OutputCallback

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "config" / "chavion.example.yaml"
ROOM = RoomID("!council:localhost")
FORBIDDEN_COMMAND = "dd if=/dev/zero of=/dev/sda"
ASKS_APPROVAL = "touch /tmp/chavion-flow-test"
AUTO_APPROVED = "uptime"  # read-only, and `local` auto-approves those in the example config


def ran(command: str, stdout: str = "ok\n") -> RunResult:
    return RunResult("local", command, 0, None, stdout, "", 0.01, False, False, False)


Outcome = RunResult | ExecutorError


class FakeRun:
    """What CommandRunner.start returns: the command's outcome after one turn of the loop."""

    def __init__(self, outcome: Outcome) -> None:
        self._outcome = outcome
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    async def wait(self) -> RunResult:
        await asyncio.sleep(0)
        if isinstance(self._outcome, ExecutorError):
            raise self._outcome
        return self._outcome


class FakeEngine:
    def __init__(self) -> None:
        self.hosts = {"local": HostConfig(name="local")}
        self.started: list[str] = []
        self.sandboxed: list[bool] = []
        self.outcome: Callable[[str], Outcome] = ran

    def start(
        self,
        host: str,
        command: str,
        *,
        timeout: float | None = None,
        on_output: OutputCallback | None = None,
        sandboxed: bool = False,
    ) -> FakeRun:
        self.started.append(command)
        self.sandboxed.append(sandboxed)
        return FakeRun(self.outcome(command))


Meddle = Callable[[], Awaitable[None]]


class FakeHomeserver:
    """The executor's side of the council room; sends whose key matches `fails` raise."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[EventID, Reply | dict[str, Any]]] = {}
        self.fails: Callable[[str], bool] = lambda key: False
        self.meddle: Meddle | None = None
        self._ids = itertools.count()

    async def send(self, reply: Reply) -> EventID:
        return await self._deliver(reply.key, reply)

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID:
        assert event_type == RESULT_EVENT
        return await self._deliver(key, content)

    async def send_file(
        self, reply: Reply, filename: str, data: bytes, mimetype: str = "text/plain"
    ) -> EventID:
        return await self._deliver(reply.key, reply)

    async def send_voice(self, reply: Reply, clip: VoiceClip) -> EventID:
        return await self._deliver(reply.key, reply)

    def body(self, key: str) -> str:
        sent = self.sent[key][1]
        return sent.body if isinstance(sent, Reply) else str(sent["body"])

    def result_event(self, rid: RequestID) -> dict[str, Any]:
        content = self.sent[f"{rid}/result-event"][1]
        assert isinstance(content, dict)
        return content

    async def _deliver(self, key: str, sent: Reply | dict[str, Any]) -> EventID:
        if self.meddle is not None:
            await self.meddle()
        await asyncio.sleep(0)
        if self.fails(key):
            raise RuntimeError(f"M_LIMIT_EXCEEDED sending {key}")
        event_id = EventID(f"$sent{next(self._ids)}")
        self.sent[key] = (event_id, sent)
        return event_id


class MeddledAudit(RequestLedger):
    """The real audit store, except that before each of its calls `meddle` gets to act: as
    if an approval arrived at every point where the executor waits on the store."""

    meddle: Meddle | None = None

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        meddle = super().__getattribute__("meddle")
        if name.startswith("_") or meddle is None or not inspect.iscoroutinefunction(attr):
            return attr

        async def meddled(*args: Any, **kwargs: Any) -> Any:
            self.meddle = None  # the meddler's own store calls go straight through
            try:
                await meddle()
            finally:
                self.meddle = meddle
            return await attr(*args, **kwargs)

        return meddled


@dataclass
class Bench:
    settings: Settings
    service: ExecutionService
    engine: FakeEngine
    homeserver: FakeHomeserver
    audit: MeddledAudit
    bot: BotContext
    asks: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def master(self) -> UserID:
        return self.settings.master_user_id

    async def ask(self, command: str, *, event_id: EventID | None = None) -> RequestID:
        """The master sends an execution request event; returns its request id."""
        n = next(self.asks)
        request = new_request("local", command, self.master, RequestID(f"ask{n}"))
        assert isinstance(request, ExecRequest)
        event = RoomEvent(
            ROOM,
            event_id or EventID(f"$ask{n}"),
            self.master,
            REQUEST_EVENT,
            request_content(request),
        )
        assert await self.service.on_event(event, self.bot) == []
        return request.request_id

    async def approve(self, rid: RequestID) -> str:
        """`!approve <rid>` from the master; the executor's answer."""
        spec = self.service.registry().get("approve")
        assert spec is not None
        message = Message(ROOM, EventID(f"$approve{next(self.asks)}"), self.master, "!approve")
        try:
            [reply] = await spec.handler(CommandRequest(message, rid, self.bot))
        except CommandError as refused:
            return str(refused)
        return reply.body

    async def command(self, name: str, args: str) -> str:
        """`!<name> <args>` from the master; the executor's answer (or its refusal)."""
        spec = self.service.registry().get(name)
        assert spec is not None
        message = Message(ROOM, EventID(f"${name}{next(self.asks)}"), self.master, f"!{name}")
        try:
            [reply] = await spec.handler(CommandRequest(message, args, self.bot))
        except CommandError as refused:
            return str(refused)
        return reply.body

    async def react(self, target: EventID) -> list[Reply]:
        """The master reacts ✅ to an event."""
        relates = {"rel_type": "m.annotation", "event_id": target, "key": "✅"}
        event = RoomEvent(
            ROOM,
            EventID(f"$react{next(self.asks)}"),
            self.master,
            "m.reaction",
            {"m.relates_to": relates},
        )
        return await self.service.on_event(event, self.bot)

    async def settled(self) -> None:
        """Until every run the service started has ended (and said so)."""
        await self.service._work.drain(timeout=10)

    async def state(self, rid: RequestID) -> str:
        record = await self.audit.get(rid)
        assert record is not None
        return record.state

    async def kinds(self, rid: RequestID) -> list[str]:
        return [entry.kind for entry in await self.audit.history(rid)]


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    settings = load_settings(EXAMPLE_CONFIG)
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    audit = cast(MeddledAudit, await MeddledAudit.open(db))
    engine, homeserver = FakeEngine(), FakeHomeserver()
    service = ExecutionService(settings, cast(CommandRunner, engine), audit, ROOM)
    bot = cast(BotContext, SimpleNamespace(matrix=homeserver))
    service.attach(bot)
    yield Bench(settings, service, engine, homeserver, audit, bot)
    await service.aclose()
    await audit.close()
    await store.close()


# An approval never meets a request that does not need one ---------------------------------


async def test_a_forbidden_command_never_runs_whenever_an_approval_arrives(bench: Bench) -> None:
    answers: list[str] = []
    origin = EventID("$asking")

    async def approve_now() -> None:
        answers.append(await bench.approve(RequestID("ask0")))
        answers.extend(reply.body for reply in await bench.react(origin))

    bench.audit.meddle = bench.homeserver.meddle = approve_now
    rid = await bench.ask(FORBIDDEN_COMMAND, event_id=origin)
    bench.audit.meddle = bench.homeserver.meddle = None
    await bench.settled()

    assert bench.engine.started == []
    assert await bench.state(rid) == "forbidden"
    assert "Forbidden" in bench.homeserver.body(f"{rid}/forbidden")
    assert bench.homeserver.result_event(rid)["status"] == "forbidden"
    history = await bench.audit.history(rid)
    assert "start" not in [entry.kind for entry in history]
    assert not [e for e in history if e.kind == "approval" and e.detail.get("state")]
    # The approvals did arrive once the request existed, and were refused.
    assert any(e.kind == "approval" and e.detail["verdict"] == "refused" for e in history)
    assert all("No request" in a or "forbidden" in a for a in answers), answers


async def test_a_waiting_request_the_policy_now_forbids_is_not_approved(bench: Bench) -> None:
    # Asked under an older policy that sent it for approval; the executor restarted since.
    request = new_request("local", FORBIDDEN_COMMAND, bench.master, RequestID("old1"))
    assert isinstance(request, ExecRequest)
    then = Decision(Verdict.NEEDS_APPROVAL, "an older policy asked", "old")
    assert await bench.audit.open_request(request, room_id=ROOM, decision=then)

    answer = await bench.approve(request.request_id)
    await bench.settled()

    assert "now forbids" in answer
    assert bench.engine.started == []
    assert await bench.state(request.request_id) == "forbidden"
    assert bench.homeserver.result_event(request.request_id)["status"] == "forbidden"


async def test_a_request_that_needs_approval_runs_once_approved(bench: Bench) -> None:
    rid = await bench.ask(ASKS_APPROVAL)
    assert bench.engine.started == []
    assert await bench.state(rid) == "pending"

    assert await bench.approve(rid) == f"{rid} approved by {bench.master}."
    await bench.settled()

    assert bench.engine.started == [ASKS_APPROVAL]
    assert await bench.state(rid) == "finished"
    assert await bench.kinds(rid) == ["request", "decision", "approval", "start", "end"]


# What nobody approved runs in the read-only sandbox; what a person approved runs outside it.
SANDBOXED = {
    "auto-approved": (AUTO_APPROVED, False, True),
    "approved": (ASKS_APPROVAL, True, False),
}


@pytest.mark.parametrize(("command", "approve", "sandboxed"), SANDBOXED.values(), ids=SANDBOXED)
async def test_only_what_nobody_approved_runs_in_the_read_only_sandbox(
    bench: Bench, command: str, approve: bool, sandboxed: bool
) -> None:
    rid = await bench.ask(command)
    if approve:
        await bench.approve(rid)
    await bench.settled()

    assert bench.engine.started == [command]
    assert bench.engine.sandboxed == [sandboxed]


# ✅ ------------------------------------------------------------------------------------------


async def test_a_check_mark_approves_on_the_prompt_not_on_the_asking_message(
    bench: Bench,
) -> None:
    asking = EventID("$asking")
    rid = await bench.ask(ASKS_APPROVAL, event_id=asking)
    prompt, _ = bench.homeserver.sent[f"{rid}/prompt"]

    assert await bench.react(asking) == []
    await bench.settled()
    assert bench.engine.started == []
    assert await bench.state(rid) == "pending"

    [answer] = await bench.react(prompt)
    await bench.settled()
    assert answer.reply_to == prompt
    assert bench.engine.started == [ASKS_APPROVAL]
    assert await bench.state(rid) == "finished"


# Failed sends ----------------------------------------------------------------------------------

SENDS = {
    "progress message": "/progress",
    "last progress edit": "/progress/final",
    "result message": "/result",
    "result event": "/result-event",
    "every message": "",
}


@pytest.mark.parametrize("failing", SENDS.values(), ids=SENDS.keys())
async def test_a_failed_send_never_stops_the_run_or_loses_its_end(
    bench: Bench, failing: str
) -> None:
    bench.homeserver.fails = lambda key: key.endswith(failing)
    rid = await bench.ask(AUTO_APPROVED)
    await bench.settled()

    assert bench.engine.started == [AUTO_APPROVED]
    assert await bench.state(rid) == "finished"
    assert (await bench.kinds(rid))[-2:] == ["start", "end"]
    sent = bench.homeserver.sent
    for suffix in ("/result-event", "/result", "/progress"):
        assert (f"{rid}{suffix}" in sent) == (not suffix.endswith(failing)), suffix
    if failing not in ("", "/result-event"):
        assert bench.homeserver.result_event(rid)["status"] == "succeeded"


async def test_the_result_event_goes_out_before_the_messages(bench: Bench) -> None:
    rid = await bench.ask(AUTO_APPROVED)
    await bench.settled()

    order = [key for key in bench.homeserver.sent if key.startswith(rid)]
    assert order == [
        f"{rid}/progress",
        f"{rid}/result-event",
        f"{rid}/progress/final",
        f"{rid}/result",
    ]


# Lost connections -------------------------------------------------------------------------


async def test_a_connection_lost_mid_run_ends_interrupted_with_the_output_so_far(
    bench: Bench,
) -> None:
    partial = ran(AUTO_APPROVED, stdout="step 1 done\n")
    lost = "the connection to local broke while the command ran: Connection lost"
    bench.engine.outcome = lambda command: RunInterrupted(lost, partial)
    rid = await bench.ask(AUTO_APPROVED)
    await bench.settled()

    assert await bench.state(rid) == "interrupted"
    assert (await bench.audit.history(rid))[-1].detail["status"] == "interrupted"
    event = bench.homeserver.result_event(rid)
    assert event["status"] == "interrupted"
    assert "state unknown" in event["body"]
    message = bench.homeserver.body(f"{rid}/result")
    assert "step 1 done" in message
    assert "state unknown" in message


async def test_a_connection_lost_while_the_command_was_sent_ends_interrupted(
    bench: Bench,
) -> None:
    lost = "the connection to local broke while the command was being started"
    bench.engine.outcome = lambda command: ConnectionLost(lost)
    rid = await bench.ask(AUTO_APPROVED)
    await bench.settled()

    assert bench.engine.started == [AUTO_APPROVED]  # sent once, never again
    assert await bench.state(rid) == "interrupted"
    assert bench.homeserver.result_event(rid)["status"] == "interrupted"


# Stopping ----------------------------------------------------------------------------------


async def test_an_approved_request_does_not_start_once_the_executor_stops(bench: Bench) -> None:
    rid = await bench.ask(ASKS_APPROVAL)
    await bench.approve(rid)  # its run is spawned, not started yet

    await bench.service.aclose()

    assert bench.engine.started == []
    assert await bench.state(rid) == "cancelled"
    assert "stopping" in str((await bench.audit.history(rid))[-1].detail["reason"])


# A person's no that races another move ---------------------------------------------------


async def test_a_deny_that_races_an_approval_still_denies(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An approval committed between the deny's read and its write: the deny is applied to
    the approved request (the machine allows it before the start), not dropped while the
    command goes on to run."""
    rid = await bench.ask(ASKS_APPROVAL)
    save = bench.audit.save
    raced: list[bool] = []

    async def an_approval_lands_first(before: Any, after: Any, **kwargs: Any) -> bool:
        if after.status == "denied" and not raced:
            raced.append(await bench.audit.approve(rid, actor=bench.master))
        return await save(before, after, **kwargs)

    monkeypatch.setattr(bench.audit, "save", an_approval_lands_first)
    answer = await bench.command("deny", f"{rid} not today")
    await bench.settled()

    assert raced == [True]
    assert answer.startswith("🚫 Denied"), answer
    assert await bench.state(rid) == "denied"
    assert bench.engine.started == []


async def test_the_ledger_saves_only_the_machines_moves(bench: Bench) -> None:
    """Whatever a caller passes, a forbidden request never moves to running."""
    rid = await bench.ask(FORBIDDEN_COMMAND)
    record = await bench.audit.get(rid)
    assert record is not None
    before = record.as_state()
    assert before.status == "forbidden"
    assert not await bench.audit.save(before, replace(before, status="running"))
    assert await bench.state(rid) == "forbidden"
    assert "start" not in await bench.kinds(rid)


# The policy judges off the event loop --------------------------------------------------------


async def test_the_policy_judges_in_a_worker_thread_never_on_the_event_loop(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile command may take the policy's whole time budget to judge: the loop every
    bot shares goes on meanwhile. Both judgements, when asked and when approved, run off it."""
    on_the_loop: list[bool] = []
    real = decide

    def watched(*args: Any, **kwargs: Any) -> Decision:
        try:
            asyncio.get_running_loop()
            on_the_loop.append(True)
        except RuntimeError:
            on_the_loop.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "decide", watched)
    rid = await bench.ask(ASKS_APPROVAL)
    assert await bench.approve(rid) == f"{rid} approved by {bench.master}."
    await bench.settled()

    assert on_the_loop == [False, False]
    assert bench.engine.started == [ASKS_APPROVAL]


# After a restart: nothing starts before the catch-up is read --------------------------------


async def caught_up_then(bench: Bench, meanwhile: Callable[[], Awaitable[object]]) -> None:
    """`run_background` as after a restart: synced, and the catch-up's other handlers
    (`meanwhile`) run before `caught_up` returns."""
    synced, stop = asyncio.Event(), asyncio.Event()
    synced.set()
    stop.set()  # one sweep, then back

    async def caught_up() -> bool:
        await meanwhile()
        return True

    await bench.service.run_background(synced, stop, caught_up)


async def test_a_held_request_cancelled_in_the_same_catch_up_never_starts(bench: Bench) -> None:
    bench.service.hold_starts()
    rid = await bench.ask(AUTO_APPROVED)  # approved at once: its run is spawned, and waits
    await asyncio.sleep(0.05)
    assert bench.engine.started == []

    async def cancel() -> None:  # the coordinator's cancel, later in the same sync
        await bench.command("cancel", rid)

    await caught_up_then(bench, cancel)
    await bench.settled()
    assert bench.engine.started == []
    assert await bench.state(rid) == "cancelled"


async def test_a_held_request_starts_once_the_catch_up_is_read(bench: Bench) -> None:
    bench.service.hold_starts()
    rid = await bench.ask(AUTO_APPROVED)

    async def nothing() -> None:
        assert bench.engine.started == [], "held while the catch-up is read"

    await caught_up_then(bench, nothing)
    await bench.settled()
    assert bench.engine.started == [AUTO_APPROVED]
    assert await bench.state(rid) == "finished"
