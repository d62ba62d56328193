"""Where each piece of state lives inside the data directory, in one place."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

PRIVATE_UMASK = 0o077
"""Everything Chavion (and the Synapse it starts) writes is for the user's eyes only."""


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def synapse(self) -> Path:
        return self.root / "synapse"

    @property
    def synapse_config(self) -> Path:
        return self.synapse / "homeserver.yaml"

    @property
    def synapse_log(self) -> Path:
        return self.synapse / "homeserver.log"

    @property
    def synapse_pid(self) -> Path:
        return self.synapse / "homeserver.pid"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def accounts(self) -> Path:
        return self.root / "accounts"

    def account_file(self, localpart: str) -> Path:
        return self.accounts / f"{localpart}.json"

    def cross_signing_file(self, localpart: str) -> Path:
        """The account's private cross-signing keys. Kept apart from the crypto store: they
        belong to the account, so they outlive a wiped store (and its new device)."""
        return self.root / "cross-signing" / f"{localpart}.json"

    def crypto_store(self, localpart: str) -> Path:
        return self.root / "crypto" / localpart

    @property
    def store(self) -> Path:
        return self.root / "chavion.db"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def pid_file(self) -> Path:
        return self.run / "chavion.pid"

    @property
    def ready_file(self) -> Path:
        return self.run / "ready.json"

    @property
    def log_file(self) -> Path:
        return self.run / "chavion.log"

    @property
    def council_file(self) -> Path:
        return self.root / "council.json"

    def ensure(self) -> None:
        """Make the folders, private to the user; a data dir made before that is tightened.

        A private root also hides whatever an older version left readable inside it.
        """
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for folder in (
            self.root,
            self.synapse,
            self.run,
            self.secrets,
            self.accounts,
            self.root / "crypto",
            self.root / "cross-signing",
        ):
            folder.mkdir(mode=0o700, exist_ok=True)
            # Not ours (say, a volume's mount point): its owner decides who may look in.
            with contextlib.suppress(PermissionError):
                folder.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write a secret so that it is never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover would keep its old mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def open_private_log(path: Path) -> BinaryIO:
    """Open a log for appending, readable by the user only, even if it existed before."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with contextlib.suppress(PermissionError):
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else None


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    write_private(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def secret_file(path: Path) -> str:
    """Read a generated secret, making it on first use (so re-runs keep the same one)."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(32)
        write_private(path, value + "\n")
        return value
