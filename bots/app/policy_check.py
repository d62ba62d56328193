"""`chavion policy check`: judges commands with the real config, as the executor would.

Users test their policy before trusting it: the commands they expect an agent to propose go
in, one verdict per command comes out, from the same `decide()` and the same settings
`chavion up` loads. Nothing runs and nothing is sent; only the policy is asked.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Iterable, Iterator
from typing import TextIO

from bots.settings.model import Settings
from executor.policy import decide
from executor.policy.model import Decision, Requester, Verdict

LABELS = {
    Verdict.ALLOW: "allow",
    Verdict.NEEDS_APPROVAL: "needs approval",
    Verdict.FORBID: "forbid",
}
"""What each verdict is called in the plain output (JSON has the enum's value)."""


def cmd_policy_check(settings: Settings, args: argparse.Namespace) -> int:
    """0 once every command is judged, whatever the verdicts (a FORBID is an answer, not a
    failure); 2 for an unknown host or no command at all (and, from `main`, 78 for a config
    error, which names its dotted key)."""
    hosts = settings.execution.hosts
    if args.host not in hosts:
        known = ", ".join(sorted(hosts)) or "none"
        print(
            f"chavion: unknown host {args.host!r} (execution.hosts in {settings.source}: {known})",
            file=sys.stderr,
        )
        return 2
    level = args.level or master_level(settings)
    requester = Requester(settings.master_user_id, level)
    commands = list(args.commands) if args.commands else list(stdin_commands(sys.stdin))
    if not commands:
        print(
            "chavion: no command to check: give them as arguments or one per line", file=sys.stderr
        )
        return 2
    for command in commands:
        decision = decide(command, args.host, requester, settings.execution.policy)
        print(json_line(command, decision) if args.json else plain_line(command, decision))
    return 0


def master_level(settings: Settings) -> str:
    """The master's level, as the executor finds it: the first requester glob that matches
    (admin unless `execution.requesters` lists the master otherwise)."""
    for glob, level in settings.requester_levels:
        if fnmatch.fnmatchcase(settings.master_user_id, glob):
            return level
    return "admin"


def stdin_commands(lines: Iterable[str] | TextIO) -> Iterator[str]:
    """One command per line; blank lines and `#` comments are skipped (a corpus file can
    say what it tests)."""
    for line in lines:
        command = line.rstrip("\r\n")
        if command.strip() and not command.lstrip().startswith("#"):
            yield command


def plain_line(command: str, decision: Decision) -> str:
    """`forbid          rm -rf /  — forbidden: ... [rule]`: one line, line breaks shown."""
    shown = command.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return f"{LABELS[decision.verdict]:<14}  {shown}  — {decision.reason} [{decision.rule}]"


def json_line(command: str, decision: Decision) -> str:
    """{command, verdict, reason, rule} on one line."""
    return json.dumps(
        {
            "command": command,
            "verdict": decision.verdict.value,
            "reason": decision.reason,
            "rule": decision.rule,
        },
        ensure_ascii=False,
    )
