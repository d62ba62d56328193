"""What an external agent hears of the council room, as server-sent events: pure, so the
choice is table-tested without a homeserver.

A message addressed to it (its name, a pill, a mention, a reply to it, or everyone), a task
change (the coordinator's task messages carry the task's number and kind), an executor
result of a request it made. Everything else it would only have to filter out.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bots.execution.requests import RESULT_EVENT
from bots.message import Incoming, Message, RoomEvent
from bots.routing.addressing import (
    Identity,
    Roster,
    addressed_bots,
    is_broadcast,
    spoken_text,
)

OUTPUT_CHARS = 4000


def heard(
    incoming: Incoming, me: Identity, roster: Roster, requests: Collection[str] = ()
) -> dict[str, Any] | None:
    """The event for `me`'s listeners, or None when it is not for it; `requests` are the
    executor requests `me` made (a result event does not name its requester)."""
    if isinstance(incoming, RoomEvent):
        return _result(incoming, requests)
    task = _task_change(incoming, roster)
    if task is not None:
        return task
    if me.user_id in addressed_bots(incoming, roster) or _to_everyone(incoming, roster):
        sender = roster.get(incoming.sender)
        return {
            "type": "message",
            "id": incoming.event_id,
            "sender": incoming.sender,
            "sender_name": sender.display_name if sender else incoming.sender,
            "content": incoming.body,
            "thread": incoming.thread_root,
            "at": incoming.timestamp_ms / 1000,
        }
    return None


def _to_everyone(message: Message, roster: Roster) -> bool:
    """`@room` or a broadcast word, last ("안녕, 얘들아!") or first ("everyone, …": the
    router finds that one with the leading addresses)."""
    if is_broadcast(message, roster):
        return True
    pattern = roster.broadcast_pattern
    return pattern is not None and pattern.match(spoken_text(message).lstrip()) is not None


def _task_change(message: Message, roster: Roster) -> dict[str, Any] | None:
    council = message.council
    sender = roster.get(message.sender)
    if council is None or sender is None or sender.kind != "coordinator":
        return None
    task = council.get("task")
    if not isinstance(task, int) or isinstance(task, bool):
        return None
    kind = council.get("kind")
    return {
        "type": "task",
        "task_id": task,
        "kind": kind if isinstance(kind, str) else "message",
        "state": council.get("state") if isinstance(council.get("state"), str) else None,
        "content": message.body,
        "id": message.event_id,
        "at": message.timestamp_ms / 1000,
    }


def _result(event: RoomEvent, requests: Collection[str]) -> dict[str, Any] | None:
    """An executor result of one of the agent's own requests."""
    if event.type != RESULT_EVENT or event.content.get("request_id") not in requests:
        return None
    output = event.content.get("output")
    found: dict[str, Any] = {
        "type": "executor",
        "request_id": event.content.get("request_id"),
        "status": event.content.get("status"),
        "exit_status": event.content.get("exit_status"),
        "id": event.event_id,
    }
    if isinstance(output, dict):
        found["stdout"] = str(output.get("stdout", ""))[-OUTPUT_CHARS:]
        found["stderr"] = str(output.get("stderr", ""))[-OUTPUT_CHARS:]
    return found
