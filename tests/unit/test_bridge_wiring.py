"""The bridge's pure parts (issue 18): what an external agent hears, how a task looks in the
SOP, which orders the coordinator leaves to the bridge, how an executor payload becomes the
command the policy judges, and which states a status filter stands for."""

from __future__ import annotations

import copy
import shlex
from typing import Any, cast

import pytest
import yaml

from bots.bridge.council import agent_status, bot_status, is_task_order
from bots.bridge.executor import command_of, request_id_for
from bots.bridge.hearing import heard
from bots.bridge.server import is_bridge_order
from bots.bridge.tasks import states_for
from bots.bridge.views import order_text, split_mission, task_view, thread_url
from bots.bridge.voices import Voice
from bots.context import BotPresence
from bots.execution.requests import RESULT_EVENT
from bots.ids import EventID, RoomID, UserID
from bots.message import Mentions, Message, RoomEvent
from bots.routing.addressing import Identity, Roster
from bots.settings.loading import parse_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store.tasks import Task
from bots.tasks.states import STATES
from bridge.http.ports import ApiError

ROOM = RoomID("!council:hs")
MANUS = Identity(UserID("@manus:hs"), "Manus", ("manus",), "agent")
CLAUDE = Identity(UserID("@claude:hs"), "Claude", (), "agent")
CHAVION = Identity(UserID("@chavion:hs"), "Chavion", (), "coordinator")
ROSTER = Roster((CHAVION, CLAUDE, MANUS))
MASTER = UserID("@master:hs")


def message(body: str, sender: str = MASTER, **fields: Any) -> Message:
    return Message(ROOM, EventID("$m"), UserID(sender), body, timestamp_ms=2000, **fields)


def result(request_id: str) -> RoomEvent:
    content = {
        "request_id": request_id,
        "status": "succeeded",
        "exit_status": 0,
        "output": {"stdout": "ok\n", "stderr": ""},
    }
    return RoomEvent(ROOM, EventID("$r"), UserID("@executor:hs"), RESULT_EVENT, content)


@pytest.mark.parametrize(
    ("incoming", "kind"),
    [
        (message("Manus, how full is the disk?"), "message"),
        (message("매너스 말고 manus야 확인해줘"), "message"),
        (message("@manus check it"), "message"),
        (message("check it", mentions=Mentions((MANUS.user_id,))), "message"),
        (message("done?", reply_to_sender=MANUS.user_id), "message"),
        (message("everyone, stand up"), "message"),
        (message("Claude, how full is the disk?"), None),
        (message("nothing for anyone"), None),
        (
            message("#4 ▶️ Running", CHAVION.user_id, council={"task": 4, "kind": "status"}),
            "task",
        ),
        (message("#4 not mine", CLAUDE.user_id, council={"task": 4, "kind": "answer"}), None),
        (message("bad", CHAVION.user_id, council={"task": "4"}), None),
        (result("bmine"), "executor"),
        (result("bsomeone-else"), None),
    ],
    ids=[
        "by name",
        "by name in Korean text",
        "@name",
        "m.mentions",
        "a reply to it",
        "everyone",
        "another agent",
        "nobody",
        "a task change",
        "an agent's task answer",
        "a task number that is no number",
        "its executor result",
        "another's executor result",
    ],
)
def test_what_an_external_agent_hears(incoming: Message | RoomEvent, kind: str | None) -> None:
    event = heard(incoming, MANUS, ROSTER, requests={"bmine"})
    assert (event or {}).get("type") == kind


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("Manus, status?", True),
        ("Manus, the key is sk-proj-AbCdEf1234567890GhIjKlMn", False),
        (
            "Dashboard: https://x.example/dashboard/login?once=q3Vw8sXk1T9mZbN2cR7yLp4eH6jA0dFg",
            False,
        ),
    ],
    ids=["plain", "a pasted key", "a dashboard link"],
)
async def test_an_outside_agent_never_reads_a_credential(body: str, kept: bool) -> None:
    """Neither in its events nor among `/api/status`'s last messages: `!dashboard`'s link
    there would let an agent's token open the master's dashboard."""
    settings = SETTINGS.bridge.agents[0]
    voice = Voice(settings, MANUS, cast(Any, None), ROSTER, ROOM)
    await voice.hear(message(body))
    assert (len(voice.recent), len(voice.events.kept)) == ((1, 1) if kept else (0, 0))


def test_a_heard_message_and_result_carry_what_the_agent_needs() -> None:
    said = heard(message("Manus, status?"), MANUS, ROSTER)
    assert said == {
        "type": "message",
        "id": "$m",
        "sender": MASTER,
        "sender_name": MASTER,
        "content": "Manus, status?",
        "thread": None,
        "at": 2.0,
    }
    ran = heard(result("bmine"), MANUS, ROSTER, requests={"bmine"})
    assert ran is not None
    assert (ran["request_id"], ran["status"], ran["exit_status"], ran["stdout"]) == (
        "bmine",
        "succeeded",
        0,
        "ok\n",
    )


def task(state: str, *, mission: str = "Rotate logs\nKeep 7 days.", note: str = "") -> Task:
    return Task(
        id=7,
        intake_key="$order",
        room_id=ROOM,
        thread_root=EventID("$order"),
        mission=mission,
        priority="high",
        state=state,
        paused_from=None,
        requester=MANUS.user_id,
        source="bridge",
        assigned="manus",
        winner=None,
        attempt=1,
        plan=None,
        plan_digest=None,
        plan_author=None,
        plan_event=None,
        approved_by=None,
        approval_event=None,
        waiting_for="",
        deadline=None,
        note=note,
        created_at=1.0,
        updated_at=2.0,
        finished_at=3.0 if state in ("completed", "failed", "cancelled") else None,
    )


@pytest.mark.parametrize(
    ("state", "status", "result"),
    [
        ("pending", "pending", None),
        ("discussing", "in_progress", None),
        ("planning", "in_progress", None),
        ("paused", "in_progress", None),
        ("completed", "completed", "done"),
        ("failed", "completed", "done"),
    ],
)
def test_a_task_as_the_sop_shows_it(state: str, status: str, result: str | None) -> None:
    view = task_view(task(state, note="done"))
    assert (view.title, view.description, view.priority) == ("Rotate logs", "Keep 7 days.", "high")
    assert (view.status, view.state, view.result, view.assigned) == (status, state, result, "manus")
    assert view.thread_url == "https://matrix.to/#/!council:hs/$order"


@pytest.mark.parametrize(
    ("mission", "title", "description"),
    [
        ("One line", "One line", ""),
        ("  Title  \n\n  the rest\nmore  ", "Title", "the rest\nmore"),
    ],
)
def test_the_first_line_of_a_mission_is_its_title(
    mission: str, title: str, description: str
) -> None:
    assert split_mission(mission) == (title, description)


def test_a_thread_link_escapes_what_a_url_cannot_hold() -> None:
    assert thread_url("!a b:hs", "$e/f") == "https://matrix.to/#/!a%20b:hs/$e%2Ff"
    assert thread_url("!r:hs", None) is None


@pytest.mark.parametrize(
    ("title", "description", "priority", "text"),
    [
        ("Fix it", "", "medium", "//chavion_task: Fix it"),
        ("Fix it", "  details  ", "high", "//chavion_task: high: Fix it\ndetails"),
        ("Fix it", "a\nb", "low", "//chavion_task: low: Fix it\na\nb"),
    ],
)
def test_an_order_is_posted_as_the_agent_would_type_it(
    title: str, description: str, priority: str, text: str
) -> None:
    assert order_text(title, description, priority) == text


EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
SETTINGS = parse_settings(
    {**copy.deepcopy(EXAMPLE), "bridge": {"agents": [{"name": "manus"}]}}, EXAMPLE_CONFIG
)
BRIDGE_ID = SETTINGS.user_id(SETTINGS.bridge.agents[0].account)


@pytest.mark.parametrize(
    ("incoming", "left_to_the_bridge"),
    [
        (message("//chavion_task: high: Fix it", BRIDGE_ID), True),
        (message("!task Fix it", BRIDGE_ID), True),
        (message("//chavion_task: Fix it", SETTINGS.master_user_id), False),
        (message("hello", BRIDGE_ID), False),
        (message("!tasks", BRIDGE_ID), False),
        (RoomEvent(ROOM, EventID("$e"), UserID(BRIDGE_ID), "m.reaction", {}), False),
    ],
    ids=["its order", "!task", "the master's order", "a message", "!tasks", "an event"],
)
def test_the_coordinator_leaves_an_external_agents_order_to_the_bridge(
    incoming: Message | RoomEvent, left_to_the_bridge: bool
) -> None:
    assert is_bridge_order(incoming, SETTINGS) is left_to_the_bridge


@pytest.mark.parametrize(
    ("content", "order"),
    [
        ("//chavion_task: x", True),
        ("/chavion_task: x", True),
        ("  !task x", True),
        ("!tasks", False),
        ("task: x", False),
        ("Claude, !task is a command", False),
    ],
)
def test_a_task_order_is_recognised(content: str, order: bool) -> None:
    assert is_task_order(content) is order


@pytest.mark.parametrize(
    ("last_seen", "working", "status"),
    [
        (None, False, "offline"),
        (1000.0 - 301, True, "offline"),
        (1000.0 - 10, False, "online"),
        (1000.0 - 10, True, "working"),
    ],
)
def test_an_agents_status(last_seen: float | None, working: bool, status: str) -> None:
    assert agent_status(last_seen, working, 1000.0) == status


@pytest.mark.parametrize(
    ("kind", "payload", "command"),
    [
        ("shell", {"command": "df -h /"}, "df -h /"),
        (
            "file_write",
            {"path": "/etc/motd", "content": "it's up\n"},
            f"printf %s {shlex.quote(chr(10).join(['it' + chr(39) + 's up', '']))} > /etc/motd",
        ),
        (
            "file_write",
            {"path": "/srv/a b", "content": "", "mode": "0644"},
            "printf %s '' > '/srv/a b' && chmod 0644 '/srv/a b'",
        ),
    ],
    ids=["shell", "file_write", "file_write with a mode"],
)
def test_a_payload_becomes_the_command_the_policy_judges(
    kind: str, payload: dict[str, Any], command: str
) -> None:
    assert command_of(kind, payload) == command


@pytest.mark.parametrize(
    ("kind", "payload", "field"),
    [
        ("shell", {}, "payload.command"),
        ("shell", {"command": "  "}, "payload.command"),
        ("file_write", {"path": "relative", "content": "x"}, "payload.path"),
        ("file_write", {"path": "/a"}, "payload.content"),
        ("reboot", {}, "type"),
    ],
)
def test_a_bad_payload_names_its_field(kind: str, payload: dict[str, Any], field: str) -> None:
    with pytest.raises(ApiError) as caught:
        command_of(kind, payload)
    assert (caught.value.status, caught.value.field) == (400, field)


def test_a_retried_request_keeps_its_id() -> None:
    assert request_id_for("manus", "k1") == request_id_for("manus", "k1")
    assert request_id_for("manus", "k1") != request_id_for("manus", "k2")
    assert request_id_for("manus", "k1") != request_id_for("wrtn", "k1")


@pytest.mark.parametrize(
    ("status", "states"),
    [
        (None, None),
        ("", None),
        ("pending", {"pending"}),
        ("completed", {"completed", "failed", "cancelled"}),
        ("planning", {"planning"}),
    ],
)
def test_a_status_filter_stands_for_states(status: str | None, states: set[str] | None) -> None:
    assert states_for(status) == (frozenset(states) if states is not None else None)


def test_in_progress_is_every_other_state() -> None:
    found = states_for("in_progress")
    assert found is not None
    assert found | {"pending", "completed", "failed", "cancelled"} == set(STATES)
    assert "pending" not in found


def test_an_unknown_status_is_400() -> None:
    with pytest.raises(ApiError) as caught:
        states_for("done")
    assert (caught.value.status, caught.value.field) == (400, "status")


def mark(online: bool, heartbeat_at: float) -> BotPresence:
    return BotPresence(UserID("@claude:hs"), online, "1", "host", 1, 0.0, heartbeat_at)


@pytest.mark.parametrize(
    ("presence", "working", "status"),
    [
        (None, False, "offline"),
        (mark(False, 990.0), False, "offline"),
        (mark(True, 1000.0 - 2.5 * 600 - 1), False, "offline"),
        (mark(True, 990.0), False, "online"),
        (mark(True, 990.0), True, "working"),
    ],
    ids=["never started", "stopped", "stale mark", "online", "working"],
)
def test_a_matrix_agents_status_from_its_presence_mark(
    presence: BotPresence | None, working: bool, status: str
) -> None:
    assert bot_status(presence, working, 1000.0, 600) == status
