"""The critique round and the hybrid outcome as pure rules: a critique is one line per other
option however a model writes it, its own option and prose are no critique, `KEEP` keeps a
proposal, a close vote names its runners-up, and the master reads who gave which part."""

from __future__ import annotations

import pytest

from bots.tasks.critiques import (
    Critique,
    by_option,
    close_call,
    close_vote_line,
    credit_source,
    parse_critique,
    parse_revision,
    parts_from_line,
    revised_line,
)
from bots.tasks.plans import Credit, Plan, parse_plan, plan_digest, plan_json, read_credits

KEYS = ("A", "B", "C")


@pytest.mark.parametrize(
    ("text", "own", "expected"),
    [
        (
            "B: too slow on big disks\nC: forgets the inodes",
            "A",
            {"B": "too slow on big disks", "C": "forgets the inodes"},
        ),
        (
            "- Option B — too slow\n- Option C: no rollback",
            "A",
            {"B": "too slow", "C": "no rollback"},
        ),
        ("(B) too slow\n(c) no rollback", "A", {"B": "too slow", "C": "no rollback"}),
        ("B) too slow\nC. no rollback", "A", {"B": "too slow", "C": "no rollback"}),
        ("**B**: too slow\n* **C** - no rollback", "A", {"B": "too slow", "C": "no rollback"}),
        ("B안: 너무 느림\nC안 - 롤백 없음", "A", {"B": "너무 느림", "C": "롤백 없음"}),
        ("Proposal B is too slow", "A", {"B": "is too slow"}),
        ("Here are my critiques:\n\nB: too slow\n\nOverall A is best.", "A", {"B": "too slow"}),
        ("A: mine is great\nB: too slow", "A", {"B": "too slow"}),
        ("B: first\nB: second", "A", {"B": "first"}),
        ("D: not on the ballot\nB: too slow", "A", {"B": "too slow"}),
        ("C: no rollback\nB: too slow", "A", {"B": "too slow", "C": "no rollback"}),
        ("a) a list item\nb) another", "A", {}),
        ("A good plan overall. I would vote for it.", "B", {}),
        ("I think they are all fine.", "A", {}),
        ("", "A", {}),
        ("B:", "A", {}),
        ("B: " + "x" * 400, "A", {"B": "x" * 299 + "…"}),
    ],
    ids=[
        "colon",
        "option-dash",
        "parentheses",
        "letter-bracket-and-dot",
        "bold",
        "korean-an",
        "proposal-word",
        "prose-around",
        "own-ignored",
        "first-wins",
        "unknown-key",
        "ballot-order",
        "lower-case-list-is-no-key",
        "article-a",
        "garbage",
        "empty",
        "empty-line",
        "clipped",
    ],
)
def test_a_critique_is_read_one_line_per_other_option(
    text: str, own: str, expected: dict[str, str]
) -> None:
    assert parse_critique(text, KEYS, own) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gemini: no rollback", {"B": "no rollback"}),
        ("- GPT's proposal — too broad", {"C": "too broad"}),
        ("gemini - no rollback", {"B": "no rollback"}),
        ("Claude: mine", {}),
    ],
)
def test_without_anonymity_a_line_may_name_the_author(text: str, expected: dict[str, str]) -> None:
    authors = {"A": ("claude", "Claude"), "B": ("gemini", "Gemini"), "C": ("gpt", "GPT")}
    assert parse_critique(text, KEYS, "A", authors) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KEEP", None),
        ("keep.", None),
        ("**KEEP** — the critiques change nothing", None),
        ("No change.", None),
        ("유지", None),
        ("", None),
        ("   \n  ", None),
        ("REVISED\nRun df -h and df -i.\nCOMMANDS: yes", "Run df -h and df -i.\nCOMMANDS: yes"),
        ("**REVISED**\n\nRun df -h and df -i.", "Run df -h and df -i."),
        ("Revised: Run df -i too.", "Run df -i too."),
        ("REVISED", None),
        ("Run df -h and df -i on local.", "Run df -h and df -i on local."),
        ("수정안\ndf -i도 본다", "df -i도 본다"),
        ("Keeping it short: run df -i too.", "Keeping it short: run df -i too."),
    ],
)
def test_a_revision_replaces_the_proposal_unless_it_keeps_it(
    text: str, expected: str | None
) -> None:
    assert parse_revision(text) == expected


def test_critiques_are_gathered_per_option_in_ballot_order() -> None:
    parsed = {"claude": {"B": "slow", "C": "risky"}, "gpt": {"C": "no rollback"}, "gemini": {}}
    assert by_option(parsed, KEYS) == {
        "B": [Critique("claude", "slow")],
        "C": [Critique("claude", "risky"), Critique("gpt", "no rollback")],
    }


@pytest.mark.parametrize(
    ("counts", "winner", "margin", "expected"),
    [
        ({"A": 2, "B": 1.5, "C": 1}, "A", None, []),
        ({"A": 2, "B": 1.5, "C": 1}, "A", 0.5, ["B"]),
        ({"A": 2, "B": 1.5, "C": 1}, "A", 1.0, ["B", "C"]),
        ({"A": 2, "B": 1, "C": 1}, "A", 1.0, ["B", "C"]),
        ({"A": 3, "B": 1}, "A", 1.0, []),
        ({"A": 1, "B": 0, "C": 0}, "A", 1.0, []),
        ({"A": 0.3, "B": 0.2}, "A", 0.1, ["B"]),
        ({}, "A", 1.0, []),
    ],
    ids=[
        "never",
        "one-within",
        "two-within",
        "equal-runners-by-key",
        "clear-win",
        "no-votes-no-runner-up",
        "float-margin-exact",
        "no-counts",
    ],
)
def test_a_close_vote_names_the_runners_up(
    counts: dict[str, float], winner: str, margin: float | None, expected: list[str]
) -> None:
    assert close_call(counts, winner, margin) == expected


def test_the_lines_the_master_reads() -> None:
    counts = {"A": 2.0, "B": 1.5, "C": 1.0}
    assert close_vote_line(12, counts, "A", "Claude", ["B", "C"]) == (
        "#12 ⚖️ Close vote (2 to 1.5): Claude's plan takes in the best of B and C."
    )
    assert revised_line(12, ["B"]) == "#12 ✏️ Revised: B; the ballot carries the revisions."
    assert revised_line(12, []).startswith("#12 ✏️ Every proposal stays as it was")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("B", "Gemini (B)"),
        ("b", "Gemini (B)"),
        ("(B)", "Gemini (B)"),
        ("Option B", "Gemini (B)"),
        ("gemini", "Gemini (B)"),
        ("Someone else", "Someone else"),
    ],
)
def test_a_credit_names_the_author_and_the_option(source: str, expected: str) -> None:
    assert credit_source(source, {"B": "Gemini", "C": "GPT"}) == expected


def test_the_report_says_which_parts_came_from_whom() -> None:
    credits = [("B", "the backup step"), ("GPT", "the  log\ncheck"), ("", "nobody"), ("C", "")]
    assert parts_from_line(credits, {"B": "Gemini", "C": "GPT"}) == (
        "Parts from: Gemini (B) — the backup step; GPT (C) — the log check; GPT (C)"
    )
    assert parts_from_line([], {"B": "Gemini"}) == ""


PLAN = '{"summary": "s", "steps": [{"host": "local", "command": "df -h"}], "credits": %s}'


@pytest.mark.parametrize(
    ("credits", "expected"),
    [
        ('[{"from": "B", "part": "the backup step"}]', (Credit("B", "the backup step"),)),
        ('[{"source": "Gemini", "what": "the backup"}]', (Credit("Gemini", "the backup"),)),
        ('[{"option": "C", "steps": [2, 3]}]', (Credit("C", "2, 3"),)),
        ('["B: the backup step"]', (Credit("B", "the backup step"),)),
        ('[{"part": "no source"}, 7, null]', ()),
        ('"B"', ()),
        ("null", ()),
    ],
)
def test_a_plan_keeps_its_credits_leniently(credits: str, expected: tuple[Credit, ...]) -> None:
    plan = parse_plan(PLAN % credits, hosts=["local"], max_steps=5)
    assert isinstance(plan, Plan)
    assert plan.credits == expected


def test_credits_are_no_part_of_the_digest_and_survive_the_stored_json() -> None:
    plan = parse_plan(PLAN % '[{"from": "B", "part": "x"}]', hosts=["local"], max_steps=5)
    bare = parse_plan(PLAN % "[]", hosts=["local"], max_steps=5)
    assert isinstance(plan, Plan)
    assert isinstance(bare, Plan)
    assert plan_digest(plan) == plan_digest(bare)
    assert '"credits"' not in plan_json(bare)
    again = parse_plan(plan_json(plan), hosts=["local"], max_steps=5)
    assert isinstance(again, Plan)
    assert again.credits == plan.credits
    assert read_credits([{"from": "B", "part": "y" * 500}])[0].part.endswith("…")
