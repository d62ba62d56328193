"""The coverage rule: may the judge approve this plan tonight, or does it wait for the
master in the morning queue? Pure, so the table of cases is the specification.

Only what the policy allows without asking (ALLOW) is ever covered: the executor runs those
on its own, so the judge's approval adds nothing the policy would refuse, and nothing
forbidden or asked-for runs on an agent's word. The envelope narrows it further: its hosts,
its allowlist, its budget, and the judge's review must approve the plan.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from bots.store.night import Envelope
from executor.policy.model import Verdict


@dataclass(frozen=True)
class NightStep:
    """One command of the plan as the rule reads it (main, verify or rollback)."""

    label: str
    host: str
    command: str
    verdict: Verdict


@dataclass(frozen=True)
class Coverage:
    covered: bool
    reason: str


def allowed(command: str, globs: Sequence[str]) -> bool:
    """The whole command matches one of the allowlist's globs."""
    return any(fnmatch.fnmatchcase(command.strip(), glob) for glob in globs)


def coverage(
    envelope: Envelope,
    steps: Sequence[NightStep],
    *,
    spent_usd: float,
    judge_approved: bool,
) -> Coverage:
    """Covered, or the first reason it is not (as the morning report shows it)."""
    if not steps:
        return Coverage(False, "the plan has no commands")
    for step in steps:
        if step.verdict is Verdict.FORBID:
            return Coverage(False, f"{step.label} is forbidden by the policy")
        if step.host not in envelope.hosts:
            return Coverage(False, f"{step.label} runs on {step.host}, outside tonight's hosts")
        if step.verdict is not Verdict.ALLOW:
            return Coverage(False, f"{step.label} needs an approval by the policy")
        if not allowed(step.command, envelope.allow_globs):
            return Coverage(False, f"{step.label} (`{step.command}`) is not in tonight's allowlist")
    if spent_usd >= envelope.budget_usd:
        return Coverage(
            False, f"tonight's budget is spent (${spent_usd:.2f} of ${envelope.budget_usd:.2f})"
        )
    if not judge_approved:
        return Coverage(False, "the judge's review did not approve it")
    return Coverage(True, "covered by tonight's envelope")
