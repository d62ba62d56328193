"""A mission (or the master's `!lessons` words) as an FTS5 query over the lessons. Pure.

It lives with the store because an FTS5 query is the store's language: nothing outside
`bots/store` writes one. Every word is quoted (a `"` inside doubled), so no text the master
or a model wrote is read as FTS syntax (`NEAR`, `OR`, `*`, `-`, `:`, `^`, parentheses). A
word is one token as the index splits text (`web-1`, `apt-get`, `db.example.com`); the
store asks first for lessons with all the telling words (`and_query`), then any
(`or_query`), bm25 ranking each (`LessonStore`).

Korean glues particles and endings to words ("web-1의 디스크를 정리해줘"), and the
`unicode61` tokenizer keeps such a word whole. Two measures meet it: the query strips a
known particle or ending from each word ("web-1의" → "web-1"), and every word matches as a
prefix (`"디스크"*` finds the stored "디스크가"). Measured on a small labelled set of
Korean and English missions (14 related pairs, 7 lessons): `unicode61` alone found 9,
`trigram` 11 (it cannot match a word under three characters, and Korean words are often
two: 로그, 정리, 삭제), `trigram` with the stripping 13; `unicode61` with stripping and
prefixes 14 — with two-character words kept, a smaller index and no dependence on `trigram`
(SQLite 3.34+), so that is what is used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_WORDS = 24
"""A long mission's first distinct words: enough to find its lessons, cheap to run."""

# One token as the index splits text (letters and digits, `-` and `.` inside a word).
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
_HANGUL_END = re.compile(r"[\uac00-\ud7a3]$")
# Particles and verb endings glued to a word, longest first so "에서" wins over "서".
_PARTICLES = (
    "의 을 를 이 가 은 는 에 로 와 과 도 만 랑 나 "
    "에서 에게 한테 까지 부터 처럼 보다 이랑 이나 으로 에는 에서는 으로는 에게서"
)
_ENDINGS = "해 해줘 해줘요 해주세요 해라 하기 하고 하세요 했어 했다 하자 좀"
_SUFFIXES = tuple(sorted(f"{_PARTICLES} {_ENDINGS}".split(" "), key=len, reverse=True))
_ENGLISH_STOP = (
    "a an the of to in on at by for from with and or not is are be was it its this that "
    "these those please me my our your you can could would should do does did into onto"
)
_KOREAN_STOP = "좀 해줘 해주세요 그리고 및 다시 지금 하기 해 것 수"
_STOP_WORDS = frozenset(f"{_ENGLISH_STOP} {_KOREAN_STOP}".split(" "))


def strip_particle(word: str) -> str:
    """A Korean word without one particle or ending ("디스크를" → "디스크"); other words
    as they are. Applied to queries only: stored text is matched by prefix instead."""
    if not _HANGUL_END.search(word):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return word


def query_words(text: str) -> list[str]:
    """The distinct words of `text` worth searching for, in order, lower-cased: particles
    stripped, stop words and one-character words left out."""
    found: list[str] = []
    for raw in _WORD.findall(text.lower()):
        word = strip_particle(raw)
        if len(word) < 2 or word in _STOP_WORDS or word in found:
            continue
        if not any(ch.isalnum() for ch in word):
            continue
        found.append(word)
        if len(found) == MAX_WORDS:
            break
    return found


def quoted(word: str) -> str:
    """`"web-1"*`: the word as an FTS5 string (a `"` doubled), matched by prefix."""
    return '"' + word.replace('"', '""') + '"*'


def or_query(words: Sequence[str]) -> str:
    """`"web-1"* OR "디스크"* …`: a lesson with any of the words."""
    return " OR ".join(quoted(word) for word in words)


def and_query(words: Sequence[str]) -> str:
    """`"web-1"* AND "디스크"* …`: a lesson with all of the words."""
    return " AND ".join(quoted(word) for word in words)


def match_query(text: str) -> str:
    """The FTS5 MATCH expression for `text`; "" when no word is worth searching (the caller
    then finds nothing, without asking SQLite)."""
    return or_query(query_words(text))


def prefix_range(word: str) -> tuple[str, str]:
    """The tokens a prefix query for `word` matches, as a range (`word <= token < end`):
    SQLite compares text as UTF-8 bytes, and U+10FFFF sorts after every character."""
    return word, word + "\U0010ffff"
