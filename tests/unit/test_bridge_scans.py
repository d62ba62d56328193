"""The bridge scans each room message for credentials once: the first of the coordinator's
feed and the external agents' voices to hear it scans, the rest reuse the result by event
id; what each shows is as before (a voice keeps a credential from its agent, the feed shows
it as its kind)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from bots.bridge.council import RoomCouncil
from bots.bridge.dashboard import MasterDashboard
from bots.bridge.hosts import HostWatch
from bots.bridge.scans import MessageScans
from bots.bridge.voices import Voice
from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.routing.addressing import Identity, Roster
from bots.settings.loading import parse_settings
from bots.settings.model import BridgeAgentSettings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.text.credentials import Found, find_credentials
from tests.support.task_engine import Bench, open_bench

ROOM = RoomID("!council:localhost")
KEY = "sk-proj-AbCdEf1234567890GhIjKlMn"


class CountedScan:
    """`find_credentials`, counting the texts it was given."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, text: str) -> list[Found]:
        self.texts.append(text)
        return find_credentials(text)


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    engine = await open_bench(tmp_path)
    yield engine
    await engine.store.close()


def voices(bench: Bench, scans: MessageScans, names: tuple[str, ...]) -> list[Voice]:
    agent = bridge_agent()
    made = []
    for name in names:
        me = Identity(UserID(f"@{name}:localhost"), name.title(), (name,), "agent")
        roster = Roster((*bench.bot.roster.bots, me))
        made.append(Voice(agent, me, cast(Any, None), roster, ROOM, scans=scans))
    return made


def bridge_agent() -> BridgeAgentSettings:
    example: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    bridged = {**example, "bridge": {"agents": [{"name": "manus"}]}}
    return parse_settings(bridged, EXAMPLE_CONFIG).bridge.agents[0]


def desk(bench: Bench, scans: MessageScans) -> MasterDashboard:
    council = RoomCouncil({}, bench.store.tasks, bench.clock, settings=bench.settings)
    return MasterDashboard(
        bench.settings,
        bench.store,
        bench.service,
        council,
        ROOM,
        bench.bot.roster,
        HostWatch(bench.settings.execution.hosts, None),
        bench.clock,
        scans=scans,
    )


@pytest.mark.parametrize(
    ("body", "formatted", "texts", "agents_read", "feed"),
    [
        ("everyone, status?", None, 1, 1, "everyone, status?"),
        (f"everyone, the key is {KEY}", None, 1, 0, "everyone, the key is [an OpenAI API key]"),
        (
            f"everyone, the key is {KEY}",
            f"<p>everyone, the key is <code>{KEY}</code></p>",
            2,
            0,
            "everyone, the key is [an OpenAI API key]",
        ),
    ],
    ids=["plain", "a pasted key", "a key in the formatted text too"],
)
async def test_each_message_is_scanned_once_for_every_voice_and_the_feed(
    bench: Bench, body: str, formatted: str | None, texts: int, agents_read: int, feed: str
) -> None:
    counted = CountedScan()
    scans = MessageScans(scan=counted)
    feed_desk = desk(bench, scans)
    outside = voices(bench, scans, ("manus", "devin", "aider"))
    message = Message(
        ROOM,
        EventID("$said"),
        bench.settings.master_user_id,
        body,
        formatted_body=formatted,
        timestamp_ms=5_000,
    )
    await outside[0].hear(message)  # a voice may hear it before the coordinator does
    await feed_desk.hear(message)
    for voice in outside[1:]:
        await voice.hear(message)
    assert len(counted.texts) == texts, counted.texts
    assert [len(v.events.kept) for v in outside] == [agents_read] * len(outside)
    assert [a.body for a in (await feed_desk.overview()).activity] == [feed]


def test_scans_are_kept_for_the_last_messages_only() -> None:
    counted = CountedScan()
    scans = MessageScans(scan=counted, kept=2)
    room = RoomID("!r:hs")
    said = [Message(room, EventID(f"$m{n}"), UserID("@a:hs"), f"m{n}") for n in range(3)]
    for message in said:
        scans.of(message)
    scans.of(said[2])
    scans.of(said[0])  # forgotten: scanned again
    scans.of(replace(said[0], body="m0, whole"))  # the same event with other text
    assert counted.texts == ["m0", "m1", "m2", "m0", "m0, whole"]
