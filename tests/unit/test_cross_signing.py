"""Cross-signing's pure part: the keys, the upload bodies, and what a /keys/query answer says.

Every signature is checked with signedjson's own verifier, as a homeserver or Element would.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from signedjson.key import decode_verify_key_base64, generate_signing_key
from signedjson.sign import sign_json, verify_signed_json

from bots.matrix.cross_signing import (
    CrossSigningError,
    CrossSigningKeys,
    XSignState,
    cross_signing_state,
    is_signed_by,
    key_object,
    public_key,
)
from bots.settings.data_dir import DataDir, write_private_json

USER = "@claude:localhost"
DEVICE = "DEVICEONE"


def verify(obj: dict[str, Any], public: str, user: str = USER) -> None:
    verify_signed_json(obj, user, decode_verify_key_base64("ed25519", public, public))


def device_keys(device_id: str = DEVICE) -> dict[str, Any]:
    """A device's keys object as Synapse returns it from /keys/query (self-signed by the
    device's own ed25519 key, with the server's `unsigned` annotation)."""
    own = generate_signing_key(device_id)
    body: dict[str, Any] = {
        "user_id": USER,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"curve25519:{device_id}": "c" * 43,
            f"ed25519:{device_id}": public_key(own),
        },
    }
    sign_json(body, USER, own)
    body["unsigned"] = {"device_display_name": "claude"}
    return body


def test_the_upload_body_is_what_the_spec_asks() -> None:
    keys = CrossSigningKeys.generate(USER)
    body = keys.upload_body()
    assert set(body) == {"master_key", "self_signing_key", "user_signing_key"}
    for field, usage in [
        ("master_key", "master"),
        ("self_signing_key", "self_signing"),
        ("user_signing_key", "user_signing"),
    ]:
        public = keys.public(usage)
        assert body[field]["user_id"] == USER
        assert body[field]["usage"] == [usage]
        assert body[field]["keys"] == {f"ed25519:{public}": public}
    assert "signatures" not in body["master_key"]
    verify(body["self_signing_key"], keys.public("master"))
    verify(body["user_signing_key"], keys.public("master"))
    assert len({keys.public(u) for u in ("master", "self_signing", "user_signing")}) == 3


def test_keys_survive_their_file_and_sign_the_same() -> None:
    keys = CrossSigningKeys.generate(USER)
    again = CrossSigningKeys.from_json(keys.to_json())
    assert again.user_id == USER
    for usage in ("master", "self_signing", "user_signing"):
        assert again.public(usage) == keys.public(usage)
    verify(again.upload_body()["self_signing_key"], keys.public("master"))


def _drop(field: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(field)


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.__setitem__(field, value)


@pytest.mark.parametrize(
    "damage",
    [
        _drop("master"),
        _drop("user_id"),
        _drop("user_signing"),
        _set("self_signing", "not base64 !!"),
        _set("master", "c2hvcnQ"),  # valid base64, too short for an ed25519 seed
        _set("master", None),
    ],
    ids=["no master", "no user", "no user-signing", "not base64", "short seed", "null"],
)
def test_a_damaged_key_file_is_a_clear_error(damage: Callable[[dict[str, Any]], None]) -> None:
    data = CrossSigningKeys.generate(USER).to_json()
    damage(data)
    with pytest.raises(CrossSigningError, match="unreadable cross-signing key file"):
        CrossSigningKeys.from_json(data)


def test_the_device_signature_signs_the_device_as_the_server_returned_it() -> None:
    keys = CrossSigningKeys.generate(USER)
    device = device_keys()
    before = copy.deepcopy(device)
    body = keys.device_signature_body(device)
    assert device == before, "the caller's object is left alone"
    signed = body[USER][DEVICE]
    assert "unsigned" not in signed
    verify(signed, keys.public("self_signing"))
    # The device's own signature stays; everything it signed is unchanged.
    assert f"ed25519:{DEVICE}" in signed["signatures"][USER]
    assert {k: v for k, v in signed.items() if k != "signatures"} == {
        k: v for k, v in before.items() if k not in ("signatures", "unsigned")
    }


def server_answer(
    keys: CrossSigningKeys | None,
    device: dict[str, Any] | None,
    signed_by: CrossSigningKeys | None = None,
) -> dict[str, Any]:
    """A /keys/query answer for USER: `keys`' public halves, `device` (signed by
    `signed_by`'s self-signing key when given)."""
    answer: dict[str, Any] = {"failures": {}, "device_keys": {USER: {}}}
    if keys is not None:
        body = keys.upload_body()
        answer["master_keys"] = {USER: body["master_key"]}
        answer["self_signing_keys"] = {USER: body["self_signing_key"]}
        answer["user_signing_keys"] = {USER: body["user_signing_key"]}
    if device is not None:
        if signed_by is not None:
            device = signed_by.device_signature_body(device)[USER][DEVICE]
            device["unsigned"] = {"device_display_name": "claude"}
        answer["device_keys"][USER][DEVICE] = device
    return answer


OURS = CrossSigningKeys.generate(USER)
THEIRS = CrossSigningKeys.generate(USER)


def _tampered() -> dict[str, Any]:
    answer = server_answer(OURS, device_keys(), signed_by=OURS)
    answer["device_keys"][USER][DEVICE]["keys"][f"curve25519:{DEVICE}"] = "d" * 43
    return answer


def _ssk_not_signed_by_master() -> dict[str, Any]:
    answer = server_answer(OURS, device_keys(), signed_by=OURS)
    answer["self_signing_keys"][USER]["signatures"] = {}
    return answer


def _garbage() -> dict[str, Any]:
    return {"master_keys": [], "self_signing_keys": {USER: "x"}, "device_keys": {USER: 3}}


STATE_TABLE: list[tuple[str, dict[str, Any], CrossSigningKeys | None, XSignState]] = [
    ("nothing on the server", server_answer(None, device_keys()), OURS, XSignState.MISSING),
    ("nothing anywhere", server_answer(None, device_keys()), None, XSignState.MISSING),
    ("garbage answer", _garbage(), OURS, XSignState.MISSING),
    ("server has others", server_answer(THEIRS, device_keys()), OURS, XSignState.KEYS_DIFFER),
    ("keys lost locally", server_answer(OURS, device_keys()), None, XSignState.KEYS_DIFFER),
    ("ssk unsigned", _ssk_not_signed_by_master(), OURS, XSignState.KEYS_DIFFER),
    ("device unknown", server_answer(OURS, None), OURS, XSignState.NO_DEVICE),
    ("device unsigned", server_answer(OURS, device_keys()), OURS, XSignState.UNSIGNED),
    (
        "signed by another key",
        server_answer(OURS, device_keys(), signed_by=THEIRS),
        OURS,
        XSignState.UNSIGNED,
    ),
    ("signature forged", _tampered(), OURS, XSignState.UNSIGNED),
    ("signed", server_answer(OURS, device_keys(), signed_by=OURS), OURS, XSignState.SIGNED),
]


@pytest.mark.parametrize(
    ("answer", "held", "expected"),
    [row[1:] for row in STATE_TABLE],
    ids=[row[0] for row in STATE_TABLE],
)
def test_the_state_read_from_a_keys_query_answer(
    answer: dict[str, Any], held: CrossSigningKeys | None, expected: XSignState
) -> None:
    assert cross_signing_state(answer, USER, DEVICE, held) is expected


def test_a_signature_is_checked_not_merely_present() -> None:
    obj = key_object(USER, "self_signing", OURS.public("self_signing"))
    sign_json(obj, USER, OURS.master)
    assert is_signed_by(obj, USER, OURS.public("master"))
    assert not is_signed_by(obj, USER, THEIRS.public("master"))
    assert not is_signed_by(obj, "@someone:localhost", OURS.public("master"))
    assert not is_signed_by({**obj, "usage": ["master"]}, USER, OURS.public("master"))
    assert not is_signed_by(obj, USER, "not a key")


def test_the_private_keys_live_in_a_private_folder_outside_the_crypto_store(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        data = DataDir(tmp_path / "data")
        data.ensure()
    finally:
        os.umask(old)
    path = data.cross_signing_file("claude")
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert data.crypto_store("claude") not in path.parents, "a wiped store keeps the keys"
    write_private_json(path, CrossSigningKeys.generate(USER).to_json())
    assert path.stat().st_mode & 0o777 == 0o600
