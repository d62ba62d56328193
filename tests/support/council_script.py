"""Scripted agents for the task workflow: what each fake model answers at each stage.

The coordinator asks the agents for proposals, votes, plans, reviews, fixes and refinements;
each agent puts the ask into a prompt (bots/agents/prompts/council/) and calls its model,
here `FakeLLMServer`. `CouncilScript` is the server's responder: it reads which agent is
asked (by model name) and at which stage (by the prompt) and answers what the test scripted,
else a sensible default, so a test only writes what its story changes::

    script = CouncilScript(agents, plans={1: plan_json(step("local", "df -h"))})
    llm.respond(script)

A split task (divide and merge) asks the planner for a split (default: 3 parts, each naming
one of the first 3 members the split prompt lists, the planner merging), each part's agent
for its part (default: "part N done by X", or a plan when the part needs commands) and the
merger for the merged result (default: the parts' results joined). Script them with
`set("split", …, split_json(part_entry(…), …))`, `set_part(n, …, agent=…)` and
`set("merge", …)`; `parts_asked` records who was asked for which part.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.llm_server import RecordedRequest, Scripted, reply

Stage = Literal[
    "propose",
    "vote",
    "plan",
    "review",
    "fix",
    "refine",
    "minutes",
    "split",
    "part",
    "merge",
    "critique",
    "revise",
]
STAGES: tuple[Stage, ...] = (
    "propose",
    "vote",
    "plan",
    "review",
    "fix",
    "refine",
    "minutes",
    "split",
    "part",
    "merge",
    "critique",
    "revise",
)

# The heading every stage prompt starts with (bots/agents/prompts/council/*.md.j2).
_HEADING = re.compile(r"^# Task #\d+: (.+?)(?: \(attempt \d+\))?\s*$", re.M)
_HEADINGS: Mapping[str, Stage] = {
    "your proposal": "propose",
    "your vote": "vote",
    "the plan": "plan",
    "review the plan": "review",
    "fix the plan": "fix",
    "the final answer": "refine",
    "the minutes": "minutes",
    "split the task": "split",
    "your part": "part",
    "merge the parts": "merge",
    "critique the proposals": "critique",
    "revise your proposal": "revise",
}
# A discussion's minutes have no task number.
_DISCUSSION_MINUTES = re.compile(r"^# The minutes of a discussion\s*$", re.M)
# What names the stage when the prompt has no such heading; the first
# match wins, so the later stages' words (a fix prompt talks about the plan) come first.
_STAGE_WORDS: tuple[tuple[Stage, re.Pattern[str]], ...] = (
    ("vote", re.compile(r"\bvot(e|ing)\b|\bballot\b|투표", re.I)),
    ("fix", re.compile(r"\bfix\b|\bfailed step\b|\bself-heal", re.I)),
    ("review", re.compile(r"\breview\b|\brisk\b", re.I)),
    ("refine", re.compile(r"\brefine\b|\bfinal answer\b", re.I)),
    ("plan", re.compile(r"\bplan\b.*\bjson\b|\bjson\b.*\bsteps\b|\"steps\"", re.I | re.S)),
    ("propose", re.compile(r"\bpropos(e|al)\b|제안", re.I)),
)
_EXPLICIT = re.compile(
    r"\bstage\W{0,3}"
    r"(propose|vote|plan|review|fix|refine|minutes|split|part|merge|critique|revise)\b",
    re.I,
)
# The split prompt's members ("- `claude` (Claude): writer"), a part prompt's own part
# ("Your part is part 2: …"), whether it needs commands, and the merge prompt's results.
_MEMBER = re.compile(r"^- `([^`]+)` \(", re.M)
_OWN_PART = re.compile(r"^Your part is part (\d+):", re.M)
_COMMANDS_PART = "write a plan for your part only"
_RESULT = re.compile(r"^--- Part (\d+): .*\n(.*)$", re.M)
_MISSING = re.compile(r"^- Part (\d+): .* — ", re.M)


# An option's heading in a vote prompt: "## Option B (your own…)", or "B · …", "B) …".
_OPTION = re.compile(r"(?:^|\n)\W{0,4}option\s+([A-H])\b|(?:^|\n)\W{0,4}([A-H])\s*[·:.)\-—]", re.I)


def stage_of(request: RecordedRequest) -> Stage | None:
    """The workflow stage a request is about: the stage prompt's heading, else its words."""
    for heading in _HEADING.finditer(request.system):
        if heading.group(1).lower() in _HEADINGS:
            return _HEADINGS[heading.group(1).lower()]
    if _DISCUSSION_MINUTES.search(request.system):
        return "minutes"
    for text in (request.system, request.prompt):
        found = _EXPLICIT.search(text)
        if found:
            return found.group(1).lower()  # type: ignore[return-value]
    for text in (request.system, request.prompt):
        for stage, words in _STAGE_WORDS:
            if words.search(text):
                return stage
    return None


@dataclass(frozen=True)
class AgentModel:
    """One agent as the fake server sees it: the model it asks for and its display name."""

    name: str
    model: str
    display_name: str


def step(
    host: str,
    command: str,
    purpose: str = "",
    *,
    verify: str | None = None,
    rollback: str | None = None,
    parallel: bool = False,
) -> dict[str, Any]:
    """One plan step as a model writes it."""
    found: dict[str, Any] = {"host": host, "command": command, "purpose": purpose or command}
    if verify is not None:
        found["verify"] = verify
    if rollback is not None:
        found["rollback"] = rollback
    if parallel:
        found["parallel"] = True
    return found


def plan_json(*steps: dict[str, Any], summary: str = "The plan.") -> str:
    """A plan as a chatty model answers: some prose, then the JSON in a fence."""
    body = json.dumps({"summary": summary, "steps": list(steps)}, indent=2)
    return f"Here is the plan.\n\n```json\n{body}\n```\n"


def part_entry(
    title: str, agent: str | None = None, *, detail: str = "", commands: bool = False
) -> dict[str, Any]:
    """One part of a split as a planner writes it."""
    found: dict[str, Any] = {"title": title}
    if detail:
        found["detail"] = detail
    if agent is not None:
        found["agent"] = agent
    if commands:
        found["commands"] = True
    return found


def split_json(*parts: dict[str, Any] | str, merger: str | None = None) -> str:
    """A split as a chatty planner answers: a sentence, then the JSON in a fence."""
    found: dict[str, Any] = {"parts": list(parts)}
    if merger is not None:
        found["merger"] = merger
    return f"Here is how we divide it.\n\n```json\n{json.dumps(found, indent=2)}\n```\n"


def part_text(n: int, agent: str) -> str:
    """A text part's default result."""
    return f"part {n} done by {agent}"


def part_plan(n: int) -> str:
    """A commands part's default answer: a one-step read-only plan naming the part."""
    return plan_json(step("local", f"echo part {n}", f"part {n}"), summary=f"Part {n}.")


# The options a critique prompt lists that are not the agent's own.
_OTHERS = re.compile(r"^## Option ([A-T])$", re.M)


def critique_token(agent: str, key: str) -> str:
    """A default critique: who wrote it of which option, to follow it into the vote prompt."""
    return f"[{agent}-critique-of-{key}]"


def proposal_token(agent: str) -> str:
    """Put in every default proposal, so a vote prompt shows which option is whose."""
    return f"[{agent}-proposal]"


Answer = str | Scripted | Callable[[RecordedRequest], "str | Scripted"]
"""What an agent answers: text, a scripted reply or error, or a function of the request."""


@dataclass
class CouncilScript:
    """The fake server's responder for a council of agents (see the module docstring).

    Per stage, `answers[stage][agent]` (or `answers[stage]["*"]`) overrides the default;
    a list there is used in order, one entry per ask, the last one repeating.
    """

    agents: Sequence[AgentModel]
    commands: bool = True
    """What the default proposals declare (`COMMANDS: yes|no`): no → the task needs no
    command and ends with the winner's refined answer."""
    winner: str = "gpt"
    """Who the agents vote for by default (the winner itself votes for `runner_up`)."""
    runner_up: str = "claude"
    plan: Answer = field(default_factory=lambda: plan_json(step("local", "df -h", "disk usage")))
    answers: dict[Stage, dict[str, Answer | list[Answer]]] = field(default_factory=dict)
    delays: dict[Stage, float] = field(default_factory=dict)
    """Seconds a model "thinks" before answering at a stage (to let the master act first)."""
    asked: list[tuple[str, Stage | None]] = field(default_factory=list)
    """Every request: (agent, stage), in arrival order."""
    parts_asked: list[tuple[str, int]] = field(default_factory=list)
    """Every part request: (agent, part number), in arrival order."""
    part_answers: dict[tuple[str, int], list[Answer]] = field(default_factory=dict)
    _used: dict[tuple[Stage, str], int] = field(default_factory=dict)
    _parts_used: dict[tuple[str, int], int] = field(default_factory=dict)

    def set(self, stage: Stage, agent: str, *answers: Answer) -> None:
        """Script `agent`'s answers at `stage` ("*" for any agent), one per ask."""
        self.answers.setdefault(stage, {})[agent] = list(answers)

    def set_part(self, n: int, *answers: Answer, agent: str = "*") -> None:
        """Script the answers to part `n` (by `agent`, "*" for whoever is asked), one per
        ask: a reassigned part asks again. Wins over `set("part", …)`."""
        self.part_answers[(agent, n)] = list(answers)

    def count(self, stage: Stage, agent: str | None = None) -> int:
        """How many requests were made at `stage` (by `agent`)."""
        return sum(1 for a, s in self.asked if s == stage and agent in (None, a))

    def agent_of(self, request: RecordedRequest) -> AgentModel | None:
        return next((a for a in self.agents if a.model == request.model), None)

    def __call__(self, request: RecordedRequest) -> Scripted | None:
        agent = self.agent_of(request)
        stage = stage_of(request)
        self.asked.append((agent.name if agent else request.model, stage))
        if agent is None or stage is None:
            return None
        chosen: Answer | None = None
        if stage == "part":
            n = _part_number(request)
            self.parts_asked.append((agent.name, n))
            chosen = self._scripted_part(n, agent.name)
        if chosen is None:
            chosen = self._scripted(stage, agent.name)
        answer = chosen if chosen is not None else self._default(stage, agent, request)
        if callable(answer) and not isinstance(answer, Scripted):
            answer = answer(request)
        out = answer if isinstance(answer, Scripted) else reply(answer)
        delay = self.delays.get(stage, 0.0)
        return dataclasses.replace(out, delay_s=max(delay, out.delay_s))

    def _scripted(self, stage: Stage, agent: str) -> Answer | None:
        by_agent = self.answers.get(stage, {})
        key = agent if agent in by_agent else "*"
        if key not in by_agent:
            return None
        choices = by_agent[key]
        if not isinstance(choices, list):
            return choices
        used = self._used.get((stage, key), 0)
        self._used[(stage, key)] = used + 1
        return choices[min(used, len(choices) - 1)] if choices else None

    def _scripted_part(self, n: int, agent: str) -> Answer | None:
        key = (agent, n) if (agent, n) in self.part_answers else ("*", n)
        choices = self.part_answers.get(key)
        if not choices:
            return None
        used = self._parts_used.get(key, 0)
        self._parts_used[key] = used + 1
        return choices[min(used, len(choices) - 1)]

    def _default(self, stage: Stage, agent: AgentModel, request: RecordedRequest) -> Answer:
        if stage == "propose":
            return (
                f"{proposal_token(agent.name)} Run the read-only checks first, then report."
                f"\nCOMMANDS: {'yes' if self.commands else 'no'}"
            )
        if stage == "vote":
            target = self.runner_up if agent.name == self.winner else self.winner
            return f"VOTE: {self._option_for(target, request)}\nREASON: the simplest safe plan."
        if stage in ("plan", "fix"):
            return self.plan
        if stage == "review":
            return "Risk: low. Every step only reads.\nVERDICT: approve"
        if stage == "minutes":
            return f"Minutes by {agent.display_name}: the council met and decided."
        if stage == "split":
            return self._default_split(agent, request)
        if stage == "part":
            n = _part_number(request)
            if _COMMANDS_PART in request.system:
                return part_plan(n)
            return part_text(n, agent.name)
        if stage == "merge":
            return _default_merge(agent, request)
        if stage == "critique":
            others = _OTHERS.findall(request.system)
            return "\n".join(f"{key}: {critique_token(agent.name, key)}" for key in others)
        if stage == "revise":
            return "KEEP"
        return f"Final answer for the master, refined by {agent.display_name}."

    def _default_split(self, agent: AgentModel, request: RecordedRequest) -> str:
        """3 parts, one for each of the first 3 members the prompt lists (else the script's
        agents), merged by the planner."""
        members = _MEMBER.findall(request.system) or [a.name for a in self.agents]
        chosen = (members * 3)[:3]
        titles = ("Search the facts", "Analyse them", "Write the summary")
        return split_json(
            *(part_entry(title, name) for title, name in zip(titles, chosen, strict=True)),
            merger=agent.name,
        )

    def _option_for(self, author: str, request: RecordedRequest) -> str:
        """The option letter of `author`'s proposal in a vote prompt, else their name."""
        text = request.text
        token = text.find(proposal_token(author))
        if token >= 0:
            letters = list(_OPTION.finditer(text[:token]))
            if letters:
                return (letters[-1].group(1) or letters[-1].group(2)).upper()
        names = {a.name: a.display_name for a in self.agents}
        return names.get(author, author)


def _part_number(request: RecordedRequest) -> int:
    found = _OWN_PART.search(request.system)
    return int(found.group(1)) if found else 0


def _default_merge(agent: AgentModel, request: RecordedRequest) -> str:
    """ "Merged by Claude: part 1 done by perplexity; part 2 done by gpt. Missing: part 3." """
    results = [text.strip() for _, text in _RESULT.findall(request.system)]
    missing = [f"part {n}" for n in _MISSING.findall(request.system)]
    merged = f"Merged by {agent.display_name}: " + ("; ".join(results) or "no results") + "."
    return merged + (f" Missing: {', '.join(missing)}." if missing else "")


def agent_models(agents: Sequence[Mapping[str, Any]]) -> list[AgentModel]:
    """From the config's agent entries (name, model, display_name)."""
    return [AgentModel(a["name"], a["model"], a.get("display_name", a["name"])) for a in agents]
