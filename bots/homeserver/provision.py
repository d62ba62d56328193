"""Makes the homeserver ready for the council: accounts, rate limits, the room, its members.

Every step first looks at what exists and changes only what is missing, so running
`chavion up` again (or after adding an agent) is safe and quiet.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from bots.errors import HomeserverError
from bots.events import ANSWER_PUSH_RULE, BOT_STATE_EVENT, MENTIONS_IN_CLEAR_KEY
from bots.homeserver.admin_api import ApiError, HomeserverApi
from bots.homeserver.credentials import Credentials, load_credentials
from bots.ids import RoomID, UserID
from bots.matrix.room_versions import creators_are_privileged
from bots.settings import AccountSettings, Settings
from bots.settings.data_dir import DataDir, read_json, write_private_json

log = logging.getLogger(__name__)

MASTER_POWER = 100
POWER_BY_KIND = {"coordinator": 90, "executor": 80, "agent": 10}
# Marks an account file written right after registration, before the display name (and
# a bot's rate limit) were set: the next run finishes the job.
SETUP_PENDING = "setup_pending"
# In the master's account file: whether the master's rate limit is lifted on the server now.
# Recorded so that a run with nothing to change opens no session on the master's account.
RATE_LIMIT_LIFTED = "rate_limit_lifted"

# Bumped when the master's push rule changes shape: the next run puts the new one in place.
PUSH_RULE_VERSION = 1


@dataclass(frozen=True)
class Council:
    room_id: RoomID
    alias: str


@dataclass(frozen=True)
class Provisioned:
    master: Credentials
    bots: dict[str, Credentials]
    council: Council
    changes: tuple[str, ...]
    bridge: dict[str, Credentials] = field(default_factory=dict)


def load_council(data: DataDir) -> Council | None:
    raw = read_json(data.council_file)
    return Council(RoomID(raw["room_id"]), str(raw["alias"])) if raw else None


class Provisioner:
    def __init__(
        self, settings: Settings, api: HomeserverApi, shared_secret: str, data: DataDir
    ) -> None:
        self._settings = settings
        self._api = api
        self._secret = shared_secret
        self._data = data
        self._changes: list[str] = []
        self._admin_token: str | None = None
        self._admin_is_temporary = False

    async def run(self) -> Provisioned:
        try:
            master = await self._master()
            bots = {a.name: await self._bot(a) for a in self._settings.accounts}
            # The HTTP bridge's external agents: accounts the bridge speaks for, members of
            # the council like the agents (issue 18).
            bridge = {a.name: await self._bot(a.account) for a in self._settings.bridge.agents}
            council = await self._council(master, bots, bridge)
            await self._ensure_answer_push_rule(master)
        finally:
            await self._drop_admin_session()
        for change in self._changes:
            log.info("provisioned: %s", change)
        return Provisioned(master, bots, council, tuple(self._changes), bridge)

    async def _master(self) -> Credentials:
        master = self._settings.master
        existing = load_credentials(self._data, master.localpart)
        if existing is not None:
            if self._setup_pending(master.localpart):
                await self._finish_master(existing, await self._admin())
            await self._master_rate_limit(existing)
            return existing
        password = self._master_password()
        user_id = self._settings.master_user_id
        try:
            reply = await self._api.register(self._secret, master.localpart, password, admin=True)
        except ApiError as exc:
            if exc.errcode != "M_USER_IN_USE":
                raise
            if not master.password_env:
                raise HomeserverError(
                    f"{user_id} exists but {self._data.account_file(master.localpart)} is "
                    "missing; set master.password_env to its password and run again"
                ) from exc
            reply = await self._api.login(user_id, password)
        # Registration made a device; it serves as this run's admin session, then goes.
        self._admin_token = str(reply["access_token"])
        self._admin_is_temporary = True
        creds = Credentials(user_id, password, "", "")
        # Saved before anything else can fail: the password exists nowhere else.
        self._save(master.localpart, creds, pending=True)
        self._changes.append(f"registered master {user_id}")
        await self._finish_master(creds, self._admin_token)
        await self._master_rate_limit(creds)
        return creds

    async def _finish_master(self, creds: Credentials, token: str) -> None:
        master = self._settings.master
        await self._api.set_display_name(token, creds.user_id, master.display_name)
        self._save(master.localpart, creds, pending=False)

    async def _master_rate_limit(self, creds: Credentials) -> None:
        """Lift (or restore) the master's message rate limit as `master.lift_rate_limit` says;
        the account file records what the server has, so an unchanged switch costs nothing."""
        path = self._data.account_file(self._settings.master.localpart)
        saved = read_json(path) or {}
        wanted = self._settings.master.lift_rate_limit
        if bool(saved.get(RATE_LIMIT_LIFTED)) == wanted:
            return
        if wanted:
            await self._api.override_ratelimit(await self._admin(), creds.user_id)
            self._changes.append(f"lifted the message rate limit of {creds.user_id}")
        else:
            await self._api.restore_ratelimit(await self._admin(), creds.user_id)
            self._changes.append(f"restored the message rate limit of {creds.user_id}")
        write_private_json(path, {**saved, RATE_LIMIT_LIFTED: wanted})

    def _save(self, localpart: str, creds: Credentials, *, pending: bool) -> None:
        data = asdict(creds)
        if pending:
            data[SETUP_PENDING] = True
        previous = read_json(self._data.account_file(localpart)) or {}
        if RATE_LIMIT_LIFTED in previous:
            data[RATE_LIMIT_LIFTED] = previous[RATE_LIMIT_LIFTED]
        write_private_json(self._data.account_file(localpart), data)

    def _setup_pending(self, localpart: str) -> bool:
        raw = read_json(self._data.account_file(localpart))
        return bool(raw and raw.get(SETUP_PENDING))

    def _master_password(self) -> str:
        env = self._settings.master.password_env
        if env:
            value = os.environ.get(env)
            if not value:
                raise HomeserverError(f"master.password_env: ${env} is not set")
            return value
        return secrets.token_urlsafe(18)

    async def _admin(self) -> str:
        """A master session for admin calls, opened only when something must change."""
        if self._admin_token is None:
            master = load_credentials(self._data, self._settings.master.localpart)
            assert master is not None
            reply = await self._api.login(master.user_id, master.password)
            self._admin_token = str(reply["access_token"])
            self._admin_is_temporary = True
        return self._admin_token

    async def _drop_admin_session(self) -> None:
        if self._admin_token and self._admin_is_temporary:
            try:
                await self._api.call(
                    "POST", "/_matrix/client/v3/logout", token=self._admin_token, body={}
                )
            except ApiError as exc:
                log.warning("could not close the provisioning session: %s", exc)
        self._admin_token = None

    async def _ensure_answer_push_rule(self, master: Credentials) -> None:
        """The master's phone buzzes on the final edit of an answer to him (see
        `answer_push_rule`). Put in place once per rule version, noted in the data dir, so a
        quiet run opens no master session; a rule the master deleted in Element stays
        deleted. A homeserver that refuses the rule costs the buzz, never the start."""
        marker = self._data.root / "push-rules.json"
        wanted = {"user_id": master.user_id, "rule": ANSWER_PUSH_RULE, "version": PUSH_RULE_VERSION}
        if read_json(marker) == wanted:
            return
        try:
            await self._api.call(
                "PUT",
                f"/_matrix/client/v3/pushrules/global/override/{ANSWER_PUSH_RULE}",
                token=await self._admin(),
                body=answer_push_rule(master.user_id),
                what=f"push rule {ANSWER_PUSH_RULE} for {master.user_id}",
            )
        except ApiError as exc:
            log.warning(
                "%s; the final text of a streamed answer will not make the phone buzz "
                "(retried at the next `chavion up`)",
                exc,
            )
            return
        write_private_json(marker, wanted)
        self._changes.append(f"push rule {ANSWER_PUSH_RULE} for {master.user_id}")

    async def _bot(self, account: AccountSettings) -> Credentials:
        existing = load_credentials(self._data, account.localpart)
        if existing is not None:
            if self._setup_pending(account.localpart):
                await self._finish_bot(account, existing)
            return existing
        user_id = self._settings.user_id(account)
        password = secrets.token_urlsafe(24)
        try:
            reply = await self._api.register(self._secret, account.localpart, password)
        except ApiError as exc:
            if exc.errcode != "M_USER_IN_USE":
                raise
            # The account outlived its credentials file: take it back with a new password.
            await self._api.call(
                "POST",
                f"/_synapse/admin/v1/reset_password/{user_id}",
                token=await self._admin(),
                body={"new_password": password, "logout_devices": True},
                what=f"reset password of {user_id}",
            )
            reply = await self._api.login(user_id, password)
        creds = Credentials(
            UserID(str(reply["user_id"])),
            password,
            str(reply["access_token"]),
            str(reply["device_id"]),
        )
        # Saved before anything else can fail: the password and device exist nowhere else.
        self._save(account.localpart, creds, pending=True)
        self._changes.append(f"registered {account.kind} {user_id}")
        await self._finish_bot(account, creds)
        return creds

    async def _finish_bot(self, account: AccountSettings, creds: Credentials) -> None:
        user_id = self._settings.user_id(account)
        await self._api.set_display_name(creds.access_token, user_id, account.display_name)
        await self._api.override_ratelimit(await self._admin(), user_id)
        self._save(account.localpart, creds, pending=False)

    def _power_levels(self, room_version: str) -> dict[str, int]:
        users: dict[str, int] = {}
        if not creators_are_privileged(room_version):
            users[self._settings.master_user_id] = MASTER_POWER
        for account in self._settings.accounts:
            users[self._settings.user_id(account)] = POWER_BY_KIND[account.kind]
        for agent in self._settings.bridge.agents:
            users[self._settings.user_id(agent.account)] = POWER_BY_KIND["agent"]
        return users

    async def _council(
        self,
        master: Credentials,
        bots: dict[str, Credentials],
        bridge: dict[str, Credentials] | None = None,
    ) -> Council:
        alias = self._settings.council_alias
        room_id = await self._api.resolve_alias(alias)
        if room_id is None:
            room_id = await self._create_council(bots)
        council = Council(RoomID(room_id), alias)
        if load_council(self._data) != council:
            write_private_json(self._data.council_file, asdict(council))
        for name, creds in {**bots, **(bridge or {})}.items():
            await self._ensure_joined(council.room_id, name, creds)
        await self._ensure_power_levels(council.room_id, bots)
        return council

    async def _create_council(self, bots: dict[str, Credentials]) -> str:
        council = self._settings.council
        initial_state: list[dict[str, Any]] = []
        if council.encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        capabilities = await self._api.call(
            "GET", "/_matrix/client/v3/capabilities", token=await self._admin()
        )
        version = str(capabilities["capabilities"]["m.room_versions"]["default"])
        body = {
            "room_version": version,
            "room_alias_name": council.alias,
            "name": council.name,
            "topic": council.topic,
            "preset": "private_chat",
            "invite": [c.user_id for c in bots.values()],
            "initial_state": initial_state,
            "power_level_content_override": {
                "users": self._power_levels(version),
                "events": {BOT_STATE_EVENT: POWER_BY_KIND["agent"]},
            },
        }
        room_id = await self._api.create_room(await self._admin(), body)
        self._changes.append(f"created council room {self._settings.council_alias} ({room_id})")
        return room_id

    async def _ensure_power_levels(self, room_id: RoomID, bots: dict[str, Credentials]) -> None:
        coordinator = bots[self._settings.coordinator.name]
        current = await self._api.get_state(
            coordinator.access_token, room_id, "m.room.power_levels"
        )
        create = await self._api.get_state(coordinator.access_token, room_id, "m.room.create")
        users = dict(current.get("users", {}))
        wanted = self._power_levels(str(create.get("room_version", "1")))
        events = dict(current.get("events", {}))
        if all(users.get(u) == p for u, p in wanted.items()) and BOT_STATE_EVENT in events:
            return
        users.update(wanted)
        events.setdefault(BOT_STATE_EVENT, POWER_BY_KIND["agent"])
        content = {**current, "users": users, "events": events}
        await self._api.put_state(await self._admin(), room_id, "m.room.power_levels", content)
        self._changes.append("updated council power levels")

    async def _ensure_joined(self, room_id: RoomID, name: str, creds: Credentials) -> None:
        try:
            membership = await self._api.room_member_state(
                creds.access_token, room_id, creds.user_id
            )
        except ApiError as exc:
            if exc.errcode != "M_FORBIDDEN":
                raise
            membership = None  # not in the room: the server will not even show its state
        if membership == "join":
            return
        try:
            await self._api.join(creds.access_token, room_id)
        except ApiError as exc:
            if exc.errcode != "M_FORBIDDEN":
                raise
            await self._api.invite(await self._admin(), room_id, creds.user_id)
            await self._api.join(creds.access_token, room_id)
        self._changes.append(f"{name} joined the council")


def answer_push_rule(master: UserID) -> dict[str, Any]:
    """An override rule for the master: an event whose `m.relates_to` names him under
    `MENTIONS_IN_CLEAR_KEY` (the final edit of an answer to him) notifies with sound and
    highlight, as a mention does. User override rules come before Synapse's own, so it wins
    over `.m.rule.suppress_edits`; the relation is in the clear in an encrypted room, so
    the server can match it there too."""
    key = "content.m\\.relates_to." + MENTIONS_IN_CLEAR_KEY.replace(".", "\\.")
    return {
        "conditions": [{"kind": "event_property_contains", "key": key, "value": master}],
        "actions": [
            "notify",
            {"set_tweak": "sound", "value": "default"},
            {"set_tweak": "highlight"},
        ],
    }
