"""Matrix identifiers as distinct types: free at run time, yet a room id cannot pass as a user."""

from typing import NewType

UserID = NewType("UserID", str)
RoomID = NewType("RoomID", str)
EventID = NewType("EventID", str)
RoomAlias = NewType("RoomAlias", str)


def localpart(user_id: str) -> str:
    """`@claude:localhost` → `claude`."""
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


def user_id_for(local: str, server_name: str) -> UserID:
    return UserID(f"@{local}:{server_name}")
