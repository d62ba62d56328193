"""Votes: reading a model's choice out of free text, and counting weighted votes.

Models answer a vote every way there is ("B", "(B)", "Option b", "plan B", "2", "I vote for
GPT's proposal", Korean "B안", "2번"), mostly inside prose that mentions other options too. The
rule: the first option named right after a vote word ("vote", "choose", "pick", "투표" …), or
just before a Korean one ("B안에 투표"); else the first option named at all. A choice that is
not one ("A or B") is no vote, and an option named after "not", "over", "rather than" is not
the one chosen.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Option", "Tally", "parse_vote", "self_vote_refused", "tally"]


@dataclass(frozen=True)
class Option:
    """One proposal on the ballot: its key ("A"), its author (an agent name) and other names
    the author goes by (display name), and a one-line summary."""

    key: str
    author: str
    aliases: tuple[str, ...] = ()
    summary: str = ""


@dataclass(frozen=True)
class Tally:
    counts: dict[str, float]
    winner: str | None
    tie: tuple[str, ...] = ()
    decided_by_master: bool = False


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    key: str


_PREFIX = r"(?:option|plan|proposal|choice|answer|candidate|number|no\.|제안)"
_LETTER_END = r"(?![A-Za-z0-9_])"
_BEFORE = r"(?<![A-Za-z0-9_])"
# A vote word, then the option (forward); Korean puts the verb last, so its vote words also
# look back ("B안에 투표합니다"), as does "B is my choice".
_VOTE_FORWARD = re.compile(
    rf"{_BEFORE}(?:(?P<vote>vote[sd]?|voting)|choose|chose|choosing|choice|pick(?:ed|ing)?|"
    r"select(?:ed|ing)?|prefer(?:red)?|go(?:ing)?\s+with|support|recommend)"
    rf"{_LETTER_END}|(?P<투표>투표)|선택|지지|찬성|추천",
    re.IGNORECASE,
)
_VOTE_BACKWARD = re.compile(
    r"\s*(?:안|번)?\s*(?:에|을|를|이|가|으로|로)?\s*(?:투표|선택|지지|찬성|추천)"
    r"|\s+(?:is|gets|has)\s+my\s+(?:vote|choice|pick)",
    re.IGNORECASE,
)
_VOTE_GAP = re.compile(
    r"[\s:=\-–—>*_`'\"“”]*(?:(?:for|is|to|on|with|the)\s+)*[\s:=\-–—>*_`'\"“”(\[#]*",
    re.IGNORECASE,
)
_NEGATED_BEFORE = re.compile(
    r"(?:\b(?:not|never|against|over|than|instead\s+of|except|cannot)|n't|n’t)"
    r"(?:\W+\w+){0,5}?\W*$",
    re.IGNORECASE,
)
_NEGATED_WORD = re.compile(r"(?:\b(?:not|never|cannot)|n't|n’t)(?:\W+\w+){0,1}?\W*$", re.I)
_CLAUSE_BREAK = re.compile(r"[.!?;,\n]\s|\n")
_NEGATED_AFTER = re.compile(r"^\s*(?:안|번)?\s*(?:이|가|은|는)?\s*(?:아니라|아닌|말고|대신|반대)")
_EITHER = re.compile(r"^[\s,]*(?:or|/|vs\.?|versus|또는|아니면|혹은|이나|나)[\s,]*$", re.I)
_BETWEEN = re.compile(r"(?:between|either)\W*$", re.IGNORECASE)
_AND = re.compile(r"^[\s,]*(?:and|와|과)[\s,]*$", re.IGNORECASE)
_ARTICLE_NEXT = re.compile(r"\s+([a-z][a-z'’]*)")
_NOT_AN_ARTICLE = frozenset(
    {"because", "since", "as", "is", "was", "looks", "seems", "wins", "for", "and", "or", "it"}
)
_DECORATION = re.compile(r"^[\s*_`>#\"'“”‘’.!:;,\-–—]+|[\s*_`>\"'“”‘’.!:;,\-–—]+$")
_VOTE_WINDOW = 120
"""Characters after a vote word within which the option it names must start."""
_BACKWARD_WINDOW = 16
MAX_VOTE_CHARS = 20_000
"""Only the start of a longer answer is read for its vote."""


def parse_vote(text: str, options: Sequence[Option], *, voter: str | None = None) -> str | None:
    """The key of the option `text` votes for, or None when it names none or is ambiguous.

    Accepted: a key ("B", "(B)", "B.", "Option b", "plan B", "B안"), a 1-based number ("2",
    "option 2", "2번", "I vote 2"), an author's name or alias. `voter` (an agent name) is
    never read as a vote for its own proposal by name: an agent may say its own name ("As
    Claude, …").
    """
    if not options or not text.strip():
        return None
    text = unicodedata.normalize("NFKC", text)[:MAX_VOTE_CHARS]
    whole = _whole_answer(text, options)
    if whole is not None:
        return whole
    words = [m for m in _VOTE_FORWARD.finditer(text) if not _negated_word(text, m.start())]
    # "vote" itself first: "a good choice of tools in A; I vote B" votes B.
    words.sort(key=lambda m: (m.group("vote") is None and m.group("투표") is None, m.start()))
    mentions = _mentions(text, options, voter, words)
    if not mentions:
        return None
    for word in words:
        chosen = _chosen_near(text, mentions, word)
        if chosen is not None:
            return _unless_ambiguous(text, mentions, chosen)
    return _unless_ambiguous(text, mentions, mentions[0])


def self_vote_refused(voter_agent: str, key: str, options: Sequence[Option]) -> bool:
    """True when `key` is `voter_agent`'s own proposal (refused unless `tasks.self_vote`)."""
    voter = voter_agent.casefold()
    return any(o.key == key and o.author.casefold() == voter for o in options)


def why_not_counted(
    agent: str,
    choices: Sequence[str | None],
    options: Sequence[Option],
    *,
    failed: str | None = None,
    self_vote: bool = False,
) -> str:
    """Why an asked agent's vote is not in the tally, in a few words ("no answer", "no valid
    vote", …), from what it chose (poll responses and its answer's choice, None when its
    answer named none) and, when its answer failed, the failure."""
    keys = {o.key for o in options}
    valid = [c for c in choices if c in keys]
    if valid and not self_vote and all(self_vote_refused(agent, c, options) for c in valid):
        return "voted for its own proposal"
    if failed is not None and not valid:
        reason = " ".join(failed.split())
        if len(reason) > 60:
            reason = reason[:59] + "…"
        return f"failed ({reason})" if reason else "failed"
    return "no valid vote" if choices else "no answer"


def tally(
    votes: Mapping[str, str],
    weights: Mapping[str, float],
    *,
    master: str | None,
    keys: Iterable[str] = (),
) -> Tally:
    """Counts votes (voter → option key) by weight (default 1; negative counts as 0).

    The master's vote, when there is one, decides; else the heaviest option wins, and equal
    top counts are a tie (`winner=None`, `tie` = the tied keys). `keys` lists options that
    count 0 when nobody voted for them. No votes at all: no winner and no tie.
    """
    counts: dict[str, float] = dict.fromkeys(keys, 0.0)
    for voter, key in votes.items():
        weight = weights.get(voter, 1.0)
        counts[key] = counts.get(key, 0.0) + (weight if weight > 0 else 0.0)
    if master is not None and master in votes:
        return Tally(counts, votes[master], (), decided_by_master=True)
    voted = {key for key in votes.values()}
    if not voted:
        return Tally(counts, None)
    best = max(counts[key] for key in voted)
    top = tuple(sorted(k for k in voted if math.isclose(counts[k], best, abs_tol=1e-9)))
    if len(top) == 1:
        return Tally(counts, top[0])
    return Tally(counts, None, top)


# --- reading --------------------------------------------------------------------------------


def _whole_answer(text: str, options: Sequence[Option]) -> str | None:
    """An answer that is nothing but the choice: "B", "**2.**", "(B)", "Option B", "B안"."""
    core = _DECORATION.sub("", text.strip())
    if len(core) > 24:
        return None
    core = re.sub(r"^(?:option|plan|proposal|choice|vote|답)\s*[:#]?\s*", "", core, flags=re.I)
    core = re.sub(r"^[(\[#]\s*|\s*[)\]]$", "", core)
    core = re.sub(r"\s*(?:안|번)$", "", core)
    for number, option in enumerate(options, start=1):
        if core.casefold() in (option.key.casefold(), str(number)):
            return option.key
    return None


def _mentions(
    text: str, options: Sequence[Option], voter: str | None, words: Sequence[re.Match[str]]
) -> list[_Mention]:
    """Every place `text` names an option, in order, without the negated ones."""
    found: dict[int, _Mention] = {}

    def add(start: int, end: int, key: str) -> None:
        if start not in found or end > found[start].end:
            found[start] = _Mention(start, end, key)

    own = voter.casefold() if voter else None
    for number, option in enumerate(options, start=1):
        key = re.escape(option.key)
        digit = str(number)
        for match in re.finditer(
            rf"{_BEFORE}{_PREFIX}\s*[:#]?\s*(?:{key}|{digit}){_LETTER_END}", text, re.IGNORECASE
        ):
            add(match.start(), match.end(), option.key)
        for match in re.finditer(rf"[(\[]\s*{key}\s*[)\]]", text):
            add(match.start(), match.end(), option.key)
        for match in re.finditer(rf"{_BEFORE}(?:{key}\s*안|{digit}\s*번|제\s*{digit}\s*안)", text):
            add(match.start(), match.end(), option.key)
        if option.key.isupper() and option.key != "I":
            for match in re.finditer(rf"{_BEFORE}(?<![.'’]){key}{_LETTER_END}", text):
                if not _reads_as_article(text, match):
                    add(match.start(), match.end(), option.key)
        if own is None or option.author.casefold() != own:
            for name in {option.author, *option.aliases}:
                if len(name.strip()) < 2:
                    continue
                pattern = rf"{_BEFORE}{re.escape(name.strip())}{_LETTER_END}"
                for match in re.finditer(pattern, text, re.IGNORECASE):
                    add(match.start(), match.end(), option.key)
        for word in words:  # right after a vote word, any case and bare numbers: "vote: b", "2"
            gap = _VOTE_GAP.match(text, word.end())
            at = gap.end() if gap else word.end()
            direct = re.compile(rf"(?:{key}|{digit}){_LETTER_END}", re.IGNORECASE).match(text, at)
            if direct and not _reads_as_article(text, direct):
                add(direct.start(), direct.end(), option.key)
    mentions = _drop_overlaps(sorted(found.values(), key=lambda m: (m.start, -m.end)))
    return [m for m in mentions if not _negated(text, m)]


def _chosen_near(text: str, mentions: list[_Mention], word: re.Match[str]) -> _Mention | None:
    """The option a vote word names: the one just before it when the words between say so
    ("B안에 투표", "B is my choice"), else the first one soon after it."""
    for mention in mentions:
        if mention.end <= word.start() and word.start() - mention.end <= _BACKWARD_WINDOW:
            back = _VOTE_BACKWARD.match(text, mention.end)
            if back is not None and back.end() > word.start():
                return mention
    for mention in mentions:
        if mention.start >= word.end():
            return mention if mention.start - word.end() <= _VOTE_WINDOW else None
    return None


def _unless_ambiguous(text: str, mentions: list[_Mention], chosen: _Mention) -> str | None:
    later = [m for m in mentions if m.start >= chosen.end and m.key != chosen.key]
    if later:
        between = text[chosen.end : later[0].start]
        if _EITHER.match(between):
            return None
        if _AND.match(between) and _BETWEEN.search(text[: chosen.start]):
            return None
    return chosen.key


def _reads_as_article(text: str, match: re.Match[str]) -> bool:
    """ "A good plan": an "A" followed by a lower-case word is an article, not option A."""
    if match.group(0) not in ("A", "a"):
        return False
    following = _ARTICLE_NEXT.match(text, match.end())
    return following is not None and following.group(1) not in _NOT_AN_ARTICLE


def _negated(text: str, mention: _Mention) -> bool:
    """ "not A", "B over A", "better than A", "A안이 아니라": A is named, not chosen."""
    if _NEGATED_BEFORE.search(_clause_before(text, mention.start)):
        return True
    return bool(_NEGATED_AFTER.match(text[mention.end : mention.end + 12]))


def _negated_word(text: str, start: int) -> bool:
    """ "I cannot vote for my own proposal": a vote word that does not vote."""
    return bool(_NEGATED_WORD.search(_clause_before(text, start)))


def _clause_before(text: str, start: int) -> str:
    return _CLAUSE_BREAK.split(text[max(0, start - 60) : start])[-1]


def _drop_overlaps(mentions: list[_Mention]) -> list[_Mention]:
    kept: list[_Mention] = []
    for mention in mentions:
        if kept and mention.start < kept[-1].end:
            continue
        kept.append(mention)
    return kept
