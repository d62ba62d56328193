"""Writes Synapse's configuration into the data directory on first run.

The config is rendered from `synapse/homeserver.yaml.j2` (a file the user may read and
adapt) rather than by `--generate-config`, which takes ten times longer and writes
defaults we would then have to undo (federation, key servers, open ports).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import jinja2

from bots.errors import HomeserverError
from bots.settings.data_dir import DataDir, secret_file, write_private
from bots.settings.model import HomeserverSettings, is_localhost
from bots.settings.paths import REPO_ROOT

TEMPLATES = REPO_ROOT / "synapse"


@dataclass(frozen=True)
class SynapseFiles:
    config: Path
    registration_secret: str


def registration_secret(hs: HomeserverSettings, data: DataDir) -> str:
    if hs.registration_secret_env:
        value = os.environ.get(hs.registration_secret_env)
        if not value:
            raise HomeserverError(
                f"homeserver.registration_secret_env: ${hs.registration_secret_env} is not set"
            )
        return value
    return secret_file(data.secrets / "registration_shared_secret")


def write_synapse_config(hs: HomeserverSettings, data: DataDir) -> SynapseFiles:
    """Render the config once; an existing file is kept so hand edits survive restarts."""
    data.ensure()
    secret = registration_secret(hs, data)
    if not data.synapse_config.exists():
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )
        paths = {
            "pid_file": data.synapse_pid,
            "signing_key": data.synapse / "signing.key",
            "log_config": data.synapse / "log.yaml",
            "log_file": data.synapse_log,
            "media_store": data.synapse / "media_store",
            "database": data.synapse / "homeserver.db",
        }
        db_password = ""
        if hs.database.engine == "postgres" and hs.database.password_env:
            db_password = os.environ.get(hs.database.password_env, "")
            if not db_password:
                raise HomeserverError(
                    f"homeserver.database.password_env: ${hs.database.password_env} is not set"
                )
        context = {
            "hs": hs,
            "listen_address": listen_address(hs.bind_address),
            "paths": paths,
            "db_password": db_password,
            "secrets": {
                "macaroon": secret_file(data.secrets / "macaroon_secret_key"),
                "form": secret_file(data.secrets / "form_secret"),
                "registration": secret,
            },
        }
        (data.synapse / "media_store").mkdir(parents=True, exist_ok=True)
        write_private(data.synapse / "log.yaml", env.get_template("log.yaml.j2").render(context))
        _write_signing_key(data.synapse / "signing.key")
        write_private(data.synapse_config, env.get_template("homeserver.yaml.j2").render(context))
    return SynapseFiles(config=data.synapse_config, registration_secret=secret)


def listen_address(bind_address: str) -> str:
    """Where Synapse listens for `homeserver.bind_address`.

    "localhost" is loopback: 127.0.0.1, the address `HomeserverSettings.client_url` (and so
    the supervisor's readiness check) uses for it. Another host name (a compose service) is
    where others reach Synapse, so it listens on all interfaces.
    """
    if is_localhost(bind_address):
        return "127.0.0.1"
    try:
        ipaddress.ip_address(bind_address)
    except ValueError:
        return "0.0.0.0"
    return bind_address


def _write_signing_key(path: Path) -> None:
    if path.exists():
        return
    from signedjson.key import generate_signing_key, write_signing_keys

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        write_signing_keys(handle, [generate_signing_key("a_chav")])
