"""An agent's side of the task wire, pure: reading the coordinator's asks, writing answers.

The shapes are the design's (`bots.events.COUNCIL_KEY`): an ask arrives on a coordinator
message (or, for a vote, on its poll start); the answer is one message from the agent's own
account whose council object says which ask it answers, whether it worked and what it cost.
Nothing here does I/O, so every shape is table-tested without a homeserver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from bots.ids import EventID, RoomID
from bots.message import Reply
from bots.text.markdown import markdown_to_html
from bots.text.splitting import split_message
from bridge.errors import ProviderError
from bridge.llm.base import ProviderRequestError, Usage

Stage = Literal[
    "propose",
    "vote",
    "plan",
    "review",
    "fix",
    "refine",
    "poll",
    "minutes",
    "split",
    "part",
    "merge",
    "critique",
    "revise",
]
STAGES: Final[tuple[Stage, ...]] = (
    "propose",
    "critique",
    "revise",
    "vote",
    "plan",
    "review",
    "fix",
    "refine",
    "poll",
    "minutes",
    "split",
    "part",
    "merge",
)
VOTE_STAGES: Final[frozenset[Stage]] = frozenset({"vote", "poll"})
"""Asks carried by a poll start and answered with a poll response: a task's vote, and the
master's own poll (`task` 0, `poll` its number)."""
UNTASKED_STAGES: Final[frozenset[Stage]] = frozenset({"minutes"})
"""Stages whose ask may carry task 0: not about a task (the minutes of a discussion)."""
WIRE_VERSION: Final = 1

STAGE_NOUN: Final[Mapping[Stage, str]] = {
    "propose": "Proposal",
    "vote": "Vote",
    "plan": "Plan",
    "review": "Review",
    "fix": "Fix",
    "refine": "Final answer",
    "poll": "Poll vote",
    "minutes": "Minutes",
    "split": "Split",
    "part": "Part",
    "merge": "Merged result",
    "critique": "Critique",
    "revise": "Revision",
}
NO_VALID_VOTE: Final = "no valid vote"
REASON_CHARS: Final = 300


@dataclass(frozen=True)
class CouncilAsk:
    """One ask of the coordinator, as read from its council object."""

    task: int
    ask: str
    stage: Stage
    agents: tuple[str, ...]
    mission: str
    deadline_ms: int | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    poll: int | None = None
    """The master's poll this ask is for (stage "poll" only; `task` is 0 then)."""


def read_ask(council: Mapping[str, Any] | None) -> CouncilAsk | str:
    """The ask in a council object, or why it is none (said in the log, never in the room:
    an answer, a plan or a report is no ask, and a malformed one is the sender's bug)."""
    if council is None:
        return "no council object"
    if council.get("kind") != "ask":
        return f"kind {council.get('kind')!r} is no ask"
    if council.get("v", WIRE_VERSION) != WIRE_VERSION:
        return f"wire version {council.get('v')!r} is not {WIRE_VERSION}"
    # Any: each is checked below, before it is used.
    task: Any = council.get("task")
    ask: Any = council.get("ask")
    stage: Any = council.get("stage")
    agents: Any = council.get("agents")
    mission: Any = council.get("mission", "")
    deadline: Any = council.get("deadline_ms")
    context: Any = council.get("context", {})
    poll: Any = council.get("poll")
    own_poll = stage == "poll"
    problems = [
        what
        for what, bad in (
            (
                "task is not a positive number",
                not own_poll
                and not _positive_int(task)
                and not (stage in UNTASKED_STAGES and task == 0),
            ),
            ("task of a poll is not 0", own_poll and task != 0),
            ("poll is not a positive number", own_poll and not _positive_int(poll)),
            ("ask is not a non-empty string", not isinstance(ask, str) or not ask),
            (f"stage {stage!r} is unknown", stage not in STAGES),
            (
                "agents is not a list of names",
                not isinstance(agents, list) or not all(isinstance(a, str) for a in agents),
            ),
            ("mission is not a string", not isinstance(mission, str)),
            ("deadline_ms is not a number", deadline is not None and not _positive_int(deadline)),
            ("context is not an object", not isinstance(context, Mapping)),
        )
        if bad
    ]
    if problems:
        return "; ".join(problems)
    return CouncilAsk(
        task=int(task),
        ask=str(ask),
        stage=stage,
        agents=tuple(agents),
        mission=str(mission),
        deadline_ms=int(deadline) if deadline is not None else None,
        context=dict(context),
        poll=int(poll) if own_poll else None,
    )


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# ---- what went wrong, in a few words --------------------------------------------------------

_KIND_REASONS: Final[Mapping[str, str]] = {
    "rate_limited": "rate limited",
    "quota": "quota exhausted",
    "overloaded": "overloaded",
    "connection": "connection failed",
    "auth": "API key rejected",
    "forbidden": "access refused",
    "not_found": "model not found",
    "bad_request": "request rejected",
    "bad_response": "unreadable answer",
    "interrupted": "answer broke off",
    "other": "request failed",
}


def failure_reason(exc: ProviderError, timeout_s: float) -> str:
    """The short real reason of a provider failure, for the coordinator's line
    ("Gemini: quota exhausted"); the full sentence stays in the agent's log."""
    if isinstance(exc, ProviderRequestError):
        status = f" ({exc.status})" if exc.status else ""
        if exc.kind == "timeout":
            return f"timed out after {timeout_s:g} s"
        if exc.kind == "server_error":
            return f"server error{status}"
        return _KIND_REASONS.get(exc.kind, exc.kind.replace("_", " "))
    text = " ".join(str(exc).split())
    return text[:REASON_CHARS] or type(exc).__name__


# ---- what the model declared -----------------------------------------------------------------

_YES = {"yes", "y", "true", "예", "네", "필요"}
_NO = {"no", "n", "false", "아니오", "아니요", "불필요"}
_COMMANDS = re.compile(r"^[\W_]*commands[\W_]*[:：]\s*[*_`]*\s*([^\s*_`.]+)", re.I | re.M)
_VERDICT = re.compile(r"^[\W_]*verdict[\W_]*[:：]\s*[*_`]*\s*([^\s*_`.]+)", re.I | re.M)
_APPROVE = {"approve", "approved", "ok", "accept", "승인"}
_REJECT = {"reject", "rejected", "deny", "거절", "반려"}
_REASON_LINE = re.compile(r"^[\W_]*(?:reason|이유)[\W_]*[:：]\s*(.+)$", re.I | re.M)
_VOTE_LINE = re.compile(r"^[\W_]*(?:vote|choice|투표)[\W_]*[:：]", re.I)


def declared_commands(text: str) -> bool | None:
    """A proposal's last `COMMANDS: yes|no` line: does the mission need commands run?"""
    found = [m.group(1).lower() for m in _COMMANDS.finditer(text)]
    if not found:
        return None
    return True if found[-1] in _YES else False if found[-1] in _NO else None


def declared_verdict(text: str) -> Literal["approve", "reject"] | None:
    """A review's last `VERDICT: approve|reject` line (advisory: the coordinator decides)."""
    found = [m.group(1).lower() for m in _VERDICT.finditer(text)]
    if not found:
        return None
    return "approve" if found[-1] in _APPROVE else "reject" if found[-1] in _REJECT else None


def vote_reason(text: str) -> str:
    """One line of why, from a vote answer: its `REASON:` line, else its first line that is
    not the vote itself; at most REASON_CHARS characters."""
    match = _REASON_LINE.search(text)
    if match:
        line = match.group(1)
    else:
        lines = [ln for ln in text.splitlines() if ln.strip() and not _VOTE_LINE.match(ln)]
        line = lines[0] if lines else ""
    line = " ".join(line.strip(" *_`").split())
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1].rstrip() + "…"


# ---- polls ---------------------------------------------------------------------------------


def poll_thread_root(content: Mapping[str, Any]) -> EventID | None:
    """The thread a poll start was posted in, if any (its `m.relates_to` m.thread)."""
    relates = content.get("m.relates_to")
    if isinstance(relates, Mapping) and relates.get("rel_type") == "m.thread":
        root = relates.get("event_id")
        return EventID(root) if isinstance(root, str) and root else None
    return None


# ---- the answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Where an answer goes: the task's thread, as a reply to the ask; `key` makes its
    transaction ids stable (a retried send never posts twice). No thread (None): the
    master's own poll given in the main timeline is answered there."""

    room_id: RoomID
    thread_root: EventID | None
    reply_to: EventID
    key: str


def answer_object(
    ask: CouncilAsk,
    *,
    status: Literal["ok", "failed"],
    model: str,
    usage: Usage | None = None,
    cost_usd: float = 0.0,
    reason: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The council object of an answer (design: "Agent answer")."""
    usage = usage or Usage()
    council: dict[str, Any] = {
        "v": WIRE_VERSION,
        "kind": "answer",
        "task": ask.task,
        "ask": ask.ask,
        "stage": ask.stage,
        "status": status,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost_usd": round(cost_usd, 6),
        },
        "model": model,
    }
    if ask.poll is not None:
        council["poll"] = ask.poll
    if reason is not None:
        council["reason"] = reason
    council.update(extra or {})
    return council


def answer_replies(body: str, where: Where, council: Mapping[str, Any]) -> list[Reply]:
    """The answer as messages (`body` as `bots.tasks.render` writes it: "#12 💡 …"), split
    where one event cannot hold it.

    Every part carries the council object (a part without one would be routed as chat to
    the other agents); a split answer's parts also say `part` (1-based) and `parts`, and the
    first part is the one the coordinator records. The first part of a good answer is
    `m.text`, the rest and every failure `m.notice`.
    """
    ok = council.get("status") == "ok"
    chunks = split_message(body) or [body]
    replies = []
    for index, chunk in enumerate(chunks):
        carried = dict(council)
        if len(chunks) > 1:
            carried.update(part=index + 1, parts=len(chunks))
        replies.append(
            Reply(
                room_id=where.room_id,
                body=chunk,
                html=markdown_to_html(chunk),
                notice=not ok or index > 0,
                thread_root=where.thread_root,
                reply_to=where.reply_to,
                key=f"{where.key}/council/{index}",
                council=carried,
            )
        )
    return replies


def failure_text(ask: CouncilAsk, reason: str) -> str:
    """What the room reads for an ask this agent could not answer."""
    return f"⚠️ {STAGE_NOUN[ask.stage]} failed: {reason}."
