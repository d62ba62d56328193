"""The night envelopes in the store: one window at a time, revoked once, the morning
report marked sent once (compare-and-set) (its spend: tests/unit/test_usage_store.py);
and the morning report's text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.ids import RoomID, UserID
from bots.message import Reply
from bots.night.quiet import NightQuiet
from bots.night.report import NightItem, morning_report
from bots.store import Store
from bots.store.night import Envelope, NightStore, NightTask

NOW = 1_000_000.0
HOUR = 3600.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


async def _grant(night: NightStore, at: float = NOW, hours: float = 8) -> Envelope | None:
    return await night.grant(
        starts_at=at,
        ends_at=at + hours * HOUR,
        budget_usd=2.0,
        hosts=["local", "web-1"],
        allow_preset="readonly",
        allow_globs=["*"],
        granted_by="@master:test",
    )


async def test_a_granted_envelope_is_active_inside_its_window_only(store: Store) -> None:
    granted = await _grant(store.night)
    assert granted is not None
    assert granted.hosts == ("local", "web-1")
    assert await store.night.active(NOW - 1) is None
    assert await store.night.active(NOW) == granted
    assert await store.night.active(NOW + 8 * HOUR - 1) == granted
    assert await store.night.active(NOW + 8 * HOUR) is None


async def test_a_second_envelope_is_refused_while_one_is_active(store: Store) -> None:
    assert await _grant(store.night) is not None
    assert await _grant(store.night, at=NOW + HOUR) is None
    assert await _grant(store.night, at=NOW + 9 * HOUR) is not None


async def test_a_revoked_envelope_ends_at_once_and_is_reported_once(store: Store) -> None:
    granted = await _grant(store.night)
    assert granted is not None
    assert await store.night.unreported(NOW + HOUR) == []
    assert await store.night.revoke(granted.id, "@master:test", NOW + HOUR)
    assert not await store.night.revoke(granted.id, "@master:test", NOW + HOUR + 1)
    assert await store.night.active(NOW + HOUR + 1) is None
    [closed] = await store.night.unreported(NOW + HOUR + 1)
    assert closed.ended_at == NOW + HOUR
    assert await store.night.mark_reported(granted.id, "$report", NOW + HOUR + 2)
    assert not await store.night.mark_reported(granted.id, "$other", NOW + HOUR + 3)
    assert await store.night.unreported(NOW + 10 * HOUR) == []
    again = await store.night.get(granted.id)
    assert again is not None
    assert again.report_event == "$report"


async def test_an_envelope_that_ran_out_waits_for_its_report(store: Store) -> None:
    granted = await _grant(store.night, hours=1)
    assert granted is not None
    assert [e.id for e in await store.night.unreported(NOW + HOUR)] == [granted.id]


async def test_a_task_keeps_its_latest_plans_decision_and_the_held_ones_are_found(
    store: Store,
) -> None:
    granted = await _grant(store.night)
    assert granted is not None
    held = NightTask(granted.id, 7, "held", "step 1 runs on db-1", "$plan", NOW + 1)
    assert await store.night.note_task(held)
    assert not await store.night.note_task(held)  # the same plan again (a restart)
    assert await store.night.note_task(NightTask(granted.id, 8, "judge", "ok", "$p8", NOW))
    assert await store.night.tasks(granted.id) == [
        held,
        NightTask(granted.id, 8, "judge", "ok", "$p8", NOW),
    ]
    assert await store.night.held_in(7) == granted
    assert await store.night.held_in(8) is None
    fixed = NightTask(granted.id, 8, "held", "step 1 runs on db-1", "$p8-fix", NOW + 5)
    assert await store.night.note_task(fixed)  # a fix of task 8, held this time
    assert (await store.night.tasks(granted.id))[1] == fixed
    assert await store.night.held_in(8) == granted


def test_the_morning_report_lists_every_task_and_the_waiting_ones_with_their_steps() -> None:
    envelope = Envelope(1, NOW, NOW + 8 * HOUR, 2.0, ("local",), "readonly", ("*",), "@m:t")
    items = [
        NightItem(1, "check disks", "completed", approved_by_judge=True),
        NightItem(2, "check memory", "failed", approved_by_judge=True),
        NightItem(
            3,
            "clean tmp",
            "awaiting_approval",
            reason="step 1 (`rm -rf /tmp/x`) is not in tonight's allowlist",
            steps=(("local", "rm -rf /tmp/x"), ("local", "ls /tmp")),
        ),
        NightItem(4, "write a poem", "voting"),
    ]
    body, html = morning_report(envelope, items, 0.4217, "Asia/Seoul")
    assert body.splitlines()[0].startswith("🌅 Morning report — night #1, ")
    assert "✅ Done (1):\n• #1 check disks — approved by the judge" in body
    assert "❌ Failed (1):\n• #2 check memory" in body
    assert "⏳ Waiting for your approval — tap ✅ on each plan below (1):" in body
    assert "    local: rm -rf /tmp/x\n    local: ls /tmp" in body
    assert "… Still going (1):\n• #4 write a poem" in body
    assert body.endswith("Spent in the window: $0.42 of $2.00.")
    assert "<code>rm -rf /tmp/x</code>" in html


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


async def test_the_quiet_rule_sees_a_stopped_night_at_once_and_a_new_one_within_its_cache(
    store: Store,
) -> None:
    master = UserID("@master:test")
    loud = Reply(RoomID("!room:test"), "report", notice=False, mention=(master,))
    clock = Clock()
    quiet = NightQuiet(store.night, master, cache_seconds=5.0, clock=clock)
    assert await quiet.reply(loud) == loud  # by day
    granted = await _grant(store.night, at=NOW + 1)
    assert granted is not None
    clock.now = NOW + 2
    assert await quiet.reply(loud) == loud  # "no window" is trusted for 5 s
    clock.now = NOW + 5
    assert (await quiet.reply(loud)).notice
    assert await store.night.revoke(granted.id, master, NOW + 6)
    clock.now = NOW + 6
    assert await quiet.reply(loud) == loud  # a window is checked before each reply it quiets
