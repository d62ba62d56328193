"""How to log in, as `up` and `info` print it: the text and the JSON come from one value."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bots.app.login import LoginInfo, format_login, login_info
from bots.errors import BotError
from bots.homeserver.credentials import Credentials
from bots.homeserver.provision import Council
from bots.ids import RoomID, UserID
from bots.settings.data_dir import DataDir, write_private_json
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.settings.paths import EXAMPLE_CONFIG


@pytest.fixture
def settings() -> Settings:
    return load_settings(EXAMPLE_CONFIG)


def provisioned(root: Path, settings: Settings) -> DataDir:
    data = DataDir(root)
    master = Credentials(UserID("@master:localhost"), "s3cret", "token", "DEVICE")
    write_private_json(data.account_file(settings.master.localpart), asdict(master))
    council = Council(RoomID("!room:localhost"), "#council:localhost")
    write_private_json(data.council_file, asdict(council))
    return data


def test_nothing_provisioned_says_to_run_up(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(BotError, match="run `chavion up` first"):
        login_info(settings, DataDir(tmp_path))


def test_the_json_keeps_the_names_scripts_read(tmp_path: Path, settings: Settings) -> None:
    info = login_info(settings, provisioned(tmp_path, settings))
    printed = json.loads(json.dumps(info.as_json(), indent=2))
    assert list(printed) == [
        "homeserver",
        "master_user",
        "master_password",
        "council_room_id",
        "council_alias",
        "bots",
        "bridge_url",
    ]
    assert printed["master_user"] == "@master:localhost"
    assert printed["master_password"] == "s3cret"
    assert printed["council_room_id"] == "!room:localhost"
    assert printed["bridge_url"] is None
    assert printed["bots"][0] == {
        "name": "coordinator",
        "user_id": settings.user_id(settings.coordinator),
        "kind": "coordinator",
    }
    assert [b["name"] for b in printed["bots"]] == [a.name for a in settings.accounts]


@pytest.mark.parametrize(
    ("seconds", "head"),
    [
        (None, "Chavion is up."),
        (3.14159, "Chavion is up (ready in 3.1 s)."),
        (12.0, "Chavion is up (ready in 12.0 s)."),
    ],
)
def test_the_text_opens_with_how_long_start_took(
    tmp_path: Path, settings: Settings, seconds: float | None, head: str
) -> None:
    info: LoginInfo = login_info(settings, provisioned(tmp_path, settings))
    lines = format_login(info, seconds).splitlines()
    assert lines[0] == head
    assert f"  Password:   {info.master_password}" in lines
    assert lines[-3].startswith("  Bots:       " + info.bots[0].user_id)
