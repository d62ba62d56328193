"""`chavion token --master`: the master's dashboard token printed once, the old one replaced,
never an agent's token; asking for both or neither is a usage error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bots.app.cli import main
from bots.store import Store
from tests.unit.test_bridge_token_cli import config_with


async def is_master(tmp_path: Path, token: str) -> tuple[bool, str | None]:
    async with await Store.open(tmp_path / "data" / "chavion.db") as store:
        return (
            await store.dashboard_links.is_master_token(token),
            await store.bridge_tokens.agent_for(token),
        )


def test_a_new_master_token_is_printed_once_and_replaces_the_old(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_with(tmp_path, [{"name": "manus"}])
    assert main(["--config", str(config), "token", "--master"]) == 0
    first = capsys.readouterr()
    assert "http://127.0.0.1:8686/dashboard/login" in first.err
    assert main(["--config", str(config), "token", "--master"]) == 0
    new = capsys.readouterr().out.strip()
    assert asyncio.run(is_master(tmp_path, new)) == (True, ":master")
    assert asyncio.run(is_master(tmp_path, first.out.strip())) == (False, None)


@pytest.mark.parametrize(
    "argv", [["token"], ["token", "manus", "--master"]], ids=["neither", "both"]
)
def test_an_agent_or_the_master_not_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    config = config_with(tmp_path, [{"name": "manus"}])
    with pytest.raises(SystemExit) as stopped:
        main(["--config", str(config), *argv])
    assert stopped.value.code == 2
    assert "agent" in capsys.readouterr().err
