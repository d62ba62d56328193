"""Config validation: the shipped example loads; every mistake names its dotted key."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.app.exit_codes import CONFIG_ERROR
from bots.errors import ConfigError
from bots.settings.loading import find_config_path, load_settings, parse_settings
from bots.settings.model import DEFAULT_COMMAND_RULES, AccessRule, MasterSettings
from bots.settings.paths import (
    BUILTIN_PERSONA,
    CONFIG_ENV,
    DEFAULT_CONFIG,
    EXAMPLE_CONFIG,
    REPO_ROOT,
)
from executor.policy.config import FORBIDDEN_FILE, READONLY_FILE

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
    assert settings.master.lift_rate_limit is True


@pytest.mark.parametrize(("given", "lifted"), [(None, True), (True, True), (False, False)])
def test_the_master_rate_limit_is_lifted_unless_switched_off(given: Any, lifted: bool) -> None:
    assert parse_settings(edited("master.lift_rate_limit", given), EXAMPLE_CONFIG).master == (
        MasterSettings(lift_rate_limit=lifted)
    )


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
    (
        "master.lift_rate_limit",
        "on",
        "master.lift_rate_limit: expected true or false, got a string ('on')",
    ),
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
    ("runtime.key_wait_seconds", 0, "runtime.key_wait_seconds: must be between 1 and 3600"),
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
    (
        "timezone",
        "Mars/Phobos",
        "timezone: unknown time zone 'Mars/Phobos' (use an IANA name such as Asia/Seoul or UTC)",
    ),
]


@pytest.mark.parametrize(("path", "value", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_dotted_key(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(edited(path, value), EXAMPLE_CONFIG)
    assert str(caught.value).startswith(message)


# Every bot is found by its name or its localpart, so none may stand for two accounts.
# The later account is blamed, by the key that clashes. (agents: claude, gpt, gemini,
# perplexity, local with localpart llama; bots: coordinator as chavion, executor.)
ACCOUNT_CLASHES = [
    (
        "two agents share a name",
        "agents.1.name",
        "claude",
        "agents[1].name: 'claude' is already used by agents[0].name",
    ),
    (
        "an agent named like the coordinator",
        "agents.0.name",
        "coordinator",
        "agents[0].name: 'coordinator' is already used by bots.coordinator",
    ),
    (
        "an agent named like the executor",
        "agents.2.name",
        "executor",
        "agents[2].name: 'executor' is already used by bots.executor",
    ),
    (
        "an agent named like the coordinator's localpart",
        "agents.0.name",
        "chavion",
        "agents[0].name: 'chavion' is already used by bots.coordinator.localpart",
    ),
    (
        "an agent named like the master",
        "agents.0.name",
        "master",
        "agents[0].name: 'master' is already used by master.localpart",
    ),
    (
        "a localpart that is an earlier agent's name (agents[4]'s llama)",
        "agents.0.name",
        "llama",
        "agents[4].localpart: 'llama' is already used by agents[0].name",
    ),
    (
        "two agents share a localpart",
        "agents.2.localpart",
        "llama",
        "agents[4].localpart: 'llama' is already used by agents[2].localpart",
    ),
    (
        "the coordinator's localpart is the executor's name",
        "bots.coordinator.localpart",
        "executor",
        "bots.coordinator.localpart: 'executor' is already used by bots.executor",
    ),
    (
        "an agent's localpart is the master's",
        "agents.3.localpart",
        "master",
        "agents[3].localpart: 'master' is already used by master.localpart",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [case[1:] for case in ACCOUNT_CLASHES],
    ids=[case[0] for case in ACCOUNT_CLASHES],
)
def test_no_name_or_localpart_stands_for_two_accounts(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(edited(path, value), EXAMPLE_CONFIG)
    assert str(caught.value) == message


@pytest.mark.parametrize("name", ["UTC", "Asia/Seoul", "America/New_York", "Etc/GMT-9"])
def test_an_iana_timezone_is_accepted(name: str) -> None:
    assert parse_settings(edited("timezone", name), EXAMPLE_CONFIG).timezone == name


BAD_TIMEZONES = [
    ("unknown zone", "Mars/Phobos"),
    ("wrong case", "asia/seoul"),
    ("a folder of zones", "America"),
    ("empty", ""),
    ("a path out of the zone folder", "../../etc/passwd"),
    ("an absolute path", "/etc/localtime"),
]


@pytest.mark.parametrize("name", [t[1] for t in BAD_TIMEZONES], ids=[t[0] for t in BAD_TIMEZONES])
def test_a_bad_timezone_is_refused_at_load(name: str) -> None:
    with pytest.raises(ConfigError, match=r"^timezone: unknown time zone "):
        parse_settings(edited("timezone", name), EXAMPLE_CONFIG)


# `access.commands.<name>` changes only the keys it gives: the rest of the rule stays the
# built-in one, or the configured default's for a command without a built-in rule.
ACCESS_OVERRIDES = [
    (
        "a deny list keeps the built-in master-only power",
        {"commands": {"mute": {"deny": ["@intern:localhost"]}}},
        "mute",
        AccessRule(deny=("@intern:localhost",), min_power=100),
    ),
    (
        "an allow list keeps the built-in power",
        {"commands": {"run": {"allow": ["@ops-*:localhost"]}}},
        "run",
        AccessRule(allow=("@ops-*:localhost",), min_power=100),
    ),
    (
        "a built-in's power can still be lowered",
        {"commands": {"status": {"min_power": 0}}},
        "status",
        AccessRule(min_power=0),
    ),
    (
        "a built-in named with nothing stays as it is",
        {"commands": {"approve": {}}},
        "approve",
        DEFAULT_COMMAND_RULES["approve"],
    ),
    (
        "built-ins not named keep their rules",
        {"commands": {"mute": {"deny": ["@intern:localhost"]}}},
        "unmute",
        DEFAULT_COMMAND_RULES["unmute"],
    ),
    (
        "the default does not change a built-in",
        {"default": {"min_power": 10}},
        "cancel",
        DEFAULT_COMMAND_RULES["cancel"],
    ),
    (
        "a command without a built-in rule starts from the default",
        {
            "default": {"deny": ["@spam:*"], "min_power": 20},
            "commands": {"ping": {"allow": ["@friend:*"]}},
        },
        "ping",
        AccessRule(allow=("@friend:*",), deny=("@spam:*",), min_power=20),
    ),
]


@pytest.mark.parametrize(
    ("access", "command", "rule"),
    [case[1:] for case in ACCESS_OVERRIDES],
    ids=[case[0] for case in ACCESS_OVERRIDES],
)
def test_naming_a_command_changes_only_the_keys_given(
    access: dict[str, Any], command: str, rule: AccessRule
) -> None:
    settings = parse_settings(edited("access", access), EXAMPLE_CONFIG)
    assert settings.access.commands[command] == rule


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
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = subprocess.run(
        [sys.executable, "-m", "bots", "--config", str(bad), "check-config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == CONFIG_ERROR
    assert "agents[2].provider: unknown provider 'gpt5'" in result.stderr


def test_not_yaml_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("homeserver: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_settings(bad)


# A file that cannot be read as a config ends in one line naming the file, never a
# traceback: `chavion` prints it as it is and exits with status 2.
UNREADABLE = [
    (
        "not UTF-8 (Latin-1)",
        b"council:\n  name: caf\xe9\n",
        "is not UTF-8 text: byte 0xe9 on line 2; save it as UTF-8",
    ),
    (
        "not YAML: an unclosed list",
        b"homeserver: [unclosed\n",
        "is not valid YAML: line 2, column 1: while parsing a flow sequence, "
        "expected ',' or ']', but got '<stream end>'",
    ),
    (
        "not YAML: a tab indent",
        b"homeserver:\n\tport: 1\n",
        "is not valid YAML: line 2, column 1: while scanning for the next token, "
        "found character '\\t' that cannot start any token",
    ),
    (
        "not YAML: two documents",
        b"timezone: UTC\n---\ntimezone: UTC\n",
        "is not valid YAML: line 2, column 1: expected a single document in the stream, "
        "but found another document",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"), [u[1:] for u in UNREADABLE], ids=[u[0] for u in UNREADABLE]
)
def test_an_unreadable_file_is_one_line_naming_it(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "chavion.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path} {message}"


@pytest.mark.parametrize(
    "content", [u[1] for u in UNREADABLE[:2]], ids=[u[0] for u in UNREADABLE[:2]]
)
def test_an_unreadable_file_stops_the_cli_with_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "chavion.yaml"
    path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "bots", "--config", str(path), "check-config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == CONFIG_ERROR
    assert result.stderr.startswith(f"chavion: {path} is not ")
    assert result.stderr.count("\n") == 1


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


@pytest.mark.parametrize(
    ("location", "inside_it"),
    [
        (REPO_ROOT, "pyproject.toml"),
        (REPO_ROOT, "synapse"),
        (EXAMPLE_CONFIG.parent, "chavion.example.yaml"),
        (BUILTIN_PERSONA.parent, BUILTIN_PERSONA.name),
        (READONLY_FILE.parent, "readonly.yaml"),
        (FORBIDDEN_FILE.parent, "forbidden.yaml"),
    ],
)
def test_the_locations_point_into_the_repository(location: Path, inside_it: str) -> None:
    assert (location / inside_it).exists()


@pytest.mark.parametrize(
    ("explicit", "from_env", "found"),
    [
        ("given.yaml", "env.yaml", "given.yaml"),
        (None, "env.yaml", "env.yaml"),
        ("", "env.yaml", "env.yaml"),
    ],
)
def test_the_config_named_on_the_command_line_wins(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    explicit: str | None,
    from_env: str,
    found: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CONFIG_ENV, from_env)
    assert find_config_path(explicit) == tmp_path / found


def test_without_a_named_config_the_repository_one_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    expected = DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else EXAMPLE_CONFIG
    assert find_config_path(None) == expected


def test_a_broken_shipped_read_only_list_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped list is what a user edits: a mistake in it is reported like any config
    mistake, with its dotted key, not as a traceback while the policy is imported."""
    import bots.settings.loading_execution as loading_execution
    import executor.policy.config as policy_config

    broken = tmp_path / "policy"
    broken.mkdir()
    (broken / "readonly.yaml").write_text("readonly:\n  - [unclosed\n", encoding="utf-8")
    monkeypatch.setattr(loading_execution, "READONLY_FILE", broken / "readonly.yaml")
    monkeypatch.setattr(policy_config, "READONLY_FILE", broken / "readonly.yaml")
    policy_config.default_readonly.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"^execution\.policy\.readonly_file: cannot read"):
            parse_settings(EXAMPLE, EXAMPLE_CONFIG)
    finally:
        policy_config.default_readonly.cache_clear()


@pytest.mark.parametrize(
    ("in_config", "from_env", "used"),
    [
        ("../.data", None, "{repo}/.data"),
        ("../.data", "/srv/chavion", "/srv/chavion"),
        # Compose sets CHAVION_DATA_DIR and the production config names data_dir too: the
        # key must still count as known, or the config is refused.
        ("/data", "/data", "/data"),
        (None, "/srv/chavion", "/srv/chavion"),
        (None, None, "{repo}/.data"),
    ],
)
def test_the_data_dir_variable_overrides_the_key_and_leaves_it_known(
    monkeypatch: pytest.MonkeyPatch, in_config: str | None, from_env: str | None, used: str
) -> None:
    if from_env is None:
        monkeypatch.delenv("CHAVION_DATA_DIR", raising=False)
    else:
        monkeypatch.setenv("CHAVION_DATA_DIR", from_env)
    data = copy.deepcopy(EXAMPLE)
    if in_config is None:
        data.pop("data_dir")
    else:
        data["data_dir"] = in_config
    settings = parse_settings(data, EXAMPLE_CONFIG)
    assert settings.data_dir == Path(used.format(repo=REPO_ROOT))
