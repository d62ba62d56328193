"""Reading an order: the mission, an optional leading priority, refusals; task references."""

from __future__ import annotations

import pytest

from bots.tasks.intake import (
    EXAMPLE,
    TaskOrder,
    TaskRefusal,
    parse_priority,
    parse_task_ref,
    parse_task_text,
)

LIMIT = 100


@pytest.mark.parametrize(
    ("args", "mission", "priority"),
    [
        pytest.param(
            "report disk usage of web-1", "report disk usage of web-1", "medium", id="plain"
        ),
        pytest.param("  report disk usage  ", "report disk usage", "medium", id="spaces around"),
        pytest.param("high: fix nginx", "fix nginx", "high", id="prio colon"),
        pytest.param("HIGH: fix nginx", "fix nginx", "high", id="any case"),
        pytest.param("low:fix nginx", "fix nginx", "low", id="no space after the colon"),
        pytest.param("medium : fix nginx", "fix nginx", "medium", id="space before the colon"),
        pytest.param("[high] fix nginx", "fix nginx", "high", id="brackets"),
        pytest.param("[ low ] fix nginx", "fix nginx", "low", id="brackets with spaces"),
        pytest.param("[high]: fix nginx", "fix nginx", "high", id="brackets and a colon"),
        pytest.param("긴급: nginx 재시작", "nginx 재시작", "high", id="Korean urgent"),
        pytest.param("보통: 디스크 확인", "디스크 확인", "medium", id="Korean normal"),
        pytest.param("낮음: 로그 정리", "로그 정리", "low", id="Korean low"),
        pytest.param("high：fix nginx", "fix nginx", "high", id="full-width colon"),
        pytest.param("high fix nginx", "high fix nginx", "medium", id="bare word is the mission"),
        pytest.param(
            "low disk space on web-1: investigate",
            "low disk space on web-1: investigate",
            "medium",
            id="a mission that starts with a priority word",
        ),
        pytest.param(": report uptime", "report uptime", "medium", id="a left-over colon"),
        pytest.param("high: fix: nginx", "fix: nginx", "high", id="only the first colon"),
        pytest.param(
            "check\nweb-1 and\nweb-2", "check\nweb-1 and\nweb-2", "medium", id="lines are kept"
        ),
        pytest.param("a\x00b", "ab", "medium", id="NUL is dropped"),
        pytest.param("x" * LIMIT, "x" * LIMIT, "medium", id="exactly at the limit"),
    ],
)
def test_an_order_is_read(args: str, mission: str, priority: str) -> None:
    assert parse_task_text(args, max_chars=LIMIT) == TaskOrder(mission, priority)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "order"),
    [
        pytest.param(
            "split: search, analyse, write",
            TaskOrder("search, analyse, write", mode="split"),
            id="split",
        ),
        pytest.param("[split] x", TaskOrder("x", mode="split"), id="split in brackets"),
        pytest.param("분담: 조사", TaskOrder("조사", mode="split"), id="Korean split"),
        pytest.param("high: split: do", TaskOrder("do", "high", "split"), id="priority then split"),
        pytest.param("split: high: do", TaskOrder("do", "high", "split"), id="split then priority"),
        pytest.param("critique: x", TaskOrder("x", critique=True), id="critique on"),
        pytest.param("no critique: x", TaskOrder("x", critique=False), id="critique off"),
        pytest.param("[no  critique] x", TaskOrder("x", critique=False), id="spaces inside"),
        pytest.param("비평 없이: x", TaskOrder("x", critique=False), id="Korean critique off"),
        pytest.param(
            "split: critique: low: x", TaskOrder("x", "low", "split", True), id="all three"
        ),
        pytest.param("split: split: x", TaskOrder("split: x", mode="split"), id="a word once"),
        pytest.param("high: low: x", TaskOrder("low: x", "high"), id="one priority"),
        pytest.param("splits are cheap", TaskOrder("splits are cheap"), id="bare word"),
        pytest.param(
            "critique high: x", TaskOrder("critique high: x"), id="no colon after the way"
        ),
    ],
)
def test_the_way_to_work_may_lead(args: str, order: TaskOrder) -> None:
    assert parse_task_text(args, max_chars=LIMIT) == order


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param("", ["no mission", EXAMPLE], id="empty"),
        pytest.param("   \n ", ["no mission", "after the colon"], id="blank"),
        pytest.param("high:", ["no mission"], id="only a priority"),
        pytest.param("[low]   ", ["no mission"], id="only a bracketed priority"),
        pytest.param("긴급:", ["no mission"], id="only a Korean priority"),
        pytest.param(
            "x" * (LIMIT + 1),
            ["101 characters", "limit is 100", "tasks.max_mission_chars", "summary", "file"],
            id="oversized",
        ),
        pytest.param("high: " + "y" * 5000, ["5,000 characters"], id="the mission is measured"),
    ],
)
def test_a_refusal_says_what_to_send_instead(args: str, says: list[str]) -> None:
    refusal = parse_task_text(args, max_chars=LIMIT)
    assert isinstance(refusal, TaskRefusal)
    for part in says:
        assert part in refusal.text


@pytest.mark.parametrize(
    ("args", "ref"),
    [
        ("12", 12),
        ("#12", 12),
        ("  #7 ", 7),
        ("007", 7),
        ("#1", 1),
        ("0", None),
        ("#", None),
        ("", None),
        ("-3", None),
        ("12a", None),
        ("12 reason", None),
        ("# 12", None),
        ("1.5", None),
        ("９", None),  # full-width digits are not a reference
        (str(2**53), None),  # beyond canonical JSON's integers
        (str(2**53 - 1), 2**53 - 1),
    ],
)
def test_a_task_reference(args: str, ref: int | None) -> None:
    assert parse_task_ref(args) == ref


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("high", "high"),
        (" Medium ", "medium"),
        ("LOW", "low"),
        ("긴급", "high"),
        ("보통", "medium"),
        ("낮음", "low"),
        ("urgent", None),
        ("", None),
    ],
)
def test_a_priority_word(text: str, priority: str | None) -> None:
    assert parse_priority(text) == priority
