"""The executor bot end to end: a real Synapse, the master's encrypted client, the embedded
SSH server serving `local`. Assertions are on what the master's client receives."""

from __future__ import annotations

import dataclasses
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bots.execution.ledger import RequestLedger
from bots.execution.requests import (
    REQUEST_EVENT,
    RESULT_EVENT,
    ExecRequest,
    command_digest,
    new_request,
    request_content,
    request_id_for_event,
)
from bots.ids import EventID, RequestID, RoomID, UserID
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen, replies_to

pytestmark = pytest.mark.integration

EXPIRY = 4.0


@dataclass
class Running:
    bots: InProcessBots
    user_id: str


async def start_executor(council: ThrowawayCouncil) -> InProcessBots:
    execution = dataclasses.replace(council.settings.execution, approval_expiry_seconds=EXPIRY)
    settings = dataclasses.replace(council.settings, execution=execution)
    return await InProcessBots.start(settings, ["executor"])


@pytest.fixture(scope="module")
async def executor(council: ThrowawayCouncil, master: Person) -> AsyncIterator[Running]:
    running = Running(await start_executor(council), council.user_id("executor"))
    await master.sees_devices_of(running.user_id)
    yield running
    await running.bots.stop()


@pytest.fixture(scope="module")
async def guest(council: ThrowawayCouncil, master: Person) -> AsyncIterator[Person]:
    password = secrets.token_hex(8)
    await council.register_user("exec-guest", password)
    person = await Person.login(
        council.url,
        f"@exec-guest:{council.settings.homeserver.server_name}",
        password,
        Path(tempfile.mkdtemp(prefix="cvx-guest-")),
    )
    await master.client.room_invite(council.council_room, person.user_id)
    await person.join(council.council_room)
    yield person
    await person.close()


def make_request(command: str, requester: str, rid: str) -> ExecRequest:
    built = new_request("local", command, UserID(requester), RequestID(rid))
    assert isinstance(built, ExecRequest), built
    return built


def marker(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"cvx-{name}-{secrets.token_hex(4)}"


async def run(master: Person, council: ThrowawayCouncil, command: str) -> tuple[str, RequestID]:
    event = await master.say(council.council_room, f"!run local -- {command}")
    return event, request_id_for_event(EventID(event))


async def reply(master: Person, event: str, executor: Running, text: str) -> Seen:
    try:
        found = await master.wait_for(
            lambda s: replies_to(event, executor.user_id)(s) and text in s.body
        )
    except TimeoutError:
        said = [s.body for s in master.seen if s.sender == executor.user_id]
        raise AssertionError(f"no {text!r} in reply to {event}; the executor said {said}") from None
    return found[0]


async def test_a_readonly_command_runs_at_once(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    event, rid = await run(master, council, "echo hi")
    result = await reply(master, event, executor, "exit 0")
    assert "hi" in result.body
    assert result.content["msgtype"] == "m.text"
    outcome = await master.wait_for_event(
        RESULT_EVENT, lambda s: s.content.get("request_id") == rid
    )
    assert outcome.content["status"] == "succeeded"
    assert outcome.content["exit_status"] == 0


async def test_a_command_waits_for_the_masters_approval(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    done = marker("approved")
    event, rid = await run(master, council, f"touch {done}")
    prompt = await reply(master, event, executor, "Approval needed")
    assert rid in prompt.body
    assert command_digest("local", f"touch {done}")[:12] in prompt.body
    assert not done.exists()
    approve = await master.say(council.council_room, f"!approve {rid}")
    await master.wait_for(replies_to(approve, executor.user_id))
    await reply(master, event, executor, "exit 0")
    assert done.exists()


@pytest.mark.backend
async def test_a_reaction_approves_and_a_guest_cannot(
    council: ThrowawayCouncil, master: Person, executor: Running, guest: Person
) -> None:
    done = marker("reaction")
    event, rid = await run(master, council, f"touch {done}")
    prompt = await reply(master, event, executor, "Approval needed")
    await guest.sees_devices_of(executor.user_id)
    await guest.react(council.council_room, prompt.event_id, "✅")
    refused = await master.wait_for(
        lambda s: s.sender == executor.user_id and "is not an approver" in s.body
    )
    assert refused
    typed = await guest.say(council.council_room, f"!approve {rid}")
    [no] = await master.wait_for(replies_to(typed, executor.user_id))
    assert "Not allowed" in no.body
    assert not done.exists()
    await master.react(council.council_room, prompt.event_id, "✅")
    await reply(master, event, executor, "exit 0")
    assert done.exists()


async def test_a_computed_rm_target_is_flagged_in_the_approval_prompt(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    event, rid = await run(master, council, 'rm -rf "$(cat /nonexistent/cvx-target)"')
    prompt = await reply(master, event, executor, "Approval needed")
    assert "⚠️ the target of this `rm -r` is computed at run time" in prompt.body
    deny = await master.say(council.council_room, f"!deny {rid}")
    await master.wait_for(replies_to(deny, executor.user_id))


async def test_reading_chavions_own_data_dir_is_never_auto_approved(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    key = council.settings.data_dir / "secrets" / "macaroon_secret_key"
    event, rid = await run(master, council, f"cat {key}")
    prompt = await reply(master, event, executor, "Approval needed")
    assert "which may hold secrets" in prompt.body
    deny = await master.say(council.council_room, f"!deny {rid}")
    await master.wait_for(replies_to(deny, executor.user_id))


async def test_deny(council: ThrowawayCouncil, master: Person, executor: Running) -> None:
    never = marker("denied")
    event, rid = await run(master, council, f"touch {never}")
    await reply(master, event, executor, "Approval needed")
    deny = await master.say(council.council_room, f"!deny {rid} not today")
    [said] = await master.wait_for(replies_to(deny, executor.user_id))
    assert "Denied" in said.body
    assert "not today" in said.body
    outcome = await master.wait_for_event(
        RESULT_EVENT, lambda s: s.content.get("request_id") == rid
    )
    assert outcome.content["status"] == "denied"
    assert not never.exists()


async def test_a_forbidden_command_is_refused(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    event, rid = await run(master, council, "rm -rf /")
    said = await reply(master, event, executor, "Forbidden")
    assert rid in said.body
    audit = await RequestLedger.open(council.data.store)
    try:
        record = await audit.get(rid)
        kinds = [entry.kind for entry in await audit.history(rid)]
    finally:
        await audit.close()
    assert record is not None
    assert record.state == "forbidden"
    assert "start" not in kinds
    assert kinds[:2] == ["request", "decision"]


async def test_request_events(
    council: ThrowawayCouncil, master: Person, executor: Running, guest: Person
) -> None:
    room = council.council_room
    master_id = UserID(master.user_id)
    # From a sender the executor does not accept: ignored, not even audited.
    stranger = make_request("echo stranger", guest.user_id, "rguest1")
    await guest.send_event(room, REQUEST_EVENT, request_content(stranger))
    # A digest that names another command: refused.
    forged = make_request("echo harmless", master_id, "rforged1")
    content = request_content(forged)
    content["command"] = "echo something-else"
    bad = await master.send_event(room, REQUEST_EVENT, content)
    [refusal] = await master.wait_for(replies_to(bad, executor.user_id))
    assert "digest does not match" in refusal.body
    # A good one from the master: it runs, and the result event names it.
    good = make_request("echo via-event", master_id, f"rev{secrets.token_hex(3)}")
    sent = await master.send_event(room, REQUEST_EVENT, request_content(good))
    result = await reply(master, sent, executor, "exit 0")
    assert "via-event" in result.body
    assert not [s for s in master.seen if "stranger" in s.body and s.sender == executor.user_id]
    audit = await RequestLedger.open(council.data.store)
    try:
        assert await audit.get(RequestID("rguest1")) is None
    finally:
        await audit.close()


async def test_an_unapproved_request_expires(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    never = marker("expired")
    event, rid = await run(master, council, f"touch {never}")
    await reply(master, event, executor, "Approval needed")
    said = await reply(master, event, executor, "Expired")
    assert rid in said.body
    late = await master.say(council.council_room, f"!approve {rid}")
    [no] = await master.wait_for(replies_to(late, executor.user_id))
    assert "expired" in no.body
    assert not never.exists()


@pytest.mark.backend
async def test_secrets_are_masked_and_long_output_is_a_file(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    event, rid = await run(master, council, "echo password=hunter2hunter2")
    result = await reply(master, event, executor, "exit 0")
    assert "[masked]" in result.body
    event2, _ = await run(master, council, "ls -1 /usr/bin")
    file = await master.wait_for(
        lambda s: replies_to(event2, executor.user_id)(s) and s.content.get("msgtype") == "m.file"
    )
    assert file[0].content["body"].endswith(".log")
    everything = " ".join(str(s.content) for s in master.seen if s.sender == executor.user_id)
    assert "hunter2hunter2" not in everything
    audit = await RequestLedger.open(council.data.store)
    try:
        history = await audit.history(rid)
        record = await audit.get(rid)
    finally:
        await audit.close()
    assert record is not None
    assert "hunter2hunter2" not in record.command
    assert "hunter2hunter2" not in " ".join(str(e) for e in history)
    assert [e.kind for e in history] == ["request", "decision", "approval", "start", "end"]


async def test_a_restart_reports_an_interrupted_run_and_never_reruns_it(
    council: ThrowawayCouncil, master: Person, executor: Running
) -> None:
    await executor.bots.stop()
    never = marker("interrupted")
    rid = RequestID(f"rcrash{secrets.token_hex(3)}")
    request = make_request(f"touch {never}", master.user_id, rid)
    audit = await RequestLedger.open(council.data.store)
    try:
        assert await audit.open_request(request, room_id=RoomID(council.council_room))
        assert await audit.transition(rid, "approved", actor=UserID(master.user_id))
        assert await audit.mark_started(rid)
    finally:
        await audit.close()
    executor.bots = await start_executor(council)
    said = await master.wait_for(
        lambda s: s.sender == executor.user_id and "Interrupted" in s.body and rid in s.body
    )
    assert "state unknown" in said[0].body
    again = await master.say(council.council_room, f"!approve {rid}")
    [no] = await master.wait_for(replies_to(again, executor.user_id))
    assert "interrupted" in no.body
    assert not never.exists()
