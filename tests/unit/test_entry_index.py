"""Where a bot's own history in a room begins, in a batch of timeline events as nio parses
them: what came before it entered is history, never answered."""

from __future__ import annotations

from typing import Any

import pytest
from nio import Event

from bots.matrix.convert import entry_index

BOT = "@claude:hs"
OTHER = "@gpt:hs"


def parsed(*events: dict[str, Any]) -> list[Any]:
    return [
        Event.parse_event({**e, "event_id": f"$e{n}", "origin_server_ts": n})
        for n, e in enumerate(events)
    ]


def said(text: str) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "sender": "@master:hs",
        "content": {"msgtype": "m.text", "body": text},
    }


def member(user: str, membership: str, before: str | None = None) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "sender": "@master:hs" if membership == "invite" else user,
        "state_key": user,
        "content": {"membership": membership},
        "unsigned": {"prev_content": {"membership": before}} if before else {},
    }


@pytest.mark.parametrize(
    ("events", "start"),
    [
        pytest.param([said("old"), said("older")], 0, id="nothing of its own: all is new"),
        pytest.param([said("before"), member(BOT, "join")], 2, id="after its join"),
        pytest.param(
            [said("before"), member(BOT, "invite"), said("hi"), member(BOT, "join", "invite")],
            2,
            id="Element Web's DM: the first message comes between invite and join",
        ),
        pytest.param(
            [said("before"), said("hi"), member(BOT, "join", "invite")],
            3,
            id="invite outside the batch: after the join",
        ),
        pytest.param(
            [
                member(BOT, "invite"),
                member(BOT, "join", "invite"),
                said("a"),
                member(BOT, "leave", "join"),
                said("b"),
                member(BOT, "join", "leave"),
                said("c"),
            ],
            6,
            id="after the latest entry, a rejoin",
        ),
        pytest.param(
            [member(OTHER, "invite"), said("x"), member(BOT, "join")],
            3,
            id="another user's invite is not the bot's",
        ),
        pytest.param(
            [member(BOT, "join"), said("x"), member(BOT, "join", "join")],
            1,
            id="a profile change is no entry",
        ),
    ],
)
def test_history_starts_where_the_bot_came_in(events: list[dict[str, Any]], start: int) -> None:
    assert entry_index(parsed(*events), BOT) == start
