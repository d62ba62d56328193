"""The health state machine: a subject goes bad after `confirm` bad readings in a row,
comes back on its first good one, and only those two moves are changes to tell."""

from __future__ import annotations

import pytest

from bots.health.states import Reading, judge
from bots.store.health import HealthState

NOW = 1_000.0


def run(readings: str, confirm: int) -> list[str | None]:
    """Feeds "b"/"g" readings in order; the change each one made."""
    standing: HealthState | None = None
    changes: list[str | None] = []
    for index, mark in enumerate(readings):
        judged = judge(standing, Reading("host:web", mark == "b", mark), NOW + index, confirm)
        standing = judged.standing
        changes.append(judged.change)
    return changes


CASES = [
    ("all good says nothing", "gggg", 2, [None, None, None, None]),
    ("one flap is not an outage", "gbgg", 2, [None, None, None, None]),
    ("two bad in a row: down once", "gbbbb", 2, [None, None, "bad", None, None]),
    ("down then back", "bbgg", 2, [None, "bad", "ok", None]),
    ("flapping bad-good never confirms", "bgbgbg", 2, [None] * 6),
    ("confirm 1: the first bad reading", "bg", 1, ["bad", "ok"]),
    ("confirm 3 needs three", "bbgbbb", 3, [None, None, None, None, None, "bad"]),
    ("a second episode is a second change", "bbgbb", 2, [None, "bad", "ok", None, "bad"]),
]


@pytest.mark.parametrize(
    ("readings", "confirm", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_changes(readings: str, confirm: int, expected: list[str | None]) -> None:
    assert run(readings, confirm) == expected


def test_a_change_counts_the_episode_and_dates_it() -> None:
    first = judge(None, Reading("disk:web:/", True, "95%"), NOW, 1)
    assert (first.standing.state, first.standing.changes, first.standing.since) == ("bad", 1, NOW)
    back = judge(first.standing, Reading("disk:web:/", False, "80%"), NOW + 60, 1)
    assert (back.standing.state, back.standing.changes, back.standing.since) == (
        "ok",
        2,
        NOW + 60,
    )
    assert back.standing.detail == "80%"
    assert not back.standing.told  # alerted is the store's to mark, once the message is out
