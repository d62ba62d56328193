"""The coordinator's one word about a master's message no key opened."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.context import BotContext
from bots.coordinator.unreadable import on_unreadable, sent_at, unreadable_text
from bots.events import UNREADABLE_EVENT
from bots.ids import EventID, RoomID, UserID
from bots.message import RoomEvent

NOW = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
MASTER = UserID("@master:localhost")


@pytest.mark.parametrize(
    ("sent", "timezone", "expected"),
    [
        (datetime(2026, 12, 3, 9, 5, tzinfo=UTC), "UTC", "09:05"),
        (datetime(2026, 12, 3, 9, 5, tzinfo=UTC), "Asia/Seoul", "18:05"),
        (datetime(2026, 12, 2, 23, 30, tzinfo=UTC), "UTC", "2 Dec 23:30"),
        (datetime(2026, 12, 2, 23, 30, tzinfo=UTC), "Asia/Seoul", "08:30"),  # today in Seoul
    ],
)
def test_the_time_is_said_in_the_councils_zone(
    sent: datetime, timezone: str, expected: str
) -> None:
    assert sent_at(int(sent.timestamp() * 1000), timezone, NOW) == expected


def event(sender: UserID, kind: str = UNREADABLE_EVENT) -> RoomEvent:
    content: dict[str, Any] = {"reason": "no-key", "waited_seconds": 60}
    return RoomEvent(RoomID("!r"), EventID("$e"), sender, kind, content, 100, 1_764_000_000_000)


def bot() -> BotContext:
    settings = SimpleNamespace(master_user_id=MASTER, timezone="UTC")
    return cast(BotContext, SimpleNamespace(settings=settings))


async def test_the_master_is_told_once_with_what_to_do() -> None:
    [reply] = await on_unreadable(event(MASTER), bot())
    assert reply.body.startswith("I could not read your message from ")
    assert "within 60 s" in reply.body
    assert "send it again" in reply.body
    assert (reply.notice, reply.mention, reply.reply_to) == (False, (MASTER,), "$e")
    assert reply.key == "$e/unreadable"


@pytest.mark.parametrize(
    "incoming",
    [event(UserID("@gpt:localhost")), event(MASTER, "m.reaction")],
)
async def test_nothing_is_said_about_anything_else(incoming: RoomEvent) -> None:
    assert await on_unreadable(incoming, bot()) == []


@pytest.mark.parametrize(
    ("code", "detail", "says"),
    [
        ("no-key", "", "no key to decrypt it reached the bots within 60 s"),
        ("m.unverified", "Unverified device", "because it does not trust them"),
        ("m.blacklisted", "", "has blocked the bots' devices"),
        ("x.custom", "for reasons", "withheld its key (x.custom: for reasons)"),
    ],
)
def test_the_notice_says_why(code: str, detail: str, says: str) -> None:
    text = unreadable_text(1_764_000_000_000, 60, "UTC", NOW, code, detail)
    assert says in text
    assert text.endswith("or verify the bots.")
