"""Provisioning never loses a password: credentials are saved the moment an account exists.

The homeserver is a small in-memory stand-in answering the HTTP calls `HomeserverApi`
makes, so the real request code runs; a test can make any one call fail.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from bots.homeserver import provision as provision_module
from bots.homeserver.admin_api import ApiError, HomeserverApi
from bots.homeserver.credentials import load_credentials
from bots.homeserver.provision import Provisioner, answer_push_rule
from bots.settings.data_dir import DataDir
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.settings.paths import EXAMPLE_CONFIG

ROOM = "!council:localhost"


class FakeHomeserver(HomeserverApi):
    def __init__(self) -> None:
        super().__init__(None, "http://homeserver.invalid")  # type: ignore[arg-type]
        self.passwords: dict[str, str] = {}
        self.devices: dict[str, str] = {}
        self.registrations: list[str] = []
        self.display_names: dict[str, str] = {}
        self.unlimited: set[str] = set()
        self.rate_limit_calls: list[tuple[str, str]] = []
        self.room: dict[str, Any] | None = None
        self.push_rules: dict[tuple[str, str], dict[str, Any]] = {}
        """(user, rule path) → the rule, as the owner of the token put it."""
        self.failing: str | None = None
        """A call's `what` (say, "display name of @master:localhost") that fails once."""

    def _user(self, localpart: str) -> str:
        return f"@{localpart}:localhost"

    def _new_session(self, user_id: str) -> dict[str, Any]:
        device = f"DEV{len(self.devices)}"
        self.devices[device] = user_id
        return {"user_id": user_id, "access_token": f"token-{device}", "device_id": device}

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
        what: str = "",
    ) -> dict[str, Any]:
        if what and what == self.failing:
            self.failing = None
            raise ApiError(502, "", "Bad Gateway", what)
        body = body or {}
        if path == "/_synapse/admin/v1/register":
            if method == "GET":
                return {"nonce": "nonce"}
            user_id = self._user(body["username"])
            if user_id in self.passwords:
                raise ApiError(400, "M_USER_IN_USE", "User ID already taken.", what)
            self.passwords[user_id] = body["password"]
            self.registrations.append(user_id)
            return self._new_session(user_id)
        if path == "/_matrix/client/v3/login":
            user_id = body["identifier"]["user"]
            if self.passwords.get(user_id) != body["password"]:
                raise ApiError(403, "M_FORBIDDEN", "Invalid password", what)
            return self._new_session(user_id)
        if path == "/_matrix/client/v3/logout":
            return {}
        if path.endswith("/displayname"):
            self.display_names[unquote(path.split("/")[-2])] = body["displayname"]
            return {}
        if path.endswith("/override_ratelimit"):
            user_id = unquote(path.split("/")[-2])
            self.rate_limit_calls.append((method, user_id))
            if method == "DELETE":
                self.unlimited.discard(user_id)
            else:
                self.unlimited.add(user_id)
            return {}
        if path.startswith("/_matrix/client/v3/directory/room/"):
            if self.room is None:
                raise ApiError(404, "M_NOT_FOUND", "Room alias not found", what)
            return {"room_id": ROOM}
        if path == "/_matrix/client/v3/capabilities":
            return {"capabilities": {"m.room_versions": {"default": "10"}}}
        if path == "/_matrix/client/v3/createRoom":
            self.room = dict(body["power_level_content_override"])
            return {"room_id": ROOM}
        if "/state/m.room.member/" in path:
            return {"membership": "join"}
        if "/state/m.room.create/" in path:
            return {"room_version": "10"}
        if "/state/m.room.power_levels/" in path:
            assert self.room is not None
            if method == "PUT":
                self.room = dict(body)
            return dict(self.room)
        if path.startswith("/_matrix/client/v3/pushrules/global/") and method == "PUT":
            assert token is not None
            owner = self.devices[token.removeprefix("token-")]
            self.push_rules[(owner, path.removeprefix("/_matrix/client/v3/pushrules/"))] = body
            return {}
        raise AssertionError(f"unexpected call {method} {path}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(load_settings(EXAMPLE_CONFIG), data_dir=tmp_path / "data")


def account_file(settings: Settings, localpart: str) -> dict[str, Any]:
    path = DataDir(settings.data_dir).account_file(localpart)
    return dict(json.loads(path.read_text()))


async def provision(settings: Settings, homeserver: FakeHomeserver) -> None:
    await Provisioner(settings, homeserver, "secret", DataDir(settings.data_dir)).run()


async def test_a_clean_run_sets_everything_up(settings: Settings) -> None:
    homeserver = FakeHomeserver()
    await provision(settings, homeserver)
    everyone = [settings.master_user_id, *(settings.user_id(a) for a in settings.accounts)]
    assert sorted(homeserver.registrations) == sorted(everyone)
    assert homeserver.display_names[settings.master_user_id] == settings.master.display_name
    # The master's rate limit is lifted too (master.lift_rate_limit defaults to true).
    assert homeserver.unlimited == {
        settings.master_user_id,
        *(settings.user_id(a) for a in settings.accounts),
    }
    master = account_file(settings, settings.master.localpart)
    assert master == {
        "user_id": settings.master_user_id,
        "password": homeserver.passwords[settings.master_user_id],
        "access_token": "",
        "device_id": "",
        "rate_limit_lifted": True,
    }


@pytest.mark.parametrize(
    "failing",
    [
        "display name of {master}",
        "display name of {bot}",
        "lift rate limit for {bot}",
        "lift rate limit for {master}",
    ],
)
async def test_credentials_survive_a_failed_call_after_registering(
    settings: Settings, failing: str
) -> None:
    master_id, bot = settings.master_user_id, settings.coordinator
    bot_id = settings.user_id(bot)
    homeserver = FakeHomeserver()
    homeserver.failing = failing.format(master=master_id, bot=bot_id)

    with pytest.raises(ApiError, match="Bad Gateway"):
        await provision(settings, homeserver)

    data = DataDir(settings.data_dir)
    master = load_credentials(data, settings.master.localpart)
    assert master is not None
    assert master.password == homeserver.passwords[master_id]
    if "master" not in failing:
        saved = load_credentials(data, bot.localpart)
        assert saved is not None
        assert saved.password == homeserver.passwords[bot_id]
        assert homeserver.devices[saved.device_id] == bot_id
        assert saved.access_token == f"token-{saved.device_id}"

    # The next `chavion up` finishes the job with the same accounts, devices and passwords.
    before = {p: load_credentials(data, p) for p in ("master", bot.localpart)}
    await provision(settings, homeserver)
    assert homeserver.registrations.count(master_id) == 1
    assert homeserver.registrations.count(bot_id) == 1
    assert homeserver.display_names[master_id] == settings.master.display_name
    assert homeserver.display_names[bot_id] == bot.display_name
    assert bot_id in homeserver.unlimited
    assert master_id in homeserver.unlimited
    for localpart, creds in before.items():
        if creds is not None:
            assert load_credentials(data, localpart) == creds
    assert "setup_pending" not in account_file(settings, "master")
    assert "setup_pending" not in account_file(settings, bot.localpart)


async def test_a_run_after_a_complete_one_changes_nothing(settings: Settings) -> None:
    homeserver = FakeHomeserver()
    await provision(settings, homeserver)
    data = DataDir(settings.data_dir)
    before = {p.name: p.read_bytes() for p in data.accounts.iterdir()}
    sessions = len(homeserver.devices)
    again = await Provisioner(settings, homeserver, "secret", data).run()
    assert again.changes == ()
    assert {p.name: p.read_bytes() for p in data.accounts.iterdir()} == before
    assert len(homeserver.devices) == sessions


def with_master_limit(settings: Settings, lifted: bool) -> Settings:
    return dataclasses.replace(
        settings, master=dataclasses.replace(settings.master, lift_rate_limit=lifted)
    )


# (switch on each run, what the server's override calls are on that run, lifted after it)
MASTER_LIMIT_RUNS = [
    ("on, then on again", [True, True], [[("POST", "M")], []], True),
    ("off from the start", [False, False], [[], []], False),
    ("on, then switched off", [True, False], [[("POST", "M")], [("DELETE", "M")]], False),
    ("off, then switched on", [False, True], [[], [("POST", "M")]], True),
    (
        "on, off, on",
        [True, False, True],
        [[("POST", "M")], [("DELETE", "M")], [("POST", "M")]],
        True,
    ),
]


@pytest.mark.parametrize(
    ("switches", "calls", "lifted"),
    [r[1:] for r in MASTER_LIMIT_RUNS],
    ids=[r[0] for r in MASTER_LIMIT_RUNS],
)
async def test_the_master_rate_limit_follows_the_switch_and_only_changes_when_it_does(
    settings: Settings,
    switches: list[bool],
    calls: list[list[tuple[str, str]]],
    lifted: bool,
) -> None:
    homeserver = FakeHomeserver()
    master_id = settings.master_user_id
    for switch, expected in zip(switches, calls, strict=True):
        homeserver.rate_limit_calls.clear()
        sessions = len(homeserver.devices)
        first = not homeserver.registrations
        done = await Provisioner(
            with_master_limit(settings, switch), homeserver, "secret", DataDir(settings.data_dir)
        ).run()
        for_master = [(m, "M") for m, user in homeserver.rate_limit_calls if user == master_id]
        assert for_master == expected
        if not first:
            # A run with nothing to change opens no session on the master's account.
            assert len(homeserver.devices) == sessions + (1 if expected else 0)
            assert bool(done.changes) == bool(expected)
    assert (master_id in homeserver.unlimited) is lifted
    assert account_file(settings, "master").get("rate_limit_lifted", False) is lifted


async def test_a_master_provisioned_before_the_switch_existed_is_lifted_once(
    settings: Settings,
) -> None:
    """An account file from an older Chavion has no record: the next run lifts the limit."""
    homeserver = FakeHomeserver()
    await provision(settings, homeserver)
    data = DataDir(settings.data_dir)
    path = data.account_file("master")
    old = account_file(settings, "master")
    del old["rate_limit_lifted"]
    path.write_text(json.dumps(old))
    homeserver.unlimited.discard(settings.master_user_id)

    again = await Provisioner(settings, homeserver, "secret", data).run()
    assert again.changes == (f"lifted the message rate limit of {settings.master_user_id}",)
    assert settings.master_user_id in homeserver.unlimited
    assert account_file(settings, "master") == {**old, "rate_limit_lifted": True}


ANSWER_RULE = "global/override/org.chavion.answer"


async def test_the_master_gets_the_push_rule_that_lets_a_final_answer_buzz(
    settings: Settings,
) -> None:
    homeserver = FakeHomeserver()
    await provision(settings, homeserver)
    master = settings.master_user_id
    assert homeserver.push_rules == {(master, ANSWER_RULE): answer_push_rule(master)}
    rule = answer_push_rule(master)
    assert rule["conditions"] == [
        {
            "kind": "event_property_contains",
            "key": "content.m\\.relates_to.org\\.chavion\\.mentions",
            "value": master,
        }
    ]
    assert "notify" in rule["actions"]
    assert {"set_tweak": "sound", "value": "default"} in rule["actions"]


async def test_a_refused_push_rule_costs_the_buzz_not_the_start(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    homeserver = FakeHomeserver()
    homeserver.failing = f"push rule org.chavion.answer for {settings.master_user_id}"
    provisioned = await Provisioner(
        settings, homeserver, "secret", DataDir(settings.data_dir)
    ).run()
    assert provisioned.council.room_id == ROOM
    assert homeserver.push_rules == {}
    assert "will not make the phone buzz" in caplog.text
    # Not noted as done: the next run puts it in place.
    await provision(settings, homeserver)
    assert (settings.master_user_id, ANSWER_RULE) in homeserver.push_rules


async def test_a_new_rule_version_is_put_in_place_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    homeserver = FakeHomeserver()
    await provision(settings, homeserver)
    homeserver.push_rules.clear()
    monkeypatch.setattr(
        provision_module, "PUSH_RULE_VERSION", provision_module.PUSH_RULE_VERSION + 1
    )
    await provision(settings, homeserver)
    assert (settings.master_user_id, ANSWER_RULE) in homeserver.push_rules
    homeserver.push_rules.clear()
    sessions = len(homeserver.devices)
    await provision(settings, homeserver)
    assert homeserver.push_rules == {}
    assert len(homeserver.devices) == sessions
