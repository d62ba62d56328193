"""Agents' records: the kind of a mission (a table, English and Korean), the counting of
votes won, plans that worked and cost a task (a table of small councils), the store's facts
read from real task tables, and `!stats` saying them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bots.coordinator.task_stats import render_records
from bots.ids import EventID, RoomID, UserID
from bots.store import Store
from bots.store.tasks import Answer
from bots.tasks.kinds import TaskKind, task_kind
from bots.tasks.records import best_of, ranked_for, records

ROOM = RoomID("!council:localhost")
MASTER = UserID("@master:localhost")


@pytest.mark.parametrize(
    ("mission", "kind"),
    [
        ("report disk usage of web-1", "disk"),
        ("free some space on /var", "disk"),
        ("check the inodes of /data", "disk"),
        ("the disks are full, clean up old logs", "disk"),  # disk comes before logs
        ("웹1 디스크 용량 확인해줘", "disk"),
        ("upgrade nginx on web-1", "update"),
        ("apt update && apt upgrade on every host", "update"),
        ("install htop", "update"),
        ("웹서버에 htop 설치", "update"),
        ("패키지 업데이트 해줘", "update"),
        ("restart nginx", "deploy"),
        ("deploy the new release to web-2", "deploy"),
        ("the api container keeps restarting", "deploy"),
        ("nginx 재시작", "deploy"),
        ("새 버전 배포해줘", "deploy"),
        ("show the last 50 lines of the nginx error log", "logs"),
        ("monitor cpu load on web-1", "logs"),
        ("journalctl since boot", "logs"),
        ("로그에서 에러 찾아봐", "logs"),
        ("research the best backup tool for postgres", "research"),
        ("compare caddy and nginx", "research"),
        ("postgres 백업 도구 조사", "research"),
        ("write a summary of yesterday's incident", "writing"),
        ("what is our uptime policy?", "logs"),  # uptime is a monitoring word
        ("why is the sky blue?", "writing"),
        ("회의록 요약해줘", "writing"),
        ("translate this into Korean", "writing"),
        ("ping the team", "other"),
        ("", "other"),
        ("dump the database", "other"),  # du is a whole word, not a prefix of dump
        ("design a logo for the team", "other"),  # log is a whole word (logs, logged), not logo
    ],
)
def test_the_kind_of_a_mission(mission: str, kind: TaskKind) -> None:
    assert task_kind(mission) == kind


@dataclass(frozen=True)
class Facts:
    mission: str
    state: str
    winner: str | None = None
    plan_author: str | None = None
    voted: bool = False
    proposers: frozenset[str] = frozenset()
    costs: Mapping[str, float] = field(default_factory=dict)


DISK = "report disk usage"
DEPLOY = "restart nginx"
BOTH = frozenset({"claude", "gpt"})


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ([], {}),
        (
            [
                Facts(
                    DISK, "completed", "claude", "claude", True, BOTH, {"claude": 0.02, "gpt": 0.01}
                )
            ],
            {
                "claude": [(None, 1, 1, 1, 1, 1, 0.02), ("disk", 1, 1, 1, 1, 1, 0.02)],
                "gpt": [(None, 1, 0, 0, 0, 1, 0.01), ("disk", 1, 0, 0, 0, 1, 0.01)],
            },
        ),
        (  # one proposal: no vote, but the plan and the cost count
            [Facts(DEPLOY, "failed", "gpt", "gpt", False, frozenset({"gpt"}), {"gpt": 0.04})],
            {"gpt": [(None, 0, 0, 1, 0, 1, 0.04), ("deploy", 0, 0, 1, 0, 1, 0.04)]},
        ),
        (  # cancelled: the plan is neither a success nor a failure
            [Facts(DEPLOY, "cancelled", "gpt", "gpt", True, BOTH, {})],
            {
                "claude": [(None, 1, 0, 0, 0, 0, 0.0), ("deploy", 1, 0, 0, 0, 0, 0.0)],
                "gpt": [(None, 1, 1, 0, 0, 0, 0.0), ("deploy", 1, 1, 0, 0, 0, 0.0)],
            },
        ),
        (  # two kinds: the overall record first, then the kinds in their order
            [
                Facts(DEPLOY, "completed", "claude", "claude", True, BOTH, {"claude": 0.03}),
                Facts(DISK, "completed", "gpt", "claude", True, BOTH, {"claude": 0.01}),
            ],
            {
                "claude": [
                    (None, 2, 1, 2, 2, 2, 0.04),
                    ("disk", 1, 0, 1, 1, 1, 0.01),
                    ("deploy", 1, 1, 1, 1, 1, 0.03),
                ],
                "gpt": [
                    (None, 2, 1, 0, 0, 0, 0.0),
                    ("disk", 1, 1, 0, 0, 0, 0.0),
                    ("deploy", 1, 0, 0, 0, 0, 0.0),
                ],
            },
        ),
    ],
)
def test_records_count_votes_won_plans_that_worked_and_cost(
    facts: list[Facts], expected: dict[str, list[tuple[object, ...]]]
) -> None:
    found = records(facts)
    assert {
        agent: [
            (r.kind, r.votes, r.won, r.plans, r.succeeded, r.tasks, round(r.cost, 6)) for r in rs
        ]
        for agent, rs in found.items()
    } == expected


def test_records_are_said_compactly_with_rates_overall() -> None:
    found = records(
        [
            Facts(DEPLOY, "completed", "claude", "claude", True, BOTH, {"claude": 0.03}),
            Facts(DISK, "failed", "claude", "claude", True, BOTH, {"claude": 0.01, "gpt": 0.02}),
        ]
    )
    assert render_records(found, {"claude": "Claude", "gpt": "GPT"}) == (
        "Records (votes won · plans that worked · cost a task):\n"
        "• Claude: won 2/2 votes (100%) · 1/2 plans worked (50%) · $0.0200 a task\n"
        "  ◦ disk/storage: won 1/1 votes · 0/1 plans worked · $0.0100 a task\n"
        "  ◦ deploy/restart: won 1/1 votes · 1/1 plans worked · $0.0300 a task\n"
        "• GPT: won 0/2 votes (0%) · $0.0200 a task\n"
        "  ◦ disk/storage: won 0/1 votes · $0.0200 a task\n"
        "  ◦ deploy/restart: won 0/1 votes"
    )
    assert render_records({}, {}) == ""


# ---- the store's facts --------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "s.db")
    yield opened
    await opened.close()


async def test_the_store_reads_each_tasks_facts_since_a_time(store: Store) -> None:
    tasks = store.tasks

    async def order(mission: str, key: str, now: float) -> int:
        task, _ = await tasks.create(
            intake_key=key,
            room_id=ROOM,
            thread_root=EventID(key),
            mission=mission,
            priority="medium",
            requester=MASTER,
            source="matrix",
            now=now,
        )
        return task.id

    old = await order("long ago", "$0", 10.0)
    voted = await order(DISK, "$1", 100.0)
    await tasks.move(voted, "pending", "discussing", actor="c", reason="r", now=101)
    await tasks.move(voted, "discussing", "voting", actor="c", reason="r", now=102)
    await tasks.move(voted, "voting", "planning", actor="c", reason="r", now=103, winner="gpt")
    alone = await order(DEPLOY, "$2", 100.0)
    for n, (task, agent, stage, status, cost) in enumerate(
        [
            (voted, "claude", "propose", "ok", 0.01),
            (voted, "gpt", "propose", "ok", 0.02),
            (voted, "gpt", "plan", "ok", 0.03),
            (voted, "gemini", "propose", "failed", 0.0),
            (alone, "gpt", "propose", "ok", 0.05),
            (old, "claude", "propose", "ok", 9.0),
        ]
    ):
        await tasks.add_answer(
            Answer(
                task, f"t{task}-{stage}-1", agent, stage, status, "…", None, 100.0 + n, cost=cost
            )
        )
    facts = await store.task_records.facts(50.0)
    assert [
        (f.mission, f.state, f.winner, f.voted, sorted(f.proposers), dict(f.costs)) for f in facts
    ] == [
        (
            DISK,
            "planning",
            "gpt",
            True,
            ["claude", "gpt"],
            {"claude": 0.01, "gpt": 0.05, "gemini": 0.0},
        ),
        (DEPLOY, "pending", None, False, ["gpt"], {"gpt": 0.05}),
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # gpt's disk plan worked, claude's failed; gemini's 1/1 overall ties gpt's on plans
        # and votes, but gpt has a record on disk tasks
        ("disk", ["gpt", "gemini", "claude"]),
        ("deploy", ["gemini", "claude", "gpt"]),  # two worked: the cheaper first; gpt's failed
        ("logs", ["gemini", "claude", "gpt"]),  # no one has a logs record: overall
    ],
)
def test_agents_ranked_for_a_kind_of_task(kind: TaskKind, expected: list[str]) -> None:
    found = records(
        [
            Facts(DISK, "completed", "gpt", "gpt", True, BOTH, {"gpt": 0.02}),
            Facts(DISK, "failed", "claude", "claude", True, BOTH, {"claude": 0.01}),
            Facts(DEPLOY, "completed", "claude", "claude", False, frozenset(), {"claude": 0.01}),
            Facts(DEPLOY, "failed", "gpt", "gpt", False, frozenset(), {"gpt": 0.01}),
            Facts(DEPLOY, "completed", "gemini", "gemini", False, frozenset(), {"gemini": 0.001}),
        ]
    )
    assert ranked_for(kind, found) == expected


@pytest.mark.parametrize(
    ("candidates", "limit", "expected"),
    [
        # disk: gpt ranks first, then gemini, then claude; local has no record
        (("claude", "gpt", "gemini", "local"), 2, ["gpt", "gemini"]),
        (("claude", "gpt", "gemini", "local"), 3, ["claude", "gpt", "gemini"]),
        (("local", "claude"), 1, ["claude"]),  # a record, even a poor one, before none
        (("local", "mistral"), 1, ["local"]),  # no records: the candidates' own order
        (("claude", "gpt"), 0, []),
    ],
    ids=["two-best", "kept-in-config-order", "record-first", "no-records", "none"],
)
def test_the_best_participants_by_their_records(
    candidates: tuple[str, ...], limit: int, expected: list[str]
) -> None:
    found = records(
        [
            Facts(DISK, "completed", "gpt", "gpt", True, BOTH, {"gpt": 0.02}),
            Facts(DISK, "failed", "claude", "claude", True, BOTH, {"claude": 0.01}),
            Facts(DEPLOY, "completed", "gemini", "gemini", False, frozenset(), {"gemini": 0.001}),
        ]
    )
    assert best_of(candidates, "disk", found, limit) == expected
