"""What is said aloud, as text: a report trimmed for speech, a summary read leniently, a plan
read out as its steps. Pure: the speaking side (`bots.voice.speaking`) does the I/O.

Speech has no use for code blocks, links or Markdown marks: they are left out before a text
is spoken, and a text still too long is cut at a sentence's end, saying that it was cut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_FENCE = re.compile(r"```.*?(```|$)", re.DOTALL)
_URL = re.compile(r"https?://\S+")
_MARKS = re.compile(r"[*_`|~]+")
_HEADING = re.compile(r"^[ \t]*(#+(?=\s)|>+)[ \t]*", re.MULTILINE)
_SPACE = re.compile(r"[ \t]+")
_LINES = re.compile(r"\n{2,}")
_SENTENCE_END = re.compile(r"[.!?。…](?=\s)|[다요죠]\.(?=\s)|\n")
_PREAMBLE = re.compile(
    r"^\s*(here is|here's|summary|spoken summary|요약|음성 요약)[^:\n]{0,40}:\s*", re.IGNORECASE
)

CUT_WORDS = {"ko": "(이하 생략, 전문은 스레드에 있습니다.)"}
CUT_DEFAULT = "(Cut short; the whole text is in the thread.)"
FALLBACK_CHARS = 120
"""A voice message's text body: its first words, for clients that cannot play it."""


def speakable(text: str) -> str:
    """`text` without what is not said aloud: code blocks, links, Markdown marks."""
    text = _FENCE.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _HEADING.sub("", _MARKS.sub("", text))
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return _LINES.sub("\n", "\n".join(lines)).strip()


def trimmed(text: str, limit: int, language: str) -> str:
    """`text` made speakable and, when longer than `limit`, cut at the last sentence end
    before it (else at the last space), saying it was cut (in `language`)."""
    spoken = speakable(text)
    if len(spoken) <= limit:
        return spoken
    head = spoken[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    cut = ends[-1] if ends and ends[-1] > limit // 3 else head.rfind(" ")
    head = head[: cut if cut > 0 else limit].rstrip()
    return f"{head} {CUT_WORDS.get(language, CUT_DEFAULT)}"


def read_summary(answer: str, limit: int, language: str) -> str | None:
    """A model's spoken summary, read leniently: fences, a "Summary:" preamble and quotes
    dropped; None when nothing is left (the caller speaks the trimmed text instead)."""
    text = answer.strip()
    fenced = re.fullmatch(r"```[a-zA-Z]*\n?(.*?)\n?```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    text = _PREAMBLE.sub("", text).strip().strip("\"'“”「」").strip()
    if not speakable(text):
        return None
    # A model that ran long is still cut: twice the limit allows a chatty but useful one.
    return trimmed(text, limit * 2, language)


def fallback_body(prefix: str, text: str) -> str:
    """The text body of a voice message: a mark and its first words."""
    words = speakable(text).replace("\n", " ")
    if len(words) > FALLBACK_CHARS:
        words = words[:FALLBACK_CHARS].rstrip() + "…"
    return f"{prefix} {words}".strip()


@dataclass(frozen=True)
class SpokenStep:
    """A plan's step as read out: where, and what for (never the command's punctuation)."""

    host: str
    purpose: str
    command: str


READOUT_WORDS = {
    "ko": (
        "{task}번 작업의 계획입니다. 단계 {count}개.",
        "{n}단계, {host}에서: {what}.",
        "승인하시려면 '승인', 거절하시려면 '거절'이라고 말씀하세요.",
    ),
}
READOUT_DEFAULT = (
    "The plan for task {task}. {count} steps.",
    "Step {n}, on {host}: {what}.",
    "Say 'approve' to approve it, or 'deny' to send it back.",
)


def readout_text(task_id: int, steps: Sequence[SpokenStep], language: str, limit: int) -> str:
    """A plan read out: its steps' purposes (the command when a step states none), then
    how to answer; cut at `limit` like any spoken text, the answer kept."""
    opening, each, closing = READOUT_WORDS.get(language, READOUT_DEFAULT)
    lines = [opening.format(task=task_id, count=len(steps))]
    for n, step in enumerate(steps, start=1):
        what = speakable(step.purpose) or speakable(step.command)
        lines.append(each.format(n=n, host=step.host, what=what.rstrip(".")))
    body = trimmed("\n".join(lines), max(limit - len(closing) - 1, 40), language)
    return f"{body}\n{closing}"
