"""A bot's account file: the credentials that bring it back as the same device.

Read by whoever runs a bot and written by provisioning; kept apart from provisioning so the
Matrix client and the runtime can read credentials without importing the code that creates
accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bots.ids import UserID
from bots.settings.data_dir import DataDir, read_json


@dataclass(frozen=True)
class Credentials:
    """What a bot needs to come back as the same device: E2E keys are tied to device_id."""

    user_id: UserID
    password: str
    access_token: str
    device_id: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(
            user_id=UserID(str(data["user_id"])),
            password=str(data["password"]),
            access_token=str(data["access_token"]),
            device_id=str(data["device_id"]),
        )


def load_credentials(data: DataDir, localpart: str) -> Credentials | None:
    """The saved credentials of `localpart`'s account, or None before it was provisioned."""
    raw = read_json(data.account_file(localpart))
    return Credentials.from_json(raw) if raw else None
