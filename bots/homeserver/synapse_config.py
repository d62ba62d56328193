"""Writes Synapse's configuration into the data directory on first run.

The config is built here as plain data and written by `yaml.safe_dump`, never by pasting
values into a text template: a database password with `"`, `\\` or a newline, or a data
directory with `#` or `: ` in its path, comes out as the same string Synapse reads back.
Not `--generate-config` either: it takes ten times longer and writes defaults we would then
have to undo (federation, key servers, open ports). `chavion up` and the production compose
file (its `chavion homeserver-config` step) both write the config through this module.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bots.errors import HomeserverError
from bots.settings.data_dir import DataDir, secret_file, write_private
from bots.settings.model import HomeserverSettings, is_localhost

HEADER = (
    "# Synapse configuration written by Chavion (`chavion up` or `chavion homeserver-config`)\n"
    "# on first run, from bots/homeserver/synapse_config.py. Edit the Chavion config and\n"
    "# delete this file to regenerate it; hand edits are kept until then.\n"
)

# Test servers only: every limit raised so a suite of fast clients is never throttled.
_UNLIMITED = {"per_second": 1000, "burst_count": 1000}
RELAXED_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _UNLIMITED,
    "rc_registration": _UNLIMITED,
    "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
    "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
    "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
    "rc_room_creation": _UNLIMITED,
    "rc_admin_redaction": _UNLIMITED,
    "rc_key_requests": _UNLIMITED,
    "rc_3pid_validation": _UNLIMITED,
    "rc_presence": {"per_user": _UNLIMITED},
    "rc_delayed_event_mgmt": _UNLIMITED,
}


@dataclass(frozen=True)
class SynapseFiles:
    config: Path
    registration_secret: str


@dataclass(frozen=True)
class SynapseSecrets:
    """The values Synapse needs that must never be guessed or printed."""

    macaroon: str
    form: str
    registration: str
    db_password: str = ""


def registration_secret(hs: HomeserverSettings, data: DataDir) -> str:
    if hs.registration_secret_env:
        value = os.environ.get(hs.registration_secret_env)
        if not value:
            raise HomeserverError(
                f"homeserver.registration_secret_env: ${hs.registration_secret_env} is not set"
            )
        return value
    return secret_file(data.secrets / "registration_shared_secret")


def database_password(hs: HomeserverSettings) -> str:
    """Postgres' password from its variable; SQLite needs none."""
    if hs.database.engine != "postgres" or not hs.database.password_env:
        return ""
    value = os.environ.get(hs.database.password_env, "")
    if not value:
        raise HomeserverError(
            f"homeserver.database.password_env: ${hs.database.password_env} is not set"
        )
    return value


def write_synapse_config(hs: HomeserverSettings, data: DataDir) -> SynapseFiles:
    """Write the config once; an existing file is kept so hand edits survive restarts."""
    data.ensure()
    secret = registration_secret(hs, data)
    if not data.synapse_config.exists():
        secrets = SynapseSecrets(
            macaroon=secret_file(data.secrets / "macaroon_secret_key"),
            form=secret_file(data.secrets / "form_secret"),
            registration=secret,
            db_password=database_password(hs),
        )
        (data.synapse / "media_store").mkdir(parents=True, exist_ok=True)
        write_private(data.synapse / "log.yaml", dump_yaml(log_config(data)))
        _write_signing_key(data.synapse / "signing.key")
        write_private(data.synapse_config, HEADER + dump_yaml(homeserver_config(hs, data, secrets)))
    return SynapseFiles(config=data.synapse_config, registration_secret=secret)


class _PlainDumper(yaml.SafeDumper):
    """SafeDumper that writes a value used twice out twice, not as a `&id001` anchor."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(config: dict[str, Any]) -> str:
    """YAML in the order written, every value quoted or escaped by the library as it needs."""
    return yaml.dump(
        config,
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )


def homeserver_config(
    hs: HomeserverSettings, data: DataDir, secrets: SynapseSecrets
) -> dict[str, Any]:
    """Synapse's homeserver.yaml as data: what `write_synapse_config` dumps."""
    resources: list[str] = ["client", "federation"] if hs.federation else ["client"]
    config: dict[str, Any] = {
        "server_name": hs.server_name,
        "pid_file": str(data.synapse_pid),
        "public_baseurl": f"{hs.public_url}/",
        "report_stats": False,
        "signing_key_path": str(data.synapse / "signing.key"),
        "log_config": str(data.synapse / "log.yaml"),
        "media_store_path": str(data.synapse / "media_store"),
        "macaroon_secret_key": secrets.macaroon,
        "form_secret": secrets.form,
        "registration_shared_secret": secrets.registration,
        "listeners": [
            {
                "port": hs.port,
                "bind_addresses": [listen_address(hs.bind_address)],
                "type": "http",
                "tls": False,
                "x_forwarded": True,
                "resources": [{"names": resources, "compress": False}],
            }
        ],
        "database": _database(hs, data, secrets.db_password),
        # Accounts are made only through the shared-secret admin API (Chavion's provisioning).
        "enable_registration": False,
        "bcrypt_rounds": hs.bcrypt_rounds,
    }
    # No traffic leaves this machine unless federation is switched on.
    if hs.federation:
        config["trusted_key_servers"] = [{"server_name": "matrix.org"}]
    else:
        config["trusted_key_servers"] = []
        config["federation_domain_whitelist"] = []
    config.update(
        {
            "suppress_key_server_warning": True,
            "url_preview_enabled": False,
            "presence": {"enabled": False},
            "enable_metrics": False,
            "allow_public_rooms_over_federation": False,
            # End-to-end encryption is on by default for private rooms, as Element expects.
            "encryption_enabled_by_default_for_room_type": "off",
            # Polls notify the master's phone (Synapse's poll push rules sit behind this).
            "experimental_features": {"msc3381_polls_enabled": True},
        }
    )
    if hs.relaxed_rate_limits:
        config.update(RELAXED_RATE_LIMITS)
    return config


def _database(hs: HomeserverSettings, data: DataDir, password: str) -> dict[str, Any]:
    db = hs.database
    if db.engine == "postgres":
        args: dict[str, Any] = {
            "user": db.user,
            "password": password,
            "dbname": db.name,
            "host": db.host,
            "port": db.port,
            "cp_min": 5,
            "cp_max": 10,
        }
        return {"name": "psycopg2", "args": args}
    return {"name": "sqlite3", "args": {"database": str(data.synapse / "homeserver.db")}}


def log_config(data: DataDir) -> dict[str, Any]:
    """Synapse's logging: a rotated file in the data dir, SQL statements left out."""
    return {
        "version": 1,
        "formatters": {
            "precise": {
                "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - "
                "%(request)s - %(message)s"
            }
        },
        "handlers": {
            "file": {
                "class": "logging.handlers.RotatingFileHandler",
                "formatter": "precise",
                "filename": str(data.synapse_log),
                "maxBytes": 10485760,
                "backupCount": 3,
                "encoding": "utf8",
            }
        },
        "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
        "root": {"level": "INFO", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


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
