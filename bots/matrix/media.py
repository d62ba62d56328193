"""Media on the wire: what an upload adds to an event's content, and an attachment's bytes
made plain after download (size limits, the `file` keys, the hash).

No I/O here: the client uploads and fetches; everything that can refuse an attachment is a
function of the attachment, its bytes and the limit, so each refusal is a row of an offline
table (tests/unit/test_matrix_voice.py). Refusals are `MatrixError`s whose message can be
said in the room as it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bots.errors import MatrixError
from bots.message import AudioAttachment


def media_keys(content_uri: str, keys: Mapping[str, Any] | None) -> dict[str, Any]:
    """The content keys that point at an upload: `file` (the decryption keys and the
    address) when it was encrypted, `url` in the clear."""
    if keys:
        return {"file": {**keys, "url": content_uri}}
    return {"url": content_uri}


def refuse_stated_size(audio: AudioAttachment, max_bytes: int) -> None:
    """Before fetching: an attachment whose sender says it is too large is never downloaded."""
    if audio.size > max_bytes:
        raise MatrixError(f"{too_large(audio.size, max_bytes)}; it was not downloaded")


def plain_bytes(audio: AudioAttachment, fetched: bytes, max_bytes: int) -> bytes:
    """After fetching: the attachment's plain bytes, refused when the body is over the limit
    (whatever its sender stated) and, when encrypted, checked against its hash and decrypted
    with its `file` keys."""
    if len(fetched) > max_bytes:
        raise MatrixError(too_large(len(fetched), max_bytes))
    if audio.encryption is None:
        return fetched
    key, digest, iv = _keys(audio.encryption)
    if key is None or digest is None or iv is None:
        raise MatrixError(
            "the audio file cannot be decrypted: its `file` object lacks the key, the iv "
            "or the sha256 hash"
        )
    if hashlib.sha256(fetched).digest() != _unpadded_base64(digest):
        raise MatrixError(
            "the audio file is not what its sender sent: its SHA-256 hash does not match "
            "(changed or cut short on the way)"
        )
    try:
        return bytes(decrypt_attachment(fetched, key, digest, iv))
    except (EncryptionError, TypeError, ValueError) as exc:
        raise MatrixError(f"the audio file cannot be decrypted: {exc}") from None


def _unpadded_base64(text: str) -> bytes | None:
    """Matrix writes base64 without its padding (some clients the URL-safe alphabet, or pad
    it all the same); None when `text` is no base64."""
    standard = text.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _keys(file: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The JWK key, the ciphertext's SHA-256 and the iv, each None when absent or not text."""
    jwk, hashes = file.get("key"), file.get("hashes")
    key = jwk.get("k") if isinstance(jwk, Mapping) else None
    digest = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    iv = file.get("iv")
    return _text(key), _text(digest), _text(iv)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def too_large(size: int, max_bytes: int) -> str:
    said, allowed = readable_size(size), readable_size(max_bytes)
    if said == allowed:  # one byte over: the rounded sizes would read alike
        said, allowed = f"{size} bytes", f"{max_bytes} bytes"
    return f"the audio file is {said}, more than the {allowed} allowed"


def readable_size(size: int) -> str:
    """Bytes as a person reads them: "900 bytes", "12 KB", "2.5 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
