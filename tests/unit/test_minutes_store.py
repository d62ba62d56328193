"""The minutes store on a real file: one record per task, many per room for discussions,
the full-text index kept with the row (prefix words, Korean too), newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.store import Store
from bots.store.minutes import MinutesRecord, fts_query

ROOM = RoomID("!council:hs")
OTHER = RoomID("!other:hs")
T0 = 1_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


async def task(store: Store, key: str) -> int:
    created, _ = await store.tasks.create(
        intake_key=key,
        room_id=ROOM,
        thread_root=EventID(key),
        mission=f"mission {key}",
        priority="medium",
        requester=UserID("@master:hs"),
        source="matrix",
        now=T0,
    )
    return created.id


async def add(
    store: Store, text: str, *, task_id: int | None = None, room: RoomID = ROOM, at: float = T0
) -> tuple[MinutesRecord, bool]:
    return await store.minutes.add(
        task_id=task_id,
        room_id=room,
        thread_root=None,
        text=text,
        status="Done: —",
        author="gpt",
        event_id=EventID(f"$m{at}"),
        now=at,
    )


async def test_a_tasks_minutes_are_stored_once(store: Store) -> None:
    n = await task(store, "$a")
    first, created = await add(store, "first minutes", task_id=n)
    again, created_again = await add(store, "second minutes", task_id=n)
    assert (created, created_again) == (True, False)
    assert again == first
    assert await store.minutes.for_task(n) == first
    assert await store.minutes.for_task(n + 1) is None
    assert (first.task_id, first.text, first.status, first.author) == (
        n,
        "first minutes",
        "Done: —",
        "gpt",
    )


async def test_discussions_are_many_and_recent_lists_newest_first(store: Store) -> None:
    n = await task(store, "$a")
    await add(store, "talk one", at=T0)
    await add(store, "talk two", at=T0 + 10)
    await add(store, "elsewhere", room=OTHER, at=T0 + 20)
    await add(store, "task minutes", task_id=n, at=T0 + 30)
    assert [m.text for m in await store.minutes.recent(ROOM)] == [
        "task minutes",
        "talk two",
        "talk one",
    ]
    talks = await store.minutes.recent(ROOM, discussions_only=True, limit=1)
    assert [m.text for m in talks] == ["talk two"]
    assert len(await store.minutes.recent()) == 4


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("nginx", ["nginx restart failed; fixed by reloading"]),
        ("NGINX reload", ["nginx restart failed; fixed by reloading"]),
        ("upgr", ["apt-get upgrade on web-1 done"]),
        ("web-1", ["apt-get upgrade on web-1 done"]),
        ("디스크", ["디스크가 가득 차서 apt clean 으로 정리했다"]),
        ("디스크 정리", ["디스크가 가득 차서 apt clean 으로 정리했다"]),
        ("apt", ["apt-get upgrade on web-1 done", "디스크가 가득 차서 apt clean 으로 정리했다"]),
        ("nothing-like-it", []),
        ('" OR text:*', []),
        ("", []),
    ],
    ids=[
        "a-word",
        "all-words-any-case",
        "a-prefix",
        "a-hyphen",
        "korean-with-a-particle",
        "korean-two-words",
        "several-matches",
        "no-match",
        "operators-are-words",
        "empty",
    ],
)
async def test_search(store: Store, query: str, found: list[str]) -> None:
    for at, text in enumerate(
        [
            "nginx restart failed; fixed by reloading",
            "apt-get upgrade on web-1 done",
            "디스크가 가득 차서 apt clean 으로 정리했다",
        ]
    ):
        await add(store, text, at=T0 + at)
    assert sorted(m.text for m in await store.minutes.search(query)) == sorted(found)


async def test_the_status_report_is_searchable_too(store: Store) -> None:
    await add(store, "minutes")
    assert [m.text for m in await store.minutes.search("done")] == ["minutes"]


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("disk full", '"disk"* AND "full"*'),
        ('say "hi"', '"say"* AND "hi"*'),
        ("   ", ""),
        (" ".join(str(n) for n in range(12)), " AND ".join(f'"{n}"*' for n in range(8))),
    ],
)
def test_a_query_is_quoted_prefix_words(query: str, match: str) -> None:
    assert fts_query(query) == match


async def test_minutes_survive_reopening(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await add(store, "kept across restarts")
    async with await Store.open(tmp_path / "s.db") as store:
        assert [m.text for m in await store.minutes.search("restarts")] == ["kept across restarts"]


async def ask(store: Store, command: str, ask_id: str, deadline: float = T0 + 180) -> bool:
    _, created = await store.minutes.ask(
        ask=ask_id,
        command_event=EventID(command),
        room_id=ROOM,
        thread_root=None,
        root=EventID(command),
        scribe="gpt",
        head="🗒️ Minutes of the discussion (1 message with Master)",
        facts=("Who said what:", "- Master (1): 디스크 정리"),
        lines=("Master: 디스크 정리",),
        deadline=deadline,
        now=T0,
    )
    return created


async def open_ids(store: Store, now: float | None) -> list[str]:
    return [a.ask for a in await store.minutes.open_asks(now)]


async def test_a_discussions_ask_is_kept_until_its_minutes_are(store: Store) -> None:
    minutes = store.minutes
    assert await ask(store, "$cmd1", "d1-minutes")
    assert not await ask(store, "$cmd1", "d2-minutes"), "one ask per command"
    found = await minutes.ask_of(command=EventID("$cmd1"))
    assert found is not None
    assert (found.ask, found.facts, found.lines) == (
        "d1-minutes",
        ("Who said what:", "- Master (1): 디스크 정리"),
        ("Master: 디스크 정리",),
    )
    assert await minutes.ask_of(ask="d1-minutes") == found
    assert await ask(store, "$cmd2", "d3-minutes", deadline=T0 + 60)
    # Due on the tick: never sent, answered, or past the deadline; at start: all open.
    assert await open_ids(store, T0) == ["d3-minutes", "d1-minutes"]
    assert await minutes.ask_sent("d1-minutes", EventID("$ask1"))
    assert await minutes.ask_sent("d3-minutes", EventID("$ask3"))
    assert not await minutes.ask_sent("d1-minutes", EventID("$other"))
    assert await open_ids(store, T0) == []
    assert await open_ids(store, T0 + 60) == ["d3-minutes"]
    assert await minutes.answered("d1-minutes", answer="Talked about disks.", problem=None)
    assert not await minutes.answered("d1-minutes", answer=None, problem="late"), "kept once"
    assert await open_ids(store, T0) == ["d1-minutes"]
    assert await open_ids(store, None) == ["d3-minutes", "d1-minutes"]

    first, created = await store.minutes.add(
        task_id=None,
        room_id=ROOM,
        thread_root=None,
        text="the whole",
        status="",
        author="gpt",
        event_id=EventID("$post"),
        now=T0 + 1,
        ask="d1-minutes",
    )
    again, created_again = await store.minutes.add(
        task_id=None,
        room_id=ROOM,
        thread_root=None,
        text="written twice",
        status="",
        author="gpt",
        event_id=EventID("$post"),
        now=T0 + 2,
        ask="d1-minutes",
    )
    assert (created, created_again, again) == (True, False, first)
    done = await minutes.ask_of(ask="d1-minutes")
    assert done is not None
    assert done.minutes_id == first.id
    assert not await minutes.answered("d1-minutes", answer="late", problem=None)
    assert await open_ids(store, None) == ["d3-minutes"]
    assert [m.text for m in await minutes.recent(ROOM)] == ["the whole"]
