"""Long answers fit Matrix events, split where a reader would, each chunk rendering alone."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import reply_content
from bots.matrix.event_size import MAX_PLAINTEXT_BYTES, content_bytes
from bots.message import Reply
from bots.text.markdown import markdown_to_html
from bots.text.splitting import (
    DEFAULT_CHUNK_BYTES,
    MIN_CONTENT_BYTES,
    content_bytes_bound,
    split_message,
)

FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
EVENT_LIMIT = 65_536


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def content_lines(text: str) -> list[str]:
    """What a reader sees, without blank lines and fence lines (those a split may add)."""
    return [line for line in text.split("\n") if line.strip() and not FENCE_LINE.match(line)]


def fences_balanced(chunk: str) -> bool:
    return sum(1 for line in chunk.split("\n") if FENCE_LINE.match(line)) % 2 == 0


# --- splitting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "chunks"),
    [
        pytest.param("", [], id="empty text sends nothing"),
        pytest.param(" \n\n ", [], id="blank text sends nothing"),
        pytest.param("짧은 답", ["짧은 답"], id="a short text is one chunk, unchanged"),
        pytest.param(
            "a" * 25 + "\n\n" + "b" * 25 + "\n\n" + "c" * 25,
            ["a" * 25 + "\n\n" + "b" * 25, "c" * 25],
            id="paragraphs stay whole",
        ),
        pytest.param(
            "\n".join(f"line {n:02d} " + "x" * 22 for n in range(4)),
            [
                "\n".join(f"line {n:02d} " + "x" * 22 for n in range(2)),
                "\n".join(f"line {n:02d} " + "x" * 22 for n in range(2, 4)),
            ],
            id="a long paragraph splits between lines",
        ),
        pytest.param(
            "word " * 30,
            ["word " * 12, "word " * 12, "word " * 6],
            id="a long line splits after a space",
        ),
        pytest.param(
            "```python\n" + "\n".join(f"print({n})" for n in range(7)) + "\n```",
            [
                "```python\nprint(0)\nprint(1)\nprint(2)\nprint(3)\nprint(4)\n```",
                "```python\nprint(5)\nprint(6)\n```",
            ],
            id="a code block is closed and re-opened with its language",
        ),
        pytest.param(
            "~~~~sh\n" + "\n".join(f"echo {n:03d}" for n in range(8)) + "\n~~~~",
            [
                "~~~~sh\necho 000\necho 001\necho 002\necho 003\necho 004\n~~~~",
                "~~~~sh\necho 005\necho 006\necho 007\n~~~~",
            ],
            id="tilde fences keep their marker",
        ),
    ],
)
def test_split_message(text: str, chunks: list[str]) -> None:
    assert split_message(text, 64) == chunks


def test_a_limit_too_small_to_hold_a_fence_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 64"):
        split_message("text", 10)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("가나다라마바사아자차카타파하" * 40, id="korean without spaces"),
        pytest.param("서버 상태를 점검했습니다. " * 60, id="korean sentences"),
        pytest.param("🙂👍🏽한글" * 80, id="emoji and hangul"),
        pytest.param("```\n" + "로그 " * 200 + "\n```", id="a korean line inside a code block"),
    ],
)
def test_korean_text_is_never_cut_inside_a_character(text: str) -> None:
    chunks = split_message(text, 64)
    assert len(chunks) > 1
    for chunk in chunks:
        assert size(chunk) <= 64
        chunk.encode("utf-8").decode("utf-8")  # whole characters only
        assert fences_balanced(chunk)
    rejoined = "".join(
        "\n".join(line for line in chunk.split("\n") if not FENCE_LINE.match(line))
        for chunk in chunks
    )
    assert rejoined == "\n".join(content_lines(text))


DOCUMENT = "\n".join(
    [
        "# 서버 점검 결과",
        "",
        "오늘 점검한 내용은 다음과 같습니다. " * 3,
        "",
        "- nginx: 정상",
        "- postgres: 느림 (쿼리 확인 필요)",
        "",
        "```sql",
        *[f"SELECT * FROM t{n} WHERE id = {n};" for n in range(12)],
        "",
        "-- 빈 줄 다음 쿼리",
        *[f"EXPLAIN ANALYZE SELECT {n};" for n in range(12)],
        "```",
        "",
        "| host | 상태 |",
        "| --- | --- |",
        *[f"| web{n} | ok |" for n in range(10)],
        "",
        "끝.",
    ]
)


@pytest.mark.parametrize("limit", [64, 100, 200, 500, 1000, 5000])
def test_every_chunk_fits_renders_alone_and_nothing_is_lost(limit: int) -> None:
    chunks = split_message(DOCUMENT, limit)
    assert all(size(chunk) <= limit for chunk in chunks)
    assert all(fences_balanced(chunk) for chunk in chunks)
    # Lines longer than a chunk are cut in pieces, so compare the text read in order.
    seen = "".join(line for chunk in chunks for line in content_lines(chunk))
    assert seen == "".join(content_lines(DOCUMENT))
    if limit >= 200:  # every line fits: lines stay whole
        assert [line for chunk in chunks for line in content_lines(chunk)] == content_lines(
            DOCUMENT
        )


def test_a_reopened_block_keeps_its_language() -> None:
    chunks = split_message(DOCUMENT, 200)
    inside = [chunk for chunk in chunks if "EXPLAIN" in chunk or "SELECT *" in chunk]
    assert len(inside) > 1
    assert all(chunk.startswith("```sql\n") and chunk.endswith("\n```") for chunk in inside)


def test_the_default_chunk_leaves_room_for_html_under_the_event_limit() -> None:
    answer = "\n\n".join(
        f"**{n}번 항목**: " + "내용을 자세히 설명합니다. " * 40 for n in range(200)
    )
    chunks = split_message(answer)
    assert len(chunks) > 1
    for chunk in chunks:
        assert size(chunk) <= DEFAULT_CHUNK_BYTES
        assert size(chunk) + size(markdown_to_html(chunk)) + 2_000 < EVENT_LIMIT


def test_tables_never_reach_element_x() -> None:
    assert "<table" not in markdown_to_html(DOCUMENT)
    assert "<li>host: web9; 상태: ok</li>" in markdown_to_html(DOCUMENT)


# --- every chunk fits one event as it is sent -------------------------------------------------

ROOM = RoomID("!room:example.org")
LONG_EVENT = EventID("$" + "e" * 254)  # ids as long as the spec allows: the worst case
LONG_USER = UserID("@" + "u" * 240 + ":example.org")


def sent_forms(chunk: str) -> dict[str, dict[str, Any]]:
    """The contents `bots.matrix` sends for a chunk: a message in a thread, and a final edit."""
    html = markdown_to_html(chunk)
    message = Reply(
        room_id=ROOM,
        body=chunk,
        html=html,
        thread_root=LONG_EVENT,
        reply_to=LONG_EVENT,
        mention=(LONG_USER,),
        stream="done",
    )
    edit = Reply(
        room_id=ROOM,
        body=chunk,
        html=html,
        mention=(LONG_USER,),
        replaces=LONG_EVENT,
        stream="done",
        answers_agent=True,
    )
    return {"message": reply_content(message), "edit": reply_content(edit)}


def visible(text: str) -> str:
    """The text without whitespace and fence lines: what no split may lose or add."""
    return "".join("".join(content_lines(text)).split())


WORDS = ["server", "status", "is", "**fine**", "*slow*", "`nginx`", "[docs](https://x.y/d)", "a"]
HANGUL = ["서버", "상태를", "점검했습니다.", "모든", "항목이", "**정상**입니다.", "로그"]


def prose(rng: random.Random) -> str:
    return "\n\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 200))) for _ in range(150)
    )


def code_with_quotes(rng: random.Random) -> str:
    rows = [
        json.dumps({"id": n, "name": f'"{rng.random():.6f}"', "html": "<a href='x'>&amp;</a>"})
        for n in range(900)
    ]
    return "Here is the dump:\n\n```json\n" + "\n".join(rows) + "\n```\n\nDone."


def korean(rng: random.Random) -> str:
    paragraphs = [
        " ".join(rng.choice(HANGUL) for _ in range(rng.randint(3, 1_500))) for _ in range(40)
    ]
    return "\n\n".join(paragraphs)


def many_newlines(rng: random.Random) -> str:
    return "\n".join(
        rng.choice(["a", "", "가", "- b", "> c", "1. d", "`e`"]) for _ in range(12_000)
    )


def emoji_without_spaces(rng: random.Random) -> str:
    return "".join(rng.choice(["🙂", "👍🏽", "한", "글", "é"]) for _ in range(30_000))


def control_and_markup(rng: random.Random) -> str:
    return "\n".join(
        "".join(rng.choice(["\x01", "\x1f", "<", ">", "&", '"', "\\", "x", " "]) for _ in range(80))
        for _ in range(500)
    )


def table_with_long_headers(rng: random.Random) -> str:
    header = "| " + " | ".join("h" * rng.randint(50, 200) for _ in range(4)) + " |"
    rows = [f"| {n} | {rng.randint(0, 9)} | x | y |" for n in range(2_500)]
    return "\n".join([header, "|---|---|---|---|", *rows])


def one_long_line(rng: random.Random) -> str:
    return " ".join(rng.choice(['"q"', "<b>", "a&b", "word", "단어"]) for _ in range(20_000))


def nested_quotes_and_lists(rng: random.Random) -> str:
    return "\n".join(
        rng.choice(["> ", "- ", "  - ", "1. "]) * rng.randint(1, 30) + "item" for _ in range(1_200)
    )


GENERATED = [
    pytest.param(make, seed, id=f"{make.__name__}-{seed}")
    for make in [
        prose,
        code_with_quotes,
        korean,
        many_newlines,
        emoji_without_spaces,
        control_and_markup,
        table_with_long_headers,
        one_long_line,
        nested_quotes_and_lists,
    ]
    for seed in (1, 2)
]


@pytest.mark.parametrize(("make", "seed"), GENERATED)
def test_every_chunk_fits_one_encrypted_event_as_a_message_and_as_an_edit(
    make: Callable[[random.Random], str], seed: int
) -> None:
    text = make(random.Random(seed))
    chunks = split_message(text)
    assert len(chunks) > 1
    for chunk in chunks:
        assert size(chunk) <= DEFAULT_CHUNK_BYTES
        assert fences_balanced(chunk)
        for form, content in sent_forms(chunk).items():
            assert content_bytes(content) <= MAX_PLAINTEXT_BYTES, form
            assert "formatted_body" in content, form  # the HTML goes out, nothing to drop
    assert "".join(visible(chunk) for chunk in chunks) == visible(text)


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        pytest.param(
            "\n\n".join(["This is **a** paragraph with a [link](https://example.com). " * 8] * 300),
            113_000,
            id="prose: 113 KB as a final edit",
        ),
        pytest.param(
            "```json\n"
            + "\n".join(json.dumps({"k": f"v{n}", "q": '"x"'}) for n in range(3000))
            + "\n```",
            184_000,
            id="a JSON code block: 184 KB as an edit",
        ),
    ],
)
def test_the_reported_oversized_chunks_now_fit(text: str, reported: int) -> None:
    chunks = split_message(text)
    worst = max(content_bytes(sent_forms(chunk)["edit"]) for chunk in chunks)
    assert worst <= MAX_PLAINTEXT_BYTES < reported


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\n\n".join("점검 결과는 정상입니다. " * 12 for _ in range(400)), id="korean"),
        pytest.param("\n".join(f'{{"id": {n}, "v": "<&>"}}' for n in range(6_000)), id="code"),
    ],
)
def test_chunks_are_filled_not_just_safe(text: str) -> None:
    """Measuring lets a chunk take nearly the whole event: far fewer messages than a
    worst-case ratio would need."""
    chunks = split_message(text)
    for chunk in chunks[:-1]:
        assert content_bytes_bound(chunk) >= 0.85 * MAX_PLAINTEXT_BYTES


def test_measured_chunks_still_end_at_paragraphs() -> None:
    paragraphs = [f"{n}번 문단: " + "내용을 설명합니다. " * (n % 40 + 1) for n in range(300)]
    chunks = split_message("\n\n".join(paragraphs))
    assert len(chunks) > 3
    assert [part for chunk in chunks for part in chunk.split("\n\n")] == paragraphs


def test_measured_chunks_reopen_a_code_block_with_its_language() -> None:
    lines = [f'print("<{n}>", a & b, "quoted")' for n in range(4_000)]
    chunks = split_message("```python\n" + "\n".join(lines) + "\n```")
    assert len(chunks) > 3
    assert all(chunk.startswith("```python\n") and chunk.endswith("\n```") for chunk in chunks)
    assert [line for chunk in chunks for line in content_lines(chunk)] == lines


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('"q" <b> a&b ' * 20_000, id="a line of markup and spaces"),
        pytest.param("가나다라마바사" * 10_000, id="korean without spaces"),
    ],
)
def test_a_line_too_big_for_one_event_is_cut_in_pieces(line: str) -> None:
    chunks = split_message(line)
    assert "".join(chunks) == line
    assert all(content_bytes_bound(chunk) <= MAX_PLAINTEXT_BYTES for chunk in chunks)
    if " " in line:
        assert all(chunk.endswith(" ") for chunk in chunks[:-1])


def test_even_the_smallest_budget_holds_the_worst_characters() -> None:
    fence = "`" * 64
    text = f"{fence}{'x' * 40}\n" + ("\x01" * 3_000 + "\n") * 3 + fence
    chunks = split_message(text, max_content_bytes=MIN_CONTENT_BYTES)
    assert all(content_bytes_bound(chunk) <= MIN_CONTENT_BYTES for chunk in chunks)
    assert "".join(visible(chunk) for chunk in chunks) == visible(text)


def test_a_content_budget_too_small_for_one_character_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4096"):
        split_message("text", max_content_bytes=1_000)
