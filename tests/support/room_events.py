"""What the homeserver holds, not what one client happened to receive: a room's events read
back with `/messages` and given to the task they belong to.

A client's sync is limited (Synapse sends the last few events of a room per sync and marks
the timeline "limited"): with many tasks at once, or after a homeserver restart, the master's
client never sees some events. Tests and the benchmark that count events ask the homeserver
instead: `room_events_since` pages forward from a sync token (decrypted by the master's
client, which holds the room keys), and `count_by_task` gives every event to its task — in
its thread, relating to an event of the task (a poll response, a poll's end, a reaction on
the plan), or a main-timeline line starting "#<task>".
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nio import MessageDirection, RoomMessagesResponse

from bots.events import COUNCIL_KEY, POLL_START
from tests.support.person import Person

PAGE = 100
_TASK_PREFIX = re.compile(r"\A#(\d+) ")
_REQUEST_ID = re.compile(r"\At(\d+)-a\d+-s\d+")


@dataclass(frozen=True)
class ServerEvent:
    """One non-state event as the homeserver keeps it (decrypted where the master can)."""

    event_id: str
    type: str
    sender: str
    content: Mapping[str, Any]
    ts: int = 0
    """`origin_server_ts`: when the homeserver took it, in ms."""

    @property
    def relates_to(self) -> Mapping[str, Any]:
        found = self.content.get("m.relates_to")
        return found if isinstance(found, Mapping) else {}

    @property
    def target(self) -> str | None:
        """The event this one relates to: its thread root, the event it annotates, references
        or replaces, else the one it replies to."""
        found = self.relates_to.get("event_id")
        if isinstance(found, str):
            return found
        reply = self.relates_to.get("m.in_reply_to")
        found = reply.get("event_id") if isinstance(reply, Mapping) else None
        return found if isinstance(found, str) else None

    @property
    def council(self) -> Mapping[str, Any]:
        found = self.content.get(COUNCIL_KEY)
        if not isinstance(found, Mapping):
            inner = self.content.get(POLL_START)
            found = inner.get(COUNCIL_KEY) if isinstance(inner, Mapping) else None
        return found if isinstance(found, Mapping) else {}

    @property
    def task_number(self) -> int | None:
        """The task an event names: its council object, an execution request's `task_id`, a
        result's request id (`t12-a1-s1`), or a line starting "#12 "."""
        task = self.council.get("task")
        if isinstance(task, int) and not isinstance(task, bool) and task > 0:
            return task
        task_id = self.content.get("task_id")
        if isinstance(task_id, str) and task_id.isdigit():
            return int(task_id)
        for key, pattern in (("request_id", _REQUEST_ID), ("body", _TASK_PREFIX)):
            found = pattern.match(str(self.content.get(key, "")))
            if found:
                return int(found.group(1))
        return None

    @property
    def kind(self) -> str:
        """A label for counting: the type, and for messages the council kind or msgtype."""
        if self.type != "m.room.message":
            return self.type
        edit = "edit " if "m.new_content" in self.content else ""
        what = self.council.get("kind") or self.content.get("msgtype")
        return f"m.room.message {edit}({what})"


async def room_events_page(
    person: Person, room_id: str, token: str, *, timeout: float = 60
) -> tuple[list[ServerEvent], str]:
    """One `/messages` page of non-state events after `token`, oldest first, and the token to
    go on from (the same when there is nothing newer). A page that takes over `timeout`
    seconds is an error (nio would retry it for ever)."""
    page = person.client.room_messages(
        room_id, start=token, direction=MessageDirection.front, limit=PAGE
    )
    try:
        response = await asyncio.wait_for(page, timeout)
    except TimeoutError:
        raise AssertionError(
            f"/messages of {room_id} from {token} took over {timeout:.0f} s"
        ) from None
    assert isinstance(response, RoomMessagesResponse), response
    found: list[ServerEvent] = []
    for event in response.chunk:
        source: dict[str, Any] = getattr(event, "source", {}) or {}
        if "state_key" in source or "event_id" not in source:
            continue
        content = source.get("content")
        found.append(
            ServerEvent(
                str(source["event_id"]),
                str(source.get("type", "")),
                str(source.get("sender", "")),
                content if isinstance(content, dict) else {},
                int(source.get("origin_server_ts", 0)),
            )
        )
    if not response.chunk or not response.end:
        return found, token
    return found, str(response.end)


async def room_events_since(
    person: Person, room_id: str, token: str, *, limit: int = 10_000
) -> list[ServerEvent]:
    """Every non-state event of the room after the sync token `token`, oldest first, as
    `/messages` pages them (at most `limit`)."""
    found: list[ServerEvent] = []
    while len(found) < limit:
        events, after = await room_events_page(person, room_id, token)
        found += events
        if after == token:
            break
        token = after
    return found


@dataclass
class RoomEventCounts:
    """Events per task (by thread root, in the order the roots were given), and by kind."""

    per_task: dict[str, Counter[str]] = field(default_factory=dict)
    unattributed: Counter[str] = field(default_factory=Counter)
    """Bot events that belong to none of the tasks counted, by kind."""

    def totals(self) -> list[int]:
        return [sum(kinds.values()) for kinds in self.per_task.values()]

    def by_kind(self) -> Counter[str]:
        summed: Counter[str] = Counter()
        for kinds in self.per_task.values():
            summed.update(kinds)
        return summed


def owners(events: Sequence[ServerEvent], roots: Collection[str]) -> dict[str, str]:
    """Event id → the thread root of the task it belongs to, for every event that belongs to
    one of `roots`' tasks. Events come oldest first, so what an event relates to is known
    before it (a reaction after its plan, a poll response after its poll); an event related
    to nothing of theirs (a result, the main-timeline line) goes by the task number it names,
    learned from the task's thread."""
    owner = {root: root for root in roots}
    root_of_task: dict[int, str] = {}
    for event in events:
        target = event.target
        task = event.task_number
        if target is not None and target in owner:
            owner[event.event_id] = owner[target]
            if task is not None:
                root_of_task.setdefault(task, owner[target])
        elif task is not None and task in root_of_task:
            owner[event.event_id] = root_of_task[task]
    return owner


def count_by_task(
    events: Sequence[ServerEvent], roots: Sequence[str], senders: Collection[str]
) -> RoomEventCounts:
    """The events `senders` (the bots) sent, per task of `roots`, by kind."""
    owner = owners(events, roots)
    counts = RoomEventCounts({root: Counter() for root in roots})
    for event in events:
        if event.sender not in senders:
            continue
        root = owner.get(event.event_id)
        if root is None:
            counts.unattributed[event.kind] += 1
        else:
            counts.per_task[root][event.kind] += 1
    return counts
