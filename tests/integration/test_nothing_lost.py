"""Nothing said to a bot is lost silently: a long absence, a crash in the middle of an answer.

Bots run as their own processes (`chavion bot NAME`), stopped and killed as in production.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter

import pytest
from nio import AsyncClient, MessageDirection, RoomMessagesResponse

from tests.support.council import ThrowawayCouncil
from tests.support.person import Person

pytestmark = pytest.mark.integration

GAP = 300  # three times the sync filter's page of 100 events


async def replies_by_target(
    client: AsyncClient, room_id: str, sender: str, oldest: str
) -> Counter[str]:
    """How many replies `sender` sent to each event, read back with /messages down to
    `oldest`: the test's own sync would skip events in a burst, as the bot's did."""
    counts: Counter[str] = Counter()
    start = client.next_batch
    while True:
        response = await client.room_messages(
            room_id, start=start, direction=MessageDirection.back, limit=100
        )
        assert isinstance(response, RoomMessagesResponse), response
        for event in response.chunk:
            source = getattr(event, "source", {})
            if source.get("sender") == sender:
                relates = source.get("content", {}).get("m.relates_to", {})
                target = relates.get("m.in_reply_to", {}).get("event_id")
                if target:
                    counts[target] += 1
        if any(getattr(e, "event_id", None) == oldest for e in response.chunk):
            return counts
        if not response.chunk or not response.end:
            return counts
        start = response.end


async def test_a_bot_down_while_more_than_a_sync_page_arrived_handles_every_event_once(
    council: ThrowawayCouncil, master: Person
) -> None:
    gpt = council.user_id("gpt")
    room = council.council_room
    first = council.bot_process("gpt")
    await first.online()
    await master.sees_devices_of(gpt)
    assert await first.stop() == 0

    tag = secrets.token_hex(3)
    sent = [await master.say(room, f"gpt !ping {tag} {n}") for n in range(GAP)]
    logs_before = set(council.root.glob("bot-gpt-*.log"))
    second = council.bot_process("gpt")
    try:
        await second.online()
        deadline = time.monotonic() + 120
        while True:
            counts = await replies_by_target(master.client, room, gpt, sent[0])
            if all(counts[event] >= 1 for event in sent) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        await master.settle(2)
        counts = await replies_by_target(master.client, room, gpt, sent[0])
    finally:
        assert await second.stop() == 0
    missing = [n for n, event in enumerate(sent) if counts[event] == 0]
    twice = [n for n, event in enumerate(sent) if counts[event] > 1]
    assert missing == [], f"{len(missing)} of {GAP} never answered, e.g. {missing[:5]}"
    assert twice == [], f"answered more than once: {twice[:5]}"
    [log] = set(council.root.glob("bot-gpt-*.log")) - logs_before
    assert " caught up " in log.read_text(encoding="utf-8")
