"""Who a message is addressed to: pure, fed with the event shapes Element really sends.

A bot is addressed by any of: `m.mentions.user_ids`, a matrix.to pill link (HTML, or the
markdown form Element X Android puts in the body), its display name, localpart or an alias
as a whole word, or a reply to one of its messages. `@room` addresses everyone, and so does
a broadcast word said to the room: first ("얘들아, …") or last ("…, everyone?"); in the middle
of a sentence it is just a word ("git add --all"). Names inside another word do not count
("claudette" is not Claude), but Korean particles after a name do, after an honorific too
("클로드야", "GPT는", "클로드님께서"). Links, code and the quoted text of a reply fallback
are not speech: no one is addressed by them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote

from bots.ids import UserID, localpart
from bots.message import Message

MATRIX_TO = re.compile(r"https://matrix\.to/#/(@[^\"'<>\s)?/]+)")
MARKDOWN_PILL = re.compile(r"\[([^\]]*)\]\(https://matrix\.to/#/[^)]*\)")
HTML_TAG = re.compile(r"<[^>]+>")
# Particles that follow a name in Korean speech: vocative, topic, subject, and, to, from.
KOREAN_PARTICLES = (
    "이여",
    "아",
    "야",
    "은",
    "는",
    "이",
    "가",
    "도",
    "께서",
    "에게서",
    "한테서",
    "에게",
    "한테",
    "께",
    "의",
    "랑",
    "이랑",
    "와",
    "과",
    "을",
    "를",
)
# Said between a name and its particle: "클로드님은", "클로드씨가".
KOREAN_HONORIFICS = ("님", "씨")
# Classic clients quote the message they answer at the top of the body, then a blank line.
REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n")
HTML_REPLY_FALLBACK = re.compile(r"<mx-reply>.*?</mx-reply>", re.S)
MXID_LABEL = re.compile(r"@([^:\s]+):\S+")
URL = re.compile(r"https?://\S+")
CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)


EXTERNAL = "external"
"""The roster kind of an agent the HTTP bridge speaks for (issue 18): an agent, not a person,
though no Chavion bot runs it."""
AGENT_KINDS = frozenset({"agent", EXTERNAL})
"""Kinds that take part in the conversation as agents."""


@dataclass(frozen=True)
class Identity:
    """One bot as others may call it."""

    user_id: UserID
    display_name: str
    aliases: tuple[str, ...] = ()
    kind: str = "agent"

    @property
    def names(self) -> tuple[str, ...]:
        names = (self.display_name, localpart(self.user_id), *self.aliases)
        return tuple(dict.fromkeys(n for n in names if n))

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return name_pattern(self.names)


@dataclass(frozen=True)
class Roster:
    """Every Chavion bot, so each one can tell whom a message is for."""

    bots: tuple[Identity, ...]
    broadcast_words: tuple[str, ...] = ("everyone", "all", "얘들아", "다들", "@room")

    def get(self, user_id: str) -> Identity | None:
        return next((b for b in self.bots if b.user_id == user_id), None)

    def named_by(self, word: str) -> Identity | None:
        """The bot a single word names ("claude", "@claude", "클로드야"), if any."""
        return next((b for b in self.bots if b.pattern.fullmatch(word)), None)

    @cached_property
    def broadcast_pattern(self) -> re.Pattern[str] | None:
        words = [w for w in self.broadcast_words if w != "@room"]
        return name_pattern(tuple(words)) if words else None


def name_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    particles = "|".join(re.escape(p) for p in sorted(KOREAN_PARTICLES, key=len, reverse=True))
    honorifics = "|".join(KOREAN_HONORIFICS)
    # @name also counts: people type "@claude" without picking the pill.
    return re.compile(
        rf"(?<![\w@])@?(?:{alternatives})(?:{honorifics})?(?:{particles})?(?![\w])",
        re.IGNORECASE,
    )


def plain_text(message: Message) -> str:
    """The body as the person typed it: without a quoted reply fallback, and with markdown
    pills reduced to their label (a pill labelled `@bot:server` reads as `@bot`)."""
    return MARKDOWN_PILL.sub(_pill_label, _typed_body(message))


def typed_suffix(message: Message, suffix: str) -> str | None:
    """What the person typed for `suffix`, the end of `plain_text(message)` (without its
    trailing white space): the same text with its markdown pills as typed, link and all.
    A command's arguments are read from `plain_text`, but one that is run must be what was
    typed (`echo '[$(id)](https://matrix.to/#/@x:y)'` is no `echo '$(id)'`). None when
    `suffix` is no such end or begins inside a pill's label."""
    typed = _typed_body(message)
    plain = plain_text(message).rstrip()
    if not plain.endswith(suffix):
        return None
    start = len(plain) - len(suffix)
    shift = 0  # how much longer the typed text is than the plain text, up to `start`
    for pill in MARKDOWN_PILL.finditer(typed):
        label_start, label = pill.start() - shift, _pill_label(pill)
        if start <= label_start:
            break
        if start < label_start + len(label):
            return None
        shift += len(pill.group(0)) - len(label)
    found = typed[start + shift :].rstrip()
    return found if MARKDOWN_PILL.sub(_pill_label, found) == suffix else None


def _typed_body(message: Message) -> str:
    """The body without the quote a classic client puts on top of a reply."""
    return REPLY_FALLBACK.sub("", message.body, count=1)


def _pill_label(pill: re.Match[str]) -> str:
    label = pill.group(1)
    mxid = MXID_LABEL.fullmatch(label)
    return f"@{mxid.group(1)}" if mxid else label


def spoken_text(message: Message) -> str:
    """Where names and broadcast words are looked for: not in links or code, where "local"
    or "all" is a path or a flag rather than someone spoken to."""
    return CODE.sub(" ", URL.sub(" ", plain_text(message)))


def linked_users(message: Message) -> set[str]:
    found = {unquote(u) for u in MATRIX_TO.findall(_typed_body(message))}
    if message.formatted_body:
        html = HTML_REPLY_FALLBACK.sub("", message.formatted_body)
        found |= {unquote(u) for u in MATRIX_TO.findall(html)}
    return found


def explicitly_addressed(message: Message, roster: Roster) -> set[UserID]:
    """Bots addressed by a pill, `m.mentions` or a reply: never by a word in the text."""
    found: set[str] = set(linked_users(message))
    if message.mentions is not None:
        found |= set(message.mentions.user_ids)
    if message.reply_to_sender is not None:
        found.add(message.reply_to_sender)
    return {UserID(u) for u in found if roster.get(u) is not None}


def addressed_bots(message: Message, roster: Roster) -> frozenset[UserID]:
    """The roster bots this message names, by any of the ways Element lets a person do it."""
    found: set[str] = set()
    if message.mentions is not None:
        found |= set(message.mentions.user_ids)
    found |= linked_users(message)
    if message.reply_to_sender is not None:
        found.add(message.reply_to_sender)
    text = spoken_text(message)
    for bot in roster.bots:
        if bot.pattern.search(text):
            found.add(bot.user_id)
    return frozenset(UserID(u) for u in found if roster.get(u) is not None)


def is_broadcast(message: Message, roster: Roster) -> bool:
    """Everyone is addressed by `@room` anywhere, or by a broadcast word said last to the room
    ("안녕, 얘들아!"). A leading one ("얘들아, …") is found by the router with the other
    leading addresses, as it is for commands."""
    if message.mentions is not None and message.mentions.room:
        return True
    text = spoken_text(message)
    if "@room" in roster.broadcast_words and re.search(r"(?<![\w])@room(?![\w])", text):
        return True
    pattern = roster.broadcast_pattern
    if pattern is None:
        return False
    ends = [match.end() for match in pattern.finditer(text)]
    return bool(ends) and not re.search(r"\w", text[ends[-1] :])
