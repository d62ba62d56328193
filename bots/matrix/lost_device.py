"""A bot whose crypto store was lost comes back as a new device, not as a forged old one.

Without its store the bot no longer holds its device's keys. nio would make new keys under
the old device id: other clients refuse them ("Ed25519 key has changed"), the homeserver
refuses its one-time keys, and the old cross-signature no longer fits. So the bot logs in
again with its stored password (a new device, saved to its account file before anything
else can fail), and the old device is deleted. The deletion is written down first and
retried on every start until the homeserver has done it, so no half-replaced device stays.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nio import AsyncClient

from bots.homeserver.credentials import Credentials
from bots.ids import UserID
from bots.matrix.cross_signing_client import NeedsAuth, Refused, call, password_auth
from bots.settings.data_dir import read_json, write_private_json

log = logging.getLogger(__name__)

STALE_DEVICES = "stale_devices"
"""Account-file key: devices this bot replaced and still has to delete on the homeserver."""


def store_file(crypto_store: Path, user_id: str, device_id: str) -> Path:
    """nio's database for one device (`DefaultStore`'s own naming)."""
    return crypto_store / f"{user_id}_{device_id}.db"


async def renew_if_lost(
    client: AsyncClient, creds: Credentials, crypto_store: Path, account_file: Path, name: str
) -> Credentials:
    """The credentials to run with: `creds`, or a new device's when the server knows keys for
    `creds`' device that the store no longer holds. Raises on homeserver trouble (the
    caller retries): deciding wrongly would leave a device nobody can talk to."""
    if not store_file(crypto_store, creds.user_id, creds.device_id).exists():
        query = await call(
            client,
            "/_matrix/client/v3/keys/query",
            {"device_keys": {creds.user_id: [creds.device_id]}},
            token=creds.access_token,
        )
        known = ((query.get("device_keys") or {}).get(creds.user_id) or {}).get(creds.device_id)
        if known:
            creds = await _new_device(client, creds, account_file, name)
    await delete_stale_devices(client, creds, account_file, name)
    return creds


async def _new_device(
    client: AsyncClient, creds: Credentials, account_file: Path, name: str
) -> Credentials:
    log.warning(
        "%s: the keys of device %s are lost (its crypto store is gone); logging in as a new device",
        name,
        creds.device_id,
    )
    answer = await call(
        client,
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": creds.user_id},
            "password": creds.password,
            "initial_device_display_name": name,
        },
        token="",
    )
    renewed = replace(
        creds,
        user_id=UserID(str(answer["user_id"])),
        access_token=str(answer["access_token"]),
        device_id=str(answer["device_id"]),
    )
    data = read_json(account_file) or {}
    stale = [*_stale(data), creds.device_id]
    # Saved at once: the new device's token exists nowhere else.
    write_private_json(
        account_file,
        {
            **data,
            "user_id": renewed.user_id,
            "password": renewed.password,
            "access_token": renewed.access_token,
            "device_id": renewed.device_id,
            STALE_DEVICES: stale,
        },
    )
    log.info("%s: now device %s", name, renewed.device_id)
    return renewed


async def delete_stale_devices(
    client: AsyncClient, creds: Credentials, account_file: Path, name: str
) -> None:
    """Delete the devices this bot replaced; one the homeserver refuses stays listed and is
    tried again on the next start (a failure is logged, never raised)."""
    data = read_json(account_file) or {}
    stale = _stale(data)
    if not stale:
        return
    left: list[str] = []
    for device_id in stale:
        try:
            await _delete_device(client, creds, device_id)
            log.info("%s: deleted its lost device %s", name, device_id)
        except Exception as exc:
            left.append(device_id)
            log.warning(
                "%s: could not delete its lost device %s (%s); retried on the next start",
                name,
                device_id,
                exc,
            )
    write_private_json(account_file, {**data, STALE_DEVICES: left} if left else _without(data))


async def _delete_device(client: AsyncClient, creds: Credentials, device_id: str) -> None:
    path = f"/_matrix/client/v3/devices/{quote(device_id, safe='')}"
    try:
        await call(client, path, {}, method="DELETE", token=creds.access_token)
        return
    except NeedsAuth as needed:
        session = needed.session
    except Refused as refused:
        if refused.status == 404:
            return  # already gone
        raise
    auth = password_auth(creds.user_id, creds.password, session)
    await call(client, path, {"auth": auth}, method="DELETE", token=creds.access_token)


def _stale(data: dict[str, Any]) -> list[str]:
    listed = data.get(STALE_DEVICES)
    return [str(d) for d in listed] if isinstance(listed, list) else []


def _without(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != STALE_DEVICES}
