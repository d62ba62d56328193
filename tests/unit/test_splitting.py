"""Long answers fit Matrix events, split where a reader would; markdown becomes safe HTML."""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.matrix.convert import reply_content
from bots.matrix.event_size import MAX_PLAINTEXT_BYTES, content_bytes
from bots.message import Reply
from bots.text import splitting
from bots.text.splitting import (
    DEFAULT_CHUNK_BYTES,
    MIN_CONTENT_BYTES,
    content_bytes_bound,
    markdown_to_html,
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


# --- markdown to HTML -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        pytest.param("hello", "<p>hello</p>", id="paragraph"),
        pytest.param("one\ntwo", "<p>one<br>two</p>", id="line break"),
        pytest.param("a\n\nb", "<p>a</p><p>b</p>", id="two paragraphs"),
        pytest.param(
            "**굵게** and *기울임*",
            "<p><strong>굵게</strong> and <em>기울임</em></p>",
            id="emphasis",
        ),
        pytest.param("__bold__ _it_", "<p><strong>bold</strong> <em>it</em></p>", id="underscores"),
        pytest.param("***both***", "<p><strong><em>both</em></strong></p>", id="bold italic"),
        pytest.param(
            "**중요**합니다", "<p><strong>중요</strong>합니다</p>", id="bold before a particle"
        ),
        pytest.param("~~old~~", "<p><del>old</del></p>", id="strikethrough"),
        pytest.param("snake_case_name", "<p>snake_case_name</p>", id="underscores inside words"),
        pytest.param("2 * 3 * 4", "<p>2 * 3 * 4</p>", id="lone asterisks"),
        pytest.param(r"\*literal\*", "<p>*literal*</p>", id="backslash escapes"),
        pytest.param("`a < b`", "<p><code>a &lt; b</code></p>", id="inline code is escaped"),
        pytest.param("`**no**`", "<p><code>**no**</code></p>", id="no emphasis in code"),
        pytest.param("``a ` b``", "<p><code>a ` b</code></p>", id="double backtick code"),
        pytest.param(
            "```python\nif a < b:\n    pass\n```",
            '<pre><code class="language-python">if a &lt; b:\n    pass\n</code></pre>',
            id="fenced code",
        ),
        pytest.param("```\nx\n```", "<pre><code>x\n</code></pre>", id="fenced code without lang"),
        pytest.param("```\nunclosed", "<pre><code>unclosed\n</code></pre>", id="unclosed fence"),
        pytest.param("# 제목", "<h1>제목</h1>", id="h1"),
        pytest.param("### Sub ###", "<h3>Sub</h3>", id="h3 with closing hashes"),
        pytest.param("#hashtag", "<p>#hashtag</p>", id="no space, no heading"),
        pytest.param("---", "<hr>", id="rule"),
        pytest.param("> quoted\n> on", "<blockquote><p>quoted<br>on</p></blockquote>", id="quote"),
        pytest.param("- a\n- b", "<ul><li>a</li><li>b</li></ul>", id="bullets"),
        pytest.param("* a\n+ b", "<ul><li>a</li><li>b</li></ul>", id="other bullet marks"),
        pytest.param("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>", id="numbered"),
        pytest.param("3. c\n4. d", '<ol start="3"><li>c</li><li>d</li></ol>', id="numbered from 3"),
        pytest.param(
            "- a\n  - a1\n  - a2\n- b",
            "<ul><li>a<ul><li>a1</li><li>a2</li></ul></li><li>b</li></ul>",
            id="nested list",
        ),
        pytest.param(
            "1. step\n   ```sh\n   ls\n   ```",
            '<ol><li>step<pre><code class="language-sh">ls\n</code></pre></li></ol>',
            id="code inside a list item",
        ),
        pytest.param(
            "Options:\n- a\n- b",
            "<p>Options:</p><ul><li>a</li><li>b</li></ul>",
            id="a list right after a paragraph",
        ),
        pytest.param("- a\n\n- b", "<ul><li><p>a</p></li><li><p>b</p></li></ul>", id="loose list"),
        pytest.param("- a\n1. b", "<ul><li>a</li></ul><ol><li>b</li></ol>", id="list type change"),
        pytest.param(
            "[docs](https://example.com/a?b=1&c=2)",
            '<p><a href="https://example.com/a?b=1&amp;c=2">docs</a></p>',
            id="link",
        ),
        pytest.param(
            "[Claude](https://matrix.to/#/@claude:hs) 봐줘",
            '<p><a href="https://matrix.to/#/@claude:hs">Claude</a> 봐줘</p>',
            id="pill",
        ),
        pytest.param(
            "<https://example.com>",
            '<p><a href="https://example.com">https://example.com</a></p>',
            id="autolink",
        ),
        pytest.param(
            "**see [the *docs*](https://x.y)**",
            '<p><strong>see <a href="https://x.y">the <em>docs</em></a></strong></p>',
            id="emphasis around a link",
        ),
        pytest.param(
            "| 이름 | 역할 |\n| --- | :-: |\n| Claude | thinking |\n| GPT | judging |",
            "<ul><li>이름: Claude; 역할: thinking</li><li>이름: GPT; 역할: judging</li></ul>",
            id="a table becomes a list",
        ),
        pytest.param(
            "|a|b|\n|-|-|\n|1||\n|x \\| y|**2**|",
            "<ul><li>a: 1</li><li>a: x | y; b: <strong>2</strong></li></ul>",
            id="table with an empty cell, an escaped pipe and markup",
        ),
        pytest.param("a | b", "<p>a | b</p>", id="a pipe alone is no table"),
    ],
)
def test_markdown_to_html(markdown: str, html: str) -> None:
    assert markdown_to_html(markdown) == html


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        pytest.param("<script>alert(1)</script>", "<script", id="raw html"),
        pytest.param("<img src=x onerror=alert(1)>", "<img", id="raw tag with handler"),
        pytest.param("**<b>x</b>**", "<b>", id="html inside emphasis"),
        pytest.param("```\n</code></pre><script>x</script>\n```", "<script", id="html in code"),
        pytest.param('```"><script>\nx\n```', "<script", id="html in the language tag"),
        pytest.param("[x](javascript:alert(1))", "javascript:", id="javascript link"),
        pytest.param("[x](data:text/html;base64,AAAA)", "data:", id="data link"),
        pytest.param('[x](https://a.b/"onmouseover="alert(1))', '"onmouseover', id="quote in url"),
        pytest.param("`<i>`", "<i>", id="html in inline code"),
        pytest.param("| <b> | x |\n|---|---|\n| 1 | 2 |", "<b>", id="html in a table"),
        pytest.param("\ue0000\ue001 **a**", "\ue000", id="placeholder characters in the input"),
    ],
)
def test_model_output_never_injects_markup(markdown: str, forbidden: str) -> None:
    assert forbidden not in markdown_to_html(markdown)


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


# --- markdown to HTML: escaping, nesting, linear work -----------------------------------------


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        pytest.param("\"a\" & 'b'", "<p>\"a\" &amp; 'b'</p>", id="quotes need no escaping in text"),
        pytest.param(
            '```\nq = "v"\n```', '<pre><code>q = "v"\n</code></pre>', id="nor in code blocks"
        ),
        pytest.param('`"x"`', '<p><code>"x"</code></p>', id="nor in inline code"),
        pytest.param(
            '[l](https://a.b/?q="x")',
            '<p><a href="https://a.b/?q=&quot;x&quot;">l</a></p>',
            id="but always in attributes",
        ),
        pytest.param("``a`", "<p>``a`</p>", id="backticks with no closing run of their length"),
        pytest.param("# a" + " " * 50 + "b", "<h1>a" + " " * 50 + "b</h1>", id="spaced heading"),
        pytest.param("# #", "<h1></h1>", id="a heading of closing hashes only"),
        pytest.param("> > a", "<blockquote><blockquote><p>a</p></blockquote></blockquote>", id="q"),
        pytest.param(
            "|" + "h" * 100 + "|b|\n|-|-|\n|1|2|",
            "<ul><li>" + "h" * 80 + "…: 1; b: 2</li></ul>",
            id="a long table header is shortened (it is repeated in every row)",
        ),
    ],
)
def test_markdown_to_html_escaping_and_limits(markdown: str, html: str) -> None:
    assert markdown_to_html(markdown) == html


NESTING = 16  # quotes and lists nest this deep; deeper markers show as text


@pytest.mark.parametrize(
    ("markdown", "opening", "closing", "rest"),
    [
        pytest.param(
            ">" * 3_000,
            "<blockquote>",
            "</blockquote>",
            "<p>" + "&gt;" * 2_984 + "</p>",
            id="3000 quote markers",
        ),
        pytest.param(
            "> " * 3_000 + "x",
            "<blockquote>",
            "</blockquote>",
            "<p>" + "&gt; " * 2_984 + "x</p>",
            id="3000 spaced quote markers",
        ),
        pytest.param(
            "- " * 3_000 + "x", "<ul><li>", "</li></ul>", "- " * 2_984 + "x", id="3000 list markers"
        ),
        pytest.param(
            "1. " * 3_000 + "x",
            "<ol><li>",
            "</li></ol>",
            "1. " * 2_984 + "x",
            id="3000 numbered markers",
        ),
    ],
)
def test_deep_nesting_is_capped_instead_of_exhausting_the_stack(
    markdown: str, opening: str, closing: str, rest: str
) -> None:
    assert markdown_to_html(markdown) == opening * NESTING + rest + closing * NESTING


def test_deep_indented_lists_are_capped_too() -> None:
    markdown = "\n".join("  " * depth + f"- {depth}" for depth in range(400))
    rendered = markdown_to_html(markdown)
    assert rendered.count("<ul>") == rendered.count("</ul>") == NESTING
    assert rendered.endswith("<br>- 399" + "</li></ul>" * NESTING)


def python_steps(text: str) -> int:
    """How many lines of bots/text/splitting.py run to render `text`: the work, without a clock."""
    steps = 0

    def count(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal steps
        steps += event == "line"
        return count

    def calls(frame: FrameType, event: str, arg: object) -> Any:
        return count if frame.f_code.co_filename == splitting.__file__ else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        markdown_to_html(text)
    finally:
        sys.settrace(previous)
    return steps


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda n: "*a " * n, id="asterisks that never close"),
        pytest.param(lambda n: "_a " * n, id="underscores that never close"),
        pytest.param(lambda n: "**a " * n, id="bold that never closes"),
        pytest.param(lambda n: "~~a " * n, id="strikes that never close"),
        pytest.param(lambda n: "".join("`" * k + "a" for k in range(1, n // 20)), id="ticks"),
        pytest.param(lambda n: "# a" + " " * n + "b", id="a heading with a run of spaces"),
    ],
)
def test_unclosed_markup_is_text_and_rendering_work_is_linear(make: Callable[[int], str]) -> None:
    small, large = make(1_000), make(2_000)
    assert markdown_to_html(small) in (
        f"<p>{small.strip()}</p>",
        f"<h1>{small[2:]}</h1>",
    )
    work_small, work_large = python_steps(small), python_steps(large)
    assert work_small <= 30 * len(small)
    assert work_large <= 2.2 * work_small + 50  # twice the text, about twice the work


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda n: "*a **b ~~c _d " * n, id="emphasis of every kind, unclosed"),
        pytest.param(lambda n: "*a* **b** ~~c~~ _d_ `e` " * n, id="emphasis of every kind"),
        pytest.param(lambda n: "*" * n + "a", id="a run of asterisks"),
        pytest.param(lambda n: "***a " * n, id="bold italic markers"),
        pytest.param(lambda n: "|h|i|\n|-|-|\n" + "|x|y|\n" * n, id="table rows"),
        pytest.param(lambda n: "> " * n + "x", id="quote markers"),
    ],
)
def test_rendering_work_is_linear(make: Callable[[int], str]) -> None:
    work_small, work_large = python_steps(make(1_000)), python_steps(make(2_000))
    assert work_small <= 30 * len(make(1_000))
    assert work_large <= 2.2 * work_small + 50
