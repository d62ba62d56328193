"""The seam between events read back after a gap and the sync page that revealed the gap."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bots.matrix.catch_up import joined


@dataclass
class Event:
    event_id: str


@pytest.mark.parametrize(
    ("missed", "page", "expected"),
    [
        ([], ["c", "d"], ["c", "d"]),
        (["a", "b"], ["c", "d"], ["a", "b", "c", "d"]),
        (["a", "b", "c"], ["c", "d"], ["a", "b", "c", "d"]),  # repeated at the seam
        (["a", "a"], [], ["a"]),
    ],
)
def test_read_back_events_come_first_and_once(
    missed: list[str], page: list[str], expected: list[str]
) -> None:
    out = joined([Event(e) for e in missed], [Event(e) for e in page])
    assert [e.event_id for e in out] == expected


def test_events_without_an_id_are_kept_in_place() -> None:
    odd = object()
    out = joined([Event("a"), odd], [Event("b")])
    assert out[1] is odd
    assert len(out) == 3
