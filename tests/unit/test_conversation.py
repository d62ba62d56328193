"""The conversation layer: who said what, in which role, trimmed to a budget, ending on a user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bots.agents.conversation import (
    DEFAULT_LANGUAGE_HINT,
    KOREAN,
    MIN_TRIGGER_TOKENS,
    TOKENS_PER_MESSAGE,
    build_conversation,
    clean_body,
    detect_language,
    estimate_tokens,
    history_until,
    render_system_prompt,
    strip_speaker_prefix,
    truncate_middle,
)
from bots.errors import ConfigError
from bots.ids import EventID, UserID
from bots.message import HistoryEntry
from bridge.llm.base import ChatMessage

CLAUDE = UserID("@claude:hs")
GPT = UserID("@gpt:hs")
MASTER = UserID("@master:hs")
NAMES = {CLAUDE: "Claude", GPT: "GPT", MASTER: "Master"}
TEMPLATE = Path(__file__).resolve().parents[2] / "bots" / "agents" / "prompts" / "agent.md.j2"


def said(sender: UserID, body: str, n: int = 0) -> HistoryEntry:
    return HistoryEntry(EventID(f"$e{n}"), sender, NAMES[sender], body, 1_700_000_000_000 + n)


def history(*lines: tuple[UserID, str]) -> list[HistoryEntry]:
    return [said(sender, body, n) for n, (sender, body) in enumerate(lines)]


def chars(text: str) -> int:
    """One token per character: makes budgets in the tables easy to read."""
    return len(text)


def cost(content: str) -> int:
    return len(content) + TOKENS_PER_MESSAGE


def convo(entries: list[HistoryEntry], budget: int = 100_000, **kw: object) -> list[ChatMessage]:
    return build_conversation(
        entries, me=CLAUDE, system_prompt="S", budget_tokens=budget, estimate=chars, **kw
    )


# --- token estimate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("abcd", 1, id="four latin characters are one token"),
        pytest.param("abcde", 2, id="a started token counts"),
        pytest.param("안녕하세요", 5, id="each hangul syllable is one token"),
        pytest.param("안녕 hi", 3, id="hangul plus latin"),
        pytest.param("漢字かなカナ", 6, id="ideographs and kana"),
        pytest.param("。、「」", 4, id="CJK punctuation"),
    ],
)
def test_estimate_tokens(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


# --- cleaning bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "clean"),
    [
        pytest.param("plain", "plain", id="plain text is kept"),
        pytest.param(
            "> <@gpt:hs> the original\n> second line\n\nmy answer",
            "my answer",
            id="reply fallback is stripped",
        ),
        pytest.param("> * <@gpt:hs> waves\n\n안녕", "안녕", id="emote reply fallback"),
        pytest.param(
            "> a quote I typed\n\nmy comment",
            "> a quote I typed\n\nmy comment",
            id="a quote the person typed stays",
        ),
        pytest.param(
            "[Claude](https://matrix.to/#/@claude:hs) 어때?", "Claude 어때?", id="pill to its label"
        ),
        pytest.param(
            "[@claude:hs](https://matrix.to/#/@claude:hs) hi",
            "@claude:hs hi",
            id="Element X markdown pill",
        ),
        pytest.param("  \n padded \n", "padded", id="surrounding whitespace"),
    ],
)
def test_clean_body(body: str, clean: str) -> None:
    assert clean_body(body) == clean


# --- roles and speakers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(
            history(
                (MASTER, "얘들아 의견?"), (GPT, "A안"), (CLAUDE, "B안"), (MASTER, "클로드, 왜?")
            ),
            [
                ("user", "Master: 얘들아 의견?"),
                ("user", "GPT: A안"),
                ("assistant", "B안"),
                ("user", "Master: 클로드, 왜?"),
            ],
            id="others are named users, the agent is the assistant",
        ),
        pytest.param(
            history((MASTER, "hi"), (CLAUDE, "hello"), (CLAUDE, "anything else?")),
            [("user", "Master: hi")],
            id="trailing own messages are dropped (no prefill)",
        ),
        pytest.param(
            history((CLAUDE, "I started this")),
            [],
            id="nothing but own messages leaves only the system prompt",
        ),
        pytest.param(
            history((MASTER, "> <@gpt:hs> old\n\n"), (MASTER, "real question")),
            [("user", "Master: real question")],
            id="a message empty after cleaning is skipped",
        ),
        pytest.param(
            [HistoryEntry(EventID("$x"), UserID("@guest:hs"), " ", "hi", 0)],
            [("user", "@guest:hs: hi")],
            id="no display name falls back to the user id",
        ),
    ],
)
def test_roles_and_speakers(entries: list[HistoryEntry], expected: list[tuple[str, str]]) -> None:
    messages = convo(entries)
    assert messages[0] == ChatMessage("system", "S")
    assert [(m.role, m.content) for m in messages[1:]] == expected


def test_the_conversation_always_ends_on_a_user_turn() -> None:
    entries = history((MASTER, "a"), (CLAUDE, "b"), (GPT, "c"), (CLAUDE, "d"))
    assert convo(entries)[-1].role == "user"


# --- trimming to the budget -----------------------------------------------------------------

FOUR = history((MASTER, "m0"), (GPT, "g1"), (MASTER, "m2"), (GPT, "g3"))
FOUR_COSTS = [cost("S")] + [cost(f"{NAMES[e.sender]}: {e.body}") for e in FOUR]


@pytest.mark.parametrize(
    ("budget", "kept"),
    [
        pytest.param(sum(FOUR_COSTS), ["m0", "g1", "m2", "g3"], id="exactly enough keeps all"),
        pytest.param(sum(FOUR_COSTS) - 1, ["g1", "m2", "g3"], id="one short drops the oldest"),
        pytest.param(sum(FOUR_COSTS[:1] + FOUR_COSTS[2:]), ["g1", "m2", "g3"], id="oldest first"),
        pytest.param(FOUR_COSTS[0] + FOUR_COSTS[-1], ["g3"], id="only the newest fits"),
    ],
)
def test_oldest_turns_go_first(budget: int, kept: list[str]) -> None:
    messages = convo(FOUR, budget)
    assert [m.content.split(": ", 1)[1] for m in messages[1:]] == kept


def test_turns_are_dropped_whole_never_cut() -> None:
    entries = history((MASTER, "x" * 50), (GPT, "y" * 50), (MASTER, "question"))
    originals = {f"{NAMES[e.sender]}: {e.body}" for e in entries}
    for budget in range(20, 200, 7):
        messages = convo(entries, budget)
        assert all(m.content in originals for m in messages[1:]), budget


def test_an_answer_whose_question_was_trimmed_goes_too() -> None:
    entries = history((MASTER, "q" * 40), (CLAUDE, "answer"), (MASTER, "next?"))
    budget = cost("S") + cost("answer") + cost("Master: next?")
    assert [(m.role, m.content) for m in convo(entries, budget)[1:]] == [("user", "Master: next?")]


def test_korean_history_is_trimmed_by_syllables() -> None:
    para = "가" * 100  # ~100 tokens with the default estimate
    entries = history((MASTER, para), (GPT, para), (MASTER, para), (GPT, "요약해줘"))
    budget = estimate_tokens("S") + 3 * TOKENS_PER_MESSAGE + 2 * estimate_tokens("Master: " + para)
    messages = build_conversation(entries, me=CLAUDE, system_prompt="S", budget_tokens=budget)
    assert [m.content for m in messages[1:]] == [f"Master: {para}", "GPT: 요약해줘"]
    assert sum(estimate_tokens(m.content) + TOKENS_PER_MESSAGE for m in messages) <= budget


def test_a_newest_message_over_budget_is_cut_in_the_middle() -> None:
    body = "START " + "중간 내용 " * 500 + " END?"
    messages = build_conversation(
        history((GPT, "earlier"), (MASTER, body)),
        me=CLAUDE,
        system_prompt="S",
        budget_tokens=200,
    )
    assert [m.role for m in messages] == ["system", "user"]
    newest = messages[1].content
    assert newest.startswith("Master: START")
    assert newest.endswith("END?")
    assert "characters cut from the middle" in newest
    assert sum(estimate_tokens(m.content) + TOKENS_PER_MESSAGE for m in messages) <= 200


def test_the_newest_message_survives_a_system_prompt_larger_than_the_budget() -> None:
    messages = build_conversation(
        history((MASTER, "질문 " * 200)), me=CLAUDE, system_prompt="S" * 1000, budget_tokens=50
    )
    assert messages[-1].content.startswith("Master: 질문")
    assert estimate_tokens(messages[-1].content) <= MIN_TRIGGER_TOKENS


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        pytest.param("a" * 1000, 40, id="latin"),
        pytest.param("가" * 1000, 40, id="korean"),
        pytest.param("서버 로그를 봐주세요 " * 100, 60, id="korean with spaces"),
    ],
)
def test_truncate_middle_keeps_both_ends_within_the_limit(text: str, limit: int) -> None:
    cut = truncate_middle(text, limit, prefix="Master: ")
    assert estimate_tokens(cut) <= limit
    assert cut.startswith(f"Master: {text[:3]}")
    assert cut.endswith(text[-3:])
    marker = re.search(r"\n\n\[… (\d+) characters cut from the middle …\]\n\n", cut)
    assert marker is not None
    kept = len(cut) - len("Master: ") - len(marker[0])
    assert kept + int(marker[1]) == len(text)


def test_truncate_middle_keeps_the_marker_when_nothing_else_fits() -> None:
    cut = truncate_middle("x" * 1000, 1, prefix="Master: ")
    assert cut == "Master: \n\n[… 1000 characters cut from the middle …]\n\n"


def test_truncate_middle_leaves_a_fitting_text_alone() -> None:
    assert truncate_middle("짧은 글", 100, prefix="GPT: ") == "GPT: 짧은 글"


# --- language hint --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        pytest.param("오늘 서버 상태 어때?", KOREAN, id="korean"),
        pytest.param("How is the server today?", DEFAULT_LANGUAGE_HINT, id="english"),
        pytest.param("nginx 설정 좀 봐줘", KOREAN, id="korean with a technical word"),
        pytest.param("please check the 서버", DEFAULT_LANGUAGE_HINT, id="english with one word"),
        pytest.param(
            "이거 왜 이래?\n```\nTraceback (most recent call last): KeyError 'user'\n```",
            KOREAN,
            id="code blocks do not count",
        ),
        pytest.param("https://example.com/a/very/long/path 봐줘", KOREAN, id="urls do not count"),
        pytest.param("", DEFAULT_LANGUAGE_HINT, id="empty"),
        pytest.param("Wie geht's?", DEFAULT_LANGUAGE_HINT, id="another language"),
    ],
)
def test_detect_language(text: str, hint: str) -> None:
    assert detect_language(text) == hint


# --- a copied speaker name ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "stripped"),
    [
        pytest.param("Claude: 네, 가능합니다.", "네, 가능합니다.", id="display name"),
        pytest.param("**Claude**: hi", "hi", id="bold name"),
        pytest.param("클로드: 안녕", "안녕", id="korean alias"),
        pytest.param("Claudette: hi", "Claudette: hi", id="a longer name is not ours"),
        pytest.param("I think Claude: no", "I think Claude: no", id="only at the start"),
    ],
)
def test_strip_speaker_prefix(reply: str, stripped: str) -> None:
    assert strip_speaker_prefix(reply, ["Claude", "클로드", ""]) == stripped


# --- the system prompt ----------------------------------------------------------------------


def test_the_shipped_template_tells_the_agent_who_and_how() -> None:
    prompt = render_system_prompt(
        TEMPLATE,
        agent_name="claude",
        display_name="Claude",
        role="thinking",
        others=["GPT", "Gemini"],
        master_name="Master",
        language_hint=KOREAN,
    )
    for expected in (
        "You are Claude",
        "thinking — reason",
        "The other members are: GPT, Gemini.",
        '"Master: …"',
        "Speak only when you are addressed by name or everyone is.",
        '("GPT, what do you think',
        "right now that is Korean.",
    ):
        assert expected in prompt
    assert "{{" not in prompt
    assert "{%" not in prompt


def test_the_shipped_template_works_alone_and_with_a_free_role() -> None:
    prompt = render_system_prompt(
        TEMPLATE,
        agent_name="local",
        display_name="Local",
        role="a careful sysadmin",
        others=[],
        master_name="주인",
        language_hint=DEFAULT_LANGUAGE_HINT,
    )
    assert "Your role in the council: a careful sysadmin." in prompt
    assert "other members" not in prompt
    assert '"주인: …"' in prompt


@pytest.mark.parametrize(
    ("template", "error"),
    [
        pytest.param("Hello {{ nobody }}", "nobody", id="unknown variable"),
        pytest.param("Hello {% if %}", "persona template", id="syntax error"),
    ],
)
def test_a_broken_template_is_a_config_error(tmp_path: Path, template: str, error: str) -> None:
    path = tmp_path / "persona.md.j2"
    path.write_text(template, encoding="utf-8")
    with pytest.raises(ConfigError, match=error):
        render_system_prompt(
            path,
            agent_name="a",
            display_name="A",
            role="r",
            others=[],
            master_name="M",
            language_hint=KOREAN,
        )


def test_a_custom_template_sees_every_variable(tmp_path: Path) -> None:
    path = tmp_path / "persona.md.j2"
    path.write_text(
        "{{ agent.name }}|{{ agent.display_name }}|{{ agent.role }}|{{ others|join(',') }}|"
        "{{ master_name }}|{{ language_hint }}\n",
        encoding="utf-8",
    )
    prompt = render_system_prompt(
        path,
        agent_name="gpt",
        display_name="GPT",
        role="judging",
        others=["Claude"],
        master_name="Master",
        language_hint=KOREAN,
    )
    assert prompt == "gpt|GPT|judging|Claude|Master|Korean"


@pytest.mark.parametrize(
    ("trigger", "kept"),
    [
        pytest.param("$e1", ["$e0", "$e1"], id="later messages are cut off"),
        pytest.param("$e2", ["$e0", "$e1", "$e2"], id="the last message keeps everything"),
        pytest.param("$gone", ["$e0", "$e1", "$e2"], id="a trigger out of sight keeps everything"),
    ],
)
def test_the_history_ends_at_the_message_being_answered(trigger: str, kept: list[str]) -> None:
    entries = history((MASTER, "claude, 2+2?"), (MASTER, "gpt, capital of France?"), (GPT, "Paris"))
    assert [e.event_id for e in history_until(entries, trigger)] == kept
