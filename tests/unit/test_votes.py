"""Votes as models write them, and how they are counted.

Three proposals: A by Claude, B by GPT, C by Gemini. Each case is an answer and the option it
votes for (None: no vote, or not a clear one).
"""

from __future__ import annotations

import pytest

from bots.tasks.votes import (
    Option,
    Tally,
    parse_vote,
    self_vote_refused,
    tally,
    why_not_counted,
)

OPTIONS = (
    Option("A", "claude", ("Claude", "Anthropic")),
    Option("B", "gpt", ("GPT", "ChatGPT")),
    Option("C", "gemini", ("Gemini",)),
)


@pytest.mark.parametrize(
    ("answer", "key"),
    [
        # the answer is only the choice
        pytest.param("B", "B", id="letter"),
        pytest.param("b", "B", id="lower-case letter alone"),
        pytest.param("B.", "B", id="letter and full stop"),
        pytest.param("(B)", "B", id="letter in parentheses"),
        pytest.param("**B**", "B", id="bold letter"),
        pytest.param("2", "B", id="number"),
        pytest.param("2.", "B", id="number and full stop"),
        pytest.param("#3", "C", id="hash number"),
        pytest.param("Option B", "B", id="option B"),
        pytest.param("plan b", "B", id="plan b"),
        pytest.param("Ｂ", "B", id="full-width letter"),
        pytest.param("B안", "B", id="Korean B-plan"),
        pytest.param("2번", "B", id="Korean number 2"),
        # in a sentence
        pytest.param("I vote for plan B.", "B", id="vote for plan B"),
        pytest.param("I vote 2", "B", id="vote and a number"),
        pytest.param("Vote: c", "C", id="vote colon lower-case"),
        pytest.param("I choose option 3 because it has a rollback.", "C", id="choose option 3"),
        pytest.param("My vote: **Option C** because A lacks rollback", "C", id="markdown vote"),
        pytest.param("I pick GPT's proposal.", "B", id="author name"),
        pytest.param("Gemini's plan is the most thorough.", "C", id="author name alone"),
        pytest.param("ChatGPT has the safest approach", "B", id="alias"),
        pytest.param("I recommend proposal C.", "C", id="recommend proposal C"),
        pytest.param("The best one is B (GPT's).", "B", id="letter then its author"),
        pytest.param("B, because it checks the config first.", "B", id="letter first"),
        pytest.param("A since it has a rollback", "A", id="A then since"),
        pytest.param('{"vote": "B", "reason": "safer"}', "B", id="json"),
        pytest.param("I choose a safer approach: B", "B", id="the article a is not option A"),
        pytest.param("A good plan needs a rollback, so B.", "B", id="sentence starting with A"),
        # other options named too
        pytest.param("I think A is reasonable but I vote for C", "C", id="vote word wins"),
        pytest.param("B is my choice, A is too risky", "B", id="is my choice"),
        pytest.param("I prefer C over A", "C", id="over"),
        pytest.param("Plan B is better than plan A.", "B", id="better than"),
        pytest.param("B, not A", "B", id="not"),
        pytest.param("I don't like A. B it is.", "B", id="don't like"),
        pytest.param(
            "I cannot vote for my own proposal (A), so I vote B.", "B", id="cannot vote for own"
        ),
        pytest.param("I would not restart nginx today, I vote B", "B", id="a negation elsewhere"),
        pytest.param("Both A and B are fine, but I choose C", "C", id="both, but choose"),
        pytest.param("A good choice of tools in C; I vote B", "B", id="vote beats choice"),
        pytest.param("C can roll back B's changes; I vote A", "A", id="back is not a vote"),
        # Korean
        pytest.param("B안에 투표합니다", "B", id="Korean vote after"),
        pytest.param("A안은 좋지만 C안에 투표합니다.", "C", id="Korean: the one before the verb"),
        pytest.param("A안이 아니라 C안을 선택합니다", "C", id="Korean: not A but C"),
        pytest.param("제 선택은 2번입니다", "B", id="Korean: my choice is number 2"),
        pytest.param("투표: B", "B", id="Korean vote colon"),
        pytest.param("C안 찬성", "C", id="Korean agree"),
        pytest.param(
            "A안은 안전하지 않아서 B안에 투표합니다", "B", id="Korean: a negation before the vote"
        ),
        # no vote, or not a clear one
        pytest.param("A or B", None, id="A or B"),
        pytest.param("Option A or option B, hard to say", None, id="option A or option B"),
        pytest.param("A/B", None, id="A slash B"),
        pytest.param("between A and B I cannot decide", None, id="between A and B"),
        pytest.param("Neither.", None, id="neither"),
        pytest.param("", None, id="empty"),
        pytest.param("4", None, id="a number beyond the options"),
        pytest.param("I vote for option 4", None, id="option 4 does not exist"),
        pytest.param("I'm sorry, I can't help with that.", None, id="refusal"),
        pytest.param("A plan with a rollback is safer.", None, id="only an article"),
    ],
)
def test_a_vote_is_read(answer: str, key: str | None) -> None:
    assert parse_vote(answer, OPTIONS) == key


@pytest.mark.parametrize(
    ("answer", "voter", "key"),
    [
        pytest.param("As Claude, I vote for B", "claude", "B", id="own name is not a vote"),
        pytest.param("Claude thinks GPT's plan is best", "claude", "B", id="own name skipped"),
        pytest.param("Claude thinks GPT's plan is best", None, "A", id="without a voter"),
        pytest.param("A", "claude", "A", id="own letter is read (refused later)"),
    ],
)
def test_the_voter_naming_itself_is_not_a_vote(answer: str, voter: str | None, key: str) -> None:
    assert parse_vote(answer, OPTIONS, voter=voter) == key


def test_no_options_no_vote() -> None:
    assert parse_vote("B", ()) is None


def test_a_long_answer_is_read_from_its_start() -> None:
    assert parse_vote("I vote B. " + "x " * 100_000, OPTIONS) == "B"


@pytest.mark.parametrize(
    ("voter", "key", "refused"),
    [
        ("claude", "A", True),
        ("Claude", "A", True),
        ("claude", "B", False),
        ("gpt", "B", True),
        ("someone", "A", False),
        ("claude", "Z", False),
    ],
)
def test_a_self_vote(voter: str, key: str, refused: bool) -> None:
    assert self_vote_refused(voter, key, OPTIONS) is refused


MASTER = "@master:x"


@pytest.mark.parametrize(
    ("votes", "weights", "master", "expected"),
    [
        pytest.param(
            {"claude": "B", "gpt": "C", "gemini": "B"},
            {},
            None,
            Tally({"B": 2.0, "C": 1.0}, "B"),
            id="plurality",
        ),
        pytest.param(
            {"claude": "B", "gpt": "C", "gemini": "B"},
            {"gpt": 3.0},
            None,
            Tally({"B": 2.0, "C": 3.0}, "C"),
            id="weights beat numbers",
        ),
        pytest.param(
            {"claude": "B", "gpt": "C"},
            {},
            None,
            Tally({"B": 1.0, "C": 1.0}, None, ("B", "C")),
            id="tie",
        ),
        pytest.param(
            {"claude": "A", "gpt": "B", "gemini": "C"},
            {"claude": 0.5, "gpt": 0.5, "gemini": 1.0},
            None,
            Tally({"A": 0.5, "B": 0.5, "C": 1.0}, "C"),
            id="fractional weights",
        ),
        pytest.param(
            {"claude": "A", "gpt": "B"},
            {"claude": 0.1 + 0.2, "gpt": 0.3},
            None,
            Tally({"A": 0.1 + 0.2, "B": 0.3}, None, ("A", "B")),
            id="float noise is still a tie",
        ),
        pytest.param(
            {"claude": "A", "gpt": "B", "gemini": "B"},
            {"gpt": 0.0, "gemini": -2.0},
            None,
            Tally({"A": 1.0, "B": 0.0}, "A"),
            id="zero and negative weights count nothing",
        ),
        pytest.param(
            {"claude": "B", "gpt": "B", "gemini": "B", MASTER: "A"},
            {},
            MASTER,
            Tally({"B": 3.0, "A": 1.0}, "A", (), decided_by_master=True),
            id="the master decides",
        ),
        pytest.param(
            {"claude": "B", "gpt": "C", MASTER: "C"},
            {},
            MASTER,
            Tally({"B": 1.0, "C": 2.0}, "C", (), decided_by_master=True),
            id="the master breaks a tie",
        ),
        pytest.param(
            {"claude": "B", "gpt": "C"},
            {},
            MASTER,
            Tally({"B": 1.0, "C": 1.0}, None, ("B", "C")),
            id="a master who did not vote decides nothing",
        ),
        pytest.param({}, {}, MASTER, Tally({}, None), id="no votes"),
        pytest.param(
            {"claude": "A", "gpt": "A"},
            {"claude": 0.0, "gpt": 0.0},
            None,
            Tally({"A": 0.0}, "A"),
            id="only zero weights: still the one chosen",
        ),
    ],
)
def test_the_tally(
    votes: dict[str, str], weights: dict[str, float], master: str | None, expected: Tally
) -> None:
    assert tally(votes, weights, master=master) == expected


def test_options_nobody_voted_for_count_zero() -> None:
    result = tally({"claude": "B"}, {}, master=None, keys=("A", "B", "C"))
    assert result == Tally({"A": 0.0, "B": 1.0, "C": 0.0}, "B")


@pytest.mark.parametrize(
    ("agent", "choices", "failed", "self_vote", "why"),
    [
        ("llama", [], None, False, "no answer"),
        ("llama", [None], None, False, "no valid vote"),
        ("llama", ["Z"], None, False, "no valid vote"),
        ("claude", ["A"], None, False, "voted for its own proposal"),
        ("claude", ["A", None], None, False, "voted for its own proposal"),
        ("claude", ["A"], None, True, "no valid vote"),
        ("llama", [], "quota exhausted", False, "failed (quota exhausted)"),
        ("llama", [], "", False, "failed"),
        ("llama", [], "x" * 80, False, "failed (" + "x" * 59 + "…)"),
        ("llama", ["Z"], "the provider\nbroke off", False, "failed (the provider broke off)"),
    ],
)
def test_why_an_asked_agent_is_not_in_the_tally(
    agent: str, choices: list[str | None], failed: str | None, self_vote: bool, why: str
) -> None:
    assert why_not_counted(agent, choices, OPTIONS, failed=failed, self_vote=self_vote) == why
