"""The daily digest: when it is due (local time, once per day) and how it reads."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bots.health.digest import DigestFacts, OpenPoll, due_day, local_days, render_digest
from bots.settings.model import BudgetSettings
from bots.store.digests import FinishedTask
from bots.store.usage import UsageTotals

SEOUL = "Asia/Seoul"


def at(text: str, zone: str = SEOUL) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


DUE = [
    ("before the hour", "2026-12-04 06:59", (7, 0), None),
    ("at the hour", "2026-12-04 07:00", (7, 0), "2026-12-04"),
    ("later that day", "2026-12-04 23:30", (7, 0), "2026-12-04"),
    ("just after midnight", "2026-12-05 00:10", (7, 0), None),
    ("a midnight digest", "2026-12-05 00:00", (0, 0), "2026-12-05"),
]


@pytest.mark.parametrize(("local", "hour", "day"), [c[1:] for c in DUE], ids=[c[0] for c in DUE])
def test_due_day(local: str, hour: tuple[int, int], day: str | None) -> None:
    assert due_day(at(local), hour, SEOUL) == day


def test_days_are_local() -> None:
    # 23:30 UTC on the 3rd is 08:30 on the 4th in Seoul
    assert local_days(at("2026-12-03 23:30", "UTC"), SEOUL) == ("2026-12-03", "2026-12-04")


def task(number: int, state: str, mission: str) -> FinishedTask:
    return FinishedTask(number, state, mission, at("2026-12-04 02:00"))


BASE = DigestFacts(since=at("2026-12-03 07:00"), until=at("2026-12-04 07:00"), zone=SEOUL)
FULL = DigestFacts(
    since=BASE.since,
    until=BASE.until,
    zone=SEOUL,
    done=[task(12, "completed", "back up the database"), task(14, "completed", "rotate logs")],
    failed=[task(13, "failed", "upgrade nginx")],
    commands={"ok": 12, "failed": 2},
    spent_day="2026-12-03",
    spent={"claude": UsageTotals(12_300, 0.42), "gpt": UsageTotals(4_000, 0.1)},
    today={"claude": UsageTotals(1_000, 0.25)},
    budgets={
        "claude": BudgetSettings(daily_cost_usd=1.0),
        "gpt": BudgetSettings(daily_tokens=50_000),
        "local": BudgetSettings(),
    },
    awaiting=[task(15, "awaiting_approval", "clean /var/tmp")],
    polls=[OpenPoll(3, "Which backup tool?")],
)

RENDERED = [
    (
        "a quiet day",
        BASE,
        [
            "📋 Digest, Fri 04 Dec 07:00 (since Thu 03 Dec 07:00)",
            "Tasks: none finished",
            "Commands run: none",
            "Spend: nothing",
            "Budget left today: no agents",
            "Nothing waits for you.",
        ],
    ),
    (
        "a busy day",
        FULL,
        [
            "📋 Digest, Fri 04 Dec 07:00 (since Thu 03 Dec 07:00)",
            "Tasks: 2 done, 1 failed",
            "  ✅ #12 back up the database",
            "  ✅ #14 rotate logs",
            "  ❌ #13 upgrade nginx",
            "Commands run: 14 (2 failed)",
            "Spend 2026-12-03: claude $0.42 (12,300 tokens), gpt $0.10 (4,000 tokens); total $0.52",
            "Budget left today: claude $0.75 of $1.00; gpt 50,000 of 50,000 tokens; local no cap",
            "Waiting for you:",
            "  • task #15 awaits your approval: clean /var/tmp",
            "  • poll #3 is open: Which backup tool?",
        ],
    ),
]


@pytest.mark.parametrize(
    ("facts", "lines"), [c[1:] for c in RENDERED], ids=[c[0] for c in RENDERED]
)
def test_render(facts: DigestFacts, lines: list[str]) -> None:
    assert render_digest(facts).splitlines() == lines


def test_long_lists_are_cut() -> None:
    many = [task(n, "completed", "x" * 100) for n in range(13)]
    text = render_digest(DigestFacts(BASE.since, BASE.until, SEOUL, done=many))
    assert "  … and 3 more" in text
    assert text.count("✅") == 10
    assert max(len(line) for line in text.splitlines()) < 80
