"""`!voice`: its arguments, the agent a name means, and who may change it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.context import BotContext
from bots.errors import CommandError
from bots.ids import EventID, RoomID
from bots.message import Message
from bots.routing.commands import CommandRequest
from bots.settings.loading import load_settings
from bots.store import Store
from bots.voice.commands import VoiceOrder, agent_named, read_voice, voice_spec

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "chavion.example.yaml"
ROOM = RoomID("!council:hs")

ORDERS = [
    ("show", "", VoiceOrder(None)),
    ("on", "on", VoiceOrder(True)),
    ("off", "OFF", VoiceOrder(False)),
    ("off for an agent", "off claude", VoiceOrder(False, "claude")),
    ("korean", "꺼", VoiceOrder(False)),
]


@pytest.mark.parametrize(("args", "order"), [o[1:] for o in ORDERS], ids=[o[0] for o in ORDERS])
def test_voice_arguments(args: str, order: VoiceOrder) -> None:
    assert read_voice(args) == order


@pytest.mark.parametrize("args", ["loud", "on claude gpt", "claude"], ids=["word", "two", "name"])
def test_bad_voice_arguments_are_refused_with_an_example(args: str) -> None:
    with pytest.raises(CommandError, match=r"!voice off, !voice on claude"):
        read_voice(args)


def test_an_agent_is_named_as_in_the_room_and_an_unknown_one_is_refused() -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    first = settings.agents[0]
    assert agent_named(settings.agents, first.account.display_name.upper()) == first.name
    assert agent_named(settings.agents, "@" + first.account.localpart + ":hs") == first.name
    with pytest.raises(CommandError, match="No agent named 'nobody'"):
        agent_named(settings.agents, "nobody")


async def run(store: Store, sender: str, args: str) -> str:
    settings = load_settings(EXAMPLE_CONFIG)
    bot = cast(BotContext, SimpleNamespace(settings=settings, store=store))
    message = Message(ROOM, EventID("$m"), cast(Any, sender), f"!voice {args}")
    replies = await voice_spec(lambda: 100.0).handler(CommandRequest(message, args, bot))
    return replies[0].body


async def test_the_master_turns_voice_off_per_room_and_per_agent_and_others_only_look(
    tmp_path: Path,
) -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    master, agent = settings.master_user_id, settings.agents[0].name
    async with await Store.open(tmp_path / "c.db") as store:
        assert "Voice is on in this room (the default)" in await run(store, master, "")
        assert await run(store, master, "off") == "🔊 Voice off for the council in this room."
        assert await run(store, master, f"on {agent}") == f"🔊 Voice on for {agent} in this room."
        assert not await store.voice.speaks(ROOM, "", True)
        assert await store.voice.speaks(ROOM, agent, False)
        shown = await run(store, "@eve:hs", "")
        assert "Voice is off in this room (set by !voice)" in shown
        assert f"• {agent}: on" in shown
        with pytest.raises(CommandError, match="Only the master"):
            await run(store, "@eve:hs", "on")
        assert not await store.voice.speaks(ROOM, "", True)
