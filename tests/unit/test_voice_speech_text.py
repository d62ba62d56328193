"""What is said aloud: texts made speakable and cut at a sentence, a model's summary read
leniently, a plan read out by its steps, a voice message's short text body."""

from __future__ import annotations

import pytest

from bots.voice.speech_text import (
    CUT_DEFAULT,
    CUT_WORDS,
    SpokenStep,
    fallback_body,
    read_summary,
    readout_text,
    speakable,
    trimmed,
)

SPEAKABLE = [
    ("plain", "Disk is fine.", "Disk is fine."),
    ("markdown marks", "**#12 ✅ Done** in `2 s`", "#12 ✅ Done in 2 s"),
    ("a code block", "Output:\n```\n/dev/sda1 40%\n```\nAll good.", "Output:\nAll good."),
    ("a link", "See https://example.com/x for more.", "See for more."),
    ("blank lines", "One.\n\n\nTwo.", "One.\nTwo."),
    ("a heading and a quote", "## Result\n> quoted", "Result\nquoted"),
]


@pytest.mark.parametrize(
    ("text", "said"), [s[1:] for s in SPEAKABLE], ids=[s[0] for s in SPEAKABLE]
)
def test_only_what_is_said_aloud_is_kept(text: str, said: str) -> None:
    assert speakable(text) == said


TRIMS = [
    ("short stays", "Done. All good.", 50, "en", "Done. All good."),
    (
        "cut at a sentence",
        "First part. Second part. Third part.",
        28,
        "en",
        f"First part. Second part. {CUT_DEFAULT}",
    ),
    (
        "korean cut words",
        "첫째 문장입니다. 둘째 문장입니다. 셋째 문장입니다.",
        15,
        "ko",
        f"첫째 문장입니다. {CUT_WORDS['ko']}",
    ),
    ("no sentence end: at a space", "word " * 20, 22, "en", f"word word word word {CUT_DEFAULT}"),
]


@pytest.mark.parametrize(
    ("text", "limit", "language", "said"), [t[1:] for t in TRIMS], ids=[t[0] for t in TRIMS]
)
def test_a_long_text_is_cut_at_a_sentence_and_says_so(
    text: str, limit: int, language: str, said: str
) -> None:
    assert trimmed(text, limit, language) == said


SUMMARIES = [
    ("as it is", "The disk check worked.", "The disk check worked."),
    ("a preamble", "Here is the spoken summary: The disk check worked.", "The disk check worked."),
    ("korean preamble", "요약: 디스크 점검이 끝났습니다.", "디스크 점검이 끝났습니다."),
    ("fenced", "```\nThe disk check worked.\n```", "The disk check worked."),
    ("quoted", "“The disk check worked.”", "The disk check worked."),
    ("nothing", "   ", None),
    ("only code", "```\n```", None),
]


@pytest.mark.parametrize(
    ("answer", "said"), [s[1:] for s in SUMMARIES], ids=[s[0] for s in SUMMARIES]
)
def test_a_summary_is_read_leniently(answer: str, said: str | None) -> None:
    assert read_summary(answer, 200, "en") == said


def test_a_summary_that_runs_long_is_still_cut() -> None:
    said = read_summary("A sentence here. " * 40, 100, "en")
    assert said is not None
    assert len(said) <= 200 + len(CUT_DEFAULT) + 1
    assert said.endswith(CUT_DEFAULT)


def test_a_plan_is_read_out_by_its_steps_then_how_to_answer() -> None:
    steps = [SpokenStep("local", "Check the disk", "df -h"), SpokenStep("web-1", "", "uptime")]
    said = readout_text(12, steps, "en", 600)
    assert said.splitlines() == [
        "The plan for task 12. 2 steps.",
        "Step 1, on local: Check the disk.",
        "Step 2, on web-1: uptime.",
        "Say 'approve' to approve it, or 'deny' to send it back.",
    ]
    korean = readout_text(12, steps, "ko", 600)
    assert korean.startswith("12번 작업의 계획입니다. 단계 2개.")
    assert korean.endswith("'거절'이라고 말씀하세요.")


def test_a_long_plan_read_out_is_cut_but_keeps_how_to_answer() -> None:
    steps = [SpokenStep("local", f"Step purpose number {n}", "true") for n in range(40)]
    said = readout_text(3, steps, "en", 300)
    assert len(said) <= 300 + len(CUT_DEFAULT) + 1
    assert said.endswith("Say 'approve' to approve it, or 'deny' to send it back.")


def test_a_voice_messages_body_is_a_mark_and_its_first_words() -> None:
    assert fallback_body("🔊", "**Done.**") == "🔊 Done."
    long = fallback_body("🔊", "word " * 100)
    assert long.startswith("🔊 word word")
    assert long.endswith("…")
    assert len(long) < 130
