"""What a room version changes about who holds power, as plain functions (no nio).

Provisioning needs it to write power levels a room version accepts; the Matrix client needs
it to read a sender's authority. Neither should import the other, so it lives here.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

CREATOR_POWER: Final = 1000
"""A room v12+ creator's power as Chavion counts it: above every numeric power level."""


def creators_are_privileged(room_version: str) -> bool:
    """From room version 12 the creator outranks every power level and must not be listed."""
    return room_version.isdigit() and int(room_version) >= 12


def effective_power(
    room_version: str, creators: Collection[str], user_id: str, listed_level: int
) -> int:
    """`user_id`'s power in a room: its power level there (`listed_level`), unless the room
    version makes its creators outrank every level and `user_id` is one of them."""
    if creators_are_privileged(room_version) and user_id in creators:
        return CREATOR_POWER
    return listed_level
