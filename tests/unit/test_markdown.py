"""Model markdown becomes the safe HTML Element shows: escaped, capped, in linear time."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from bots.text import markdown as markdown_module
from bots.text.markdown import markdown_to_html

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


# --- escaping, nesting, linear work -------------------------------------------------------


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
    """How many lines of bots/text/markdown.py run to render `text`: the work, without a clock."""
    steps = 0

    def count(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal steps
        steps += event == "line"
        return count

    def calls(frame: FrameType, event: str, arg: object) -> Any:
        return count if frame.f_code.co_filename == markdown_module.__file__ else None

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
