"""The lessons' store on a real SQLite file: the FTS5 query a mission becomes (a table, with
Korean particles and FTS syntax in the words), what a mission finds (Korean and English,
related and unrelated), one lesson per task, the index kept in step on delete, the record
of lessons used, and an upgrade from a v7 store."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bots.ids import EventID, RoomID, UserID
from bots.store import Store, statements
from bots.store.lesson_query import match_query, query_words, strip_particle
from bots.store.lessons import PRUNE_FROM
from bots.store.migrations import STEPS

T0 = 1_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "s.db") as opened:
        yield opened


# --- the query ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("web-1의 디스크 정리", '"web-1"* OR "디스크"* OR "정리"*'),
        ("web-1 디스크를 정리해줘", '"web-1"* OR "디스크"* OR "정리"*'),
        ("nginx에서 로그 삭제해주세요", '"nginx"* OR "로그"* OR "삭제"*'),
        ("apt upgrade on web-1", '"apt"* OR "upgrade"* OR "web-1"*'),
        ("Restart NGINX, restart nginx", '"restart"* OR "nginx"*'),  # lower-cased, once each
        ('say "hi" NEAR(a b) x* -y ^z col:w', '"say"* OR "hi"* OR "near"* OR "col"*'),
        ('"" OR AND NOT *** NEAR', '"near"*'),  # and/or/not are stop words; NEAR a word
        ("the a 좀 해줘 1 의", ""),  # nothing worth searching
        ("", ""),
        ("db.example.com:5432/x", '"db.example.com"* OR "5432"*'),  # one token each
        ("apt-get on web-1. web-1의", '"apt-get"* OR "web-1"*'),
    ],
)
def test_a_mission_becomes_a_quoted_or_query(text: str, query: str) -> None:
    assert match_query(text) == query


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("web-1의", "web-1"),
        ("디스크를", "디스크"),
        ("서버에서는", "서버"),
        ("정리해주세요", "정리"),
        ("디스크", "디스크"),  # ends in no particle
        ("nginx", "nginx"),
        ("의", "의"),  # a particle alone stays (and is then too short to search)
    ],
)
def test_a_korean_particle_or_ending_is_stripped(word: str, stem: str) -> None:
    assert strip_particle(word) == stem


def test_a_long_mission_searches_its_first_distinct_words() -> None:
    words = query_words(" ".join(f"word{n}" for n in range(100)))
    assert words == [f"word{n}" for n in range(24)]


@pytest.mark.parametrize(
    "text",
    ['"', '""', "*", "NEAR", "-", "^", ":", "(", ")", "a:b", 'x" OR "y', "NEAR(x y, 2)", "_ __"],
)
async def test_no_text_is_read_as_fts_syntax(store: Store, text: str) -> None:
    await store.lessons.add(1, mission="x y a:b", outcome="completed", text="near", now=T0)
    await store.lessons.similar(text, 3)  # no StoreError (an FTS syntax error would be one)
    await store.lessons.search(text, 3)


# --- what a mission finds ------------------------------------------------------------------

STORED = {
    1: ("web-1 디스크 정리", "apt clean 으로 /var/cache 비움. apt upgrade 실패 (No space left)"),
    2: ("nginx 설정 확인 후 reload", "nginx -t 통과, systemctl reload nginx"),
    3: ("db-2 백업 스크립트 실행", "/opt/backup.sh 성공"),
    4: ("Restart the nginx service on web-2 after a config change", "systemctl restart nginx"),
    5: ("web-1의 디스크가 가득 참", "journalctl --vacuum-size=100M 로 해결"),
    6: ("인증서 갱신", "certbot renew"),
    7: ("로그 삭제", "find /var/log -name '*.gz' -delete"),
}


@pytest.mark.parametrize(
    ("mission", "found", "first"),
    [
        ("web-1의 디스크 정리", {1, 5}, 1),
        ("web-1 디스크 정리해줘", {1, 5}, 1),
        ("디스크 용량", {1, 5}, None),
        ("nginx를 재시작", {2, 4}, None),
        ("restart nginx", {2, 4}, 4),
        ("백업해줘 db-2", {3}, 3),
        ("인증서를 갱신해줘", {6}, 6),
        ("오래된 로그를 삭제", {7}, 7),  # two-character words (a trigram index misses them)
        ("upgrade packages on web-1", {1, 5}, None),
        ("rotate the redis keys", set(), None),  # unrelated: nothing
    ],
)
async def test_a_mission_finds_the_lessons_that_share_its_words(
    store: Store, mission: str, found: set[int], first: int | None
) -> None:
    for task_id, (stored, text) in STORED.items():
        await store.lessons.add(task_id, mission=stored, outcome="completed", text=text, now=T0)
    similar = await store.lessons.similar(mission, 10)
    assert {lesson.task_id for lesson in similar} == found
    if first is not None:
        assert similar[0].task_id == first


async def test_the_mission_weighs_more_than_a_mention_in_the_text(store: Store) -> None:
    await store.lessons.add(1, mission="clean /tmp", outcome="completed", text="nginx", now=T0)
    await store.lessons.add(2, mission="restart nginx", outcome="completed", text="ok", now=T0)
    assert [lesson.task_id for lesson in await store.lessons.similar("nginx", 5)] == [2, 1]


async def test_the_lessons_with_all_the_telling_words_come_first(store: Store) -> None:
    add = store.lessons.add
    await add(1, mission="nginx reload on web-1", outcome="completed", text="", now=T0)
    await add(2, mission="nginx restart on web-2", outcome="completed", text="", now=T0)
    await add(3, mission="web-1 disk", outcome="completed", text="restart nginx", now=T0)
    await add(4, mission="cron on web-3", outcome="completed", text="", now=T0)
    found = await store.lessons.similar("restart nginx on web-1", 10)
    assert [lesson.task_id for lesson in found] == [3, 2, 1]  # all three words, then two


async def test_a_word_most_lessons_share_is_left_out_of_a_big_store(store: Store) -> None:
    for n in range(1, PRUNE_FROM + 1):
        mission = "web-1 certbot renew" if n == 7 else f"web-1 job{n}"
        await store.lessons.add(n, mission=mission, outcome="completed", text="", now=T0)
    # "web-1" is in every lesson: only the certbot lesson is alike.
    assert [x.task_id for x in await store.lessons.similar("web-1 certbot", 5)] == [7]
    # Alone it still finds (the rarest word always stays).
    assert len(await store.lessons.similar("web-1", 5)) == 5


# --- records ------------------------------------------------------------------------------


async def test_one_lesson_per_task_whatever_the_calls(store: Store) -> None:
    lessons = store.lessons
    first = await lessons.add(7, mission="m", outcome="failed", text="first", now=T0)
    again = await lessons.add(7, mission="m", outcome="completed", text="second", now=T0 + 1)
    assert first == again
    lesson = await lessons.get(first)
    assert lesson is not None
    assert (lesson.task_id, lesson.outcome, lesson.text, lesson.created_at) == (
        7,
        "failed",
        "first",
        T0,
    )
    assert await lessons.of_task(7) == lesson
    assert await lessons.of_task(8) is None


async def test_the_own_task_is_never_its_own_lesson(store: Store) -> None:
    await store.lessons.add(1, mission="clean disk", outcome="completed", text="", now=T0)
    await store.lessons.add(2, mission="clean disk", outcome="completed", text="", now=T0)
    found = await store.lessons.similar("clean disk", 5, exclude_task=2)
    assert [lesson.task_id for lesson in found] == [1]


async def test_limits_and_the_newest_first(store: Store) -> None:
    for n in range(1, 6):
        await store.lessons.add(n, mission=f"disk {n}", outcome="completed", text="", now=T0 + n)
    assert [lesson.task_id for lesson in await store.lessons.recent(3)] == [5, 4, 3]
    assert len(await store.lessons.similar("disk", 2)) == 2
    assert await store.lessons.similar("disk", 0) == []
    assert [lesson.task_id for lesson in await store.lessons.search("disk", 10)] == [5, 4, 3, 2, 1]


async def test_forgetting_removes_the_lesson_and_its_index_entry(
    store: Store, tmp_path: Path
) -> None:
    kept = await store.lessons.add(1, mission="clean disk", outcome="completed", text="", now=T0)
    gone = await store.lessons.add(2, mission="clean disk", outcome="failed", text="", now=T0)
    assert await store.lessons.forget(gone)
    assert not await store.lessons.forget(gone)
    assert not await store.lessons.forget(999)
    assert await store.lessons.get(gone) is None
    assert [lesson.id for lesson in await store.lessons.similar("disk", 5)] == [kept]
    with sqlite3.connect(tmp_path / "s.db") as db:  # the index holds exactly the rows
        db.execute("INSERT INTO lessons_fts (lessons_fts) VALUES ('integrity-check')")


async def test_the_lessons_a_task_used_are_recorded_once(store: Store) -> None:
    task, _ = await store.tasks.create(
        intake_key="$k",
        room_id=RoomID("!r:hs"),
        thread_root=EventID("$k"),
        mission="m",
        priority="medium",
        requester=UserID("@master:hs"),
        source="matrix",
        now=T0,
    )
    assert await store.lessons.used(task.id) == []
    await store.lessons.record_used(task.id, [7, 3], T0)
    await store.lessons.record_used(task.id, [3], T0 + 1)
    await store.lessons.record_used(task.id, [], T0 + 2)
    assert await store.lessons.used(task.id) == [3, 7]


async def test_a_v7_store_upgrades_and_keeps_its_tasks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        for version, sql in STEPS:
            if version > 7:
                break
            for statement in statements(sql):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version={version}")
        await db.execute(
            "INSERT INTO tasks (intake_key, room_id, mission, priority, state, requester, "
            "source, created_at, updated_at) VALUES ('$k', '!r', 'm', 'medium', 'completed', "
            "'@m', 'matrix', 0, 0)"
        )
    async with await Store.open(path) as store:
        assert await store.schema_version() >= 8
        assert (await store.tasks.get(1)) is not None
        lesson = await store.lessons.add(
            1, mission="old disk", outcome="completed", text="", now=T0
        )
        assert [found.id for found in await store.lessons.similar("disk", 3)] == [lesson]
