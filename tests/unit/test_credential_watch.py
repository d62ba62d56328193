"""The coordinator's credential watch and an agent's refusal, on a real store, offline.

The Matrix side is a small recorder of what would be sent or redacted: the watch must redact
once, tell the sender once (the kind, never the value), and say so plainly when the
homeserver refuses the redaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bots.agents.agent import Agent, without_credentials
from bots.context import BotContext
from bots.coordinator.secrets import credential_notice, redact_credentials
from bots.errors import MatrixError
from bots.ids import EventID, RoomID, UserID
from bots.message import HistoryEntry, Message
from bots.routing.addressing import Identity, Roster
from bots.store import Store

ROOM = RoomID("!r:hs")
MASTER = UserID("@master:hs")
AGENT = UserID("@gpt:hs")
KEY = "sk-proj-Ab3dEf6hIj9kLmN0pQrStUvWxYz12345"


class Redactions:
    """Records redactions; refuses them all when `refuse` is set, as a homeserver would
    to a bot without the power."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.done: list[tuple[RoomID, EventID, str, str]] = []

    async def redact(self, room_id: RoomID, event_id: EventID, reason: str, key: str) -> EventID:
        if self.refuse:
            raise MatrixError("M_FORBIDDEN: You don't have permission to redact events")
        self.done.append((room_id, event_id, reason, key))
        return EventID(f"$redaction{len(self.done)}")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


def coordinator(store: Store, matrix: Redactions) -> BotContext:
    roster = Roster((Identity(AGENT, "GPT"), Identity(UserID("@coord:hs"), "Coordinator")))
    context: Any = SimpleNamespace(
        account=SimpleNamespace(name="coordinator"), roster=roster, store=store, matrix=matrix
    )
    return cast(BotContext, context)


def said(body: str, *, sender: UserID = MASTER, event: str = "$paste", **extra: Any) -> Message:
    return Message(ROOM, EventID(event), sender, body, **extra)


async def test_a_pasted_key_is_redacted_and_the_sender_told_once(store: Store) -> None:
    matrix = Redactions()
    bot = coordinator(store, matrix)
    message = said(f"gpt, why does {KEY} not work?", thread_root=EventID("$root"))
    [notice] = await redact_credentials(message, bot)
    assert matrix.done == [(ROOM, "$paste", "It held an OpenAI API key.", "$paste/redact")]
    assert notice.notice
    assert notice.mention == (MASTER,)
    assert notice.thread_root == "$root"
    assert notice.reply_to == "$paste"
    assert "an OpenAI API key" in notice.body
    assert "Rotate" in notice.body
    assert KEY not in notice.body
    assert KEY[:12] not in notice.body
    assert notice.key == "$paste/credentials"  # not the key a command's answer would use
    # The same event again (a replay after a restart): nothing more.
    assert await redact_credentials(message, bot) == []
    assert len(matrix.done) == 1


async def test_a_key_only_in_the_html_counts_too(store: Store) -> None:
    matrix = Redactions()
    message = said("see the code", formatted_body=f"<code>password={KEY[8:]}</code>")
    [notice] = await redact_credentials(message, coordinator(store, matrix))
    assert "a password or secret setting" in notice.body
    assert len(matrix.done) == 1


@pytest.mark.parametrize(
    "message",
    [
        said("the deploy failed with exit 1, commit 3f2a9c1e4b5d6f7a8b9c0d1e2f3a4b5c6d7e8f90"),
        said(f"quoting {KEY}", sender=AGENT),  # Chavion's own bots are not watched
    ],
)
async def test_everyday_text_and_bots_are_left_alone(store: Store, message: Message) -> None:
    matrix = Redactions()
    assert await redact_credentials(message, coordinator(store, matrix)) == []
    assert matrix.done == []


async def test_a_refused_redaction_is_said_plainly(store: Store) -> None:
    matrix = Redactions(refuse=True)
    [notice] = await redact_credentials(said(KEY), coordinator(store, matrix))
    assert "could not remove it" in notice.body
    assert "Delete it yourself" in notice.body
    assert KEY not in notice.body


@pytest.mark.parametrize(
    ("kinds", "removed", "says"),
    [
        (["a private key"], True, "I removed your message: it held a private key. Rotate that"),
        (["an OpenAI API key", "a private key"], True, "an OpenAI API key and a private key"),
        (["an OpenAI API key", "a private key"], True, "Rotate those secrets now"),
        (["a GitHub token"], False, "I could not remove it"),
    ],
)
def test_the_notice_names_the_kinds(kinds: list[str], removed: bool, says: str) -> None:
    assert says in credential_notice(kinds, removed=removed)


def test_an_agent_leaves_messages_with_credentials_out_of_its_history() -> None:
    history = [
        HistoryEntry(EventID("$a"), MASTER, "Master", "hello", 1),
        HistoryEntry(EventID("$k"), MASTER, "Master", f"use {KEY}", 2),
        HistoryEntry(EventID("$b"), AGENT, "GPT", "hi", 3),
    ]
    assert [h.event_id for h in without_credentials(history)] == ["$a", "$b"]


@pytest.mark.parametrize(("direct", "said_back"), [(False, 0), (True, 1)])
def test_an_agent_tells_only_a_direct_chat_what_it_did_not_read(
    direct: bool, said_back: int
) -> None:
    """In a room the coordinator speaks; in a direct chat no one else would."""
    agent = cast(Agent, SimpleNamespace(agent=SimpleNamespace(name="gpt")))
    replies = Agent._credential_refusal(agent, said(KEY, is_direct=direct), ["an OpenAI API key"])
    assert len(replies) == said_back
    for reply in replies:
        assert "an OpenAI API key" in reply.body
        assert KEY not in reply.body
