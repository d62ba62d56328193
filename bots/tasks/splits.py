"""Divide and merge (issue 17): a mission split into parts, each given to the agent whose role
and record fit it, done in parallel, then merged into one deliverable.

Pure, like the rest of `bots/tasks/`: which missions look like several jobs (`looks_split`),
the planner's split read leniently from free text (`parse_split`, the same way plans are read:
JSON anywhere, fenced or not, key spellings vary, a trailing comma forgiven), who does each part
(`assign`, `reassign`), the parts' plans as one plan for the master's approval
(`combined_plan`), and every text of the split the master reads. The engine
(`bots/coordinator/tasks/dividing.py`, `working.py`, `merging.py`) does the asking and storing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bots.tasks.lenient_json import TRAILING_COMMA, kind_of, norm_key, scan_json
from bots.tasks.plans import Plan, Step
from bots.tasks.render import clip, prefix
from bots.tasks.render import names as said_names
from bots.text.durations import wait

SPLIT_SHAPE = (
    '{"parts": [{"title": "…", "detail": "…", "agent": "…", "commands": false}], "merger": "…"}'
)
"""The shape every split error shows the planner (and the split prompt asks for)."""
SPLIT_EMOJI: Mapping[str, str] = {"split": "✂️", "part": "🧩", "merge": "🔗"}
"""The emoji an agent's answer of each split stage starts with, after "#<id>"."""
MAX_ANSWER_CHARS = 50_000
"""A longer answer is not searched for a split (a split is a few hundred characters)."""
MAX_SCANNED_CHARS = 2_000_000
"""Characters read by failed tries at most (with `lenient_json.MAX_DECODE_TRIES` starts): an
answer of thousands of unclosed brackets costs milliseconds, not seconds, of the
coordinator's loop."""
TITLE_CHARS = 120
"""A part's title as lines show it (the whole one goes to its agent)."""
MAX_TITLE_CHARS = 300
MAX_DETAIL_CHARS = 4_000
"""A part's title and detail travel in every part's ask: longer ones go back to the planner."""

_VALUE_START = re.compile(r"""\{(?=\s*["'}])|\[(?=\s*["'{\]])""")
"""Where a JSON object or list may start: `{` before a key, `[` before a string, object or
`]` (not `{print $1}`, `[0-9]`)."""

_PART_LISTS = frozenset({"parts", "subtasks", "sub_tasks", "tasks", "jobs", "파트", "작업들"})
_PART_FIELDS: dict[str, str] = {
    **dict.fromkeys(
        ("title", "name", "part", "task", "subtask", "job", "제목", "이름", "작업"), "title"
    ),
    **dict.fromkeys(
        (
            "detail",
            "details",
            "description",
            "desc",
            "instructions",
            "instruction",
            "what",
            "goal",
            "설명",
            "내용",
            "세부",
        ),
        "detail",
    ),
    **dict.fromkeys(
        ("agent", "assignee", "assigned_to", "who", "owner", "by", "member", "담당", "담당자"),
        "agent",
    ),
    **dict.fromkeys(
        (
            "commands",
            "needs_commands",
            "command",
            "uses_commands",
            "run_commands",
            "executor",
            "shell",
            "명령",
        ),
        "commands",
    ),
}
_MERGER_KEYS = ("merger", "merged_by", "merge_by", "merge", "integrator", "취합", "병합")
_TRUE = frozenset({"true", "yes", "y", "1", "needed", "required"})
_FALSE = frozenset({"false", "no", "n", "0", "", "none", "null", "not needed"})

# A list item at a line start: "1. ", "1) ", "- ", "* ", "• ", "①".
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]\s+|[-*•·]\s+|[\u2460-\u2473]\s*)\S", re.MULTILINE)
# Inline numbering on one line, from 1: "1) search 2) analyse", "① … ② …".
_INLINE_NUMBERS = re.compile(r"(?:^|\s)1[.)]\s+\S.*?\s2[.)]\s+\S|\u2460\s*\S.*?\u2461\s*\S", re.S)
_THEN = re.compile(
    r"""(?:,\s*|\s)(?:and\s+)?(?:then|after\s+that|afterwards)\b
      | [,;]\s*(?:and\s+)?next\b
      | 그\s*다음(?:에)?|그리고\s*나서|그\s*후(?:에)?|그런\s*다음(?:에)?|다음으로|이후(?:에)?
      | (?:하고|한)\s*(?:나서|다음에?)
      | [가-힣]+(?:한|된)\s*(?:뒤|후)(?:에)?(?=\s|,)
      | (?<=[가-힣])\s+후(?:에)?(?=\s|,)""",
    re.IGNORECASE | re.VERBOSE,
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_HANGUL = re.compile(r"[가-힣]")


@dataclass(frozen=True)
class Part:
    """One part of a split: what to do, whether it needs commands on the hosts (then its
    answer is a plan), and the agent the planner suggested (a word, resolved by `assign`)."""

    n: int
    title: str
    detail: str = ""
    commands: bool = False
    suggested: str | None = None


@dataclass(frozen=True)
class Split:
    parts: tuple[Part, ...]
    merger: str | None = None
    """The planner's word for who merges (resolved by the engine; else the planner)."""


@dataclass(frozen=True)
class SplitError:
    """Why the answer is not a usable split; said in the thread and sent back to the planner
    once."""

    text: str


@dataclass(frozen=True)
class Candidate:
    """An agent a part may go to: its configured name, display name, role and aliases."""

    name: str
    display: str
    role: str
    aliases: tuple[str, ...] = ()


# --- does the mission list several jobs? -----------------------------------------------------


def looks_split(mission: str) -> bool:
    """True when the mission lists several jobs: two list items or more (`1.`, `1)`, `-`, `*`,
    `•`, `①`, each at a line start, or numbered inline from 1), or a chain of three jobs or more
    joined by "then" (`그 다음`, `한 뒤`). "check disk and restart nginx" is one job: the
    council handles it as usual."""
    if len(_LIST_ITEM.findall(mission)) >= 2:
        return True
    if _INLINE_NUMBERS.search(mission):
        return True
    return len(_THEN.findall(mission)) >= 2


# --- the planner's split ---------------------------------------------------------------------


def parse_split(text: str, *, max_parts: int) -> Split | SplitError:
    """The split in the planner's answer, or exactly what is wrong with it.

    The split is the first JSON object holding a `parts` list (or `subtasks`, `tasks`),
    anywhere in the answer; failing that, a bare list of parts. A part is an object with a
    title (`detail`, `agent`, `commands` optional) or a bare string (its title). It needs two
    parts at least (one part is the whole task, no split) and `max_parts` at most.
    """
    if len(text) > MAX_ANSWER_CHARS:
        return SplitError(
            f"The answer is {len(text):,} characters long; a split must fit in "
            f"{MAX_ANSWER_CHARS:,}. Answer with one JSON object: {SPLIT_SHAPE}"
        )
    found = _find_split(text)
    if (found is None or found[2]) and "," in text:
        retried = _find_split(TRAILING_COMMA.sub(r"\1", text))
        if retried is not None and (found is None or not retried[2]):
            found = retried
    if found is None:
        return SplitError(
            'No split found: the answer holds no JSON object with a "parts" list. '
            f"Answer with one JSON object: {SPLIT_SHAPE}"
        )
    raw_parts, merger, _ = found
    if not raw_parts:
        return SplitError(
            f"The split has no parts. Divide the task into 2 to {max_parts} parts: {SPLIT_SHAPE}"
        )
    if len(raw_parts) == 1:
        return SplitError(
            "The split has only 1 part, which is the whole task: divide it into 2 to "
            f"{max_parts} parts that can be done at the same time: {SPLIT_SHAPE}"
        )
    if len(raw_parts) > max_parts:
        return SplitError(
            f"The split has {len(raw_parts)} parts; at most {max_parts} are allowed. "
            "Join related parts."
        )
    problems: list[str] = []
    parts = [_read_part(n, raw, problems) for n, raw in enumerate(raw_parts, start=1)]
    if problems:
        return SplitError(
            "The split is not valid: " + "; ".join(problems) + f". Answer with {SPLIT_SHAPE}"
        )
    return Split(tuple(p for p in parts if p is not None), merger)


def _find_split(text: str) -> tuple[list[Any], str | None, bool] | None:
    """The first `parts` list (with the merger named next to it), else the first bare list of
    parts (True: bare), else None."""
    bare: list[Any] | None = None

    def keep_bare(value: object) -> None:
        nonlocal bare
        if bare is None and isinstance(value, list) and _looks_like_parts(value):
            bare = value

    found = scan_json(
        text,
        lambda candidate: _parts_of(candidate) is not None,
        starts=_VALUE_START,
        on_value=keep_bare,
        max_scanned=MAX_SCANNED_CHARS,
    )
    if found is not None:
        return _parts_of(found) or [], _merger_of(found), False
    return None if bare is None else (bare, None, True)


def _parts_of(obj: Mapping[str, Any]) -> list[Any] | None:
    for key, value in obj.items():
        if norm_key(key) in _PART_LISTS and isinstance(value, list):
            return value
    return None


def _merger_of(obj: Mapping[str, Any]) -> str | None:
    for key, value in obj.items():
        if norm_key(key) in _MERGER_KEYS and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _looks_like_parts(value: list[Any]) -> bool:
    """A bare list counts as parts when every item is a string or an object."""
    return all(isinstance(item, str | dict) for item in value)


def _read_part(n: int, raw: Any, problems: list[str]) -> Part | None:
    if isinstance(raw, str):
        raw = {"title": raw}
    if not isinstance(raw, dict):
        problems.append(f"part {n} is {kind_of(raw)}; each part is an object with a title")
        return None
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = _PART_FIELDS.get(norm_key(key))
        if name is not None and (name not in fields or norm_key(key) == name):
            fields[name] = value
    title = " ".join(_text(fields.get("title")).split())
    detail = _text(fields.get("detail"))
    if not title:
        problems.append(f"part {n} has no title")
        return None
    if len(title) > MAX_TITLE_CHARS:
        problems.append(
            f"part {n}'s title is {len(title):,} characters long; keep it under "
            f"{MAX_TITLE_CHARS} (put the rest in its detail)"
        )
        return None
    if len(detail) > MAX_DETAIL_CHARS:
        problems.append(
            f"part {n}'s detail is {len(detail):,} characters long; keep it under "
            f"{MAX_DETAIL_CHARS:,}"
        )
        return None
    agent = " ".join(_text(fields.get("agent")).split()) or None
    return Part(n, title, detail, _flag(fields.get("commands")), agent)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def _flag(value: Any) -> bool:
    """`commands` as models write it: a boolean, a word, or the commands themselves."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        return word not in _FALSE if word in _TRUE | _FALSE else bool(word)
    if isinstance(value, list | dict):
        return bool(value)
    return False


# --- who does what ---------------------------------------------------------------------------


def resolve_agent(word: str | None, candidates: Sequence[Candidate]) -> str | None:
    """The candidate `word` names, any case: its name, display name or an alias, else its role
    (the first candidate with it); a leading `@` and a `:server` tail are ignored. None when it
    names nobody."""
    if word is None:
        return None
    key = word.strip().strip(".,;:!\"'`()[]").lstrip("@").split(":", 1)[0].strip().casefold()
    if not key:
        return None
    for candidate in candidates:
        if key in {s.casefold() for s in (candidate.name, candidate.display, *candidate.aliases)}:
            return candidate.name
    for candidate in candidates:
        if candidate.role.strip() and key == candidate.role.strip().casefold():
            return candidate.name
    return None


def assign(
    parts: Sequence[Part], candidates: Sequence[Candidate], ranking: Sequence[str]
) -> list[str]:
    """The agent of each part, in order: the one the planner suggested (when it resolves);
    else among the agents whose role words appear in the part's title and detail (the most
    such words), else among all, the one with the fewest parts so far, best `ranking` first
    (`records.ranked_for`; agents it lacks rank after it, in candidates order). So parts
    spread over the council and run in parallel, and a specialist gets its specialty."""
    if not candidates:
        return []
    load: dict[str, int] = {c.name: 0 for c in candidates}
    chosen: list[str] = []
    for part in parts:
        name = resolve_agent(part.suggested, candidates) or _best(part, candidates, ranking, load)
        load[name] = load.get(name, 0) + 1
        chosen.append(name)
    return chosen


def reassign(
    part: Part,
    tried: Collection[str],
    candidates: Sequence[Candidate],
    ranking: Sequence[str],
    load: Mapping[str, int],
) -> str | None:
    """Another agent for a part that failed: one that has not tried it yet, chosen as `assign`
    chooses (role words, then the fewest parts in `load`, then `ranking`); None when every
    candidate tried it."""
    left = [c for c in candidates if c.name not in tried]
    if not left:
        return None
    return _best(part, left, ranking, load)


def _best(
    part: Part, candidates: Sequence[Candidate], ranking: Sequence[str], load: Mapping[str, int]
) -> str:
    words = _words(f"{part.title} {part.detail}")
    scored = [(_role_score(c.role, words, part), c) for c in candidates]
    top = max(score for score, _ in scored)
    pool = [c for score, c in scored if score == top]
    order = {name: i for i, name in enumerate(ranking)}
    position = {c.name: i for i, c in enumerate(candidates)}
    return min(
        pool,
        key=lambda c: (
            load.get(c.name, 0),
            order.get(c.name, len(order)),
            position[c.name],
        ),
    ).name


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def _role_score(role: str, words: set[str], part: Part) -> int:
    """How many of the role's words the part's text holds (a Latin word by its stem, so
    "writer" matches "write", "researcher" "research"; a Korean one inside any word)."""
    text = f"{part.title} {part.detail}".casefold()
    score = 0
    for role_word in _words(role):
        if _HANGUL.search(role_word):
            score += int(len(role_word) >= 2 and role_word in text)
        elif len(role_word) >= 4:
            score += int(any(_same_stem(role_word, w) for w in words))
    return score


def _same_stem(a: str, b: str) -> bool:
    if a == b:
        return True
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 4 and common >= min(len(a), len(b)) - 2


# --- the parts' plans as one -------------------------------------------------------------------


def combined_plan(plans: Sequence[tuple[Part, Plan]]) -> Plan:
    """The commands parts' plans as one plan for the master's approval: their steps in part
    order (each part's own order kept), the summary naming each part. Parts are independent by
    design, so a part's leading parallel steps may share a stage with the previous part's
    trailing ones."""
    ordered = sorted(plans, key=lambda item: item[0].n)
    steps: list[Step] = []
    said: list[str] = []
    for part, plan in ordered:
        steps += plan.steps
        what = f": {plan.summary.strip()}" if plan.summary.strip() else ""
        said.append(f"Part {part.n} ({clip(part.title, TITLE_CHARS)}){what}")
    return Plan(tuple(steps), "; ".join(said))


# --- texts -------------------------------------------------------------------------------------


def split_line(task_id: int, parts: Sequence[Part], names: Sequence[str], merger: str) -> str:
    """ "#12 ✂️ Split into 3 parts; Claude merges:\\n1. Search prices → Perplexity\\n2. …";
    `names` are the parts' agents' display names, in order. A part that needs commands says
    so: its steps wait for the master's approval."""
    lines = [f"{prefix(task_id)}✂️ Split into {len(parts)} parts; {merger} merges:"]
    for part, name in zip(parts, names, strict=False):
        flag = " (commands, for your approval)" if part.commands else ""
        lines.append(f"{part.n}. {clip(part.title, TITLE_CHARS)} → {name}{flag}")
    return "\n".join(lines)


def part_ask_line(task_id: int, part: Part, total: int, name: str, seconds: float) -> str:
    """ "#12 🧩 Asking GPT for part 2 of 3: Analyse the logs (5 min)." """
    what = "a plan for part" if part.commands else "part"
    return (
        f"{prefix(task_id)}🧩 Asking {name} for {what} {part.n} of {total}: "
        f"{clip(part.title, TITLE_CHARS)} ({wait(seconds)})."
    )


def part_failed_line(task_id: int, part: Part, name: str, why: str, next_name: str | None) -> str:
    """ "#12 ⚠️ Part 2 (Analyse the logs): GPT — no answer within 5 min; given to Claude." or
    "…; it stays missing." """
    said = clip(" ".join(why.split()), 200) or "no reason given"
    then = f"given to {next_name}" if next_name else "it stays missing"
    return (
        f"{prefix(task_id)}⚠️ Part {part.n} ({clip(part.title, TITLE_CHARS)}): {name} — "
        f"{said}; {then}."
    )


def merge_ask_line(task_id: int, name: str, count: int, missing: int, seconds: float) -> str:
    """ "#12 🔗 Asking Claude to merge the 3 parts into one result (5 min)."; missing parts
    are named as such: the merge says what is missing."""
    done = count - missing if missing else count
    if missing:
        what = (
            f"the {_count(done, 'part')} done into one result; "
            f"{_count(missing, 'part')} {'is' if missing == 1 else 'are'} missing"
        )
    else:
        what = f"the {_count(count, 'part')} into one result"
    return f"{prefix(task_id)}🔗 Asking {name} to merge {what} ({wait(seconds)})."


class PartFacts(Protocol):
    """What the report needs of one part (the store's `PartRow` has these)."""

    @property
    def n(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def agent(self) -> str: ...
    @property
    def tried(self) -> tuple[str, ...]: ...
    @property
    def status(self) -> str: ...
    @property
    def why(self) -> str: ...


def parts_block(rows: Sequence[PartFacts], displays: Mapping[str, str] | None = None) -> str:
    """The parts for the report and `!task N`, one line each: who did it (reassigned from
    whom), ✅ done, ⏳ asked, or ❌ missing and why. `displays` maps agent names to display
    names (a name it lacks is shown as it is)."""
    shown = displays or {}

    def who(name: str) -> str:
        return shown.get(name, name)

    lines = ["Parts:"]
    for row in sorted(rows, key=lambda r: r.n):
        before = [who(name) for name in row.tried if name != row.agent]
        moved = f" (reassigned from {said_names(before)})" if before else ""
        head = f"{row.n}. {clip(row.title, TITLE_CHARS)} — {who(row.agent)}{moved}"
        if row.status == "done":
            lines.append(f"{head} ✅")
        elif row.status == "missing":
            why = clip(" ".join(row.why.split()), 200) or "no reason given"
            lines.append(f"{head} ❌ missing: {why}")
        else:
            lines.append(f"{head} ⏳ working")
    return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
