"""The vote as a Matrix poll (MSC3381), the only form Element X and Web render for bots.

The coordinator starts a poll in the task's thread (answers keyed "A", "B", …), agents and
the master answer it with poll responses, and the coordinator ends it with the tally. Element
sends the unstable `org.matrix.msc3381.*` types; the spec's stable `m.poll.*` shapes are read
too. Content only: sending and receiving are the Matrix edge's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bots.events import (
    COUNCIL_KEY,
    POLL_DISCLOSED,
    POLL_END,
    POLL_RESPONSE,
    POLL_RESPONSE_STABLE,
    POLL_START,
    POLL_TEXT,
)
from bots.ids import EventID, UserID
from bots.message import RoomEvent

MAX_ANSWERS = 20
"""MSC3381: clients show at most 20 answers."""
MAX_ANSWER_CHARS = 340
MAX_QUESTION_CHARS = 340
"""Element's limits when it creates a poll; longer texts are cut with "…"."""
MAX_KEY_CHARS = 64
"""An answer id longer than this is not one of ours."""
POLL_START_MAX_BYTES = 36_000
"""The most a poll start's content may take as JSON, counted as nio sends it (every non-ASCII
character a 6-byte \\uXXXX escape; `bots.matrix.event_size.content_bytes`): the 40,000 bytes
one encrypted event carries (`MAX_PLAINTEXT_BYTES`) less 10% for the poll's longer event type
and what the envelope adds. Task logic may not import the Matrix edge: a unit test keeps the
two in step."""
CUT_NOTE = "… (cut: full text in the thread)"
"""Ends a text the poll start had to cut to fit in one event."""


@dataclass(frozen=True)
class PollVote:
    """One poll response: who chose which answer id, and when (the latest per voter counts)."""

    poll_event: EventID
    voter: UserID
    key: str
    at_ms: int


def poll_start_content(
    question: str,
    options: Sequence[tuple[str, str]],
    *,
    thread_root: EventID | None,
    council: Mapping[str, Any] | None = None,
    max_bytes: int = POLL_START_MAX_BYTES,
) -> dict[str, Any]:
    """An `org.matrix.msc3381.poll.start` content: one choice among `options` ((id, text)
    pairs), the tally visible to all, in the thread; `council` goes under `COUNCIL_KEY`.

    It always fits in one event (`max_bytes`): when it would not, the longest texts are cut
    first (the proposals the council object carries for the voters, then its mission, then the
    answers and the question), each marked `CUT_NOTE`, and every option stays."""
    if not options:
        raise ValueError("a poll needs at least one answer")
    if len(options) > MAX_ANSWERS:
        raise ValueError(f"a poll takes at most {MAX_ANSWERS} answers, not {len(options)}")
    asked = _cut(question, MAX_QUESTION_CHARS)
    answers = [(key, _cut(text, MAX_ANSWER_CHARS)) for key, text in options]
    content = _poll_start(asked, answers, thread_root, council)
    if json_bytes(content) <= max_bytes:
        return content
    return _fitted(asked, answers, thread_root, council, max_bytes)


def json_bytes(content: Mapping[str, Any]) -> int:
    """The size of `content` as JSON the way nio sends it (as `bots.matrix.event_size`)."""
    return len(json.dumps(dict(content), separators=(",", ":")))


def _poll_start(
    asked: str,
    answers: Sequence[tuple[str, str]],
    thread_root: EventID | None,
    council: Mapping[str, Any] | None,
) -> dict[str, Any]:
    shown = [{"id": key, POLL_TEXT: text} for key, text in answers]
    fallback = "\n".join([asked, *(f"{n}. {text}" for n, (_, text) in enumerate(answers, 1))])
    content: dict[str, Any] = {
        POLL_START: {
            "question": {POLL_TEXT: asked, "body": asked, "msgtype": "m.text"},
            "kind": POLL_DISCLOSED,
            "max_selections": 1,
            "answers": shown,
        },
        POLL_TEXT: fallback,
        "body": fallback,
    }
    if thread_root is not None:
        content["m.relates_to"] = _in_thread(thread_root)
    if council is not None:
        content[COUNCIL_KEY] = dict(council)
    return content


def _fitted(
    asked: str,
    answers: Sequence[tuple[str, str]],
    thread_root: EventID | None,
    council: Mapping[str, Any] | None,
    max_bytes: int,
) -> dict[str, Any]:
    """The poll start with every text cut to at most `cap` characters, for the largest `cap`
    found that fits: only texts longer than it are cut, so the longest go first."""

    def build(cap: int) -> dict[str, Any]:
        return _poll_start(
            _clip(asked, cap),
            [(key, _clip(text, cap)) for key, text in answers],
            thread_root,
            None if council is None else _clipped_council(council, lambda t: _clip(t, cap)),
        )

    smallest = build(0)
    if json_bytes(smallest) > max_bytes:
        raise ValueError(
            f"the poll start takes {json_bytes(smallest):,} bytes with every text cut, over "
            f"the {max_bytes:,} one event carries: too many options, or too long ids"
        )
    longest = max(len(t) for t in _texts(asked, answers, council))
    fits, over = 0, longest  # build(longest) is the poll start as it came: too large
    while over - fits > 1:
        middle = (fits + over) // 2
        if json_bytes(build(middle)) <= max_bytes:
            fits = middle
        else:
            over = middle
    return build(fits)


def _texts(
    asked: str, answers: Sequence[tuple[str, str]], council: Mapping[str, Any] | None
) -> list[str]:
    """Every text the fitting may cut."""
    found = [asked, *(text for _, text in answers)]

    def note(text: str) -> str:
        found.append(text)
        return text

    if council is not None:
        _clipped_council(council, note)
    return found


def _clipped_council(council: Mapping[str, Any], clip: Callable[[str], str]) -> dict[str, Any]:
    """`council` with `clip` applied to its long texts: the mission and the options' texts
    (`context.options[].text`, the full proposals the voters read)."""
    copy = dict(council)
    if isinstance(copy.get("mission"), str):
        copy["mission"] = clip(copy["mission"])
    context = copy.get("context")
    if isinstance(context, Mapping) and isinstance(context.get("options"), list):
        options = [
            {**option, "text": clip(option["text"])}
            if isinstance(option, Mapping) and isinstance(option.get("text"), str)
            else option
            for option in context["options"]
        ]
        copy["context"] = {**context, "options": options}
    return copy


def _clip(text: str, cap: int) -> str:
    """`text` cut to `cap` characters and marked `CUT_NOTE`, when it is longer."""
    return text if len(text) <= cap else text[:cap].rstrip() + CUT_NOTE


def poll_response_content(poll_event: EventID, key: str) -> dict[str, Any]:
    """An agent's answer to the poll: one answer id, related to the poll by reference (as
    Element sends it; a reference cannot also be a thread reply, and needs not be)."""
    return {
        POLL_RESPONSE: {"answers": [key]},
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
    }


def poll_end_content(
    poll_event: EventID, text: str, *, thread_root: EventID | None = None
) -> dict[str, Any]:
    """Closes the poll; `text` (the tally) is what clients without polls show.

    An event has one relation, and the end's must be the reference to its poll (that is what
    closes it), so `thread_root` is not a relation here: it is kept for callers that build
    every task event alike, and the closing text names the task instead.
    """
    del thread_root  # see above: the reference wins
    return {
        POLL_END: {},
        POLL_TEXT: text,
        "body": text,
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
    }


def read_poll_response(event: RoomEvent) -> PollVote | None:
    """The vote in a poll response, or None for anything else (other types, no reference, no
    or an empty answer list: MSC3381 calls that a spoiled vote, and it is not counted).

    Reads Element's unstable form (`{"org.matrix.msc3381.poll.response": {"answers": […]}}`)
    and the stable ones (`m.poll.response` with `m.selections`, or with `{"answers": […]}`).
    Only the first answer counts: these polls allow one.
    """
    if event.type not in (POLL_RESPONSE, POLL_RESPONSE_STABLE):
        return None
    relates = event.content.get("m.relates_to")
    if not isinstance(relates, Mapping) or relates.get("rel_type") != "m.reference":
        return None
    poll = relates.get("event_id")
    if not isinstance(poll, str) or not poll:
        return None
    answers = _answers(event.content)
    if not answers:
        return None
    key = answers[0]
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        return None
    return PollVote(EventID(poll), event.sender, key, event.timestamp_ms)


def _answers(content: Mapping[str, Any]) -> list[Any] | None:
    for block_name in (POLL_RESPONSE, POLL_RESPONSE_STABLE):
        block = content.get(block_name)
        if isinstance(block, Mapping) and isinstance(block.get("answers"), list):
            answers: list[Any] = block["answers"]
            return answers
    selections = content.get("m.selections")
    if isinstance(selections, list):
        return selections
    return None


def _in_thread(root: EventID) -> dict[str, Any]:
    """A thread reply, falling back to a reply to the root for clients without threads."""
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
