"""The master's own polls, pure: reading `!poll`, counting with the master's weight, the texts.

- `!poll <question> | <option> | …` takes 2 to 10 options, trimmed; an empty part, a
  duplicate option, an option over 300 characters or a question over 1000 are refused with
  a text that says what to send.
- `!poll close` closes the newest open poll, `!poll close 3` (or `#3`) that one.
- The master's vote decides (`poll_master_weight` unset) or weighs as configured.
- The tally reads "Result: B — SQLite (3 votes: Claude, GPT, you)".
"""

from __future__ import annotations

import pytest

from bots.tasks.master_polls import (
    EXAMPLE,
    MAX_OPTIONS,
    PollClose,
    PollOrder,
    PollRefusal,
    check_poll,
    parse_poll_command,
    poll_tally,
    reason_body,
    result_line,
    tally_text,
)
from bots.tasks.votes import Tally

MASTER = "@master:localhost"
KEYS = ("A", "B", "C")
OPTIONS = [("A", "PostgreSQL"), ("B", "SQLite"), ("C", "MySQL")]


@pytest.mark.parametrize(
    ("args", "question", "options"),
    [
        pytest.param(
            "Which DB? | Postgres | SQLite", "Which DB?", ("Postgres", "SQLite"), id="two"
        ),
        pytest.param(
            "  Which DB?|Postgres |  SQLite | MySQL ",
            "Which DB?",
            ("Postgres", "SQLite", "MySQL"),
            id="trimmed",
        ),
        pytest.param(
            "Q | " + " | ".join(f"o{n}" for n in range(10)),
            "Q",
            tuple(f"o{n}" for n in range(10)),
            id="ten options",
        ),
        pytest.param(
            "어느 DB를 쓸까? | 포스트그레스 | SQLite",
            "어느 DB를 쓸까?",
            ("포스트그레스", "SQLite"),
            id="korean",
        ),
        pytest.param(
            "close the port? | yes | no", "close the port?", ("yes", "no"), id="close as a word"
        ),
        pytest.param("Q | " + "x" * 300 + " | y", "Q", ("x" * 300, "y"), id="option at the limit"),
        pytest.param("q" * 1000 + " | a | b", "q" * 1000, ("a", "b"), id="question at the limit"),
    ],
)
def test_a_poll_is_read(args: str, question: str, options: tuple[str, ...]) -> None:
    assert parse_poll_command(args) == PollOrder(question, options)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param("", f"2 to {MAX_OPTIONS} options, e.g. {EXAMPLE}", id="nothing"),
        pytest.param("Which DB?", "at least 2 options after its question", id="no options"),
        pytest.param("Which DB? | Postgres", "at least 2 options, not 1", id="one option"),
        pytest.param(
            "Q | " + " | ".join(f"o{n}" for n in range(11)),
            "at most 10 options, not 11",
            id="eleven options",
        ),
        pytest.param("| a | b", "The question comes first", id="no question"),
        pytest.param("Q | a || b", "Option 2 is empty", id="empty part"),
        pytest.param("Q | a | b |", "Option 3 is empty", id="trailing bar"),
        pytest.param("Q | Postgres | postgres ", 'Options 1 and 2 are both "postgres"', id="dup"),
        pytest.param("Q | a  b | A b", "Options 1 and 2", id="dup spacing"),
        pytest.param("Q | " + "x" * 301 + " | y", "Option 1 is 301 characters", id="long option"),
        pytest.param("q" * 1001 + " | a | b", "question is 1001 characters", id="long question"),
        pytest.param("close now", "Close a poll by its number", id="close with a word"),
        pytest.param("close 3 4", "Close a poll by its number", id="close two numbers"),
        pytest.param("close 0", "Close a poll by its number", id="close zero"),
    ],
)
def test_bad_input_is_refused_with_a_clear_text(args: str, says: str) -> None:
    refused = parse_poll_command(args)
    assert isinstance(refused, PollRefusal)
    assert says in refused.text


def test_a_refusal_for_too_few_options_shows_an_example() -> None:
    refused = parse_poll_command("Which DB? | Postgres")
    assert isinstance(refused, PollRefusal)
    assert EXAMPLE in refused.text


@pytest.mark.parametrize(
    ("args", "poll"),
    [
        pytest.param("close", None, id="newest"),
        pytest.param("CLOSE", None, id="any case"),
        pytest.param("close 3", 3, id="by number"),
        pytest.param("close #3", 3, id="with hash"),
    ],
)
def test_close_is_read(args: str, poll: int | None) -> None:
    assert parse_poll_command(args) == PollClose(poll)


def test_voice_gets_the_same_rules_as_the_command() -> None:
    assert check_poll(" Q ", [" a ", "b"]) == PollOrder("Q", ("a", "b"))
    assert isinstance(check_poll("Q", ["a"]), PollRefusal)
    assert check_poll("A | B?", ["x", "y"]) == PollOrder("A | B?", ("x", "y"))


def test_options_get_keys_in_order() -> None:
    assert PollOrder("Q", ("x", "y", "z")).keyed() == [("A", "x"), ("B", "y"), ("C", "z")]


# ---- counting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("votes", "weight", "winner", "tie", "counts", "decided"),
    [
        pytest.param(
            {"claude": "B", "gpt": "B", "gemini": "A", MASTER: "B"},
            None,
            "B",
            (),
            {"A": 1, "B": 3, "C": 0},
            True,
            id="master agrees and decides",
        ),
        pytest.param(
            {"claude": "B", "gpt": "B", "gemini": "B", MASTER: "A"},
            None,
            "A",
            (),
            {"A": 1, "B": 3, "C": 0},
            True,
            id="master decides against all",
        ),
        pytest.param(
            {"claude": "B", "gpt": "A"},
            None,
            None,
            ("A", "B"),
            {"A": 1, "B": 1, "C": 0},
            False,
            id="tie without the master",
        ),
        pytest.param(
            {"claude": "B", "gpt": "B", MASTER: "A"},
            3.0,
            "A",
            (),
            {"A": 3, "B": 2, "C": 0},
            False,
            id="weight 3 outweighs two",
        ),
        pytest.param(
            {"claude": "B", "gpt": "B", MASTER: "A"},
            2.0,
            None,
            ("A", "B"),
            {"A": 2, "B": 2, "C": 0},
            False,
            id="weight 2 ties two",
        ),
        pytest.param(
            {"claude": "B", "gpt": "B", "gemini": "C", MASTER: "A"},
            0.5,
            "B",
            (),
            {"A": 0.5, "B": 2, "C": 1},
            False,
            id="a light master is outvoted",
        ),
        pytest.param(
            {"claude": "B", MASTER: "A"},
            0.0,
            "B",
            (),
            {"A": 0, "B": 1, "C": 0},
            False,
            id="weight 0 is advice",
        ),
        pytest.param({}, None, None, (), {"A": 0, "B": 0, "C": 0}, False, id="no votes"),
    ],
)
def test_the_tally(
    votes: dict[str, str],
    weight: float | None,
    winner: str | None,
    tie: tuple[str, ...],
    counts: dict[str, float],
    decided: bool,
) -> None:
    result = poll_tally(votes, master=MASTER, master_weight=weight, keys=KEYS)
    assert (result.winner, result.tie, result.decided_by_master) == (winner, tie, decided)
    assert result.counts == counts


# ---- texts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "voters", "line"),
    [
        pytest.param(
            Tally({"A": 1, "B": 3, "C": 0}, "B"),
            {"B": ["Claude", "GPT", "you"], "A": ["Gemini"]},
            "Result: B — SQLite (3 votes: Claude, GPT, you)",
            id="plurality",
        ),
        pytest.param(
            Tally({"A": 1, "B": 3, "C": 0}, "A", (), decided_by_master=True),
            {"B": ["Claude", "GPT", "Gemini"], "A": ["you"]},
            "Result: A — PostgreSQL (1 vote: you, your vote decides)",
            id="decided",
        ),
        pytest.param(
            Tally({"A": 2.5, "B": 2, "C": 0}, "A"),
            {"A": ["you"], "B": ["Claude", "GPT"]},
            "Result: A — PostgreSQL (2.5 votes: you)",
            id="weighted",
        ),
        pytest.param(
            Tally({"A": 1, "B": 1, "C": 0}, None, ("A", "B")),
            {"A": ["Claude"], "B": ["GPT"]},
            "Result: a tie between A — PostgreSQL and B — SQLite (1 vote each)",
            id="tie",
        ),
        pytest.param(Tally({"A": 0, "B": 0, "C": 0}, None), {}, "Result: no votes", id="none"),
    ],
)
def test_the_result_line(result: Tally, voters: dict[str, list[str]], line: str) -> None:
    assert result_line(result, voters, OPTIONS) == line


def test_the_tally_text_names_every_option_and_who_chose_it() -> None:
    text = tally_text(
        3,
        "Which database?",
        Tally({"A": 1, "B": 3, "C": 0}, "B"),
        {"B": ["Claude", "GPT", "you"], "A": ["Gemini"]},
        OPTIONS,
        why="closed by you",
    )
    assert text.splitlines() == [
        "📊 Poll #3 closed (closed by you): Which database?",
        "Result: B — SQLite (3 votes: Claude, GPT, you)",
        "A · PostgreSQL — 1 vote: Gemini",
        "B · SQLite — 3 votes: Claude, GPT, you",
        "C · MySQL — 0 votes",
    ]


@pytest.mark.parametrize(
    ("key", "reason", "body"),
    [
        pytest.param("B", "small and local", "🗳️ B — small and local", id="one line"),
        pytest.param("B", "  two\n lines ", "🗳️ B — two lines", id="joined"),
        pytest.param("A", "", "🗳️ A", id="no reason"),
    ],
)
def test_an_agents_reason_line(key: str, reason: str, body: str) -> None:
    assert reason_body(key, reason) == body


def test_a_long_reason_is_cut() -> None:
    body = reason_body("A", "word " * 200)
    assert len(body) <= len("🗳️ A — ") + 300
    assert body.endswith("…")
