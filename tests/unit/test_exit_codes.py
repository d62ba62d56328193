"""`chavion`'s exit status, as systemd's `Restart=always` reads it: a config error has its
own status (78), which the service unit does not restart; a failure that may pass (the
homeserver or the network not up yet at boot, Chavion already running) keeps 2, which it
retries."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bots.app import cli, exit_codes
from bots.app.service_unit import UnitSpec, render_unit
from bots.errors import BotError, ConfigError, HomeserverError, MatrixError
from bots.settings.model import Settings
from bots.settings.paths import EXAMPLE_CONFIG


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (None, 0),
        (ConfigError("agents[2].provider: unknown provider 'gpt5'"), 78),
        (HomeserverError("no homeserver answers at http://127.0.0.1:8008"), 2),
        (MatrixError("cannot connect to the homeserver: network unreachable"), 2),
        (BotError("Chavion is already running (pid 42)"), 2),
        (KeyboardInterrupt(), 130),
    ],
    ids=[
        "done",
        "a config error: not retried",
        "the homeserver not up yet: retried",
        "the network not up yet: retried",
        "any other failure: retried",
        "Ctrl-C",
    ],
)
def test_main_exits_with_the_status_the_service_unit_reads(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    outcome: BaseException | None,
    status: int,
) -> None:
    def command(settings: Settings, args: argparse.Namespace) -> int:
        if outcome is not None:
            raise outcome
        return 0

    monkeypatch.setattr(cli, "cmd_info", command)
    assert cli.main(["--config", str(EXAMPLE_CONFIG), "info"]) == status
    if isinstance(outcome, BotError):
        assert capsys.readouterr().err == f"chavion: {outcome}\n"


def test_a_bad_config_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "chavion.yaml"
    bad.write_text("agents: [unclosed\n", encoding="utf-8")
    assert cli.main(["--config", str(bad), "check-config"]) == exit_codes.CONFIG_ERROR


@pytest.mark.parametrize("user", ["alice", None], ids=["system unit", "user unit"])
def test_the_unit_restarts_on_anything_but_a_config_error(user: str | None) -> None:
    base = Path("/srv/chavion")
    spec = UnitSpec(
        command=(str(base / ".venv/bin/chavion"),),
        config=base / "config/chavion.yaml",
        data_dir=base / ".data",
        working_dir=base,
        env_file=base / "config/chavion.env",
        user=user,
    )
    lines = render_unit(spec).splitlines()
    assert "Restart=always" in lines
    prevented = [line for line in lines if line.startswith("RestartPreventExitStatus=")]
    assert prevented == [f"RestartPreventExitStatus={exit_codes.CONFIG_ERROR}"]
    assert str(exit_codes.FAILED) not in prevented[0].split("=", 1)[1].split()
