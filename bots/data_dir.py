"""Where each piece of state lives inside the data directory, in one place."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
        for folder in (self.root, self.synapse, self.run):
            folder.mkdir(parents=True, exist_ok=True)
        for private in (self.secrets, self.accounts, self.root / "crypto"):
            private.mkdir(parents=True, exist_ok=True)
            private.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write a secret so that it is never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


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
