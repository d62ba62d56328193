"""The master's own polls (`!poll <question> | <option> | …`), as pure logic: reading the
command, counting the votes with the master's weight, and every text the room reads.

A poll is a question for the whole council outside any task: each agent votes with a
one-line reason, the master votes too, and his vote either decides (`tasks.poll_master_weight`
unset, "decides") or counts with a weight. `!poll close` or the timeout ends it with the tally.
No I/O here: the coordinator's `PollService` sends, the store keeps, and this decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bots.tasks.votes import Tally, tally

MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_OPTION_CHARS = 300
MAX_QUESTION_CHARS = 1000
KEYS = "ABCDEFGHIJ"
"""Option keys in order: the poll's answer ids and what agents name in their vote."""
EXAMPLE = "!poll Which database for the new app? | PostgreSQL | SQLite | MySQL"
YOU = "you"
"""How the master is named in the tally he reads."""


@dataclass(frozen=True)
class PollOrder:
    """A poll to open: the question and its options, in the order given."""

    question: str
    options: tuple[str, ...]

    def keyed(self) -> list[tuple[str, str]]:
        """The options with their keys: [("A", "PostgreSQL"), …]."""
        return list(zip(KEYS, self.options, strict=False))


@dataclass(frozen=True)
class PollClose:
    """`!poll close [id]`: `poll` None closes the newest open poll."""

    poll: int | None


@dataclass(frozen=True)
class PollRefusal:
    """Why the command is not a poll, and what to send instead."""

    text: str


def parse_poll_command(args: str) -> PollOrder | PollClose | PollRefusal:
    """`!poll <question> | <option> | <option> …` or `!poll close [id]`.

    Parts are split at `|` and trimmed. Refused, each with an example: no question, an empty
    part, fewer than 2 or more than 10 options, the same option twice (case and spacing
    ignored), an option over 300 characters, a question over 1000.
    """
    text = args.strip()
    if "|" not in text:
        close = _read_close(text)
        if close is not None:
            return close
        if not text:
            return PollRefusal(f"Send a question and 2 to {MAX_OPTIONS} options, e.g. {EXAMPLE}")
        return PollRefusal(
            f"A poll needs at least {MIN_OPTIONS} options after its question, each after a |, "
            f"e.g. {EXAMPLE}"
        )
    parts = [part.strip() for part in text.split("|")]
    return check_poll(parts[0], parts[1:])


def check_poll(question: str, options: Sequence[str]) -> PollOrder | PollRefusal:
    """The same rules for a poll from anywhere (the command, voice): `question` and
    `options` trimmed, then refused with a clear text or accepted as they are."""
    question = question.strip()
    options = [option.strip() for option in options]
    if not question:
        return PollRefusal(f"The question comes first, before the first |, e.g. {EXAMPLE}")
    empty = [n for n, option in enumerate(options, 1) if not option]
    if empty:
        return PollRefusal(
            f"Option {empty[0]} is empty (two | in a row, or one at the end); e.g. {EXAMPLE}"
        )
    if len(options) < MIN_OPTIONS:
        return PollRefusal(
            f"A poll needs at least {MIN_OPTIONS} options, not {len(options)}; e.g. {EXAMPLE}"
        )
    if len(options) > MAX_OPTIONS:
        return PollRefusal(
            f"A poll takes at most {MAX_OPTIONS} options, not {len(options)}: "
            "merge some or ask in two polls."
        )
    if len(question) > MAX_QUESTION_CHARS:
        return PollRefusal(
            f"The question is {len(question)} characters; at most {MAX_QUESTION_CHARS}. "
            "Ask it shorter and put the details in a message before the poll."
        )
    for n, option in enumerate(options, 1):
        if len(option) > MAX_OPTION_CHARS:
            return PollRefusal(
                f"Option {n} is {len(option)} characters; at most {MAX_OPTION_CHARS} each."
            )
    seen: dict[str, int] = {}
    for n, option in enumerate(options, 1):
        folded = " ".join(option.casefold().split())
        if folded in seen:
            return PollRefusal(f'Options {seen[folded]} and {n} are both "{option}": one of each.')
        seen[folded] = n
    return PollOrder(question, tuple(options))


def _read_close(text: str) -> PollClose | PollRefusal | None:
    words = text.split()
    if not words or words[0].casefold() != "close":
        return None
    if len(words) == 1:
        return PollClose(None)
    ref = words[1].removeprefix("#")
    if len(words) == 2 and ref.isdigit() and int(ref) > 0:
        return PollClose(int(ref))
    return PollRefusal("Close a poll by its number, e.g. !poll close 3, or the newest: !poll close")


# ---- counting ---------------------------------------------------------------------------------


def poll_tally(
    votes: Mapping[str, str],
    *,
    master: str,
    master_weight: float | None,
    keys: Sequence[str],
) -> Tally:
    """The result of a poll: `votes` is voter → key (agents by name, the master by user id).

    `master_weight` None: the master's vote, when he cast one, decides. A number: his vote
    weighs that much and every agent's 1; the heaviest option wins, equal top counts tie.
    The counts always show the master's vote by its weight (1 when it decides)."""
    if master_weight is None:
        return tally(votes, {}, master=master, keys=keys)
    return tally(votes, {master: master_weight}, master=None, keys=keys)


# ---- texts ------------------------------------------------------------------------------------


def prefix(poll_id: int) -> str:
    return f"📊 Poll #{poll_id}"


def question_text(poll_id: int, question: str) -> str:
    """The poll's question as Element shows it (cut to the client's limit by the content)."""
    return f"{prefix(poll_id)}: {question}"


def reason_body(key: str, reason: str) -> str:
    """An agent's one line after its poll response: "🗳️ B — <reason>"."""
    line = " ".join(reason.split())
    if len(line) > 300:
        line = line[:299].rstrip() + "…"
    return f"🗳️ {key}" + (f" — {line}" if line else "")


def _amount(count: float) -> str:
    shown = f"{count:g}"
    return f"{shown} vote" if count == 1 else f"{shown} votes"


def result_line(
    result: Tally,
    voters: Mapping[str, Sequence[str]],
    options: Sequence[tuple[str, str]],
) -> str:
    """ "Result: B — SQLite (3 votes: Claude, GPT, you)"; a tie or no votes say so.
    `voters`: key → the names that chose it, in order."""
    texts = dict(options)
    if result.winner is not None:
        key = result.winner
        names = ", ".join(voters.get(key, ()))
        count = _amount(result.counts.get(key, 0.0))
        decided = ", your vote decides" if result.decided_by_master else ""
        return f"Result: {key} — {texts.get(key, '?')} ({count}: {names}{decided})"
    if result.tie:
        tied = " and ".join(f"{k} — {texts.get(k, '?')}" for k in result.tie)
        count = _amount(result.counts.get(result.tie[0], 0.0))
        return f"Result: a tie between {tied} ({count} each)"
    return "Result: no votes"


def tally_text(
    poll_id: int,
    question: str,
    result: Tally,
    voters: Mapping[str, Sequence[str]],
    options: Sequence[tuple[str, str]],
    *,
    why: str,
) -> str:
    """The closing text (the poll end's fallback and the notice): the question, the result,
    then every option with its count and who chose it. `why`: "closed by you", "time is up"."""
    lines = [
        f"{prefix(poll_id)} closed ({why}): {_clip(question, 200)}",
        result_line(result, voters, options),
    ]
    for key, text in options:
        names = ", ".join(voters.get(key, ()))
        count = _amount(result.counts.get(key, 0.0))
        lines.append(f"{key} · {_clip(text, 80)} — {count}" + (f": {names}" if names else ""))
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
