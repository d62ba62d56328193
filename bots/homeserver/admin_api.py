"""Plain HTTP calls to Synapse used while provisioning, before any bot is running.

Provisioning needs the shared-secret admin API, which nio does not speak, and a handful of
client-server calls made with the tokens that registration hands back. Keeping them here
lets `chavion up` set everything up without starting a sync loop.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

import aiohttp

from bots.errors import MatrixError


class ApiError(MatrixError):
    def __init__(self, status: int, errcode: str, error: str, what: str) -> None:
        super().__init__(f"{what}: HTTP {status} {errcode} {error}".strip())
        self.status = status
        self.errcode = errcode


class HomeserverApi:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
        what: str = "",
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with self._session.request(
                method, self._base + path, json=body, headers=headers
            ) as response:
                data = await response.json(content_type=None)
                if response.status >= 400:
                    data = data if isinstance(data, dict) else {}
                    raise ApiError(
                        response.status,
                        str(data.get("errcode", "")),
                        str(data.get("error", "")),
                        what or f"{method} {path}",
                    )
        except aiohttp.ClientError as exc:
            raise MatrixError(f"{what or path}: homeserver unreachable ({exc})") from exc
        return data if isinstance(data, dict) else {}

    async def register(
        self, shared_secret: str, localpart: str, password: str, *, admin: bool = False
    ) -> dict[str, Any]:
        """Shared-secret registration; raises ApiError with M_USER_IN_USE if it exists."""
        path = "/_synapse/admin/v1/register"
        nonce = (await self.call("GET", path, what="registration nonce"))["nonce"]
        digest = hmac.new(
            shared_secret.encode(),
            b"\x00".join(
                p.encode() for p in (nonce, localpart, password, "admin" if admin else "notadmin")
            ),
            hashlib.sha1,
        ).hexdigest()
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": digest,
        }
        return await self.call("POST", path, body=body, what=f"register {localpart}")

    async def login(self, user: str, password: str, device_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
            "initial_device_display_name": "Chavion",
        }
        if device_id:
            body["device_id"] = device_id
        return await self.call("POST", "/_matrix/client/v3/login", body=body, what=f"log in {user}")

    async def whoami(self, token: str) -> str:
        data = await self.call("GET", "/_matrix/client/v3/account/whoami", token=token)
        return str(data["user_id"])

    async def override_ratelimit(self, admin_token: str, user_id: str) -> None:
        path = f"/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit"
        await self.call(
            "POST",
            path,
            token=admin_token,
            body={"messages_per_second": 0, "burst_count": 0},
            what=f"lift rate limit for {user_id}",
        )

    async def restore_ratelimit(self, admin_token: str, user_id: str) -> None:
        """Back to the server's own limits: the override is removed (a no-op if none)."""
        path = f"/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit"
        await self.call("DELETE", path, token=admin_token, what=f"restore rate limit for {user_id}")

    async def set_display_name(self, token: str, user_id: str, name: str) -> None:
        await self.call(
            "PUT",
            f"/_matrix/client/v3/profile/{quote(user_id)}/displayname",
            token=token,
            body={"displayname": name},
            what=f"display name of {user_id}",
        )

    async def resolve_alias(self, alias: str) -> str | None:
        try:
            data = await self.call("GET", f"/_matrix/client/v3/directory/room/{quote(alias)}")
        except ApiError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise
        return str(data["room_id"])

    async def create_room(self, token: str, body: dict[str, Any]) -> str:
        data = await self.call(
            "POST", "/_matrix/client/v3/createRoom", token=token, body=body, what="create room"
        )
        return str(data["room_id"])

    async def joined_members(self, token: str, room_id: str) -> set[str]:
        data = await self.call(
            "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/joined_members", token=token
        )
        return set(data.get("joined", {}))

    async def room_member_state(self, token: str, room_id: str, user_id: str) -> str | None:
        try:
            data = await self.call(
                "GET",
                f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}",
                token=token,
            )
        except ApiError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise
        return str(data.get("membership")) if data.get("membership") else None

    async def invite(self, token: str, room_id: str, user_id: str) -> None:
        await self.call(
            "POST",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/invite",
            token=token,
            body={"user_id": user_id},
            what=f"invite {user_id}",
        )

    async def join(self, token: str, room_id: str) -> None:
        await self.call(
            "POST", f"/_matrix/client/v3/join/{quote(room_id)}", token=token, body={}, what="join"
        )

    async def get_state(self, token: str, room_id: str, event_type: str, key: str = "") -> Any:
        return await self.call(
            "GET",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/state/{event_type}/{quote(key)}",
            token=token,
        )

    async def put_state(
        self, token: str, room_id: str, event_type: str, content: dict[str, Any], key: str = ""
    ) -> None:
        await self.call(
            "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/state/{event_type}/{quote(key)}",
            token=token,
            body=content,
            what=f"set {event_type}",
        )
