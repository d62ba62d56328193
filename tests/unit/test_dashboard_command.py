"""`!dashboard`: the master gets a one-time link on the bridge's public address, which logs
in once within 10 minutes; anyone else, or a council without the bridge, gets a clear no."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.settings.model import BridgeSettings
from bots.text.credentials import credential_kinds
from executor.masking import mask_text
from tests.support.task_engine import Bench, open_bench

ROOM = RoomID("!council:localhost")
EVENTS = itertools.count()
LINK = re.compile(r"(https?://\S+)/dashboard/login\?once=([\w-]{43})\n")


def with_bridge(bench: Bench, **bridge: object) -> None:
    bench.settings = dataclasses.replace(bench.settings, bridge=BridgeSettings(**bridge))  # type: ignore[arg-type]
    bench.bot.settings = bench.settings


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    engine = await open_bench(tmp_path)
    yield engine
    await engine.store.close()


async def say(bench: Bench, body: str, sender: UserID | None = None, power: int = 100) -> str:
    dispatcher = Dispatcher(bench.bot, coordinator_commands(bench.service, clock=bench.clock))
    who = sender or bench.settings.master_user_id
    message = Message(ROOM, EventID(f"$d{next(EVENTS)}"), who, body, sender_power=power)
    replies = await dispatcher.handle(message)
    assert all(r.notice for r in replies)
    return "\n".join(r.body for r in replies)


@pytest.mark.parametrize(
    ("bridge", "base"),
    [
        ({"enabled": True}, "http://127.0.0.1:8686"),
        ({"enabled": True, "port": 9999}, "http://127.0.0.1:9999"),
        (
            {"enabled": True, "public_url": "https://chavion.example.org/"},
            "https://chavion.example.org",
        ),
    ],
    ids=["listening address", "another port", "public url"],
)
async def test_the_master_gets_a_link_that_logs_in_once_within_ten_minutes(
    bench: Bench, bridge: dict[str, object], base: str
) -> None:
    with_bridge(bench, **bridge)
    said = await say(bench, "!dashboard")
    found = LINK.search(said)
    assert found is not None, said
    assert found[1] == base
    assert "within 10 minutes" in said
    links = bench.store.dashboard_links
    now = bench.clock()
    assert not await links.use(found[2], now + 600)  # expired
    assert await links.use(found[2], now + 599)
    assert not await links.use(found[2], now + 1)  # used up


@pytest.mark.parametrize(
    ("bridge", "warned"),
    [
        ({"enabled": True, "host": "0.0.0.0"}, True),
        ({"enabled": True, "host": "::"}, True),
        ({"enabled": True, "host": "0.0.0.0", "public_url": "https://c.example.org"}, False),
        ({"enabled": True}, False),
    ],
    ids=["every interface", "every ipv6 interface", "public url given", "loopback"],
)
async def test_a_link_to_every_interface_says_to_set_the_public_url(
    bench: Bench, bridge: dict[str, object], warned: bool
) -> None:
    with_bridge(bench, **bridge)
    said = await say(bench, "!dashboard")
    assert ("set bridge.public_url" in said) is warned
    assert "once=" in said


async def test_each_ask_is_a_new_link(bench: Bench) -> None:
    with_bridge(bench, enabled=True)
    first = LINK.search(await say(bench, "!dashboard"))
    second = LINK.search(await say(bench, "!dashboard"))
    assert first is not None
    assert second is not None
    assert first[2] != second[2]


@pytest.mark.parametrize(
    ("body", "sender", "power", "enabled", "said"),
    [
        ("!dashboard", "@moderator:localhost", 100, True, "Only the master gets a dashboard link"),
        ("!dashboard", "@guest:localhost", 0, True, "!dashboard"),
        ("!dashboard", None, 100, False, "The dashboard is off"),
        ("!dashboard now", None, 100, True, "!dashboard takes nothing"),
    ],
    ids=["a moderator", "a guest", "bridge off", "arguments"],
)
async def test_no_link_but_a_clear_answer(
    bench: Bench, body: str, sender: str | None, power: int, enabled: bool, said: str
) -> None:
    with_bridge(bench, enabled=enabled)
    answer = await say(bench, body, UserID(sender) if sender else None, power)
    assert said in answer
    assert "once=" not in answer


async def test_the_link_never_reaches_a_model_nor_command_output(bench: Bench) -> None:
    """The reply is read as a credential: agents leave it out of their prompts, and the
    executor masks it wherever it would show (for the ten minutes it opens the dashboard)."""
    with_bridge(bench, enabled=True)
    said = await say(bench, "!dashboard")
    assert LINK.search(said)
    assert credential_kinds(said) == ["a dashboard login link"]
    assert LINK.search(mask_text(said)) is None
