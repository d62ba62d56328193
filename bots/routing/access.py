"""Who may run which command. Pure, sits on the routing path, and fails closed.

A rule allows a sender who matches an `allow` glob, matches no `deny` glob, and has at
least `min_power` in the room. A command without its own rule uses the default rule.
A sender whose power level is unknown (None) passes only rules that ask for none
(`min_power` 0 or less): a power gate fails closed.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass
from typing import TypeGuard

from bots.settings import AccessRule, AccessSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str


def rule_for(command: str, access: AccessSettings) -> AccessRule:
    return access.commands.get(command, access.default)


def may_run(command: str, sender: str, power: int | None, access: AccessSettings) -> AccessDecision:
    """`power` is the sender's level, or None when it could not be learnt."""
    try:
        rule = rule_for(command, access)
        if any(fnmatch.fnmatchcase(sender, glob) for glob in rule.deny):
            return AccessDecision(False, f"{sender} is denied !{command}")
        if not any(fnmatch.fnmatchcase(sender, glob) for glob in rule.allow):
            return AccessDecision(False, f"{sender} is not allowed to run !{command}")
        if not _is_level(power):
            if rule.min_power <= 0:
                return AccessDecision(True, "allowed")
            return AccessDecision(
                False, f"!{command} needs power level {rule.min_power} (yours is unknown)"
            )
        if power < rule.min_power:
            return AccessDecision(
                False, f"!{command} needs power level {rule.min_power} (you have {power})"
            )
        return AccessDecision(True, "allowed")
    except Exception:  # fail closed: a broken rule must never open a door
        log.exception("access check for !%s failed; denying", command)
        return AccessDecision(False, "the access check failed; denied")


def _is_level(power: object) -> TypeGuard[int]:
    """A power level is a whole number; anything else (None, a bool) is unknown."""
    return isinstance(power, int) and not isinstance(power, bool)


def may_invite(inviter: str, master: str, access: AccessSettings) -> bool:
    """The master may always bring a bot into a room; others only when config says so."""
    return inviter == master or any(
        fnmatch.fnmatchcase(inviter, glob) for glob in access.invites_from
    )
