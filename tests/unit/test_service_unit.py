"""`chavion service`: the unit it renders (systemd's quoting rules), and install/remove/show."""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from bots.app.cli import main
from bots.app.service_unit import (
    UNIT_NAME,
    UnitSpec,
    cannot_run,
    exec_arg,
    exec_path,
    invoking_user,
    raw_value,
    render_unit,
    run_or_say,
    unit_dir_for,
)
from bots.errors import BotError
from bots.settings.paths import EXAMPLE_CONFIG

ME = pwd.getpwuid(os.geteuid()).pw_name

EXEC_ARGS = [
    # (value, in ExecStart (so `$` doubles), word written)
    ("up", True, '"up"'),
    ("/a b/c", True, '"/a b/c"'),
    ("50%", True, '"50%%"'),
    ("$HOME", True, '"$$HOME"'),
    ("$HOME", False, '"$HOME"'),
    ('say "hi"', True, '"say \\"hi\\""'),
    ("back\\slash", True, '"back\\\\slash"'),
    ("K=/a b/%i $x", False, '"K=/a b/%%i $x"'),
    ("한국어 ü", True, '"한국어 ü"'),
]


@pytest.mark.parametrize(("value", "dollar", "word"), EXEC_ARGS)
def test_exec_arg_quotes_and_escapes(value: str, dollar: bool, word: str) -> None:
    assert exec_arg(value, dollar=dollar) == word


RAW_VALUES = [
    ("/srv/chavion", "/srv/chavion"),
    ("/a b/c d", "/a b/c d"),
    ("/x/100%", "/x/100%%"),
    ('/x/"q"/$y', '/x/"q"/$y'),
    ("/x\\y", "/x\\y"),
]


@pytest.mark.parametrize(("value", "written"), RAW_VALUES)
def test_raw_value_doubles_only_specifiers(value: str, written: str) -> None:
    assert raw_value(value) == written


REFUSED = [
    # (function, value, part of the message)
    (raw_value, "/a\nExecStartPre=/bin/evil", "control character"),
    (raw_value, "/a/b\\", "continuation"),
    (exec_arg, "a\tb", "control character"),
    (exec_path, "chavion", "absolute"),
    (exec_path, '/a"b/chavion', "quote or a backslash"),
    (exec_path, "/a'b/chavion", "quote or a backslash"),
    (exec_path, "/a\\b/chavion", "quote or a backslash"),
]


@pytest.mark.parametrize(("function", "value", "message"), REFUSED)
def test_what_systemd_cannot_take_is_refused_clearly(
    function: object, value: str, message: str
) -> None:
    with pytest.raises(BotError, match=message):
        function(value)  # type: ignore[operator]


EXEC_PATHS = [
    ("/srv/chavion/.venv/bin/chavion", '"/srv/chavion/.venv/bin/chavion"'),
    ("/home/me/my bots/.venv/bin/chavion", '"/home/me/my bots/.venv/bin/chavion"'),
    # The executable is not variable-expanded: `$` stays single (systemd-analyze agrees).
    ("/opt/$x/chavion", '"/opt/$x/chavion"'),
    ("/opt/100%/chavion", '"/opt/100%%/chavion"'),
]


@pytest.mark.parametrize(("value", "word"), EXEC_PATHS)
def test_exec_path(value: str, word: str) -> None:
    assert exec_path(value) == word


def _spec(base: Path, *, user: str | None = "alice") -> UnitSpec:
    return UnitSpec(
        command=(str(base / ".venv/bin/chavion"),),
        config=base / "config/chavion.yaml",
        data_dir=base / ".data",
        working_dir=base,
        env_file=base / "config/chavion.env",
        user=user,
    )


SYSTEM_LINES = [
    "Type=simple",
    "User=alice",
    "WorkingDirectory=/srv/my bots",
    'Environment="CHAVION_CONFIG=/srv/my bots/config/chavion.yaml"',
    'Environment="CHAVION_DATA_DIR=/srv/my bots/.data"',
    "EnvironmentFile=-/srv/my bots/config/chavion.env",
    'ExecStart="/srv/my bots/.venv/bin/chavion" "up"',
    "Restart=always",
    "RestartSec=10",
    "RestartPreventExitStatus=78",
    "KillMode=mixed",
    "KillSignal=SIGTERM",
    "TimeoutStopSec=90",
    "Wants=network-online.target",
    "After=network-online.target",
    "WantedBy=multi-user.target",
]


@pytest.mark.parametrize("line", SYSTEM_LINES)
def test_system_unit_says(line: str) -> None:
    assert line in render_unit(_spec(Path("/srv/my bots"))).splitlines()


USER_UNIT = [
    # (line, in a user unit?)
    ("WantedBy=default.target", True),
    ("Restart=always", True),
    ("RestartPreventExitStatus=78", True),
    ('ExecStart="/srv/my bots/.venv/bin/chavion" "up"', True),
    ("WantedBy=multi-user.target", False),
    ("Wants=network-online.target", False),
]


@pytest.mark.parametrize(("line", "present"), USER_UNIT)
def test_user_unit_has_no_user_and_no_system_targets(line: str, present: bool) -> None:
    lines = render_unit(_spec(Path("/srv/my bots"), user=None)).splitlines()
    assert (line in lines) is present
    assert not any(existing.startswith("User=") for existing in lines)


def test_relative_paths_are_refused() -> None:
    with pytest.raises(BotError, match="absolute"):
        render_unit(_spec(Path("relative")))


INVOKERS = [
    # (environment, effective uid, who the service runs as)
    ({"SUDO_USER": "alice"}, 0, "alice"),
    ({"SUDO_USER": "root"}, 0, pwd.getpwuid(0).pw_name),
    ({}, 0, pwd.getpwuid(0).pw_name),
    ({"SUDO_USER": "alice"}, os.geteuid() or 65534, pwd.getpwuid(os.geteuid() or 65534).pw_name),
]


@pytest.mark.parametrize(("environ", "euid", "user"), INVOKERS)
def test_the_invoking_user_runs_the_service(environ: dict[str, str], euid: int, user: str) -> None:
    assert invoking_user(environ, euid) == user


# --- systemd's own reading ----------------------------------------------------------------

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (Debian: apt-get install systemd)"
)
AWKWARD_DIRS = ["plain", "with space", "per%cent", "dollar$HOME", "한국어 dir"]


def _verify(unit_dir: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", str(unit_dir / UNIT_NAME)],
        capture_output=True,
        text=True,
        check=False,
        cwd=unit_dir,
    )


def _checkout(base: Path) -> Path:
    """A checkout whose venv has an executable `chavion`, which verify requires."""
    executable = base / ".venv/bin/chavion"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    return base


@needs_analyze
@pytest.mark.parametrize("name", AWKWARD_DIRS)
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path, name: str) -> None:
    base = _checkout(tmp_path / name)
    (tmp_path / UNIT_NAME).write_text(render_unit(_spec(base, user=ME)))
    result = _verify(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@needs_analyze
def test_systemd_analyze_would_catch_an_unquoted_path(tmp_path: Path) -> None:
    """The check above has teeth: the same unit with ExecStart unquoted does not verify."""
    base = _checkout(tmp_path / "with space")
    text = render_unit(_spec(base, user=ME))
    quoted = f'ExecStart="{base}/.venv/bin/chavion"'
    (tmp_path / UNIT_NAME).write_text(text.replace(quoted, f"ExecStart={base}/.venv/bin/chavion"))
    result = _verify(tmp_path)
    assert result.returncode != 0
    assert "not executable" in result.stderr


# Config, data dir and env file (not the executable) may hold quotes and backslashes too.
AWKWARD_DATA_DIRS = ['q"uote', "back\\slash", "all of $x %i 'q' \\n"]


@needs_analyze
@pytest.mark.parametrize("name", AWKWARD_DATA_DIRS)
def test_systemd_analyze_verify_reads_awkward_config_paths(tmp_path: Path, name: str) -> None:
    base = _checkout(tmp_path / "checkout")
    awkward = tmp_path / name
    spec = replace(
        _spec(base, user=ME),
        config=awkward / "chavion.yaml",
        data_dir=awkward / ".data",
        working_dir=awkward,
        env_file=awkward / "chavion.env",
    )
    (tmp_path / UNIT_NAME).write_text(render_unit(spec))
    result = _verify(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@needs_analyze
def test_systemd_analyze_would_catch_an_unescaped_backslash(tmp_path: Path) -> None:
    """verify reads Environment= quoting: a backslash left single is invalid syntax."""
    base = _checkout(tmp_path / "checkout")
    text = render_unit(_spec(base, user=ME)).replace(
        "Environment=PYTHONUNBUFFERED=1", 'Environment="K=/x\\q"'
    )
    (tmp_path / UNIT_NAME).write_text(text)
    result = _verify(tmp_path)
    assert "Invalid syntax" in result.stderr


RUNS = [
    # (commands, reason not to run, status, in stdout, in stderr)
    ([["true"], ["true"]], "", 0, "all done", ""),
    ([["sh", "-c", "echo boom >&2; exit 3"], ["true"]], "", 1, "", "failed: boom"),
    ([["sh", "-c", "exit 4"]], "", 1, "", "exit status 4"),
    ([["/nonexistent/systemctl"]], "", 1, "", "cannot run `/nonexistent/systemctl`"),
    ([["false"]], "systemd is away", 0, "systemd is away; to apply it, run:\n    false", ""),
]


@pytest.mark.parametrize(("commands", "why", "status", "out", "err"), RUNS)
def test_run_or_say(
    capsys: pytest.CaptureFixture[str],
    commands: list[list[str]],
    why: str,
    status: int,
    out: str,
    err: str,
) -> None:
    assert run_or_say(commands, why, done="all done") == status
    captured = capsys.readouterr()
    assert out in captured.out
    assert err in captured.err
    if status:
        assert "all done" not in captured.out


def test_no_systemctl_on_the_path_is_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cannot_run(manage=True, user=False) == "systemctl is not installed"


UNIT_DIRS = [
    # (--user, --unit-dir, where the unit goes; ~ is HOME)
    (False, None, "/etc/systemd/system"),
    (True, None, "~/.config/systemd/user"),
    (False, "/srv/units", "/srv/units"),
    (True, "~/staging", "~/staging"),
]


@pytest.mark.parametrize(("user", "given", "expected"), UNIT_DIRS)
def test_where_the_unit_goes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, user: bool, given: str | None, expected: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    args = argparse.Namespace(user=user, unit_dir=given)
    assert unit_dir_for(args) == Path(expected.replace("~", str(tmp_path)))


def test_a_test_unit_dir_never_reaches_systemctl() -> None:
    assert "systemctl was not asked" in cannot_run(manage=False, user=False)


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real config file in a folder with a space, as a user might keep it."""
    monkeypatch.delenv("CHAVION_DATA_DIR", raising=False)
    monkeypatch.delenv("CHAVION_CONFIG", raising=False)
    monkeypatch.delenv("SUDO_USER", raising=False)
    folder = tmp_path / "my config"
    folder.mkdir()
    path = folder / "chavion.yaml"
    shutil.copyfile(EXAMPLE_CONFIG, path)
    return path


def _units(tmp_path: Path) -> Path:
    return tmp_path / "units dir"


def test_show_prints_the_unit_and_writes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--config", str(config), "service", "show", "--unit-dir", str(_units(tmp_path))])
    out = capsys.readouterr().out
    assert status == 0
    assert f'Environment="CHAVION_CONFIG={config}"' in out
    assert f'Environment="CHAVION_DATA_DIR={(config.parent / "../.data").resolve()}"' in out
    assert f"EnvironmentFile=-{config.parent / 'chavion.env'}" in out
    assert f"User={ME}" in out
    assert not _units(tmp_path).exists()


def test_install_writes_what_show_prints_then_remove_deletes_it(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--config", str(config), "service"]
    where = ["--unit-dir", str(_units(tmp_path))]
    assert main([*args, "show", *where]) == 0
    shown = capsys.readouterr().out

    assert main([*args, "install", *where]) == 0
    out = capsys.readouterr().out
    unit = _units(tmp_path) / UNIT_NAME
    assert unit.read_text() == shown
    assert unit.stat().st_mode & 0o777 == 0o644
    # A unit dir systemd does not read: systemctl is not asked, the commands are shown.
    assert "systemctl was not asked" in out
    assert f"systemctl enable --now {UNIT_NAME}" in out

    # What `systemctl enable` would have made: remove takes it away too.
    wants = _units(tmp_path) / "multi-user.target.wants"
    wants.mkdir()
    (wants / UNIT_NAME).symlink_to(unit)
    assert main([*args, "remove", *where]) == 0
    out = capsys.readouterr().out
    assert not unit.exists()
    assert not (wants / UNIT_NAME).is_symlink()
    assert f"deleted {wants / UNIT_NAME}" in out
    assert "systemctl daemon-reload" in out

    assert main([*args, "remove", *where]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_env_file_option_and_user_unit(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys dir" / "llm.env"
    argv = ["--config", str(config), "service", "install", "--user"]
    assert main([*argv, "--unit-dir", str(_units(tmp_path)), "--env-file", str(keys)]) == 0
    text = (_units(tmp_path) / UNIT_NAME).read_text()
    assert f"EnvironmentFile=-{keys}" in text
    assert "WantedBy=default.target" in text
    assert "User=" not in text
    assert "systemctl --user enable --now" in capsys.readouterr().out


def test_env_file_others_can_read_is_warned_about(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = config.parent / "chavion.env"
    keys.write_text("OPENAI_API_KEY=sk-test\n")
    keys.chmod(0o644)
    assert main(["--config", str(config), "service", "install", "--unit-dir", str(tmp_path)]) == 0
    assert f"{keys} holds API keys and others can read it" in capsys.readouterr().err


REFUSALS = [
    # (extra environment, argv after `service`, message)
    ({}, ["install"], "no config file"),
    ({"SUDO_USER": "alice"}, ["install", "--user"], "without sudo"),
]


@pytest.mark.parametrize(("environ", "argv", "message"), REFUSALS)
def test_refusals_say_what_to_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environ: dict[str, str],
    argv: list[str],
    message: str,
) -> None:
    if environ.get("SUDO_USER") and os.geteuid() != 0:
        pytest.skip("sudo's SUDO_USER only matters to root")
    monkeypatch.delenv("CHAVION_CONFIG", raising=False)
    monkeypatch.delenv("SUDO_USER", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    command = ["--config", str(EXAMPLE_CONFIG), "service", *argv]
    assert main([*command, "--unit-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / UNIT_NAME).exists()


def test_unwritable_unit_dir_says_sudo_or_user(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    argv = ["--config", str(config), "service", "install", "--unit-dir", str(blocker / "x")]
    assert main(argv) == 2
    assert "cannot write" in capsys.readouterr().err
