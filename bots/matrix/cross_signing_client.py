"""Cross-signing a bot's device at start: the homeserver side of `bots.matrix.cross_signing`.

Run on every start after nio has uploaded the device's keys. Each step leaves a state the
next start can finish: the private keys are saved (mode 0600, atomically) before their
public halves are uploaded, the keys are uploaded before the device is signed, and every
start reads the server's view again. So a crash or a refused call between two steps is
completed on the next start, never left half-done; a failure is logged with what to do and
never stops the bot.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClient

from bots.matrix.cross_signing import (
    CrossSigningError,
    CrossSigningKeys,
    XSignState,
    cross_signing_state,
    query_device,
)
from bots.settings.data_dir import read_json, write_private_json

log = logging.getLogger(__name__)

QUERY = "/_matrix/client/v3/keys/query"
UPLOAD_KEYS = "/_matrix/client/v3/keys/device_signing/upload"
UPLOAD_SIGNATURES = "/_matrix/client/v3/keys/signatures/upload"
TIMEOUT = 30.0


class Refused(Exception):
    """The homeserver answered a call with an error (`status` 0: not even an HTTP error)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CrossSigningOutcome:
    """What the start-up step found and did; `seconds` is its whole cost (for the logs and
    the cold-start benchmark)."""

    state: XSignState
    uploaded_keys: bool = False
    signed_device: bool = False
    seconds: float = 0.0


async def ensure_cross_signed(
    client: AsyncClient, password: str, key_file: Path, name: str
) -> CrossSigningOutcome:
    """Make `client`'s device signed by its account's own self-signing key; never raises."""
    started = time.monotonic()
    try:
        state, uploaded, signed = await _ensure(client, password, key_file, name)
    except CrossSigningError as exc:
        log.error(
            "%s: %s in %s; move that file away and restart the bot to make new keys",
            name,
            exc,
            key_file,
        )
        state, uploaded, signed = XSignState.FAILED, False, False
    except Exception as exc:
        log.error(
            "%s: could not cross-sign device %s (%s); Element will not trust it until then. "
            "Retried on the next start: check the homeserver is reachable and restart the bot",
            name,
            client.device_id,
            _describe(exc),
        )
        state, uploaded, signed = XSignState.FAILED, False, False
    seconds = time.monotonic() - started
    log.info("%s: cross-signing %s in %.0f ms", name, state.value, seconds * 1000)
    return CrossSigningOutcome(state, uploaded, signed, seconds)


async def _ensure(
    client: AsyncClient, password: str, key_file: Path, name: str
) -> tuple[XSignState, bool, bool]:
    user_id, device_id = str(client.user_id), str(client.device_id)
    held = _load(key_file, user_id)
    query = await _query(client)
    state = cross_signing_state(query, user_id, device_id, held)
    uploaded = False
    if state in (XSignState.MISSING, XSignState.KEYS_DIFFER):
        if held is None:
            held = CrossSigningKeys.generate(user_id)
            # Saved before the upload: keys on the server whose private halves we lost
            # would have to be replaced again, with the password.
            key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_private_json(key_file, held.to_json())
        await _upload_keys(client, held, password)
        uploaded = True
        log.info("%s: uploaded new cross-signing keys", name)
        # The device's keys are as the first query showed them; the signature upload
        # checks the new keys on the server, so no second query is needed.
        known = query_device(query, user_id, device_id) is not None
        state = XSignState.UNSIGNED if known else XSignState.NO_DEVICE
    if state is XSignState.NO_DEVICE:
        raise Refused(f"the homeserver has no keys for device {device_id} yet")
    if state is XSignState.UNSIGNED:
        assert held is not None
        device = query_device(query, user_id, device_id)
        assert device is not None
        await _sign_device(client, held, device)
        log.info("%s: signed device %s with its self-signing key", name, device_id)
        return XSignState.SIGNED, uploaded, True
    return state, uploaded, False


def _load(key_file: Path, user_id: str) -> CrossSigningKeys | None:
    try:
        data = read_json(key_file)
    except ValueError as exc:
        raise CrossSigningError(f"unreadable cross-signing key file: {exc}") from None
    if data is None:
        return None
    keys = CrossSigningKeys.from_json(data)
    if keys.user_id != user_id:
        raise CrossSigningError(f"the key file belongs to {keys.user_id}, not {user_id}")
    return keys


async def _query(client: AsyncClient) -> dict[str, Any]:
    return await call(client, QUERY, {"device_keys": {str(client.user_id): []}})


async def _upload_keys(client: AsyncClient, keys: CrossSigningKeys, password: str) -> None:
    """First upload needs no password (MSC3967); replacing keys asks for it (user-interactive
    auth), which the bot answers with its stored password."""
    body = keys.upload_body()
    try:
        await call(client, UPLOAD_KEYS, body)
        return
    except NeedsAuth as needed:
        session = needed.session
    try:
        await call(
            client,
            UPLOAD_KEYS,
            {**body, "auth": password_auth(str(client.user_id), password, session)},
        )
    except NeedsAuth as refused:
        raise Refused(
            f"the homeserver refused the bot's stored password ({refused.error}); "
            "`chavion up` resets it"
        ) from None


async def _sign_device(client: AsyncClient, keys: CrossSigningKeys, device: dict[str, Any]) -> None:
    answer = await call(client, UPLOAD_SIGNATURES, keys.device_signature_body(device))
    failures = answer.get("failures") or {}
    if failures:
        raise Refused(f"the homeserver refused the device signature: {json.dumps(failures)}")


def password_auth(user_id: str, password: str, session: str) -> dict[str, Any]:
    """The `auth` answer to a user-interactive auth session: the bot's stored password."""
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "session": session,
    }


class NeedsAuth(Exception):
    """A 401 that opens a user-interactive auth session."""

    def __init__(self, session: str, error: str) -> None:
        super().__init__(session)
        self.session = session
        self.error = error


async def call(
    client: AsyncClient,
    path: str,
    body: dict[str, Any],
    *,
    method: str = "POST",
    token: str | None = None,
) -> dict[str, Any]:
    """One request with the bot's token (or `token`; "" for none) through nio's HTTP
    session; the JSON answer, or `NeedsAuth` / `Refused` (the homeserver's own words, never
    the body we sent, which may hold the password)."""
    token = client.access_token if token is None else token
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.send(
        method, path, data=json.dumps(body), headers=headers, timeout=TIMEOUT
    )
    async with response:
        try:
            answer = await response.json(content_type=None)
        except ValueError:
            answer = None
        status = response.status
    if not isinstance(answer, dict):
        raise Refused(f"{path} answered {status} without a JSON object", status)
    if status == 401 and "session" in answer and "flows" in answer:
        raise NeedsAuth(str(answer["session"]), str(answer.get("error", "no password yet")))
    if status != 200:
        raise Refused(
            f"{path} answered {status}: {answer.get('errcode')} {answer.get('error')}", status
        )
    return answer


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, Refused) else f"{type(exc).__name__}: {exc}"
