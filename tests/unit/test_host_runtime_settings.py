"""A host's runtime settings: `sandbox`, `run_as`, and the env names a host may not set
(each would make a command mean something other than what the policy judged)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from bots.errors import ConfigError
from bots.settings.loading import parse_settings
from bots.settings.paths import EXAMPLE_CONFIG
from executor.hosts import LOCAL_HOST, RUN_AS_DEFAULT, HostConfig, refused_env_name

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
WEB = {"address": "web1.example.com"}


def with_hosts(hosts: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    data["execution"]["hosts"] = hosts
    return data


def hosts_of(hosts: dict[str, Any]) -> dict[str, HostConfig]:
    return dict(parse_settings(with_hosts(hosts), EXAMPLE_CONFIG).execution.hosts)


REFUSED = {
    # env name: what the policy could not see coming
    "PATH": "PATH is fixed",
    "BASH_ENV": "bash reads it",
    "BASH_FUNC_ls%%": "bash reads it",
    "BASHOPTS": "bash reads it",
    "ENV": "shells run the file",
    "LD_PRELOAD": "dynamic loader",
    "LD_LIBRARY_PATH": "dynamic loader",
    "GCONV_PATH": "glibc loads code",
    "SHELLOPTS": "changes how bash parses",
    "POSIXLY_CORRECT": "changes how bash parses",
    "PROMPT_COMMAND": "bash runs it",
    "PS4": "when tracing",
    "IFS": "splits words",
    "CDPATH": "where cd goes",
    "GLOBIGNORE": "what globs match",
}


@pytest.mark.parametrize(("name", "why"), REFUSED.items(), ids=REFUSED)
def test_env_names_that_change_the_command_are_refused_at_load_by_dotted_key(
    name: str, why: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        hosts_of({"web1": {**WEB, "env": {name: "x"}}})

    assert str(caught.value).startswith(f"execution.hosts.web1.env.{name}: may not be set: ")
    assert why in str(caught.value)


@pytest.mark.parametrize("name", ["APP_ENV", "LANG", "TZ", "HOME", "LDAP_URI", "BASHFUL"])
def test_ordinary_env_names_are_kept(name: str) -> None:
    if name == "BASHFUL":  # a BASH prefix is refused whole: bash owns the namespace
        assert refused_env_name(name) is not None
        return
    assert hosts_of({"web1": {**WEB, "env": {name: "x"}}})["web1"].env == ((name, "x"),)


SANDBOX = {
    "left out": ({}, "auto"),
    "auto": ({"sandbox": "auto"}, "auto"),
    "required": ({"sandbox": "required"}, "required"),
    "off (YAML reads a bare off as false)": ({"sandbox": False}, "off"),
    "off as text": ({"sandbox": "off"}, "off"),
}


@pytest.mark.parametrize(("given", "mode"), SANDBOX.values(), ids=SANDBOX)
def test_the_sandbox_setting(given: dict[str, Any], mode: str) -> None:
    assert hosts_of({"web1": {**WEB, **given}})["web1"].sandbox == mode


@pytest.mark.parametrize("value", ["always", True, 1])
def test_a_bad_sandbox_setting_is_refused_by_dotted_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^execution\.hosts\.web1\.sandbox: sandbox must be"):
        hosts_of({"web1": {**WEB, "sandbox": value}})


RUN_AS = {
    # local's entry: who its commands run as
    "left out": ({}, RUN_AS_DEFAULT),
    "named": ({"run_as": "ops-runner"}, "ops-runner"),
    "null: Chavion's own user": ({"run_as": None}, None),
}


@pytest.mark.parametrize(("given", "user"), RUN_AS.values(), ids=RUN_AS)
def test_local_runs_as_chavion_run_unless_told_otherwise(
    given: dict[str, Any], user: str | None
) -> None:
    assert hosts_of({LOCAL_HOST: given})[LOCAL_HOST].run_as == user


def test_the_example_and_a_config_without_hosts_run_local_as_chavion_run() -> None:
    assert hosts_of(EXAMPLE["execution"]["hosts"])[LOCAL_HOST].run_as == RUN_AS_DEFAULT
    bare = copy.deepcopy(EXAMPLE)
    del bare["execution"]["hosts"]
    hosts = parse_settings(bare, EXAMPLE_CONFIG).execution.hosts
    assert hosts[LOCAL_HOST].run_as == RUN_AS_DEFAULT


def test_run_as_is_only_for_the_embedded_local() -> None:
    with pytest.raises(ConfigError, match=r"^execution\.hosts\.web1\.run_as: run_as applies"):
        hosts_of({"web1": {**WEB, "run_as": "nobody"}})
    assert hosts_of({"web1": WEB})["web1"].run_as is None
