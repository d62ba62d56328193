"""`!night …` read: forgiving about how hours and money are written, strict about what is
granted (configured hosts, a known preset), and every refusal shows a command that works."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from bots.errors import CommandError

EXAMPLE = "!night 8h budget $2 hosts local allow readonly"
MIN_SECONDS = 5 * 60
MAX_SECONDS = 24 * 3600
MAX_BUDGET_USD = 1000.0
STOP_WORDS = frozenset({"stop", "off", "end", "revoke", "cancel"})

_DURATION = re.compile(
    r"^(\d+(?:\.\d+)?)\s*(h|hr|hrs|hour|hours|시간|m|min|mins|minute|minutes|분)?$", re.I
)
_BUDGET = re.compile(r"^\$?\s*(\d+(?:\.\d+)?)\s*(?:\$|usd|dollars?|달러)?$", re.I)
_ALLOW = re.compile(r"\ballow\b", re.I)
_KEYWORDS = frozenset({"budget", "hosts", "host"})
_GLOB_CHARS = frozenset("*?[ ")


@dataclass(frozen=True)
class NightOrder:
    """A grant as typed: the window's length, its spend cap, hosts and allowlist."""

    seconds: float
    budget_usd: float
    hosts: tuple[str, ...]
    allow_preset: str | None
    allow_globs: tuple[str, ...]


NightArgs = NightOrder | Literal["show", "stop"]


def read_night(
    args: str, *, hosts: Collection[str], presets: Mapping[str, tuple[str, ...]]
) -> NightArgs:
    """`!night` (show), `!night stop`, or a grant; raises `CommandError` with an example."""
    text = args.strip()
    if not text:
        return "show"
    if text.lower() in STOP_WORDS:
        return "stop"
    allow_at = _ALLOW.search(text)
    if allow_at is None:
        raise _bad("say what may run: allow <preset> or allow <command globs>", presets)
    head, allow_text = text[: allow_at.start()], text[allow_at.end() :]
    words = head.split()
    duration: list[str] = []
    values: dict[str, list[str]] = {}
    current: list[str] = duration
    for word in words:
        key = word.lower()
        if key in _KEYWORDS:
            current = values.setdefault("hosts" if key == "host" else key, [])
            continue
        current.append(word)
    seconds = _seconds(" ".join(duration), presets)
    if "budget" not in values:
        raise _bad("give the night a spend cap: budget $2", presets)
    budget = _budget(" ".join(values["budget"]), presets)
    if "hosts" not in values:
        raise _bad("name the hosts it may touch: hosts local,web-1", presets)
    chosen = _hosts(" ".join(values["hosts"]), hosts, presets)
    preset, globs = _allow(allow_text, presets)
    return NightOrder(seconds, budget, chosen, preset, globs)


def _seconds(text: str, presets: Mapping[str, tuple[str, ...]]) -> float:
    found = _DURATION.match(text.strip())
    if found is None:
        raise _bad(f"start with how long: 8h or 90m (not {text.strip() or 'nothing'!r})", presets)
    amount = float(found.group(1))
    unit = (found.group(2) or "h").lower()
    seconds = amount * (60 if unit.startswith("m") or unit == "분" else 3600)
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise _bad("a night lasts from 5 minutes to 24 hours", presets)
    return seconds


def _budget(text: str, presets: Mapping[str, tuple[str, ...]]) -> float:
    found = _BUDGET.match(text.strip())
    if found is None:
        raise _bad(f"a budget is an amount in USD: $2, 2usd or 2.50 (not {text!r})", presets)
    amount = float(found.group(1))
    if amount > MAX_BUDGET_USD:
        raise _bad(f"a night's budget is at most ${MAX_BUDGET_USD:.0f}", presets)
    return amount


def _hosts(
    text: str, configured: Collection[str], presets: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    names = [n for n in re.split(r"[,\s]+", text.strip()) if n]
    if not names:
        raise _bad("name the hosts it may touch: hosts local,web-1", presets)
    if [n.lower() for n in names] == ["all"]:
        return tuple(configured)
    unknown = [n for n in names if n not in configured]
    if unknown:
        known = ", ".join(sorted(configured)) or "none"
        raise _bad(f"unknown host {unknown[0]!r}; the configured hosts are {known}", presets)
    return tuple(dict.fromkeys(names))


def _allow(text: str, presets: Mapping[str, tuple[str, ...]]) -> tuple[str | None, tuple[str, ...]]:
    cleaned = text.strip().strip("\"'`").strip()
    if not cleaned:
        raise _bad("say what may run after allow: a preset or command globs", presets)
    if cleaned in presets:
        return cleaned, presets[cleaned]
    globs = tuple(g.strip().strip("\"'`").strip() for g in cleaned.split(","))
    globs = tuple(g for g in globs if g)
    if len(globs) == 1 and not _GLOB_CHARS & set(globs[0]):
        raise _bad(f"unknown preset {globs[0]!r}", presets)
    if not globs:
        raise _bad("say what may run after allow: a preset or command globs", presets)
    return None, globs


def _bad(what: str, presets: Mapping[str, tuple[str, ...]]) -> CommandError:
    names = ", ".join(sorted(presets)) or "none"
    return CommandError(
        f"{what[0].upper()}{what[1:]}. For example: {EXAMPLE} "
        f'(presets: {names}; or a list: allow "df *, uptime")'
    )
