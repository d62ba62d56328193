"""A plan as models write it, read leniently: the first JSON object with a `steps` list
anywhere in the answer, fenced or not, with prose around it.

Models differ and local ones have neither JSON mode nor tool calls, so nothing here depends on
them: every `{` is tried as the start of a JSON value, key spellings vary (`cmd`, `server`,
`check`, `undo`), `parallel` may be a word, and a trailing comma (a common slip of small
models) is forgiven by one retry without it. What cannot be read becomes a `PlanError` whose
text says exactly what is wrong (step number, field): it goes back to the model once.

`plan_digest` is what an approval binds to: it covers what runs (host, command, verify,
rollback, parallel, order), not the prose around it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bots.execution.requests import MAX_COMMAND_CHARS, command_digest
from bots.tasks.lenient_json import TRAILING_COMMA, kind_of, norm_key, scan_json

MAX_ANSWER_CHARS = 200_000
"""A longer answer is not searched for a plan (it is not one a person could approve)."""
MAX_PROBLEMS = 6
"""Problems listed in one `PlanError`; more are counted."""
_PLAN_DIGEST_VERSION = "chavion-plan-v1"

_FIELDS: dict[str, str] = {
    **dict.fromkeys(("host", "server", "hostname", "target", "machine", "node"), "host"),
    **dict.fromkeys(("command", "cmd", "run", "shell", "commands", "script"), "command"),
    **dict.fromkeys(
        (
            "purpose",
            "description",
            "desc",
            "why",
            "reason",
            "goal",
            "explanation",
            "title",
            "name",
        ),
        "purpose",
    ),
    **dict.fromkeys(
        ("verify", "check", "verification", "validate", "validation", "test", "verify_command"),
        "verify",
    ),
    **dict.fromkeys(
        ("rollback", "undo", "revert", "roll_back", "rollback_command", "undo_command"),
        "rollback",
    ),
    **dict.fromkeys(("parallel", "concurrent", "parallelizable", "parallelisable"), "parallel"),
}
_SUMMARY_KEYS = ("summary", "description", "title", "goal", "overview")
_TRUE = frozenset({"true", "yes", "y", "1", "parallel"})
_FALSE = frozenset({"false", "no", "n", "0", "", "none", "null", "sequential"})

PLAN_SHAPE = (
    '{"summary": "…", "steps": [{"host": "…", "command": "…", "purpose": "…", '
    '"verify": null, "rollback": null, "parallel": false}]}'
)
"""The shape every error message shows the model."""


@dataclass(frozen=True)
class Step:
    """One command on one host; `verify` runs after it (its failure fails the step) and
    `rollback` undoes it when the task gives up. Parallel-marked steps next to each other run
    together."""

    host: str
    command: str
    purpose: str = ""
    verify: str | None = None
    rollback: str | None = None
    parallel: bool = False


@dataclass(frozen=True)
class Credit:
    """What a hybrid plan took from a runner-up (issue 17's close vote): `source` is the
    option key or author the plan names ("B", "Gemini"), `part` what was taken."""

    source: str
    part: str = ""


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    summary: str = ""
    credits: tuple[Credit, ...] = ()
    """Parts taken from other proposals, for the report; never part of the digest."""


@dataclass(frozen=True)
class PlanError:
    """Why the answer is not a plan; said to the model (once) and then to the master."""

    text: str


def plan_digest(plan: Plan) -> str:
    """sha256 of the plan's canonical JSON: what runs, where, in which order (purposes and
    the summary are prose, not part of it). Version-tagged, so the form may change later."""
    return steps_digest(
        [
            {
                "host": s.host,
                "command": s.command,
                "verify": s.verify,
                "rollback": s.rollback,
                "parallel": s.parallel,
            }
            for s in plan.steps
        ]
    )


def steps_digest(steps: Sequence[Mapping[str, Any]]) -> str:
    """`plan_digest` over steps as the plan event carries them (see `wire_steps`), so the
    executor can recompute it from the event alone. Keys other than host, command, verify,
    rollback and parallel are not part of it."""
    rows = [
        [
            step.get("host"),
            step.get("command"),
            step.get("verify"),
            step.get("rollback"),
            bool(step.get("parallel")),
        ]
        for step in steps
    ]
    canonical = json.dumps(
        {"v": _PLAN_DIGEST_VERSION, "steps": rows},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def wire_steps(plan: Plan) -> list[dict[str, object]]:
    """The plan's steps as the plan event's `steps` (numbered from 1), each command with its
    `command_digest`, which the execution requests will name."""
    out: list[dict[str, object]] = []
    for number, step in enumerate(plan.steps, start=1):
        out.append(
            {
                "step": number,
                "host": step.host,
                "command": step.command,
                "digest": command_digest(step.host, step.command),
                "verify": step.verify,
                "verify_digest": _digest_or_none(step.host, step.verify),
                "rollback": step.rollback,
                "rollback_digest": _digest_or_none(step.host, step.rollback),
                "parallel": step.parallel,
            }
        )
    return out


def plan_json(plan: Plan) -> str:
    """The plan as JSON for a prompt (review, fix): what the model is asked to judge or mend.
    A hybrid plan's `credits` follow its steps."""
    credits = {"credits": [{"from": c.source, "part": c.part} for c in plan.credits]}
    return json.dumps(
        {
            "summary": plan.summary,
            "steps": [
                {
                    "step": number,
                    "host": s.host,
                    "command": s.command,
                    "purpose": s.purpose,
                    "verify": s.verify,
                    "rollback": s.rollback,
                    "parallel": s.parallel,
                }
                for number, s in enumerate(plan.steps, start=1)
            ],
            **(credits if plan.credits else {}),
        },
        ensure_ascii=False,
        indent=2,
    )


def _digest_or_none(host: str, command: str | None) -> str | None:
    return None if command is None else command_digest(host, command)


# --- parsing --------------------------------------------------------------------------------


def parse_plan(text: str, *, hosts: Collection[str], max_steps: int) -> Plan | PlanError:
    """The plan in a model's answer, or exactly what is wrong with it.

    The plan is the first JSON object holding a `steps` list, found anywhere (an object
    nesting it, e.g. `{"plan": {"steps": …}}`, is looked into). A step needs a host unless
    exactly one host is configured; a bare string step is a command. `steps: []` is a plan
    that needs no command.
    """
    if len(text) > MAX_ANSWER_CHARS:
        return PlanError(
            f"The answer is {len(text):,} characters long; a plan must fit in "
            f"{MAX_ANSWER_CHARS:,}. Answer with one JSON object: {PLAN_SHAPE}"
        )
    found = _find_plan_object(text)
    if isinstance(found, str) and "," in text:
        retried = _find_plan_object(TRAILING_COMMA.sub(r"\1", text))
        if not isinstance(retried, str):
            found = retried
    if isinstance(found, str):
        return PlanError(found)
    return _read_plan(found, hosts=hosts, max_steps=max_steps)


def _find_plan_object(text: str) -> Mapping[str, Any] | str:
    """The first object with a `steps` list, or the reason none was found."""
    steps_at = _steps_key_at(text)
    broken: str | None = None
    not_a_list: str | None = None

    def note_broken(position: int, exc: json.JSONDecodeError) -> None:
        nonlocal broken
        if broken is None and steps_at is not None and exc.pos >= steps_at >= position:
            broken = _describe_json_error(text, position, exc)

    def has_steps(candidate: Mapping[str, Any]) -> bool:
        nonlocal not_a_list
        steps = _get(candidate, "steps")
        if isinstance(steps, list):
            return True
        if steps is not None and not_a_list is None:
            not_a_list = (
                f'"steps" must be a list of steps, not {kind_of(steps)}. '
                f"Answer with one JSON object: {PLAN_SHAPE}"
            )
        return False

    found = scan_json(text, has_steps, on_error=note_broken)
    if found is not None:
        return found
    if broken is not None:
        return broken
    if not_a_list is not None:
        return not_a_list
    return (
        'No plan found: the answer holds no JSON object with a "steps" list. '
        f"Answer with one JSON object: {PLAN_SHAPE} "
        '(use "steps": [] when the task needs no command).'
    )


def _steps_key_at(text: str) -> int | None:
    match = re.search(r"""["']steps["']\s*:""", text, re.IGNORECASE)
    return match.start() if match else None


def _describe_json_error(text: str, start: int, exc: json.JSONDecodeError) -> str:
    line = text.count("\n", start, exc.pos) + 1
    column = exc.pos - (text.rfind("\n", start, exc.pos) + 1) + 1
    hint = ""
    if exc.msg.startswith("Expecting property name enclosed in double quotes"):
        hint = " (JSON needs double quotes around keys and strings, and no trailing comma)"
    return (
        f"The plan is not valid JSON: {exc.msg} at line {line}, column {column} of the "
        f"object{hint}. Answer with one JSON object: {PLAN_SHAPE}"
    )


def _read_plan(
    found: Mapping[str, Any], *, hosts: Collection[str], max_steps: int
) -> Plan | PlanError:
    raw_steps: list[Any] = _get(found, "steps")
    if len(raw_steps) > max_steps:
        return PlanError(
            f"The plan has {len(raw_steps)} steps; at most {max_steps} are allowed. "
            "Merge steps or leave out what is not needed."
        )
    known = sorted(hosts)
    problems: list[str] = []
    steps: list[Step] = []
    for number, raw in enumerate(raw_steps, start=1):
        step = _read_step(number, raw, known, problems)
        if step is not None:
            steps.append(step)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        tail = f"; and {more} more" if more else ""
        return PlanError("The plan is not valid: " + "; ".join(shown) + tail + ".")
    return Plan(tuple(steps), _summary(found), read_credits(_get(found, "credits")))


MAX_CREDITS = 10
_CREDIT_SOURCE = ("from", "source", "by", "option", "agent", "author", "proposal")
_CREDIT_PART = ("part", "what", "took", "taken", "description", "step", "steps")
_CREDIT_TEXT = re.compile(r"^\s*([^:：—–]{1,40}?)\s*[:：—–-]\s*(.+)$")


def read_credits(value: object) -> tuple[Credit, ...]:
    """A plan's `credits`, read leniently: `[{"from": "B", "part": "…"}]`, other key
    spellings, or lines "B: the backup step". Credits are prose for the report: anything
    unreadable is left out and never makes the plan invalid."""
    if not isinstance(value, list):
        return ()
    found: list[Credit] = []
    for item in value[:MAX_CREDITS]:
        source, part = "", ""
        if isinstance(item, Mapping):
            source = _first_text(item, _CREDIT_SOURCE)
            part = _first_text(item, _CREDIT_PART)
        elif isinstance(item, str) and (match := _CREDIT_TEXT.match(item)):
            source, part = match.group(1), match.group(2)
        if source.strip():
            found.append(Credit(_clip(source.strip(), 40), _clip(" ".join(part.split()), 200)))
    return tuple(found)


def _first_text(item: Mapping[str, Any], keys: Sequence[str]) -> str:
    for key in keys:
        value = _get(item, key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, list) and value and all(isinstance(v, str | int) for v in value):
            return ", ".join(str(v) for v in value)
    return ""


def _read_step(number: int, raw: Any, known: list[str], problems: list[str]) -> Step | None:
    at = f"step {number}"
    if isinstance(raw, str):
        raw = {"command": raw}
    if not isinstance(raw, dict):
        problems.append(
            f"{at} is {kind_of(raw)}; each step is an object with host, command, purpose"
        )
        return None
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = _FIELDS.get(norm_key(key))
        # The first spelling found counts, but the field's own name beats an alias.
        if name is not None and (name not in fields or norm_key(key) == name):
            fields[name] = value
    count = len(problems)
    host = _read_host(at, fields.get("host"), known, problems)
    command = _read_command(at, "command", fields.get("command"), problems, required=True)
    verify = _read_command(at, "verify", fields.get("verify"), problems, required=False)
    rollback = _read_command(at, "rollback", fields.get("rollback"), problems, required=False)
    parallel = _read_flag(at, fields.get("parallel"), problems)
    purpose = _read_text(at, "purpose", fields.get("purpose"), problems)
    if len(problems) > count or host is None or command is None:
        return None
    return Step(host, command, purpose, verify, rollback, parallel)


def _read_host(at: str, value: Any, known: list[str], problems: list[str]) -> str | None:
    names = ", ".join(known) if known else "(none configured)"
    if value is None or (isinstance(value, str) and not value.strip()):
        if len(known) == 1:
            return known[0]
        problems.append(f"{at}: host is missing (known hosts: {names})")
        return None
    if not isinstance(value, str):
        problems.append(f"{at}: host must be a host name, not {kind_of(value)} (known: {names})")
        return None
    name = value.strip()
    if name in known:
        return name
    folded = [host for host in known if host.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    problems.append(f'{at}: unknown host "{_clip(name)}" (known hosts: {names})')
    return None


def _read_command(
    at: str, field: str, value: Any, problems: list[str], *, required: bool
) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{at}: {field} is empty")
        return None
    if isinstance(value, list):
        problems.append(
            f"{at}: {field} must be one command string, not a list (make each command its "
            "own step, or join them with &&)"
        )
        return None
    if not isinstance(value, str):
        problems.append(f"{at}: {field} must be a command string, not {kind_of(value)}")
        return None
    command = value.strip()
    if "\x00" in command:
        problems.append(f"{at}: {field} contains a NUL character")
        return None
    if len(command) > MAX_COMMAND_CHARS:
        problems.append(
            f"{at}: {field} is {len(command):,} characters long; the limit is "
            f"{MAX_COMMAND_CHARS:,} (put a long script in a file first)"
        )
        return None
    return command


def _read_flag(at: str, value: Any, problems: list[str]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    problems.append(f"{at}: parallel must be true or false, not {_clip(json.dumps(value))}")
    return False


def _read_text(at: str, field: str, value: Any, problems: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return str(value)
    problems.append(f"{at}: {field} must be text, not {kind_of(value)}")
    return ""


def _summary(found: Mapping[str, Any]) -> str:
    for key in _SUMMARY_KEYS:
        value = _get(found, key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _get(obj: Mapping[str, Any], name: str) -> Any:
    """A key looked up as written, else by its normalised spelling (`Steps`, `STEPS`)."""
    if name in obj:
        return obj[name]
    for key, value in obj.items():
        if isinstance(key, str) and norm_key(key) == name:
            return value
    return None


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
