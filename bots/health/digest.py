"""The master's daily digest, rendered: what happened since the last one and what waits.

Pure: the facts are gathered by `digest_job`; this only lays them out, and says when the
day's digest is due (at the configured local time, once per local day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bots.settings.model import BudgetSettings
from bots.store.digests import FinishedTask
from bots.store.usage import UsageTotals

LISTED = 10
"""Tasks listed by name per kind; beyond that only counted."""
MISSION_CHARS = 60


@dataclass(frozen=True)
class OpenPoll:
    id: int
    question: str


@dataclass(frozen=True)
class DigestFacts:
    since: float
    until: float
    zone: str
    done: Sequence[FinishedTask] = ()
    failed: Sequence[FinishedTask] = ()
    commands: Mapping[str, int] = field(default_factory=dict)
    """"ok" and "failed": commands that ran to their end."""
    spent_day: str = ""
    spent: Mapping[str, UsageTotals] = field(default_factory=dict)
    """Per agent on `spent_day` (the last whole local day)."""
    today: Mapping[str, UsageTotals] = field(default_factory=dict)
    budgets: Mapping[str, BudgetSettings] = field(default_factory=dict)
    """Every agent's daily caps, in config order."""
    awaiting: Sequence[FinishedTask] = ()
    polls: Sequence[OpenPoll] = ()


def due_day(now: float, at: tuple[int, int], zone: str) -> str | None:
    """The local day whose digest is due at `now` ("2026-12-04"), or None before `at`."""
    local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(zone))
    return local.date().isoformat() if (local.hour, local.minute) >= at else None


def local_days(now: float, zone: str) -> tuple[str, str]:
    """(yesterday, today) as the usage records name local days."""
    today = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(zone)).date()
    return (today - timedelta(days=1)).isoformat(), today.isoformat()


def render_digest(facts: DigestFacts) -> str:
    zone = ZoneInfo(facts.zone)
    since = datetime.fromtimestamp(facts.since, UTC).astimezone(zone)
    until = datetime.fromtimestamp(facts.until, UTC).astimezone(zone)
    lines = [f"📋 Digest, {until:%a %d %b %H:%M} (since {since:%a %d %b %H:%M})"]
    lines += _tasks(facts)
    ok, bad = facts.commands.get("ok", 0), facts.commands.get("failed", 0)
    lines.append(
        f"Commands run: {ok + bad}" + (f" ({bad} failed)" if bad else "")
        if ok + bad
        else "Commands run: none"
    )
    lines.append(_spend(facts))
    lines.append(_budget_left(facts))
    lines += _waiting(facts)
    return "\n".join(lines)


def _tasks(facts: DigestFacts) -> list[str]:
    if not facts.done and not facts.failed:
        return ["Tasks: none finished"]
    lines = [f"Tasks: {len(facts.done)} done, {len(facts.failed)} failed"]
    for mark, tasks in (("✅", facts.done), ("❌", facts.failed)):
        lines += [f"  {mark} #{t.id} {_short(t.mission)}" for t in tasks[:LISTED]]
        if len(tasks) > LISTED:
            lines.append(f"  … and {len(tasks) - LISTED} more")
    return lines


def _spend(facts: DigestFacts) -> str:
    label = f"Spend {facts.spent_day}" if facts.spent_day else "Spend"
    spent = {a: t for a, t in facts.spent.items() if t.tokens or t.cost_usd}
    if not spent:
        return f"{label}: nothing"
    parts = [f"{a} ${t.cost_usd:.2f} ({t.tokens:,} tokens)" for a, t in spent.items()]
    total = sum(t.cost_usd for t in spent.values())
    return f"{label}: " + ", ".join(parts) + f"; total ${total:.2f}"


def _budget_left(facts: DigestFacts) -> str:
    parts = []
    for agent, caps in facts.budgets.items():
        used = facts.today.get(agent, UsageTotals(0, 0.0))
        left = []
        if caps.daily_cost_usd is not None:
            money = max(caps.daily_cost_usd - used.cost_usd, 0.0)
            left.append(f"${money:.2f} of ${caps.daily_cost_usd:.2f}")
        if caps.daily_tokens is not None:
            tokens = max(caps.daily_tokens - used.tokens, 0)
            left.append(f"{tokens:,} of {caps.daily_tokens:,} tokens")
        parts.append(f"{agent} " + (" and ".join(left) if left else "no cap"))
    return "Budget left today: " + ("; ".join(parts) if parts else "no agents")


def _waiting(facts: DigestFacts) -> list[str]:
    if not facts.awaiting and not facts.polls:
        return ["Nothing waits for you."]
    lines = ["Waiting for you:"]
    lines += [f"  • task #{t.id} awaits your approval: {_short(t.mission)}" for t in facts.awaiting]
    lines += [f"  • poll #{p.id} is open: {_short(p.question)}" for p in facts.polls]
    return lines


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MISSION_CHARS else flat[: MISSION_CHARS - 1] + "…"
