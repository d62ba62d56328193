"""Config validation: the shipped example loads; every mistake names its dotted key."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.errors import ConfigError
from bots.settings import EXAMPLE_CONFIG, load_settings, parse_settings

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def test_the_shipped_example_loads() -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    assert [a.name for a in settings.agents] == ["claude", "gpt", "gemini", "perplexity", "local"]
    assert {a.provider for a in settings.agents} == {
        "anthropic",
        "openai",
        "gemini",
        "openai-compatible",
    }
    assert settings.council_alias == "#council:localhost"
    assert settings.master_user_id == "@master:localhost"
    assert settings.accounts[0].kind == "coordinator"
    assert len({a.role for a in settings.agents}) == len(settings.agents)


def edited(path: str, value: Any) -> dict[str, Any]:
    """The example with one value changed; path like 'agents.2.provider'."""
    data = copy.deepcopy(EXAMPLE)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return data


ERRORS = [
    (
        "agents.2.provider",
        "gpt5",
        "agents[2].provider: unknown provider 'gpt5'; expected one of openai, anthropic, gemini, "
        "openai-compatible",
    ),
    (
        "homeserver.port",
        "eighty",
        "homeserver.port: expected a whole number, got a string ('eighty')",
    ),
    ("homeserver.port", 70000, "homeserver.port: 70000 is not a TCP port (1-65535)"),
    (
        "homeserver.portt",
        1,
        "homeserver.portt: unknown key (check the spelling against the example)",
    ),
    ("council.encrypted", "yes", "council.encrypted: expected true or false, got a string ('yes')"),
    ("agents.0.model", None, "agents[0].model: is required"),
    ("agents.1.api_key_env", None, "agents[1].api_key_env: is required for provider 'openai'"),
    ("agents.3.base_url", None, "agents[3].base_url: is required for provider 'openai-compatible'"),
    ("agents.0.persona", "prompts/missing.j2", "agents[0].persona: no template file at"),
    (
        "agents.4.localpart",
        "Local Bot",
        "agents[4].localpart: 'Local Bot' is not a valid Matrix localpart",
    ),
    (
        "agents.1.localpart",
        "claude",
        "agents[1].localpart: 'claude' is already used by agents[0].localpart",
    ),
    (
        "access.commands.status.min_power",
        "high",
        "access.commands.status.min_power: expected a whole number",
    ),
    ("runtime.max_backoff_seconds", 600, "runtime.max_backoff_seconds: must be between 0.1 and 60"),
    ("agents", "claude", "agents: expected a list, got a string ('claude')"),
    (
        "homeserver.database",
        {"engine": "postgres"},
        "homeserver.database.password_env: is required with engine: postgres",
    ),
    (
        "bots.coordinator.aliases",
        [1],
        "bots.coordinator.aliases[0]: expected a string, got int (1)",
    ),
    ("execution.hosts.web1", {"port": 22}, "execution.hosts.web1.address: address is required"),
    (
        "execution.hosts.local.port",
        70000,
        "execution.hosts.local.port: port 70000 is not in 1..65535",
    ),
    (
        "execution.hosts.local.adress",
        "x",
        "execution.hosts.local.adress: unknown key (check the spelling against the example)",
    ),
    ("execution.approval_expiry_seconds", 0, "execution.approval_expiry_seconds: must be positive"),
    (
        "execution.policy.mode",
        "open",
        "execution.policy.mode: unknown mode 'open'; expected one of blocklist, allowlist",
    ),
    (
        "execution.policy.readonly_file",
        "policy/missing.yaml",
        "execution.policy.readonly_file: no policy file at",
    ),
    (
        "execution.policy.hosts.local.auto_approve_readonly",
        "yes",
        "execution.policy.hosts.local.auto_approve_readonly: expected true or false",
    ),
    (
        "execution.requesters",
        {"@ops:localhost": "root"},
        "execution.requesters.@ops:localhost: unknown level 'root'; expected one of readonly",
    ),
    ("execution.approvers", ["master"], "execution.approvers[0]: 'master' is not a user id"),
    ("execution.executorr", 1, "execution.executorr: unknown key"),
]


@pytest.mark.parametrize(("path", "value", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_dotted_key(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(edited(path, value), EXAMPLE_CONFIG)
    assert str(caught.value).startswith(message)


def test_secrets_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse_settings(EXAMPLE, EXAMPLE_CONFIG)
    claude = settings.agents[0]
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert claude.has_credentials is False
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    assert claude.has_credentials is True
    assert settings.agents[4].has_credentials is True  # a local model needs no key


def test_a_bad_config_stops_the_cli_with_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    data = edited("agents.2.provider", "gpt5")
    for agent in data["agents"]:
        agent["persona"] = str(EXAMPLE_CONFIG.parent / agent["persona"])
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = subprocess.run(
        [sys.executable, "-m", "bots", "--config", str(bad), "check-config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "agents[2].provider: unknown provider 'gpt5'" in result.stderr


def test_not_yaml_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("homeserver: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_settings(bad)


def test_execution_defaults() -> None:
    settings = parse_settings(EXAMPLE, EXAMPLE_CONFIG)
    execution = settings.execution
    assert set(execution.hosts) == {"local"}
    assert execution.hosts["local"].embedded
    assert settings.approvers == ("@master:localhost",)
    assert settings.exec_senders == ("@master:localhost", "@chavion:localhost")
    assert settings.requester_levels[-1] == ("@master:localhost", "admin")
    assert execution.policy.for_host("local").auto_approve_readonly is True
    assert execution.policy.for_host("web1").auto_approve_readonly is False
    assert execution.approval_expiry_seconds == 900
    bare = dict(EXAMPLE)
    bare.pop("execution")
    assert set(parse_settings(bare, EXAMPLE_CONFIG).execution.hosts) == {"local"}
