"""Long answers fit Matrix events, split where a reader would; markdown becomes safe HTML."""

from __future__ import annotations

import re

import pytest

from bots.splitting import DEFAULT_CHUNK_BYTES, markdown_to_html, split_message

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
