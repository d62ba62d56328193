"""What an agent's model reads for one of the coordinator's asks. Pure: no Matrix, no I/O.

Each stage has its template in `prompts/council/` (Jinja, StrictUndefined like the persona:
an unknown variable is an error, not a blank). The stage prompt follows the agent's persona
in the system prompt; the one user turn is the master's mission. Long material (proposals,
plans, outputs) is cut in the middle so the whole fits the agent's context budget.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from bots.agents.conversation import (
    KOREAN,
    detect_language,
    estimate_tokens,
    template_environment,
    truncate_middle,
)
from bots.agents.council_wire import CouncilAsk
from bots.errors import ConfigError
from bots.settings import Settings
from bots.tasks.votes import Option
from bridge.llm.base import ChatMessage
from executor.hosts import HostConfig

COUNCIL_PROMPTS = Path(__file__).resolve().parent / "prompts" / "council"
TASK_LANGUAGE = "the language the task is written in"
MIN_TEXT_TOKENS = 200
"""Each long text keeps at least this much, however many share the budget."""
LESSON_STAGES = frozenset({"plan", "review", "fix", "split"})
"""The asks that carry lessons from earlier tasks (`context["lessons"]`)."""
LESSON_SHARE = 4
"""Lessons take at most a quarter of the text budget; the rest is the task's own."""


@dataclass(frozen=True)
class HostLine:
    """A server the plan may name, as the prompt lists it."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class Ballot:
    """One option of a vote as this agent sees it: `own` marks its own proposal."""

    key: str
    text: str
    own: bool
    author: str = ""


@dataclass(frozen=True)
class Speaker:
    """Who the prompt is for, and who it speaks of."""

    name: str
    display_name: str
    role: str
    master_name: str
    language_hint: str


def host_lines(asked: object, configured: Mapping[str, HostConfig]) -> list[HostLine]:
    """The hosts the ask names (`{name: description}`), else the executor's configured ones."""
    if isinstance(asked, Mapping) and asked:
        return [HostLine(str(name), _text(about)) for name, about in asked.items()]
    return [HostLine(name, _describe(host)) for name, host in configured.items()]


def _describe(host: HostConfig) -> str:
    if host.address is None:
        return "this machine"
    user = f"{host.user}@" if host.user else ""
    return f"{user}{host.address}" + (f" (in {host.workdir})" if host.workdir else "")


def ballot(ask: CouncilAsk, me: str) -> list[Ballot]:
    """The options of a vote ask, in order; `context["own"][me]` marks this agent's own.
    An option without a key is left out (the poll could not show it either)."""
    own = ask.context.get("own")
    mine = own.get(me) if isinstance(own, Mapping) else None
    found = []
    for option in ask.context.get("options") or []:
        if not isinstance(option, Mapping) or not isinstance(option.get("key"), str):
            continue
        key = option["key"]
        author = option.get("author")
        found.append(
            Ballot(
                key=key,
                text=_text(option.get("text")),
                own=key == mine,
                author=me if key == mine else author if isinstance(author, str) else "",
            )
        )
    return found


def vote_options(ballots: Sequence[Ballot], settings: Settings) -> list[Option]:
    """The ballot as `bots.tasks.votes` reads a choice: an author's display name and
    aliases count as naming that author's option."""
    names = {a.name: (a.account.display_name, *a.account.aliases) for a in settings.agents}
    return [
        Option(b.key, b.author, names.get(b.author, ()), b.text.strip().split("\n", 1)[0][:80])
        for b in ballots
    ]


def stage_variables(
    ask: CouncilAsk,
    speaker: Speaker,
    *,
    hosts: Sequence[HostLine],
    self_vote: bool,
    text_tokens: int,
) -> dict[str, Any]:
    """Every variable the ask's template reads (StrictUndefined: all of them, always)."""
    context = ask.context
    if ask.stage in LESSON_STAGES:
        lessons = _lessons(context.get("lessons"), text_tokens // LESSON_SHARE)
        text_tokens -= sum(estimate_tokens(lesson["text"]) for lesson in lessons)
    common: dict[str, Any] = {
        "task": ask.task,
        "mission": ask.mission.strip(),
        "language_hint": speaker.language_hint,
        "master_name": speaker.master_name,
        "agent": {
            "name": speaker.name,
            "display_name": speaker.display_name,
            "role": speaker.role,
        },
        "hosts": [{"name": h.name, "description": h.description} for h in hosts],
    }
    if ask.stage in LESSON_STAGES:
        common["lessons"] = lessons
    if ask.stage == "poll":
        ballots = ballot(ask, speaker.name)
        share = _share(text_tokens, len(ballots))
        common["poll"] = ask.poll
        common["options"] = [{"key": b.key, "text": _fit(b.text, share)} for b in ballots]
    elif ask.stage == "vote":
        ballots = ballot(ask, speaker.name)
        share = _share(text_tokens, len(ballots))
        critiques = _critiques(context.get("critiques"))
        common["options"] = [
            {
                "key": b.key,
                "text": _fit(b.text, share),
                "own": b.own,
                "critiques": critiques.get(b.key, []),
            }
            for b in ballots
        ]
        common["self_vote"] = self_vote
    elif ask.stage in ("critique", "revise"):
        common.update(critique_variables(ask, speaker.name, text_tokens))
    elif ask.stage in ("plan", "refine"):
        others = [_text(o) for o in context.get("others") or [] if _text(o).strip()]
        share = _share(text_tokens, 2 + len(others))
        common["proposal"] = _fit(_text(context.get("proposal")), 2 * share)
        common["others"] = [_fit(o, share) for o in others]
        if ask.stage == "plan":
            for name in ("error", "denied", "review"):
                common[name] = _text(context.get(name)).strip()
            common["hybrid"] = _hybrid(context.get("hybrid"), share)
    elif ask.stage == "review":
        common["plan"] = _fit(_text(context.get("plan")), text_tokens)
        common["verdicts"] = [_verdict(v) for v in context.get("verdicts") or []]
    elif ask.stage == "fix":
        share = _share(text_tokens, 2)
        common["plan"] = _fit(_text(context.get("plan")), share)
        common["output"] = _fit(_text(context.get("output")), share)
        common["failed_step"] = _text(context.get("failed_step")) or "?"
        common["attempt"] = _text(context.get("attempt")) or "?"
    elif ask.stage == "minutes":
        common.update(minutes_variables(ask, text_tokens))
    elif ask.stage in ("split", "part", "merge"):
        common.update(split_variables(ask, text_tokens))
    return common


DEFAULT_MAX_PARTS = 6
"""The most parts a split may have when the ask does not say (`tasks.max_parts`)."""


def split_variables(ask: CouncilAsk, text_tokens: int) -> dict[str, Any]:
    """Divide and merge: the planner's material (the members with their roles, how many parts
    at most, why its previous split could not be used), one part's (the part, every part's
    title), or the merger's (the parts' results, those missing and why). Malformed entries
    are left out; long results share the text budget."""
    context = ask.context
    if ask.stage == "split":
        agents = [
            {
                "name": _text(a.get("name")),
                "display": _text(a.get("display")) or _text(a.get("name")),
                "role": _text(a.get("role")),
            }
            for a in _objects(context.get("agents"))
            if _text(a.get("name")).strip()
        ]
        return {
            "agents": agents,
            "max_parts": _count(context.get("max_parts"), DEFAULT_MAX_PARTS),
            "error": _text(context.get("error")).strip(),
        }
    if ask.stage == "part":
        raw = context.get("part")
        part: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        titles = [_text(t) for t in context.get("parts") or [] if _text(t).strip()]
        return {
            "part": {
                "n": _count(part.get("n"), 1),
                "title": _text(part.get("title")).strip(),
                "detail": _fit(_text(part.get("detail")).strip(), text_tokens // 2),
                "commands": part.get("commands") is True,
            },
            "total": _count(context.get("total"), len(titles) or 1),
            "parts": titles,
        }
    done = [p for p in _objects(context.get("parts")) if _text(p.get("result")).strip()]
    share = _share(text_tokens, len(done))
    return {
        "parts": [
            {
                "n": _text(p.get("n")) or "?",
                "title": _text(p.get("title")).strip(),
                "agent": _text(p.get("agent")).strip(),
                "result": _fit(_text(p.get("result")).strip(), share),
            }
            for p in done
        ],
        "missing": [
            {
                "n": _text(m.get("n")) or "?",
                "title": _text(m.get("title")).strip(),
                "why": _text(m.get("why")).strip() or "no reason given",
            }
            for m in _objects(context.get("missing"))
        ],
        "commands": context.get("commands") is True,
    }


def _objects(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _count(value: object, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    )


def critique_variables(ask: CouncilAsk, me: str, text_tokens: int) -> dict[str, Any]:
    """The critique round's material: every option (this agent's own marked, `own_key`);
    for a revision also the critiques its own option got (`critiques`: by, text)."""
    ballots = ballot(ask, me)
    share = _share(text_tokens, len(ballots) + 1)
    own_key = next((b.key for b in ballots if b.own), "")
    found: dict[str, Any] = {
        "own_key": own_key,
        "options": [
            {"key": b.key, "text": _fit(b.text, 2 * share if b.own else share), "own": b.own}
            for b in ballots
        ],
    }
    if ask.stage == "revise":
        raw = ask.context.get("critiques")
        mine = raw.get(own_key) if isinstance(raw, Mapping) else None
        found["critiques"] = [
            {"by": _text(c.get("by")) or "another member", "text": _text(c.get("text"))}
            if isinstance(c, Mapping)
            else {"by": "another member", "text": _text(c)}
            for c in (mine if isinstance(mine, list) else [])
        ]
    return found


def _critiques(value: object) -> dict[str, list[str]]:
    """`context["critiques"]` of a vote (key → lines, or `{by, text}` objects) as lines."""
    if not isinstance(value, Mapping):
        return {}
    return {
        str(key): [
            _text(item.get("text")) if isinstance(item, Mapping) else _text(item) for item in items
        ]
        for key, items in value.items()
        if isinstance(items, list)
    }


def _hybrid(value: object, share: int) -> list[dict[str, str]]:
    """`context["hybrid"]` of a plan ask: the close runners-up (key, author, text)."""
    return [
        {
            "key": _text(item.get("key")),
            "author": _text(item.get("author")),
            "text": _fit(_text(item.get("text")), share),
        }
        for item in (value if isinstance(value, list) else [])
        if isinstance(item, Mapping) and item.get("key")
    ]


def minutes_variables(ask: CouncilAsk, text_tokens: int) -> dict[str, Any]:
    """The scribe's material: a task's facts (`context["facts"]`, lines) or a discussion's
    transcript (`context["discussion"]`, lines); task 0 is a discussion."""
    lines = ask.context.get("discussion" if ask.task == 0 else "facts") or []
    text = "\n".join(_text(line) for line in lines) if isinstance(lines, list) else _text(lines)
    return {"is_task": ask.task > 0, "material": _fit(text, text_tokens)}


def stage_prompt(variables: Mapping[str, Any], stage: str) -> str:
    """The stage's template rendered; a template error is a configuration error."""
    try:
        template = template_environment(COUNCIL_PROMPTS).get_template(f"{stage}.md.j2")
        text = template.render(variables)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"council prompt {stage}.md.j2: {exc}") from exc
    return _BLANK_LINES.sub("\n\n", text).strip()


def language_of(mission: str) -> str:
    """Answers mirror the master: the language the mission is written in."""
    return KOREAN if detect_language(mission) == KOREAN else TASK_LANGUAGE


def conversation(persona: str, prompt: str, speaker: Speaker, mission: str) -> list[ChatMessage]:
    """System: the persona, then the stage's instructions; user: the master's mission."""
    said = mission.strip() or "(see the task above)"
    return [
        ChatMessage("system", f"{persona}\n\n{prompt}"),
        ChatMessage("user", f"{speaker.master_name}: {said}"),
    ]


_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def _text(value: object) -> str:
    """A context value as prompt text: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


def _verdict(value: object) -> str:
    """A policy verdict line: `{"step": 2, "verdict": "approve", "reason": "…"}` or text."""
    if not isinstance(value, Mapping):
        return _text(value)
    step, verdict, reason = value.get("step", "?"), value.get("verdict", "?"), value.get("reason")
    return f"step {step}: {verdict}" + (f" — {reason}" if reason else "")


def _lessons(value: object, tokens: int) -> list[dict[str, Any]]:
    """`context["lessons"]` (`[{"id": 3, "text": …}]`) as the template reads them, each
    cut to its share of `tokens`; anything malformed is left out."""
    found = [
        (item["id"], _text(item.get("text")).strip())
        for item in (value if isinstance(value, list) else [])
        if isinstance(item, Mapping) and isinstance(item.get("id"), int)
    ]
    found = [(n, text) for n, text in found if text]
    share = max(MIN_TEXT_TOKENS // 2, tokens // max(1, len(found)))
    return [{"id": n, "text": _fit(text, share)} for n, text in found]


def _share(tokens: int, parts: int) -> int:
    return max(MIN_TEXT_TOKENS, tokens // max(1, parts))


def _fit(text: str, tokens: int) -> str:
    return truncate_middle(text, tokens)
