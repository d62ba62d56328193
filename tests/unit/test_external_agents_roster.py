"""Agents the HTTP bridge speaks for (issue 18) are agents to the council, not people: the
roster names them (kind `external`), so what is addressed to them is not for the others,
their broadcasts start no round, an agent's answer to them is an agent-to-agent turn (the
loop guard stops a ping-pong that would burn credits), and their pasted keys are still
redacted (no Chavion bot wrote them)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from bots.app.assembly import build_roster
from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.routing.addressing import AGENT_KINDS, EXTERNAL, addressed_bots
from bots.routing.router import Chat, Ignore, RouterContext, parse
from bots.settings.loading import parse_settings
from bots.settings.paths import EXAMPLE_CONFIG

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
SETTINGS = parse_settings(
    {
        **copy.deepcopy(EXAMPLE),
        "bridge": {
            "agents": [{"name": "manus", "account": {"display_name": "Manus"}, "role": "x"}]
        },
    },
    EXAMPLE_CONFIG,
)
ROSTER = build_roster(SETTINGS)
MANUS = UserID(SETTINGS.user_id(SETTINGS.bridge.agents[0].account))
CLAUDE = UserID(SETTINGS.user_id(SETTINGS.account("claude")))
ROOM = RoomID("!council:hs")


def claude_context() -> RouterContext:
    me = ROSTER.get(CLAUDE)
    assert me is not None
    return RouterContext(me=me, roster=ROSTER, is_coordinator=False, is_agent=True)


def message(sender: UserID, body: str) -> Message:
    return Message(ROOM, EventID("$m"), sender, body)


def test_the_roster_holds_the_bridge_agents_as_external_agents() -> None:
    manus = ROSTER.get(MANUS)
    assert manus is not None
    assert (manus.kind, manus.display_name) == (EXTERNAL, "Manus")
    assert manus.kind in AGENT_KINDS
    assert ROSTER.named_by("manus") == manus
    assert ROSTER.named_by("마누스") is None  # only its configured names


@pytest.mark.parametrize(
    ("sender", "body", "to_claude", "addressed"),
    [
        (SETTINGS.master_user_id, "Manus, check the logs", False, {MANUS}),
        (SETTINGS.master_user_id, "Claude, check the logs", True, {CLAUDE}),
        (MANUS, "Claude, what do you think?", True, {CLAUDE}),
    ],
    ids=["the master to manus", "the master to claude", "manus to claude"],
)
def test_what_is_said_to_an_external_agent_is_for_it_alone(
    sender: UserID, body: str, to_claude: bool, addressed: set[UserID]
) -> None:
    said = message(UserID(sender), body)
    assert addressed_bots(said, ROSTER) == addressed
    route = parse(said, claude_context())
    assert isinstance(route, Chat) is to_claude, route


def test_an_external_agents_command_is_not_run() -> None:
    route = parse(message(MANUS, "!ping"), claude_context())
    assert isinstance(route, Ignore)
