"""Access rules as a table: who may run which command."""

from __future__ import annotations

import pytest

from bots.access import may_invite, may_run
from bots.settings import AccessRule, AccessSettings

ACCESS = AccessSettings(
    default=AccessRule(allow=("*",), min_power=0),
    commands={
        "status": AccessRule(min_power=50),
        "run": AccessRule(allow=("@master:hs", "@ops-*:hs"), deny=("@ops-intern:hs",)),
    },
    invites_from=("@ops-*:hs",),
)

CASES = [
    ("default allows anyone", "ping", "@guest:hs", 0, True),
    ("power gate passes", "status", "@mod:hs", 50, True),
    ("power gate stops", "status", "@guest:hs", 0, False),
    ("allow glob matches", "run", "@ops-alice:hs", 0, True),
    ("deny wins over allow", "run", "@ops-intern:hs", 100, False),
    ("not on the allow list", "run", "@guest:hs", 100, False),
    ("master on the allow list", "run", "@master:hs", 100, True),
    ("globs are case-sensitive", "run", "@OPS-alice:hs", 0, False),
]


@pytest.mark.parametrize(
    ("command", "sender", "power", "allowed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_may_run(command: str, sender: str, power: int, allowed: bool) -> None:
    assert may_run(command, sender, power, ACCESS).allowed is allowed


def test_refusal_names_the_power_needed() -> None:
    decision = may_run("status", "@guest:hs", 10, ACCESS)
    assert decision.reason == "!status needs power level 50 (you have 10)"


def test_a_broken_rule_fails_closed() -> None:
    broken = AccessSettings(commands={"ping": AccessRule(allow=None)})  # type: ignore[arg-type]
    assert may_run("ping", "@master:hs", 100, broken).allowed is False


@pytest.mark.parametrize(
    ("inviter", "allowed"),
    [("@master:hs", True), ("@ops-bob:hs", True), ("@stranger:hs", False)],
)
def test_may_invite(inviter: str, allowed: bool) -> None:
    assert may_invite(inviter, "@master:hs", ACCESS) is allowed
