"""Where Synapse listens and where Chavion (and the supervisor's readiness check) dials it,
for each `homeserver.bind_address`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bots.homeserver.synapse_config import listen_address, write_synapse_config
from bots.settings.data_dir import DataDir
from bots.settings.model import HomeserverSettings

ADDRESSES = [
    # (bind_address, Synapse listens on, Chavion dials)
    ("127.0.0.1", "127.0.0.1", "http://127.0.0.1:8008"),
    ("localhost", "127.0.0.1", "http://127.0.0.1:8008"),
    ("LocalHost", "127.0.0.1", "http://127.0.0.1:8008"),
    ("localhost.", "127.0.0.1", "http://127.0.0.1:8008"),
    ("::1", "::1", "http://[::1]:8008"),
    ("0.0.0.0", "0.0.0.0", "http://127.0.0.1:8008"),
    ("::", "::", "http://127.0.0.1:8008"),
    ("192.168.1.5", "192.168.1.5", "http://192.168.1.5:8008"),
    # A compose service name: others reach Synapse by it, so it listens everywhere.
    ("synapse", "0.0.0.0", "http://synapse:8008"),
]


@pytest.mark.parametrize(
    ("bind_address", "listens_on", "dialled_at"), ADDRESSES, ids=[a[0] for a in ADDRESSES]
)
def test_bind_address(bind_address: str, listens_on: str, dialled_at: str) -> None:
    assert listen_address(bind_address) == listens_on
    assert HomeserverSettings(bind_address=bind_address).client_url == dialled_at


def test_localhost_keeps_the_rendered_synapse_on_loopback(tmp_path: Path) -> None:
    hs = HomeserverSettings(bind_address="localhost", bcrypt_rounds=4)
    files = write_synapse_config(hs, DataDir(tmp_path / "data"))
    config = yaml.safe_load(files.config.read_text(encoding="utf-8"))
    assert [listener["bind_addresses"] for listener in config["listeners"]] == [["127.0.0.1"]]
