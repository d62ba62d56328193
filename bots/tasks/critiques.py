"""The critique round and the hybrid outcome, pure: reading an agent's critique of the others'
proposals and its revision of its own, gathering the critiques each option got for the vote,
deciding whether a vote was close enough for the winner to take in the runners-up, and the
lines the master reads about it.

Models write a critique every way there is ("B: …", "- Option B — …", "(B) …", "B) …",
"**B**: …", "B안: …", or the author's name when votes are not anonymous), so one line per
option is read leniently; a line naming no option, the agent's own option or an unknown one
is left out, and prose with no such line is no critique at all (nothing is made up).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bots.tasks.render import clip, names, note_line

KEYS = "ABCDEFGHIJKLMNOPQRST"
"""The options' keys, in the order the proposals came (the ballot's and the critiques')."""
CRITIQUE_CHARS = 300
"""One critique line is at most this long (the vote prompt shows every one)."""

_DECORATION = r"[\s*_`>#•·\-–—]*"
_SEP = r"\s*(?:[:：.)\]\-–—]|안\s*[:：]?)"
_KEY_LINE = re.compile(
    rf"^{_DECORATION}(?:"
    rf"(?i:option|plan|proposal|제안)\s*[(\[]?\s*(?P<word>[A-Za-z])\s*[)\]]?(?![A-Za-z0-9])"
    rf"[*_`]*(?:{_SEP})?"
    r"|[(\[]\s*(?P<paren>[A-Za-z])\s*[)\]]"
    rf"|(?P<bare>[A-Z])(?![A-Za-z0-9])[*_`]*{_SEP}"
    r")[*_`\s]*(?:[:：\-–—]\s*)?(?P<text>.*)$"
)
_KEEP = re.compile(
    r"^[\W_]*(?:keep|kept|no\s+change|unchanged|유지|변경\s*없음)(?![A-Za-z])", re.IGNORECASE
)
_REVISED = re.compile(r"^[\W_]*(?:revised|revision|수정(?:안)?)[\W_]*$", re.IGNORECASE)
_REVISED_LEAD = re.compile(r"^[\W_]*(?:revised|수정(?:안)?)\s*[:：]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Critique:
    """One agent's critique of one option: `by` is who wrote it (an agent name)."""

    by: str
    text: str


def parse_critique(
    text: str,
    keys: Sequence[str],
    own: str | None,
    authors: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """The critique line of each option `text` critiques (key → line), the first per key.

    `keys`: the options on the ballot; `own`: the critic's own key, never critiqued;
    `authors` (key → the names its author goes by), only when votes are not anonymous: a
    line starting with such a name ("Gemini: …") critiques that option."""
    known = set(keys)
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        key, said = _keyed(line, known)
        if key is None and authors:
            key, said = _named(line, authors)
        if key is None or key == own or key in found:
            continue
        said = " ".join(said.strip(" *_`").split())
        if said:
            found[key] = clip(said, CRITIQUE_CHARS)
    return {k: found[k] for k in keys if k in found}


def _keyed(line: str, known: set[str]) -> tuple[str | None, str]:
    match = _KEY_LINE.match(line)
    if match is None:
        return None, ""
    # A bare letter counts in upper case only ("a) …" is a list); after "Option" or in
    # parentheses any case does.
    key = (match.group("word") or match.group("paren") or match.group("bare")).upper()
    return (key, match.group("text")) if key in known else (None, "")


def _named(line: str, authors: Mapping[str, Sequence[str]]) -> tuple[str | None, str]:
    bare = re.sub(r"^" + _DECORATION, "", line)
    for key, known_as in authors.items():
        for name in known_as:
            name = name.strip()
            if len(name) < 2:
                continue
            match = re.match(
                rf"{re.escape(name)}(?:'s|’s)?(?:\s+(?:proposal|plan))?\s*[:：\-–—]\s*(?P<text>.+)$",
                bare,
                re.IGNORECASE,
            )
            if match:
                return key, match.group("text")
    return None, ""


def parse_revision(text: str) -> str | None:
    """The revised proposal in a `revise` answer, or None when the proposer keeps its own
    (`KEEP`, `유지`, "no change", or nothing). A leading `REVISED` line goes."""
    lines = text.strip().splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    first = lines[0].strip()
    if _KEEP.match(first):
        return None
    if _REVISED.match(first):
        lines = lines[1:]
    elif _REVISED_LEAD.match(first):
        lines[0] = _REVISED_LEAD.sub("", first)
    revised = "\n".join(lines).strip()
    return revised or None


def by_option(
    critiques: Mapping[str, Mapping[str, str]], keys: Sequence[str]
) -> dict[str, list[Critique]]:
    """Per option (in ballot order), the critiques it got (in the critics' order); options
    nobody critiqued are left out. `critiques`: critic → its parsed lines."""
    out: dict[str, list[Critique]] = {}
    for key in keys:
        got = [Critique(critic, lines[key]) for critic, lines in critiques.items() if key in lines]
        if got:
            out[key] = got
    return out


def close_call(counts: Mapping[str, float], winner: str, margin: float | None) -> list[str]:
    """The runners-up the winner should take the best of: options that got votes and lost
    by at most `margin` weight, closest first (then by key). None: never; a winner without
    a count (a master's decision, a broken tie) is no close call either."""
    if margin is None or winner not in counts:
        return []
    top = counts[winner]
    close = [
        key
        for key, count in counts.items()
        if key != winner
        and count > 0
        and (top - count <= margin or math.isclose(top - count, margin))
    ]
    return sorted(close, key=lambda k: (-counts[k], k))


def weight(value: float) -> str:
    """A vote weight as the master reads it: "2", "1.5"."""
    return f"{value:g}"


# ---- what the master reads -----------------------------------------------------------------


def no_critique_line(task_id: int) -> str:
    return note_line(task_id, "🧐", "No critique came: on to the vote.")


def revised_line(task_id: int, keys: Sequence[str]) -> str:
    """ "#12 ✏️ Revised: B and C; the ballot carries the revisions." (or none revised)."""
    if not keys:
        return note_line(task_id, "✏️", "Every proposal stays as it was; on to the vote.")
    return note_line(task_id, "✏️", f"Revised: {names(keys)}; the ballot carries the revisions.")


def close_vote_line(
    task_id: int, counts: Mapping[str, float], winner: str, winner_name: str, runners: Sequence[str]
) -> str:
    """ "#12 ⚖️ Close vote (2 to 1.5): Claude's plan takes in the best of B and C." """
    best = max(counts[key] for key in runners)
    return note_line(
        task_id,
        "⚖️",
        f"Close vote ({weight(counts[winner])} to {weight(best)}): {winner_name}'s plan "
        f"takes in the best of {names(list(runners))}.",
    )


def credit_source(source: str, authors: Mapping[str, str]) -> str:
    """Who a plan's credit names, as the master reads it: "Gemini (B)". `source` is an
    option key or an author's name; `authors`: key → the author's display name."""
    said = source.strip().strip("()[]").strip()
    key = said.upper().removeprefix("OPTION ").strip()
    if key in authors:
        return f"{authors[key]} ({key})"
    for key, name in authors.items():
        if name.casefold() == said.casefold():
            return f"{name} ({key})"
    return said


def parts_from_line(credits: Sequence[tuple[str, str]], authors: Mapping[str, str]) -> str:
    """ "Parts from: Gemini (B) — the backup step; GPT (C) — the log check." for the report;
    "" when the plan credits nobody. `credits`: (source, part) as the plan lists them."""
    shown = [
        f"{credit_source(source, authors)} — {' '.join(part.split())}"
        if part.strip()
        else credit_source(source, authors)
        for source, part in credits
        if source.strip()
    ]
    return "Parts from: " + "; ".join(shown) if shown else ""
