"""Cross-signing for a bot account, the pure part: keys, the bodies the homeserver wants, and
what a `/keys/query` answer says about the bot's device.

Element (MSC4153, "exclude insecure devices") gives no room keys to a device its owner has
not signed with a self-signing key, and shows a red shield on what such a device sends. nio
has no cross-signing, so Chavion makes and keeps each bot's three ed25519 keys itself and
signs the bot's current device. Plain functions over JSON, so every shape is table-tested
without a homeserver; `bots.matrix.cross_signing_client` does the talking.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from signedjson.key import (
    decode_signing_key_base64,
    decode_verify_key_base64,
    encode_signing_key_base64,
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json
from signedjson.types import SigningKey

ALGORITHM = "ed25519"
USAGES = ("master", "self_signing", "user_signing")
"""The three keys, by their spec usage; also their names in the private key file."""


class CrossSigningError(ValueError):
    """A private key file or a homeserver answer that does not hold what it must."""


class XSignState(enum.StrEnum):
    """What the homeserver shows about a bot's current device; the value is what presence
    carries (`org.chavion.bot` content key `cross_signing`)."""

    SIGNED = "signed"
    """The device is signed by the self-signing key, which the master key signed."""
    UNSIGNED = "unsigned"
    """Our keys are on the server, but the device carries no valid signature by them."""
    KEYS_DIFFER = "keys-differ"
    """The server holds cross-signing keys whose private halves we do not hold."""
    MISSING = "missing"
    """The server holds no cross-signing keys for the account."""
    NO_DEVICE = "no-device"
    """The server does not know the device's keys (not uploaded yet)."""
    FAILED = "failed"
    """The step could not finish this start (logged; retried on the next start)."""


@dataclass(frozen=True)
class CrossSigningKeys:
    """A bot's three private cross-signing keys (ed25519 keys whose `version` is the public key
    in unpadded base64, so signatures are named `ed25519:<public key>` as the spec wants)."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls, user_id: str) -> CrossSigningKeys:
        return cls(user_id, _new_key(), _new_key(), _new_key())

    def public(self, usage: str) -> str:
        return public_key(self._key(usage))

    def _key(self, usage: str) -> SigningKey:
        key: SigningKey = getattr(self, usage)
        return key

    def to_json(self) -> dict[str, Any]:
        """The private file's content: the seeds, never logged, written mode 0600."""
        return {
            "user_id": self.user_id,
            **{usage: encode_signing_key_base64(self._key(usage)) for usage in USAGES},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrossSigningKeys:
        """Read the private file back; a damaged one is a clear error, not a crash later."""
        try:
            user_id = str(data["user_id"])
            keys = [_key_from_seed(str(data[usage])) for usage in USAGES]
        except (KeyError, TypeError, ValueError) as exc:
            raise CrossSigningError(f"unreadable cross-signing key file: {exc!r}") from None
        return cls(user_id, *keys)

    def upload_body(self) -> dict[str, Any]:
        """The body of `POST /keys/device_signing/upload` (without `auth`): the three public
        keys, the self- and user-signing ones signed by the master key."""
        master = key_object(self.user_id, "master", self.public("master"))
        return {
            "master_key": master,
            "self_signing_key": sign_json(
                key_object(self.user_id, "self_signing", self.public("self_signing")),
                self.user_id,
                self.master,
            ),
            "user_signing_key": sign_json(
                key_object(self.user_id, "user_signing", self.public("user_signing")),
                self.user_id,
                self.master,
            ),
        }

    def device_signature_body(self, device: Mapping[str, Any]) -> dict[str, Any]:
        """The body of `POST /keys/signatures/upload` that signs `device` (its keys object as
        `/keys/query` returned it) with the self-signing key. `unsigned` is dropped: it is
        the server's annotation, not part of what the device signed."""
        signed = {k: copy.deepcopy(v) for k, v in device.items() if k != "unsigned"}
        sign_json(signed, self.user_id, self.self_signing)
        return {self.user_id: {str(device["device_id"]): signed}}


def key_object(user_id: str, usage: str, public: str) -> dict[str, Any]:
    """One cross-signing key as the spec writes it."""
    return {
        "user_id": user_id,
        "usage": [usage],
        "keys": {f"{ALGORITHM}:{public}": public},
    }


def public_key(key: SigningKey) -> str:
    return str(encode_verify_key_base64(get_verify_key(key)))


def _new_key() -> SigningKey:
    return _named(generate_signing_key("new"))


def _key_from_seed(seed: str) -> SigningKey:
    return _named(decode_signing_key_base64(ALGORITHM, "seed", seed))


def _named(key: SigningKey) -> SigningKey:
    """The key with its public half as its version: signatures then carry the spec's id."""
    return decode_signing_key_base64(ALGORITHM, public_key(key), encode_signing_key_base64(key))


# ---- reading a /keys/query answer ---------------------------------------------------------


def server_public(query: Mapping[str, Any], field: str, user_id: str) -> str | None:
    """The public key the server holds under `field` (`master_keys`, `self_signing_keys`,
    `user_signing_keys`) for `user_id`, or None."""
    keys = _at(query, field, user_id, "keys")
    if len(keys) != 1:
        return None
    (key_id, value), *_ = keys.items()
    if key_id != f"{ALGORITHM}:{value}" or not isinstance(value, str):
        return None
    return value


def query_device(query: Mapping[str, Any], user_id: str, device_id: str) -> dict[str, Any] | None:
    """The device's keys object in a `/keys/query` answer, or None when the server has none."""
    device = _at(query, "device_keys", user_id, device_id)
    return dict(device) if device else None


def _at(tree: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    """The object at `path` in a homeserver answer, or an empty one: any other shape on the
    way (a list, a string) reads as absent, never as an exception."""
    node: Any = tree
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def is_signed_by(obj: Mapping[str, Any], user_id: str, public: str) -> bool:
    """Whether `obj` carries a valid signature by `user_id`'s key `public` (checked, not
    merely present)."""
    try:
        verify_key = decode_verify_key_base64(ALGORITHM, public, public)
        verify_signed_json(dict(obj), user_id, verify_key)
    except (SignatureVerifyException, ValueError, TypeError, KeyError):
        return False
    return True


def cross_signing_state(
    query: Mapping[str, Any],
    user_id: str,
    device_id: str,
    held: CrossSigningKeys | None,
) -> XSignState:
    """What the server shows about `device_id`, given the keys we hold (None: none held)."""
    on_server = {
        usage: server_public(query, f"{usage}_keys", user_id)
        for usage in ("master", "self_signing")
    }
    if on_server["master"] is None and on_server["self_signing"] is None:
        return XSignState.MISSING
    if held is None or any(on_server[u] != held.public(u) for u in on_server):
        return XSignState.KEYS_DIFFER
    ssk = _at(query, "self_signing_keys", user_id)
    if not is_signed_by(ssk, user_id, held.public("master")):
        return XSignState.KEYS_DIFFER
    device = query_device(query, user_id, device_id)
    if device is None:
        return XSignState.NO_DEVICE
    if is_signed_by(device, user_id, held.public("self_signing")):
        return XSignState.SIGNED
    return XSignState.UNSIGNED
