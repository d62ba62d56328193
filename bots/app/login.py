"""What a person needs to log in from Element, as `up` and `info` print it.

One value for both the text and `info --json`, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bots.errors import BotError
from bots.homeserver.credentials import load_credentials
from bots.homeserver.provision import load_council
from bots.ids import RoomID, UserID
from bots.settings.data_dir import DataDir
from bots.settings.model import BotKind, Settings
from bots.text.durations import tenths


@dataclass(frozen=True)
class BotLogin:
    """One bot account, as listed to the person logging in."""

    name: str
    user_id: UserID
    kind: BotKind


@dataclass(frozen=True)
class LoginInfo:
    """Where to log in, as whom, and which room and bots are waiting there."""

    homeserver: str
    master_user: UserID
    master_password: str
    council_room_id: RoomID
    council_alias: str
    bots: tuple[BotLogin, ...]
    bridge_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The fields as `info --json` prints them (scripts read these names)."""
        return asdict(self)


def login_info(settings: Settings, data: DataDir) -> LoginInfo:
    master = load_credentials(data, settings.master.localpart)
    council = load_council(data)
    if master is None or council is None:
        raise BotError("nothing is provisioned yet: run `chavion up` first")
    return LoginInfo(
        homeserver=settings.homeserver.public_url,
        master_user=master.user_id,
        master_password=master.password,
        council_room_id=council.room_id,
        council_alias=council.alias,
        bots=tuple(
            BotLogin(name=a.name, user_id=settings.user_id(a), kind=a.kind)
            for a in settings.accounts
        ),
    )


def format_login(info: LoginInfo, seconds: float | None = None) -> str:
    head = "Chavion is up" + (f" (ready in {tenths(seconds)})." if seconds is not None else ".")
    bots = ", ".join(b.user_id for b in info.bots)
    return "\n".join(
        [
            head,
            "Log in from Element (Element X or Element Web):",
            f"  Homeserver: {info.homeserver}",
            f"  User:       {info.master_user}",
            f"  Password:   {info.master_password}",
            f"  Room:       {info.council_alias}  (you are already a member)",
            f"  Bots:       {bots}",
            "Then say `!help` in the room. From a phone, Element X needs the homeserver behind",
            "HTTPS: see the README's Production section.",
        ]
    )
