"""`chavion token <agent>`: a new token printed once, the old one replaced, an unknown agent
refused with the list of bridge agents."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.app.cli import main
from bots.app.exit_codes import CONFIG_ERROR
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def config_with(tmp_path: Path, agents: list[dict[str, Any]]) -> Path:
    data = copy.deepcopy(EXAMPLE)
    data["data_dir"] = str(tmp_path / "data")
    data["bridge"] = {"agents": agents}
    path = tmp_path / "chavion.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def agent_of(tmp_path: Path, token: str) -> str | None:
    async with await Store.open(tmp_path / "data" / "chavion.db") as store:
        return await store.bridge_tokens.agent_for(token)


def test_a_new_token_is_printed_once_and_replaces_the_old(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with(tmp_path, [{"name": "manus"}])
    assert main(["--config", str(config), "token", "manus"]) == 0
    first = capsys.readouterr()
    old = first.out.strip()
    assert "old one no longer works" in first.err
    assert main(["--config", str(config), "token", "manus"]) == 0
    new = capsys.readouterr().out.strip()
    assert old != new
    assert asyncio.run(agent_of(tmp_path, new)) == "manus"
    assert asyncio.run(agent_of(tmp_path, old)) is None


@pytest.mark.parametrize(
    ("agents", "said"),
    [
        ([{"name": "manus"}, {"name": "wrtn"}], "bridge agents: manus, wrtn"),
        ([], "no bridge agents are configured"),
    ],
    ids=["others configured", "none configured"],
)
def test_an_unknown_agent_is_refused_naming_the_bridge_agents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], agents: list[dict[str, Any]], said: str
) -> None:
    config = config_with(tmp_path, agents)
    assert main(["--config", str(config), "token", "claude"]) == CONFIG_ERROR
    err = capsys.readouterr().err
    assert "no bridge agent named 'claude'" in err
    assert said in err
