"""A bot's cross-signing state travels in its presence mark and `!status` says it; marks
written before the field existed still read."""

from __future__ import annotations

import pytest

from bots.context import BotPresence
from bots.coordinator.presence import describe_presence
from bots.events import BOT_STATE_EVENT
from bots.ids import UserID
from bots.matrix.cross_signing import XSignState
from bots.matrix.presence import presence_content, presences_from_state

NOW = 1_000_000.0
BOT = UserID("@claude:hs")


def mark(cross_signing: str) -> dict[str, object]:
    return presence_content(
        online=True,
        version="0.1.0",
        host="box",
        pid=7,
        started_at=NOW - 120,
        now=NOW - 60,
        cross_signing=cross_signing,
    )


@pytest.mark.parametrize("state", [s.value for s in XSignState])
def test_every_state_reads_back_as_written(state: str) -> None:
    content = mark(state)
    assert content["cross_signing"] == state
    read = presences_from_state([{"type": BOT_STATE_EVENT, "state_key": BOT, "content": content}])
    assert read[BOT].cross_signing == state


def test_a_mark_without_the_field_still_reads() -> None:
    old = {
        "online": True,
        "version": "0.0.9",
        "host": "box",
        "pid": 1,
        "started_at": 1000,
        "heartbeat_at": 2000,
    }
    assert "cross_signing" not in mark(""), "an unknown state is not written"
    read = presences_from_state([{"type": BOT_STATE_EVENT, "state_key": BOT, "content": old}])
    assert read[BOT] == BotPresence(BOT, True, "0.0.9", "box", 1, 1.0, 2.0, "")


STATUS = [
    ("signed", "online on box, up 2m 0s, v0.1.0, cross-signed"),
    ("unsigned", "online on box, up 2m 0s, v0.1.0, device not signed"),
    ("missing", "online on box, up 2m 0s, v0.1.0, no cross-signing keys"),
    (
        "keys-differ",
        "online on box, up 2m 0s, v0.1.0, device not signed (cross-signing keys not its own)",
    ),
    (
        "no-device",
        "online on box, up 2m 0s, v0.1.0, device not signed (its keys are not on the homeserver)",
    ),
    ("failed", "online on box, up 2m 0s, v0.1.0, cross-signing failed, see its log"),
    ("", "online on box, up 2m 0s, v0.1.0"),
    ("from-the-future", "online on box, up 2m 0s, v0.1.0, cross-signing: from-the-future"),
]


@pytest.mark.parametrize(("state", "text"), STATUS, ids=[s or "old mark" for s, _ in STATUS])
def test_status_says_each_bots_cross_signing(state: str, text: str) -> None:
    presence = BotPresence(BOT, True, "0.1.0", "box", 7, NOW - 120, NOW - 60, state)
    assert describe_presence(presence, NOW, heartbeat=600) == text


def test_every_state_has_its_own_phrase() -> None:
    phrases = {
        describe_presence(BotPresence(BOT, True, "0.1.0", "", 7, NOW, NOW, s.value), NOW, 600)
        for s in XSignState
    }
    assert len(phrases) == len(XSignState)
    assert not any("cross-signing: " in p for p in phrases)
