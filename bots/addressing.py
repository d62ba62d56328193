"""Who a message is addressed to: pure, fed with the event shapes Element really sends.

A bot is addressed by any of: `m.mentions.user_ids`, a matrix.to pill link (HTML, or the
markdown form Element X Android puts in the body), its display name, localpart or an alias
as a whole word, or a reply to one of its messages. A broadcast word or `@room` addresses
everyone. Names inside another word do not count ("claudette" is not Claude), but Korean
particles after a name do ("클로드야", "클로드는").
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
# Particles that follow a name in Korean speech: vocative, topic, subject, and, to.
KOREAN_PARTICLES = (
    "이여",
    "아",
    "야",
    "님",
    "씨",
    "은",
    "는",
    "이",
    "가",
    "도",
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
    # @name also counts: people type "@claude" without picking the pill.
    return re.compile(
        rf"(?<![\w@])@?(?:{alternatives})(?:(?<=[가-힣])(?:{particles}))?(?![\w])", re.IGNORECASE
    )


def plain_text(message: Message) -> str:
    """The body with markdown pills reduced to their label: what the person typed."""
    return MARKDOWN_PILL.sub(lambda m: m.group(1), message.body)


def linked_users(message: Message) -> set[str]:
    found = {unquote(u) for u in MATRIX_TO.findall(message.body)}
    if message.formatted_body:
        found |= {unquote(u) for u in MATRIX_TO.findall(message.formatted_body)}
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
    text = plain_text(message)
    for bot in roster.bots:
        if bot.pattern.search(text):
            found.add(bot.user_id)
    return frozenset(UserID(u) for u in found if roster.get(u) is not None)


def is_broadcast(message: Message, roster: Roster) -> bool:
    if message.mentions is not None and message.mentions.room:
        return True
    text = plain_text(message)
    if "@room" in roster.broadcast_words and re.search(r"(?<![\w])@room(?![\w])", text):
        return True
    pattern = roster.broadcast_pattern
    return bool(pattern and pattern.search(text))
