"""Every id as a distinct type: free at run time, yet a room id cannot pass as a user, nor a
request id as a task id. Matrix ids and the executor's request ids and digests live here,
so the store and the bots share one vocabulary without importing each other."""

from typing import NewType

UserID = NewType("UserID", str)
RoomID = NewType("RoomID", str)
EventID = NewType("EventID", str)
RoomAlias = NewType("RoomAlias", str)

RequestID = NewType("RequestID", str)
"""The idempotency key of one execution request: a request id is run at most once, ever."""
TaskID = NewType("TaskID", str)
"""The coordinator's task a request belongs to, if any."""
Digest = NewType("Digest", str)
"""sha256 (64 lower-case hex digits) of a host and command; see `command_digest`."""


def localpart(user_id: str) -> str:
    """`@claude:localhost` → `claude`."""
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def user_id_for(local: str, server_name: str) -> UserID:
    return UserID(f"@{local}:{server_name}")
