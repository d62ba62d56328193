"""Matrix room history → the conversation an agent's model reads. Pure: no Matrix, no I/O.

A council room has many speakers but a model API has two roles, so everyone else's lines
become `user` turns prefixed with the speaker's name ("Master: …", "GPT: …") and the agent's
own lines become `assistant` turns. The history is trimmed to a token budget from the oldest
end, and the conversation always ends on someone else's turn: Anthropic reads a trailing
assistant turn as a prefill to continue.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jinja2

from bots.errors import ConfigError
from bots.ids import UserID
from bots.message import HistoryEntry
from bots.routing.addressing import MARKDOWN_PILL
from bridge.llm.base import ChatMessage

TokenEstimator = Callable[[str], int]

TOKENS_PER_MESSAGE = 4
"""What a provider adds around each turn (role, separators); small, but it adds up."""
MIN_TRIGGER_TOKENS = 32
"""The triggering message keeps at least this much even when the system prompt eats the budget."""
KOREAN = "Korean"
DEFAULT_LANGUAGE_HINT = "the language of the master's last message"

# Hangul (syllables, jamo, compatibility jamo), CJK ideographs, kana, CJK punctuation and
# full-width forms: tokenizers spend about one token on each, against ~4 Latin characters.
_CJK = re.compile(
    r"[\u1100-\u11ff\u3000-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uff00-\uffef]"
)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
# A reply fallback as the spec (before v1.13) and older Element builds write it: the quoted
# original, its first line naming the sender ("> <@alice:hs> …", emotes "> * <@alice:hs> …"),
# then one blank line. A quote the person typed themselves has no "<@…>" and is kept.
_REPLY_FALLBACK = re.compile(r"\A> (?:\* )?<[^>\n]+>[^\n]*\n(?:>[^\n]*\n)*\n")
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)
_URL = re.compile(r"https?://\S+")


def history_until(history: list[HistoryEntry], event_id: str) -> list[HistoryEntry]:
    """The conversation as it stood when `event_id` was said: a backlog after a restart, or
    two questions in one sync, must not make the later question look like this one."""
    for index, entry in enumerate(history):
        if entry.event_id == event_id:
            return history[: index + 1]
    return history


def estimate_tokens(text: str) -> int:
    """A cheap, slightly generous token count: CJK characters ~1 each, other text ~len/4."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def clean_body(body: str) -> str:
    """What the person said: no reply fallback, pills reduced to their label."""
    body = _REPLY_FALLBACK.sub("", body, count=1)
    return MARKDOWN_PILL.sub(lambda m: m.group(1), body).strip()


def truncate_middle(
    text: str, max_tokens: int, *, estimate: TokenEstimator = estimate_tokens, prefix: str = ""
) -> str:
    """`prefix + text`, cutting the middle of `text` so the whole fits in `max_tokens`.

    The start of a long message usually says what it is about and the end what is asked,
    so both survive. If not even the marker fits, the marker alone is kept.
    """
    if estimate(prefix + text) <= max_tokens:
        return prefix + text

    def candidate(kept: int) -> str:
        head = text[: (kept + 1) // 2]
        tail = text[len(text) - kept // 2 :]
        cut = len(text) - kept
        return f"{prefix}{head}\n\n[… {cut} characters cut from the middle …]\n\n{tail}"

    low, high = 0, len(text) - 1  # the longest kept length that fits lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if estimate(candidate(middle)) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return candidate(low)


def build_conversation(
    history: Sequence[HistoryEntry],
    *,
    me: UserID,
    system_prompt: str,
    budget_tokens: int,
    estimate: TokenEstimator = estimate_tokens,
) -> list[ChatMessage]:
    """The model's view of `history` (oldest first): system, then turns, newest last.

    Oldest turns go first when over budget, whole turns only; the system prompt and the
    newest message always stay (the newest cut in the middle if it alone is too long).
    Trailing messages of the agent itself are dropped, so the last turn is a `user` one;
    with nothing left but the agent's own lines, only the system prompt is returned.
    """
    turns: list[_Turn] = []
    for entry in history:
        body = clean_body(entry.body)
        if body:
            own = entry.sender == me
            turns.append(
                _Turn("assistant" if own else "user", "" if own else f"{_speaker(entry)}: ", body)
            )
    while turns and turns[-1].role == "assistant":
        turns.pop()
    system = ChatMessage("system", system_prompt)
    if not turns:
        return [system]

    def cost(content: str) -> int:
        return estimate(content) + TOKENS_PER_MESSAGE

    available = budget_tokens - cost(system_prompt)
    newest = turns[-1]
    if cost(newest.content) > available:
        # Cut the body, never the speaker's name, so the model still knows who asks.
        limit = max(available, MIN_TRIGGER_TOKENS) - TOKENS_PER_MESSAGE
        text = truncate_middle(newest.body, limit, estimate=estimate, prefix=newest.prefix)
        return [system, ChatMessage(newest.role, text)]
    available -= cost(newest.content)
    kept = [newest]
    for turn in reversed(turns[:-1]):
        available -= cost(turn.content)
        if available < 0:
            break
        kept.append(turn)
    kept.reverse()
    if len(kept) < len(turns):
        # An answer whose question was trimmed away only confuses: start on a user turn.
        while kept[0].role == "assistant":
            kept.pop(0)
    return [system, *(ChatMessage(turn.role, turn.content) for turn in kept)]


@dataclass(frozen=True)
class _Turn:
    role: Literal["user", "assistant"]
    prefix: str
    body: str

    @property
    def content(self) -> str:
        return self.prefix + self.body


def _speaker(entry: HistoryEntry) -> str:
    return entry.sender_name.strip() or entry.sender


def strip_speaker_prefix(reply: str, names: Sequence[str]) -> str:
    """Drop a leading "Claude:" the model may copy from the "Name: …" lines it reads."""
    for name in filter(None, names):
        match = re.match(rf"\s*\**{re.escape(name)}\**\s*:\s*", reply, re.IGNORECASE)
        if match:
            return reply[match.end() :]
    return reply


def detect_language(text: str) -> str:
    """A hint for the prompt: "Korean" when Hangul dominates the prose, else a neutral rule.

    Code, inline code and URLs are left out ("이거 왜 이래?" over an English log is Korean).
    A Hangul syllable counts as two letters: it carries about as much as two Latin ones.
    """
    prose = _URL.sub(" ", _CODE.sub(" ", text))
    hangul = len(_HANGUL.findall(prose))
    others = sum(1 for ch in prose if ch.isalpha()) - hangul
    return KOREAN if hangul and 2 * hangul >= others else DEFAULT_LANGUAGE_HINT


@functools.lru_cache(maxsize=16)
def template_environment(folder: Path) -> jinja2.Environment:
    """One environment per folder (the persona's, the council prompts'): it caches compiled
    templates (and still notices edits); a variable left out is an error, not a blank."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def render_system_prompt(
    template_path: Path,
    *,
    agent_name: str,
    display_name: str,
    role: str,
    others: list[str],
    master_name: str,
    language_hint: str,
) -> str:
    """The agent's persona template rendered; an unknown variable is an error, not a blank.

    The template sees `agent` (`name`, `display_name`, `role`), `others`, `master_name` and
    `language_hint`.
    """
    env = template_environment(template_path.parent)
    context = {
        "agent": {"name": agent_name, "display_name": display_name, "role": role},
        "others": list(others),
        "master_name": master_name,
        "language_hint": language_hint,
    }
    try:
        return env.get_template(template_path.name).render(context).strip()
    except jinja2.TemplateError as exc:
        raise ConfigError(f"persona template {template_path}: {exc}") from exc
