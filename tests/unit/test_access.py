"""Access rules as a table: who may run which command."""

from __future__ import annotations

import pytest

from bots.routing.access import may_invite, may_run
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
    ("a level below the default's 0 stops", "ping", "@muted:hs", -1, False),
    # A power level Chavion could not learn (None) never opens a power gate.
    ("unknown power stops a power gate", "status", "@mod:hs", None, False),
    ("unknown power passes a rule asking for none", "ping", "@guest:hs", None, True),
    ("unknown power still needs the allow list", "run", "@guest:hs", None, False),
    ("unknown power with the allow list and no gate", "run", "@ops-alice:hs", None, True),
]


@pytest.mark.parametrize(
    ("command", "sender", "power", "allowed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_may_run(command: str, sender: str, power: int | None, allowed: bool) -> None:
    assert may_run(command, sender, power, ACCESS).allowed is allowed


REFUSALS = [
    ("too little power", 10, "!status needs power level 50 (you have 10)"),
    ("unknown power", None, "!status needs power level 50 (yours is unknown)"),
]


@pytest.mark.parametrize(
    ("power", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusal_names_the_power_needed(power: int | None, reason: str) -> None:
    decision = may_run("status", "@guest:hs", power, ACCESS)
    assert decision.allowed is False
    assert decision.reason == reason


def test_a_broken_rule_fails_closed() -> None:
    broken = AccessSettings(commands={"ping": AccessRule(allow=None)})  # type: ignore[arg-type]
    assert may_run("ping", "@master:hs", 100, broken).allowed is False


@pytest.mark.parametrize(
    ("inviter", "allowed"),
    [("@master:hs", True), ("@ops-bob:hs", True), ("@stranger:hs", False)],
)
def test_may_invite(inviter: str, allowed: bool) -> None:
    assert may_invite(inviter, "@master:hs", ACCESS) is allowed
