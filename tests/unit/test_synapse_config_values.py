"""Values written into Synapse's config come back exactly as given, whatever they hold.

The config used to be a text template with values pasted between quotes: a database
password with `"` or `\\`, or a data directory with `#` in its path, broke the file or
changed the value. Each case writes the real file and reads it back with `yaml.safe_load`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.homeserver.synapse_config import write_synapse_config
from bots.settings.data_dir import DataDir
from bots.settings.model import DatabaseSettings, HomeserverSettings

HOSTILE = [
    # (case, a value that breaks a pasted-in template)
    ("double quote", 'pa"ss'),
    ("backslash", "pa\\ss"),
    ("backslash before a quote", 'pa\\"ss'),
    ("newline", "pa\nss: true"),
    ("comment sign", "pa #ss"),
    ("colon and space", "pa: ss"),
    ("flow characters", "{pa, [ss]}"),
    ("leading and trailing spaces", "  pass  "),
    ("jinja-looking", "{{ pass }}"),
    ("YAML boolean word", "yes"),
    ("a number", "0123"),
    ("null word", "null"),
    ("single quote", "it's"),
    ("unicode", "비밀번호✓"),
    ("tab", "pa\tss"),
]


def written(tmp_path: Path, hs: HomeserverSettings, folder: str = "data") -> dict[str, Any]:
    files = write_synapse_config(hs, DataDir(tmp_path / folder))
    loaded = yaml.safe_load(files.config.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("password", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_a_database_password_comes_back_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.setenv("CHAVION_TEST_DB_PASSWORD", password)
    hs = HomeserverSettings(
        database=DatabaseSettings(engine="postgres", password_env="CHAVION_TEST_DB_PASSWORD")
    )
    database = written(tmp_path, hs)["database"]
    assert database["name"] == "psycopg2"
    assert database["args"]["password"] == password


@pytest.mark.parametrize("value", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_names_and_secrets_come_back_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CHAVION_TEST_REGISTRATION", value)
    hs = HomeserverSettings(
        server_name=value,
        public_base_url=f"https://{value}",
        registration_secret_env="CHAVION_TEST_REGISTRATION",
        database=DatabaseSettings(
            engine="postgres",
            user=value,
            name=value,
            host=value,
            password_env="CHAVION_TEST_REGISTRATION",
        ),
    )
    config = written(tmp_path, hs)
    assert config["server_name"] == value
    assert config["public_baseurl"] == f"https://{value}/"
    assert config["registration_shared_secret"] == value
    args = config["database"]["args"]
    assert (args["user"], args["dbname"], args["host"]) == (value, value, value)


PATHS = [h for h in HOSTILE if "\n" not in h[1] and "/" not in h[1]]


@pytest.mark.parametrize("folder", [h[1] for h in PATHS], ids=[h[0] for h in PATHS])
def test_paths_in_the_data_dir_come_back_as_given(tmp_path: Path, folder: str) -> None:
    data = DataDir(tmp_path / folder)
    config = written(tmp_path, HomeserverSettings(), folder)
    assert config["pid_file"] == str(data.synapse_pid)
    assert config["signing_key_path"] == str(data.synapse / "signing.key")
    assert config["media_store_path"] == str(data.synapse / "media_store")
    assert config["database"]["args"]["database"] == str(data.synapse / "homeserver.db")
    log = yaml.safe_load(Path(config["log_config"]).read_text(encoding="utf-8"))
    assert log["handlers"]["file"]["filename"] == str(data.synapse_log)


def test_polls_notify(tmp_path: Path) -> None:
    """Synapse's poll push rules are behind MSC3381's switch: without it a poll is silent."""
    config = written(tmp_path, HomeserverSettings())
    assert config["experimental_features"] == {"msc3381_polls_enabled": True}


def test_the_written_config_is_private_and_says_where_it_came_from(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "data")
    files = write_synapse_config(HomeserverSettings(), data)
    assert files.config.read_text(encoding="utf-8").startswith("# Synapse configuration")
    assert os.stat(files.config).st_mode & 0o077 == 0
    assert os.stat(data.synapse / "log.yaml").st_mode & 0o077 == 0


def test_the_relaxed_limits_are_for_test_servers_only(tmp_path: Path) -> None:
    normal = written(tmp_path, HomeserverSettings(), "normal")
    relaxed = written(tmp_path, HomeserverSettings(relaxed_rate_limits=True), "relaxed")
    assert not any(key.startswith("rc_") for key in normal)
    assert relaxed["rc_message"] == {"per_second": 1000, "burst_count": 1000}
    # Written out in full for a person reading the file, not as YAML anchors and aliases.
    text = (tmp_path / "relaxed" / "synapse" / "homeserver.yaml").read_text(encoding="utf-8")
    assert "&id" not in text
    assert "*id" not in text


REPO = Path(__file__).resolve().parents[2]
PRODUCTION_EXAMPLE = REPO / "config" / "chavion.production.example.yaml"
COMPOSE = REPO / "synapse" / "docker-compose.yml"


def test_the_compose_file_runs_synapse_on_the_config_this_code_writes() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    assert "chavion homeserver-config" in " ".join(services["chavion-init"]["command"])
    config_path = services["synapse"]["command"][
        services["synapse"]["command"].index("--config-path") + 1
    ]
    data_dir = compose["x-chavion"]["environment"]["CHAVION_DATA_DIR"]
    assert Path(config_path) == DataDir(Path(data_dir)).synapse_config


def test_the_production_config_is_written_by_the_same_code_with_any_password(
    tmp_path: Path,
) -> None:
    """What compose's `chavion-init` runs, with the production example copied alone."""
    config = tmp_path / "chavion.yaml"
    config.write_text(PRODUCTION_EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    password = 'p"a\\ss: #1\nyes'
    env = {
        **os.environ,
        "CHAVION_DATA_DIR": str(tmp_path / "data"),
        "SYNAPSE_DB_PASSWORD": password,
        "SYNAPSE_REGISTRATION_SECRET": "reg'secret\\",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bots", "--config", str(config), "homeserver-config"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    written = Path(result.stdout.strip())
    assert written == DataDir(tmp_path / "data").synapse_config
    synapse = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert synapse["database"]["name"] == "psycopg2"
    assert synapse["database"]["args"]["password"] == password
    assert synapse["database"]["args"]["host"] == "postgres"
    assert synapse["registration_shared_secret"] == "reg'secret\\"
    assert synapse["server_name"] == "example.com"
    assert synapse["public_baseurl"] == "https://matrix.example.com/"
    assert synapse["listeners"][0]["bind_addresses"] == ["0.0.0.0"]
    assert synapse["experimental_features"] == {"msc3381_polls_enabled": True}
