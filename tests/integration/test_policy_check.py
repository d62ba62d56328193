"""`chavion policy check` as a user runs it: a real process, the real config loading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.app.exit_codes import CONFIG_ERROR
from bots.settings.paths import EXAMPLE_CONFIG

pytestmark = pytest.mark.integration


def chavion(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bots", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_config(root: Path, **policy: Any) -> Path:
    """The shipped example, with a second host whose policy is an allowlist."""
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    config["data_dir"] = str(root / "data")
    config["execution"]["hosts"]["web1"] = {"address": "web1.example.com", "user": "deploy"}
    config["execution"]["policy"]["hosts"]["web1"] = {
        "mode": "allowlist",
        "allowlist": ["systemctl restart nginx"],
    }
    config["execution"]["policy"].update(policy)
    path = root / "chavion.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


JUDGED = [
    # (host, command, verdict): the example's policy, as the executor applies it
    ("local", "ls -l /srv", "allow"),  # local auto-approves read-only commands
    ("local", "systemctl restart nginx", "needs_approval"),
    ("local", "rm -rf /", "forbid"),
    ("web1", "ls -l /srv", "needs_approval"),  # read-only, but web1 does not auto-approve
    ("web1", "systemctl restart nginx", "needs_approval"),  # on web1's allowlist
    ("web1", "apt-get install nginx", "forbid"),  # allowlist mode: the rest is refused
]


@pytest.mark.parametrize("host", ["local", "web1"])
def test_commands_as_arguments_are_judged_with_the_real_config(config: Path, host: str) -> None:
    expected = [(command, verdict) for on, command, verdict in JUDGED if on == host]

    result = chavion(config, "policy", "check", "--host", host, "--json", *dict(expected))

    assert result.returncode == 0, result.stderr
    judged = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(j["command"], j["verdict"]) for j in judged] == expected
    assert all(j["reason"] and j["rule"] for j in judged)


def test_stdin_gives_one_command_per_line_and_one_answer_each(config: Path) -> None:
    corpus = "# everyday\nuptime\n\ndf -h\n# never\nrm -rf --no-preserve-root /\n"

    result = chavion(config, "policy", "check", "--host", "local", "--json", stdin=corpus)

    assert result.returncode == 0, result.stderr  # a forbid is an answer, not a failure
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(j["command"], j["verdict"]) for j in lines] == [
        ("uptime", "allow"),
        ("df -h", "allow"),
        ("rm -rf --no-preserve-root /", "forbid"),
    ]


def test_plain_output_is_one_line_per_command(config: Path) -> None:
    result = chavion(config, "policy", "check", "--host", "local", "ls", "rm -rf /")

    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith("allow ")
    assert " ls  — " in first
    assert first.endswith("[readonly]")
    assert second.startswith("forbid ")
    assert "rm -rf /" in second


def test_the_level_changes_what_is_allowed(config: Path) -> None:
    admin = chavion(config, "policy", "check", "--host", "local", "--json", "touch /tmp/x")
    readonly = chavion(
        config,
        "policy",
        "check",
        "--host",
        "local",
        "--json",
        "--level",
        "readonly",
        "touch /tmp/x",
    )

    assert json.loads(admin.stdout)["verdict"] == "needs_approval"
    assert json.loads(readonly.stdout)["verdict"] == "forbid"


def test_an_unknown_host_is_a_clear_error(config: Path) -> None:
    result = chavion(config, "policy", "check", "--host", "web9", "ls")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown host 'web9'" in result.stderr
    assert "local, web1" in result.stderr


def test_a_config_error_names_its_dotted_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, mode="denylist")

    result = chavion(config, "policy", "check", "--host", "local", "ls")

    assert result.returncode == CONFIG_ERROR
    assert "execution.policy.mode" in result.stderr
    assert result.stdout == ""
