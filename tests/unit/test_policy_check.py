"""`chavion policy check`: how its arguments are read and how a verdict is printed."""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import replace

import pytest

from bots.app.cli import _parser
from bots.app.policy_check import (
    cmd_policy_check,
    json_line,
    master_level,
    plain_line,
    stdin_commands,
)
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from executor.policy.model import Decision, Verdict

PARSED = [
    # (argv after `chavion`, host, level, json, commands)
    (["policy", "check", "--host", "local"], "local", None, False, []),
    (
        ["policy", "check", "--host", "web1", "ls -l", "df -h"],
        "web1",
        None,
        False,
        ["ls -l", "df -h"],
    ),
    (["policy", "check", "--json", "--host", "h", "uptime"], "h", None, True, ["uptime"]),
    (
        ["policy", "check", "--host", "h", "--level", "readonly", "ls"],
        "h",
        "readonly",
        False,
        ["ls"],
    ),
    # After `--`, a command may start with a dash or hold option-like words.
    (
        ["policy", "check", "--host", "h", "--", "-x", "rm --help"],
        "h",
        None,
        False,
        ["-x", "rm --help"],
    ),
]

REFUSED = [
    pytest.param(["policy", "check", "ls"], id="no --host"),
    pytest.param(["policy", "check", "--host", "h", "--level", "root", "ls"], id="unknown level"),
    pytest.param(["policy"], id="no action"),
]


@pytest.mark.parametrize(("argv", "host", "level", "as_json", "commands"), PARSED)
def test_arguments_are_read(
    argv: list[str], host: str, level: str | None, as_json: bool, commands: list[str]
) -> None:
    args = _parser().parse_args(argv)

    assert args.func is cmd_policy_check
    assert (args.host, args.level, args.json, args.commands) == (host, level, as_json, commands)


@pytest.mark.parametrize("argv", REFUSED)
def test_bad_arguments_are_refused_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(argv)
    assert exited.value.code == 2


STDIN = [
    # (stdin, commands)
    ("ls\ndf -h\n", ["ls", "df -h"]),
    ("ls\r\n\n   \n# what follows reads\n  # indented comment\nuptime", ["ls", "uptime"]),
    ("echo '#not a comment'  \n", ["echo '#not a comment'  "]),  # trailing spaces are kept
    ("", []),
]


@pytest.mark.parametrize(("text", "commands"), STDIN)
def test_stdin_holds_one_command_per_line(text: str, commands: list[str]) -> None:
    assert list(stdin_commands(io.StringIO(text))) == commands


LINES = [
    # (command, decision, plain line)
    (
        "rm -rf /",
        Decision(Verdict.FORBID, "forbidden: deletes /", "recursive-delete"),
        "forbid          rm -rf /  — forbidden: deletes / [recursive-delete]",
    ),
    (
        "ls",
        Decision(Verdict.ALLOW, "allowed: only reads", "readonly"),
        "allow           ls  — allowed: only reads [readonly]",
    ),
    (
        "echo a\necho \\b",
        Decision(Verdict.NEEDS_APPROVAL, "needs approval: x", "change"),
        "needs approval  echo a\\necho \\\\b  — needs approval: x [change]",
    ),
]


@pytest.mark.parametrize(("command", "decision", "plain"), LINES)
def test_each_verdict_is_one_line(command: str, decision: Decision, plain: str) -> None:
    assert plain_line(command, decision) == plain
    line = json_line(command, decision)
    assert "\n" not in line
    assert json.loads(line) == {
        "command": command,
        "verdict": decision.verdict.value,
        "reason": decision.reason,
        "rule": decision.rule,
    }


@pytest.mark.parametrize(
    ("requesters", "level"),
    [
        ((), "admin"),
        ((("@someone:*", "readonly"),), "admin"),
        ((("@master:*", "operator"),), "operator"),
        ((("*", "readonly"),), "readonly"),
    ],
)
def test_the_default_level_is_the_masters_as_the_executor_finds_it(
    requesters: tuple[tuple[str, str], ...], level: str
) -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    settings = replace(settings, execution=replace(settings.execution, requesters=requesters))
    assert settings.master_user_id.startswith("@master:")

    assert master_level(settings) == level


def test_an_unknown_host_is_named_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(EXAMPLE_CONFIG)
    args = argparse.Namespace(host="web9", level=None, json=False, commands=["ls"])

    assert cmd_policy_check(settings, args) == 2
    err = capsys.readouterr().err
    assert "unknown host 'web9'" in err
    assert "local" in err
