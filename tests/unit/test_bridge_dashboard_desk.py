"""The dashboard's desk on the coordinator's own engine (a recording room, the real store):
the overview of tasks, agents with what they spent today, rates over 7 and 30 days; the
form's task as the master's own order, once per key; logins; the live feed of the room."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bots.agents.budget import local_day
from bots.bridge.council import RoomCouncil
from bots.bridge.dashboard import BODY_CHARS, MasterDashboard, activity_item, rate_of
from bots.bridge.hosts import HostWatch
from bots.ids import EventID, RoomID, UserID
from bots.message import HistoryEntry, Message
from bridge.http.ports import ActivityItem, ApiError, Rate
from bridge.llm.base import Usage
from tests.support.task_engine import Bench, open_bench

ROOM = RoomID("!council:localhost")


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    engine = await open_bench(tmp_path)
    yield engine
    await engine.store.close()


def desk_of(bench: Bench) -> MasterDashboard:
    council = RoomCouncil({}, bench.store.tasks, bench.clock, settings=bench.settings)
    return MasterDashboard(
        bench.settings,
        bench.store,
        bench.service,
        council,
        ROOM,
        bench.bot.roster,
        HostWatch(bench.settings.execution.hosts, None),
        bench.clock,
    )


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        ((0, 0, 0, None), Rate(7, 0, 0, 0, None, None)),
        ((3, 1, 0, 60.0), Rate(7, 4, 3, 1, 0.75, 60.0)),
        ((0, 0, 2, None), Rate(7, 2, 0, 0, None, None)),
        ((1, 0, 5, 5.0), Rate(7, 6, 1, 0, 1.0, 5.0)),
    ],
    ids=["nothing finished", "some failed", "only cancelled", "cancelled do not count"],
)
def test_a_rate_counts_success_as_stats_does(
    figures: tuple[int, int, int, float | None], expected: Rate
) -> None:
    assert rate_of(7, *figures) == expected


@pytest.mark.parametrize(
    ("sender", "body", "shown_as", "shown"),
    [
        ("@claude:localhost", "hello", "Claude", "hello"),
        ("@stranger:localhost", "hi", "@stranger:localhost", "hi"),
        ("@gpt:localhost", "x" * 600, "GPT", "x" * (BODY_CHARS - 1) + "…"),
        ("@gpt:localhost", "y" * BODY_CHARS, "GPT", "y" * BODY_CHARS),
        (
            "@chavion:localhost",
            "Your dashboard: http://h/dashboard/login?once=q3Vw8sXk1T9mZbN2cR7yLp4eH6jA0dFg ok",
            "Chavion",
            "Your dashboard: http://h/[a dashboard login link] ok",
        ),
        ("@chavion:localhost", "#3 📋 Task #3 registered", "Chavion", "📋 Task #3 registered"),
    ],
    ids=[
        "an agent",
        "someone else",
        "long, trimmed",
        "just fits",
        "a link, as its kind",
        "the task's number said once",
    ],
)
async def test_a_message_is_a_feed_line_by_name(
    bench: Bench, sender: str, body: str, shown_as: str, shown: str
) -> None:
    message = Message(ROOM, EventID("$e"), UserID(sender), body, timestamp_ms=5_000)
    assert activity_item(message, bench.bot.roster, 3) == ActivityItem(5.0, shown_as, shown, 3)


async def test_the_forms_task_is_the_masters_order_once_per_key(bench: Bench) -> None:
    desk = desk_of(bench)
    view = await desk.create_task("Check the disks", "on every host", "high", "k1")
    again = await desk.create_task("Check the disks", "on every host", "high", "k1")
    assert again.id == view.id
    assert (view.title, view.description, view.priority) == (
        "Check the disks",
        "on every host",
        "high",
    )
    task = await bench.store.tasks.get(view.id)
    assert task is not None
    assert (task.requester, task.source) == (bench.settings.master_user_id, "dashboard")
    roots = [s for s in bench.matrix.sent if s.key == "dashboard/task/k1"]
    assert len(roots) == 1
    assert roots[0].body.startswith("📋 Master's order from the dashboard (high priority):")
    assert task.thread_root == roots[0].event_id
    other = await desk.create_task("Another", "", "medium", "k2")
    assert other.id != view.id


@pytest.mark.parametrize(
    ("title", "description", "priority", "field"),
    [
        ("", "x", "medium", "title"),
        ("two\nlines", "", "medium", "title"),
        ("ok", "", "urgent", "priority"),
        ("ok", "z" * 5000, "medium", "description"),
    ],
    ids=["no title", "two-line title", "unknown priority", "too long"],
)
async def test_a_bad_form_is_refused_naming_the_field_and_nothing_is_posted(
    bench: Bench, title: str, description: str, priority: str, field: str
) -> None:
    with pytest.raises(ApiError) as refused:
        await desk_of(bench).create_task(title, description, priority, "k")
    assert (refused.value.status, refused.value.field) == (400, field)
    assert bench.matrix.sent == []
    assert await bench.store.tasks.list(None, 10) == []


async def test_overview_shows_tasks_agents_spending_and_rates(bench: Bench) -> None:
    desk = desk_of(bench)
    first = await desk.create_task("First", "", "low", "a")
    second = await desk.create_task("Second", "", "medium", "b")
    day = local_day(datetime.fromtimestamp(bench.clock(), UTC), bench.settings.timezone)
    await bench.store.usage.record("gpt", "gpt-4.1", day, Usage(1000, 500), 0.25, None)
    await bench.store.usage.record("gpt", "gpt-4.1", day, Usage(10, 5), 0.05, None)
    await bench.store.usage.record("claude", "x", "2000-01-01", Usage(10, 5), 9.0, None)
    await bench.store.agent_models.set("claude", "claude-opus-4-1", "@master:localhost")
    seen = await desk.overview()
    assert [t.id for t in seen.tasks] == [second.id, first.id]
    agents = {a.name: a for a in seen.agents}
    assert set(agents) == {a.name for a in bench.settings.agents}
    assert agents["gpt"].spent_today == pytest.approx(0.30)
    assert agents["claude"].spent_today == 0.0
    assert agents["claude"].model == "claude-opus-4-1"
    assert not agents["gpt"].external
    assert [(r.days, r.finished) for r in seen.rates] == [(7, 0), (30, 0)]
    assert seen.zone == bench.settings.timezone
    assert seen.room_url == "https://matrix.to/#/!council:localhost"
    assert [h.reachable for h in seen.hosts] == [None] * len(bench.settings.execution.hosts)


async def test_logins_take_the_masters_token_or_a_link_once(bench: Bench) -> None:
    desk = desk_of(bench)
    token = await bench.store.dashboard_links.issue_master_token(1.0)
    link = await bench.store.dashboard_links.issue(bench.clock(), 600)
    agent = await bench.store.bridge_tokens.issue("manus", 1.0)
    assert await desk.login(token)
    assert await desk.login(token)
    assert await desk.login(link)
    assert not await desk.login(link)
    for wrong in ("", agent, "x" * 500):
        assert not await desk.login(wrong)


async def next_event(feed: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(anext(feed), 2)


async def test_the_feed_tells_of_room_messages_and_task_changes(bench: Bench) -> None:
    desk = desk_of(bench)
    feed = desk.feed()
    waiting = asyncio.ensure_future(next_event(feed))
    await asyncio.sleep(0)
    view = await desk.create_task("Watch", "", "medium", "w")
    assert (await waiting)["task"]["id"] == view.id
    coordinator = bench.settings.user_id(bench.settings.coordinator)
    task = await bench.store.tasks.get(view.id)
    assert task is not None
    assert task.thread_root is not None
    said = [
        Message(ROOM, EventID("$1"), UserID("@claude:localhost"), "partial", stream="partial"),
        Message(RoomID("!elsewhere:localhost"), EventID("$2"), UserID("@gpt:localhost"), "dm"),
        Message(
            ROOM,
            EventID("$3"),
            coordinator,
            f"#{view.id} moved",
            thread_root=task.thread_root,
            council={"task": view.id, "kind": "state"},
            timestamp_ms=7_000,
        ),
        Message(ROOM, EventID("$4"), UserID("@gpt:localhost"), "a plain word", timestamp_ms=8_000),
    ]
    for message in said:
        await desk.hear(message)
    got = [await next_event(feed) for _ in range(3)]
    assert got[0] == {
        "kind": "message",
        "at": 7.0,
        "sender": bench.settings.coordinator.display_name,
        "body": "moved",  # the row shows the task's number
        "task_id": view.id,
    }
    assert got[1]["kind"] == "task"
    assert got[1]["task"]["id"] == view.id
    assert got[2]["body"] == "a plain word"
    assert got[2]["task_id"] is None
    activity = (await desk.overview()).activity
    assert [a.body for a in activity] == ["moved", "a plain word"]
    await feed.aclose()  # type: ignore[attr-defined]


async def test_a_message_heard_again_is_one_line(bench: Bench) -> None:
    desk = desk_of(bench)
    message = Message(ROOM, EventID("$x"), UserID("@gpt:localhost"), "once")
    await desk.hear(message)
    await desk.hear(dataclasses.replace(message, body="once, whole"))
    assert [a.body for a in (await desk.overview()).activity] == ["once, whole"]


class Probed:
    """A runner answering every probe alike (the real one in the integration test)."""

    calls = 0

    async def run(self, host: str, command: str, *, timeout: float | None = None) -> Any:
        Probed.calls += 1
        raise OSError(f"{host} is away")


async def test_open_pages_are_told_of_hosts_and_agents_that_changed(bench: Bench) -> None:
    desk = desk_of(bench)
    desk._hosts = HostWatch(["web"], Probed(), bench.clock)
    stop = asyncio.Event()
    idle = asyncio.ensure_future(desk.watch(stop, every=0.01))
    await asyncio.sleep(0.05)
    assert Probed.calls == 0  # nobody listens: nothing is probed
    feed = desk.feed()
    first = asyncio.ensure_future(next_event(feed))
    await asyncio.sleep(0.05)
    host = await first
    assert (host["kind"], host["name"], host["reachable"]) == ("host", "web", False)
    agents = [await next_event(feed) for _ in bench.settings.agents]
    assert {a["kind"] for a in agents} == {"agent"}
    assert {a["name"] for a in agents} == {a.name for a in bench.settings.agents}
    day = local_day(datetime.fromtimestamp(bench.clock(), UTC), bench.settings.timezone)
    await bench.store.usage.record("gpt", "gpt-4.1", day, Usage(1, 1), 0.5, None)
    changed = await next_event(feed)  # only gpt's card changed; hosts are cached a minute
    assert (changed["kind"], changed["name"], changed["spent_today"]) == ("agent", "gpt", 0.5)
    stop.set()
    await asyncio.wait_for(idle, 2)
    await feed.aclose()  # type: ignore[attr-defined]


async def test_after_a_start_the_feed_begins_with_the_rooms_history(bench: Bench) -> None:
    desk = desk_of(bench)
    entries = [
        HistoryEntry(EventID("$h1"), UserID("@claude:localhost"), "Claude", "earlier", 1_000),
        HistoryEntry(EventID("$h2"), UserID("@someone:localhost"), "Someone", "hi", 2_000),
        HistoryEntry(EventID("$live"), UserID("@gpt:localhost"), "GPT", "live", 3_000),
    ]
    reads: list[int] = []

    async def history(
        room_id: RoomID, thread_root: EventID | None, limit: int
    ) -> list[HistoryEntry]:
        reads.append(limit)
        return entries

    bench.matrix.history = history  # type: ignore[method-assign]
    live = Message(ROOM, EventID("$live"), UserID("@gpt:localhost"), "live", timestamp_ms=3_000)
    await desk.hear(live)
    first = (await desk.overview()).activity
    assert [(a.sender, a.body) for a in first] == [
        ("Claude", "earlier"),
        ("Someone", "hi"),
        ("GPT", "live"),
    ]
    assert (await desk.overview()).activity == first
    assert reads == [50]
