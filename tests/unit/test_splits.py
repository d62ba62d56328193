"""Divide and merge, the pure rules: which missions list several jobs, the planner's split as
models write it (and exactly what is wrong when it is not usable), who does each part, the
parts' plans as one, and the lines the master reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from bots.tasks.lenient_json import MAX_DECODE_TRIES
from bots.tasks.plans import Plan, Step
from bots.tasks.splits import (
    MAX_SCANNED_CHARS,
    Candidate,
    Part,
    Split,
    SplitError,
    assign,
    combined_plan,
    looks_split,
    merge_ask_line,
    parse_split,
    part_ask_line,
    part_failed_line,
    parts_block,
    reassign,
    resolve_agent,
    split_line,
)

# --- looks_split ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mission", "split"),
    [
        ("1. search the prices\n2. analyse them\n3. write a summary", True),
        ("Please:\n1) search the prices\n2) write a summary", True),
        ("- search the prices\n- write a summary", True),
        ("* check web-1\n* check web-2", True),
        ("• 가격 검색\n• 요약 작성", True),
        ("① 가격 검색\n② 분석\n③ 요약", True),
        ("1) search prices 2) analyse them 3) write it up", True),
        ("① 검색 ② 분석 ③ 요약", True),
        ("Search the prices, then analyse them, then write a summary", True),
        ("search prices and then compare them and then write it up", True),
        ("가격을 검색하고, 그 다음 분석하고, 그 다음 요약해줘", True),
        ("가격을 검색한 뒤 분석한 후 요약해줘", True),
        ("백업 후 업데이트 후 재시작해줘", True),
        ("검색하고 나서 분석하고 나서 요약해줘", True),
        ("check the logs, next clean them, then restart nginx", True),
        # One job, or two joined plainly: the council handles it as usual.
        ("check disk and restart nginx", False),
        ("restart nginx then check the logs", False),
        ("disk 1.5 GB left on web-1, clean it", False),
        ("upgrade to version 1.2 and restart", False),
        ("디스크 정리하고 nginx 재시작해줘", False),
        ("check the next release and then deploy it", False),
        ("오후 3시에 nginx 재시작 후 로그 확인해줘", False),
        ("- only one item here", False),
        ("What is 2-1? Explain", False),
        ("", False),
    ],
)
def test_looks_split(mission: str, split: bool) -> None:
    assert looks_split(mission) is split


# --- parse_split ------------------------------------------------------------------------------

TWO = Split((Part(1, "Search prices"), Part(2, "Write summary")))

FENCED = """I would split it like this:

```json
{
  "parts": [
    {"title": "Search prices", "detail": "three vendors", "agent": "Perplexity"},
    {"title": "Clean logs", "agent": "gpt", "commands": true},
    {"title": "Write summary", "agent": "writer"}
  ],
  "merger": "Claude"
}
```

Each part can run at the same time."""

FENCED_SPLIT = Split(
    (
        Part(1, "Search prices", "three vendors", suggested="Perplexity"),
        Part(2, "Clean logs", commands=True, suggested="gpt"),
        Part(3, "Write summary", suggested="writer"),
    ),
    merger="Claude",
)

KOREAN = """분담안입니다.
{"parts": [{"title": "가격 검색", "agent": "퍼플렉시티"}, {"제목": "요약 작성", "담당": "클로드"}],
 "merger": "클로드"}"""

KOREAN_SPLIT = Split(
    (Part(1, "가격 검색", suggested="퍼플렉시티"), Part(2, "요약 작성", suggested="클로드")),
    merger="클로드",
)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (FENCED, FENCED_SPLIT),
        ('{"parts": [{"title": "Search prices"}, {"title": "Write summary"}]}', TWO),
        ('Here it is: ["Search prices", "Write summary"] — done.', TWO),
        ('[{"title": "Search prices"}, {"name": "Write summary"}]', TWO),
        ('{"subtasks": [{"task": "Search prices"}, {"title": "Write summary"}]}', TWO),
        ('{"split": {"parts": ["Search prices", "Write summary"], "merged_by": "gpt"}}', None),
        (
            '{"parts": [{"title": "Search prices",}, {"title": "Write summary"},], '
            '"merger": "gpt",}',
            Split(TWO.parts, "gpt"),
        ),
        (
            'Hosts ["web-1"] aside, {"parts": ["Search prices", "Write summary"]}',
            TWO,
        ),
        (KOREAN, KOREAN_SPLIT),
        (
            '{"parts": [{"title": "  Search\\n  prices ", "detail": " d\\n e "}, '
            '{"title": "Write summary", "commands": "yes"}, {"title": "x", "commands": "no"}, '
            '{"title": "y", "commands": ["df -h"]}]}',
            Split(
                (
                    Part(1, "Search prices", "d\n e"),
                    Part(2, "Write summary", commands=True),
                    Part(3, "x"),
                    Part(4, "y", commands=True),
                )
            ),
        ),
    ],
)
def test_parse_split_reads_what_models_write(answer: str, expected: Split | None) -> None:
    found = parse_split(answer, max_parts=6)
    if expected is None:  # nested: the parts and the merger named next to them
        expected = Split(TWO.parts, "gpt")
    assert found == expected


@pytest.mark.parametrize(
    ("answer", "telling"),
    [
        ("I would not split this task.", "No split found"),
        ('{"parts": []}', "no parts"),
        ("[]", "no parts"),
        ('{"parts": ["Do everything"]}', "only 1 part"),
        ('{"parts": ["a", "b", "c", "d"]}', "4 parts; at most 3"),
        ('{"parts": [{"detail": "no title"}, {"title": "fine"}]}', "part 1 has no title"),
        ('{"parts": [{"title": "fine"}, {"title": "  "}, 3]}', "part 2 has no title"),
        ('{"parts": [{"title": "fine"}, {"title": "ok"}, 3]}', "part 3 is a number"),
        ('{"parts": ["ok", "' + "t" * 301 + '"]}', "part 2's title is 301 characters"),
        (
            '{"parts": ["ok", {"title": "t", "detail": "' + "d" * 4001 + '"}]}',
            "part 2's detail is 4,001 characters",
        ),
        ("x" * 50_001, "characters long"),
    ],
)
def test_parse_split_says_what_is_wrong(answer: str, telling: str) -> None:
    found = parse_split(answer, max_parts=3)
    assert isinstance(found, SplitError)
    assert telling in found.text
    if telling != "characters long":
        assert '"parts"' in found.text or "Join" in found.text, found.text


# --- who does what -----------------------------------------------------------------------------

CLAUDE = Candidate("claude", "Claude", "writer", ("클로드",))
GPT = Candidate("gpt", "GPT", "judging reviewer")
GEMINI = Candidate("gemini", "Gemini", "analyst")
PERPLEXITY = Candidate("perplexity", "Perplexity", "research", ("pplx", "퍼플렉시티"))
COUNCIL = (CLAUDE, GPT, GEMINI, PERPLEXITY)
KIM = Candidate("kim", "Kim", "검색 담당")


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("claude", "claude"),
        ("Claude", "claude"),
        ("CLAUDE.", "claude"),
        ("@gpt:example.org", "gpt"),
        ("클로드", "claude"),
        ("PPLX", "perplexity"),
        ("research", "perplexity"),
        ("Writer", "claude"),
        ("nobody", None),
        ("", None),
        (None, None),
    ],
)
def test_resolve_agent(word: str | None, name: str | None) -> None:
    assert resolve_agent(word, COUNCIL) == name


def parts(*titles: str, suggested: str | None = None) -> list[Part]:
    return [Part(n, t, suggested=suggested) for n, t in enumerate(titles, start=1)]


@pytest.mark.parametrize(
    ("split", "ranking", "expected"),
    [
        # The planner's word wins, by name, display name, alias or role.
        (
            [
                Part(1, "a", suggested="GPT"),
                Part(2, "b", suggested="pplx"),
                Part(3, "c", suggested="analyst"),
            ],
            [],
            ["gpt", "perplexity", "gemini"],
        ),
        # Role words in the title or detail ("researcher" ~ "research", "write" ~ "writer").
        (
            [
                Part(1, "Research the vendors' prices"),
                Part(2, "Write the summary"),
                Part(3, "Review the summary"),
                Part(4, "Prices", detail="an analysis of the prices"),
            ],
            [],
            ["perplexity", "claude", "gpt", "gemini"],
        ),
        # A specialist gets every part of its specialty.
        (
            parts("Research prices", "Research the sources"),
            ["gpt"],
            ["perplexity", "perplexity"],
        ),
        # No fit: the best by ranking, then spreading to the least loaded.
        (
            parts("one", "two", "three"),
            ["gemini", "gpt", "claude", "perplexity"],
            ["gemini", "gpt", "claude"],
        ),
        (
            parts("a", "b", "c", "d", "e", "f"),
            ["gpt", "claude"],
            ["gpt", "claude", "gemini", "perplexity", "kim", "gpt"],
        ),
        # An unknown suggestion falls back to the rules.
        (parts("one", "two", suggested="llama"), ["claude"], ["claude", "gpt"]),
        # Korean role words match inside words.
        (
            [Part(1, "가격 검색해서 정리")],
            [],
            ["kim"],
        ),
    ],
)
def test_assign(split: list[Part], ranking: list[str], expected: list[str]) -> None:
    assert assign(split, (*COUNCIL, KIM), ranking) == expected


def test_assign_without_candidates_gives_nobody() -> None:
    assert assign(parts("a", "b"), (), []) == []


@pytest.mark.parametrize(
    ("part", "tried", "load", "expected"),
    [
        (Part(1, "Write the summary"), {"claude"}, {}, "gpt"),
        (Part(1, "Research prices"), {"perplexity"}, {"gpt": 2, "claude": 1}, "gemini"),
        (Part(1, "Review it"), {"claude"}, {"gpt": 5}, "gpt"),  # the role still fits
        (Part(1, "x"), {"claude", "gpt", "gemini", "perplexity"}, {}, None),
    ],
)
def test_reassign(part: Part, tried: set[str], load: dict[str, int], expected: str | None) -> None:
    ranking = ["claude", "gpt", "gemini", "perplexity"]
    assert reassign(part, tried, COUNCIL, ranking, load) == expected


# --- the parts' plans as one -------------------------------------------------------------------


def test_combined_plan_keeps_part_order_and_names_the_parts() -> None:
    a = Step("web-1", "apt-get clean", "free space")
    b = Step("web-1", "df -h")
    c = Step("web-2", "systemctl restart nginx", parallel=True)
    plan = combined_plan(
        [
            (Part(3, "Restart nginx", commands=True), Plan((c,), "restart")),
            (Part(1, "Clean disk", commands=True), Plan((a, b), "clean up")),
            (Part(2, "Nothing to run", commands=True), Plan((), "")),
        ]
    )
    assert plan.steps == (a, b, c)
    assert plan.summary == (
        "Part 1 (Clean disk): clean up; Part 2 (Nothing to run); Part 3 (Restart nginx): restart"
    )


# --- texts -------------------------------------------------------------------------------------

SPLIT = (Part(1, "Search prices"), Part(2, "Clean logs", commands=True), Part(3, "Summary"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            split_line(12, SPLIT, ["Perplexity", "GPT", "Claude"], "Claude"),
            "#12 ✂️ Split into 3 parts; Claude merges:\n"
            "1. Search prices → Perplexity\n"
            "2. Clean logs → GPT (commands, for your approval)\n"
            "3. Summary → Claude",
        ),
        (
            part_ask_line(12, SPLIT[0], 3, "Perplexity", 300),
            "#12 🧩 Asking Perplexity for part 1 of 3: Search prices (5 min).",
        ),
        (
            part_ask_line(12, SPLIT[1], 3, "GPT", 300),
            "#12 🧩 Asking GPT for a plan for part 2 of 3: Clean logs (5 min).",
        ),
        (
            part_failed_line(12, SPLIT[0], "Perplexity", "no answer\nwithin 5 min", "Gemini"),
            "#12 ⚠️ Part 1 (Search prices): Perplexity — no answer within 5 min; given to Gemini.",
        ),
        (
            part_failed_line(12, SPLIT[0], "Gemini", "", None),
            "#12 ⚠️ Part 1 (Search prices): Gemini — no reason given; it stays missing.",
        ),
        (
            merge_ask_line(12, "Claude", 3, 0, 300),
            "#12 🔗 Asking Claude to merge the 3 parts into one result (5 min).",
        ),
        (
            merge_ask_line(12, "Claude", 3, 1, 120),
            "#12 🔗 Asking Claude to merge the 2 parts done into one result; 1 part is missing "
            "(2 min).",
        ),
        (
            merge_ask_line(12, "Claude", 4, 2, 120),
            "#12 🔗 Asking Claude to merge the 2 parts done into one result; 2 parts are "
            "missing (2 min).",
        ),
    ],
)
def test_lines(text: str, expected: str) -> None:
    assert text == expected


@dataclass(frozen=True)
class Row:
    n: int
    title: str
    agent: str
    tried: tuple[str, ...]
    status: str
    why: str = ""


def test_parts_block_says_who_did_what_and_what_is_missing() -> None:
    rows = [
        Row(2, "Analyse", "claude", ("gemini", "claude"), "done"),
        Row(1, "Search prices", "perplexity", ("perplexity",), "done"),
        Row(3, "Review", "gpt", ("claude", "gpt"), "missing", "no answer within 5 min"),
        Row(4, "Translate", "gemini", ("gemini",), "asked"),
    ]
    displays = {"claude": "Claude", "gemini": "Gemini", "perplexity": "Perplexity"}
    assert parts_block(rows, displays) == (
        "Parts:\n"
        "1. Search prices — Perplexity ✅\n"
        "2. Analyse — Claude (reassigned from Gemini) ✅\n"
        "3. Review — gpt (reassigned from Claude) ❌ missing: no answer within 5 min\n"
        "4. Translate — Gemini ⏳ working"
    )


@dataclass
class DecodeWork:
    """What the JSON decoder was asked to do: starts tried, characters read by them."""

    tries: int = 0
    chars: int = 0


@pytest.fixture
def decode_work(monkeypatch: pytest.MonkeyPatch) -> DecodeWork:
    """Counts every decode attempt (`JSONDecoder.raw_decode`) and how far each one read: the
    work of reading an answer, the same on any machine."""
    work = DecodeWork()
    decode = json.JSONDecoder.raw_decode

    def counted(self: json.JSONDecoder, s: str, idx: int = 0) -> tuple[Any, int]:
        work.tries += 1
        try:
            value, end = decode(self, s, idx)
        except json.JSONDecodeError as exc:
            work.chars += exc.pos - idx
            raise
        except RecursionError:
            work.chars += len(s) - idx  # as the scan counts it: all the rest
            raise
        work.chars += end - idx
        return value, end

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counted)
    return work


@pytest.mark.parametrize(
    "answer",
    ['{"a": ' * 8_000, '["x", ' * 8_000, "[" * 40_000, '{"parts": [' * 4_000],
    ids=["objects", "lists", "brackets", "parts"],
)
def test_an_answer_of_unclosed_brackets_is_read_quickly(
    answer: str, decode_work: DecodeWork
) -> None:
    """Bounded work, not a quadratic scan: two passes at most (the trailing-comma retry),
    each trying at most `MAX_DECODE_TRIES` starts and reading at most `MAX_SCANNED_CHARS`
    (plus the one try that crosses it). Without them "objects" reads 84M characters."""
    assert isinstance(parse_split(answer, max_parts=6), SplitError)
    assert decode_work.tries <= 2 * MAX_DECODE_TRIES
    assert decode_work.chars <= 2 * (MAX_SCANNED_CHARS + len(answer))
