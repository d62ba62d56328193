"""The `bridge:` section (issue 18): defaults as documented, external agents read with their
accounts, and every mistake named by its dotted key."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
import yaml

from bots.errors import ConfigError
from bots.settings.loading import load_settings, parse_settings
from bots.settings.model import AccountSettings, BridgeAgentSettings, BridgeSettings, Settings
from bots.settings.paths import EXAMPLE_CONFIG

PRODUCTION_EXAMPLE = EXAMPLE_CONFIG.parent / "chavion.production.example.yaml"
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
MANUS = {"name": "manus", "account": {"localpart": "manus", "display_name": "Manus"}}


def with_bridge(bridge: Any) -> Settings:
    data = copy.deepcopy(EXAMPLE)
    data["bridge"] = bridge
    return parse_settings(data, EXAMPLE_CONFIG)


def test_the_example_states_the_defaults() -> None:
    assert load_settings(EXAMPLE_CONFIG).bridge == BridgeSettings()
    assert {f.name for f in dataclasses.fields(BridgeSettings)} - {"host", "port"} | {
        "listen"
    } == set(EXAMPLE["bridge"])


def test_the_production_example_listens_for_the_reverse_proxy() -> None:
    bridge = load_settings(PRODUCTION_EXAMPLE).bridge
    assert bridge == dataclasses.replace(BridgeSettings(), host="0.0.0.0")


@pytest.mark.parametrize("bridge", [None, {}], ids=["no section", "empty section"])
def test_without_a_section_the_bridge_is_off(bridge: Any) -> None:
    assert with_bridge(bridge).bridge == BridgeSettings(
        enabled=False,
        host="127.0.0.1",
        port=8686,
        max_body_bytes=262_144,
        rate_per_minute=120,
        burst=30,
        agents=(),
    )


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            {**MANUS, "role": "executing"},
            BridgeAgentSettings(AccountSettings("manus", "agent", "manus", "Manus"), "executing"),
        ),
        (
            {"name": "wrtn"},
            BridgeAgentSettings(AccountSettings("wrtn", "agent", "wrtn", "Wrtn"), "thinking"),
        ),
        (
            {"name": "Hosted_GPT", "account": {"localpart": "hosted-gpt"}},
            BridgeAgentSettings(
                AccountSettings("Hosted_GPT", "agent", "hosted-gpt", "Hosted_gpt"), "thinking"
            ),
        ),
    ],
    ids=["all given", "name only", "localpart given"],
)
def test_external_agents_are_read_with_their_accounts(
    agent: dict[str, Any], expected: BridgeAgentSettings
) -> None:
    bridge = with_bridge({"enabled": True, "agents": [agent]}).bridge
    assert bridge.enabled
    assert bridge.agents == (expected,)
    assert bridge.agent(expected.name) == expected
    assert bridge.agent("nobody") is None


def test_listen_and_limits_are_read() -> None:
    bridge = with_bridge(
        {
            "listen": {"host": "0.0.0.0", "port": 9000},
            "max_body_bytes": 4096,
            "rate_per_minute": 10,
            "burst": 2,
        }
    ).bridge
    assert (bridge.host, bridge.port, bridge.max_body_bytes) == ("0.0.0.0", 9000, 4096)
    assert (bridge.rate_per_minute, bridge.burst) == (10, 2)


@pytest.mark.parametrize(
    ("bridge", "expected"),
    [
        ({}, "http://127.0.0.1:8686"),
        ({"listen": {"host": "10.0.0.2", "port": 9000}}, "http://10.0.0.2:9000"),
        ({"listen": {"host": "::1"}}, "http://[::1]:8686"),
        ({"public_url": ""}, "http://127.0.0.1:8686"),
        ({"public_url": "https://chavion.example.org/"}, "https://chavion.example.org"),
        ({"public_url": "https://example.org/chavion"}, "https://example.org/chavion"),
    ],
    ids=["default", "listen address", "ipv6", "empty", "trailing slash", "under a path"],
)
def test_the_dashboards_links_start_at_the_public_url_or_the_listening_address(
    bridge: dict[str, Any], expected: str
) -> None:
    assert with_bridge(bridge).bridge.base_url == expected


@pytest.mark.parametrize(
    ("bridge", "message"),
    [
        ({"enabled": "yes"}, "bridge.enabled: expected true or false"),
        ({"listen": {"port": 0}}, "bridge.listen.port: 0 is not a TCP port"),
        ({"listen": {"port": 70000}}, "bridge.listen.port: 70000 is not a TCP port"),
        ({"listen": {"port": "http"}}, "bridge.listen.port: expected a whole number"),
        ({"listen": {"host": " "}}, "bridge.listen.host: must name an address"),
        ({"listen": {"adress": "x"}}, "bridge.listen.adress: unknown key"),
        ({"max_body_bytes": 10}, "bridge.max_body_bytes: must be between 1024"),
        ({"rate_per_minute": 0}, "bridge.rate_per_minute: must be between 1"),
        ({"burst": -1}, "bridge.burst: must be between 1"),
        ({"port": 8686}, "bridge.port: unknown key"),
        ({"public_url": "chavion.example.org"}, "bridge.public_url: 'chavion.example.org' must"),
        ({"public_url": 8686}, "bridge.public_url: expected"),
        ({"agents": {"name": "manus"}}, "bridge.agents: expected a list"),
        ({"agents": [{}]}, "bridge.agents[0].name: is required"),
        ({"agents": [{"name": "two words"}]}, "bridge.agents[0].name: 'two words' must be"),
        (
            {"agents": [{"name": "manus", "account": {"localpart": "Manus!"}}]},
            "bridge.agents[0].account.localpart: 'Manus!' is not a valid Matrix localpart",
        ),
        (
            {"agents": [{"name": "manus", "account": {"display_name": ""}}]},
            "bridge.agents[0].account.display_name: must not be empty",
        ),
        (
            {"agents": [{"name": "manus", "token": "x"}]},
            "bridge.agents[0].token: unknown key",
        ),
        (
            {"agents": [MANUS, MANUS]},
            "bridge.agents[1].name: 'manus' is already used by bridge.agents[0].name",
        ),
        (
            {"agents": [MANUS, {"name": "other", "account": {"localpart": "manus"}}]},
            "bridge.agents[1].account.localpart: 'manus' is already used by "
            "bridge.agents[0].account.localpart",
        ),
        (
            {"agents": [{"name": "claude", "account": {"localpart": "ext-claude"}}]},
            "bridge.agents[0].name: 'claude' is already used by the agent 'claude'",
        ),
        (
            {"agents": [{"name": "coordinator", "account": {"localpart": "c2"}}]},
            "bridge.agents[0].name: 'coordinator' is already used by the coordinator",
        ),
        (
            {"agents": [{"name": "ext", "account": {"localpart": "executor"}}]},
            "bridge.agents[0].account.localpart: 'executor' is already used by the executor",
        ),
        (
            {"agents": [{"name": "boss", "account": {"localpart": "master"}}]},
            "bridge.agents[0].account.localpart: 'master' is already used by master.localpart",
        ),
    ],
)
def test_mistakes_name_their_dotted_key(bridge: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        with_bridge(bridge)
    assert message in str(caught.value)


CADDYFILE = EXAMPLE_CONFIG.parent.parent / "synapse" / "Caddyfile"


@pytest.mark.parametrize(
    ("path", "proxied"),
    [
        ("/api/*", True),
        ("/help", True),
        ("/dashboard*", True),
        ("/metrics", False),
        ("/health", False),
    ],
)
def test_the_production_proxy_reaches_the_bridge_for_agents_and_the_master_only(
    path: str, proxied: bool
) -> None:
    """Agents and the master's phone come through Caddy; monitors stay on the compose
    network (the numbers and the health details are not for the Internet)."""
    port = load_settings(PRODUCTION_EXAMPLE).bridge.port
    line = f"reverse_proxy {path} chavion:{port}"
    assert (line in CADDYFILE.read_text(encoding="utf-8")) is proxied
