"""What the master meant, from what he said: a transcript read as the message he would have
typed. Pure: no I/O, every transcript gets an intent.

Speech-to-text writes what it hears, with its punctuation and his fillers ("음, 일번이요.",
"Uh, chavion task, check the disk."); a typed command is exact. So the few things he says
as commands are recognised here, leniently, and turned into their typed form, which then
takes the typed path (the router, the command, its access rule): a task phrase said first
is `//chavion_task: <mission>`, a vote said alone is `!vote <key>`. Approval and denial
said alone are classified too (`Approval`, `Denial`) for whoever acts on them; everything
else (a question to "클로드, …", a broadcast) stays as he said it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bots.settings.voice import VoiceSettings
from bots.tasks.master_polls import KEYS


@dataclass(frozen=True)
class TaskOrder:
    """A task phrase said first: the rest is the mission ("" when nothing followed)."""

    mission: str


@dataclass(frozen=True)
class VoteChoice:
    """A vote said alone ("일번", "option two", "B"): the option's key, A to J."""

    key: str


@dataclass(frozen=True)
class Approval:
    """An approve phrase said alone ("승인", "approve")."""


@dataclass(frozen=True)
class Denial:
    """A deny phrase said alone, or followed by its reason after a pause ("거절, 너무 위험해")."""

    reason: str = ""


@dataclass(frozen=True)
class Speech:
    """Anything else: handled as said (addressing, broadcast words and all)."""

    text: str


Intent = TaskOrder | VoteChoice | Approval | Denial | Speech

TASK_COMMAND = "//chavion_task:"
"""The typed task form the master uses on the phone (`bots.routing.router.COMMAND_ALIASES`)."""
VOTE_COMMAND = "!vote"

# Hesitations said before the words that count; dropped only at the start.
_FILLERS = ("음", "어", "아", "저", "그", "에", "흠", "um", "uh", "er", "erm", "hmm", "so", "okay")
_FILLER = re.compile(
    r"^(?:(?:" + "|".join(re.escape(f) for f in _FILLERS) + r")(?![\w])[\s,.…!?~-]*)+",
    re.IGNORECASE,
)
_PUNCT = re.compile(r"[\s,.…!?~;:\"'“”‘’()\[\]-]+")
_EDGE = " ,.…!?~;:\"'“”‘’()[]-—–"

_ENGLISH_NUMBERS = (
    ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
    ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"],
)
_SINO = ("일", "이", "삼", "사", "오", "육", "칠", "팔", "구", "십")
_NATIVE_ORDINAL = ("첫", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열")
_KOREAN_LETTERS = {"에이": "A", "비": "B", "씨": "C", "시": "C", "디": "D"}

_EN_LEAD = (
    r"(?:(?:i|i'll|ill|i will|let's|lets)\s+)?"
    r"(?:(?:vote|votes|voting|choose|pick|go|take|say)(?:\s+(?:for|with))?\s+)?"
    r"(?:(?:my\s+)?(?:vote|choice|answer)\s+(?:is\s+)?)?"
    r"(?:the\s+)?(?:(?:option|number|choice|answer|no|letter)\s+)?"
)
_EN_TAIL = r"(?:\s+(?:one|option|please))?"
_KO_LEAD = r"(?:(?:저는|나는|난|전)\s*)?(?:(?:투표|선택|옵션|보기)\s*)?"
_KO_TAIL = (
    r"(?:\s*(?:옵션|보기|거))?"
    r"(?:\s*(?:이요|요|입니다|이에요|예요|에요|으로|로|이|을|를|에))?"
    r"(?:\s*(?:할게요|할게|할께요|해요|해|하겠습니다|합니다|선택|선택합니다|선택할게요|투표|투표합니다"
    r"|찍을게요|찍을게|갈게요|갈게))?"
)


def _vote_patterns() -> list[tuple[re.Pattern[str], dict[str, int]]]:
    """Each way of naming option n, with the table that reads its captured word."""
    english = {w: n for words in _ENGLISH_NUMBERS for n, w in enumerate(words, 1)}
    letters = {k: n for n, k in enumerate(KEYS, 1)}
    sino = {w: n for n, w in enumerate(_SINO, 1)}
    native = {w: n for n, w in enumerate(_NATIVE_ORDINAL, 1)}
    korean_letters = {w: KEYS.index(k) + 1 for w, k in _KOREAN_LETTERS.items()}
    digits = {str(n): n for n in range(1, len(KEYS) + 1)}
    alt = _alternatives
    return [
        (re.compile(rf"{_EN_LEAD}(?P<w>{alt(english)}){_EN_TAIL}", re.I), english),
        (re.compile(rf"{_EN_LEAD}(?P<w>{alt(digits)})(?:st|nd|rd|th)?{_EN_TAIL}", re.I), digits),
        (re.compile(rf"{_EN_LEAD}(?P<w>[a-j]){_EN_TAIL}", re.I), letters),
        (re.compile(rf"{_KO_LEAD}(?P<w>{alt(digits)})\s*(?:번째|번)?{_KO_TAIL}"), digits),
        (re.compile(rf"{_KO_LEAD}(?P<w>{alt(sino)})\s*번{_KO_TAIL}"), sino),
        (re.compile(rf"{_KO_LEAD}(?P<w>{alt(native)})\s*번\s*째{_KO_TAIL}"), native),
        (re.compile(rf"{_KO_LEAD}(?P<w>[a-jA-J]){_KO_TAIL}"), letters),
        (re.compile(rf"{_KO_LEAD}(?P<w>{alt(korean_letters)}){_KO_TAIL}"), korean_letters),
    ]


def _alternatives(words: dict[str, int]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_VOTES = _vote_patterns()


def understand(transcript: str, voice: VoiceSettings) -> Intent:
    """The intent of one transcript, with the phrases of `voice` (task, approve, deny)."""
    said = without_fillers(transcript)
    mission = _after_phrase(said, voice.task_phrases)
    if mission is not None:
        return TaskOrder(mission)
    if _is_phrase(said, voice.approve_phrases):
        return Approval()
    reason = _after_phrase(said, voice.deny_phrases, needs_pause=True)
    if reason is not None:
        return Denial(reason)
    key = vote_key(said)
    if key is not None:
        return VoteChoice(key)
    return Speech(transcript.strip())


def typed_form(intent: Intent, transcript: str) -> str:
    """What the master would have typed for `intent`: the task and vote commands; anything
    else (approval and denial included, for their own handler) as he said it."""
    if isinstance(intent, TaskOrder):
        return f"{TASK_COMMAND} {intent.mission}".rstrip()
    if isinstance(intent, VoteChoice):
        return f"{VOTE_COMMAND} {intent.key}"
    return transcript.strip()


def without_fillers(transcript: str) -> str:
    """The transcript without the hesitations at its start and the blanks at its ends."""
    return _FILLER.sub("", transcript.strip()).strip()


def vote_key(said: str) -> str | None:
    """The option a whole utterance names ("1번이요", "option two", "비로 할게요"), or None."""
    text = " ".join(_PUNCT.sub(" ", said).split())
    if not text:
        return None
    for pattern, table in _VOTES:
        found = pattern.fullmatch(text)
        if found is not None:
            word = found.group("w")
            n = table.get(word, table.get(word.casefold(), table.get(word.upper(), 0)))
            if 1 <= n <= len(KEYS):
                return KEYS[n - 1]
    return None


def _phrase_pattern(phrase: str) -> str:
    """A phrase as it may be transcribed: any case, its words apart, together or hyphenated."""
    words = phrase.split()
    return r"[\s,.\-]*".join(re.escape(w) for w in words)


def _after_phrase(said: str, phrases: Sequence[str], *, needs_pause: bool = False) -> str | None:
    """The text after one of `phrases` said first, trimmed; None when none is said first.
    `needs_pause`: something may follow only after a pause mark (",", ":", "—")."""
    for phrase in sorted(phrases, key=len, reverse=True):
        found = re.match(rf"{_phrase_pattern(phrase)}(?![\w])", said, re.IGNORECASE)
        if found is None:
            continue
        rest = said[found.end() :]
        if needs_pause and rest.strip(_EDGE) and not re.match(r"\s*[,:—–-]", rest):
            continue
        return _trim_mission(rest)
    return None


def _is_phrase(said: str, phrases: Sequence[str]) -> bool:
    """Whether the whole utterance is one of `phrases` (with a polite ending or a period)."""
    text = said.strip(_EDGE)
    for phrase in phrases:
        pattern = rf"{_phrase_pattern(phrase)}(?:\s*(?:요|해요|합니다|해|please))?"
        if re.fullmatch(pattern, text, re.IGNORECASE):
            return True
    return False


def _trim_mission(rest: str) -> str:
    """The mission without the pause after the phrase and the period speech-to-text ends on."""
    text = rest.lstrip(" ,:;.—–-").strip()
    if text.endswith((".", "。")) and not text.endswith(".."):
        text = text[:-1].rstrip()
    return text
