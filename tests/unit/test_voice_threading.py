"""Where a voice message's transcript goes: one row per situation."""

from __future__ import annotations

import pytest

from bots.ids import EventID
from bots.voice.threading import AskWhich, Placement, TaskThread, VoiceFacts, Where, place

T12 = TaskThread(12, EventID("$t12"), "check the disks on web1", waits_for_master=True)
T14 = TaskThread(14, EventID("$t14"), "rotate the logs", waits_for_master=True)
T15 = TaskThread(15, EventID("$t15"), "upgrade nginx", waits_for_master=False)
ASK = AskWhich(
    "Which task? #12 check the disks on web1, #14 rotate the logs: "
    "reply to its message with your voice."
)


def facts(
    thread: str | None = None, replied: TaskThread | None = None, addressed: bool = False
) -> VoiceFacts:
    return VoiceFacts(EventID(thread) if thread else None, replied, addressed)


ROWS: list[tuple[str, VoiceFacts, list[TaskThread], bool, Placement]] = [
    ("no task: top level", facts(), [], True, Where(None)),
    ("one waiting: its thread", facts(), [T12], True, Where(EventID("$t12"), 12)),
    ("one waiting among busy ones", facts(), [T12, T15], True, Where(EventID("$t12"), 12)),
    ("none waiting: top level", facts(), [T15], True, Where(None)),
    ("two waiting: ask which", facts(), [T12, T14], True, ASK),
    ("two waiting, reply picks", facts(replied=T14), [T12, T14], True, Where(EventID("$t14"), 14)),
    ("reply to a busy task", facts(replied=T15), [T12], True, Where(EventID("$t15"), 15)),
    ("addressed: not the task's", facts(addressed=True), [T12], True, Where(None)),
    ("addressed with two waiting", facts(addressed=True), [T12, T14], True, Where(None)),
    (
        "reply wins over address",
        facts(replied=T12, addressed=True),
        [T12],
        True,
        Where(EventID("$t12"), 12),
    ),
    ("said in a thread stays", facts("$other"), [T12], True, Where(EventID("$other"))),
    ("routing off: top level", facts(), [T12], False, Where(None)),
    ("routing off: reply too", facts(replied=T12), [T12], False, Where(None)),
    ("routing off, in a thread", facts("$t14"), [T12], False, Where(EventID("$t14"))),
]


@pytest.mark.parametrize(
    ("voice", "tasks", "routing", "expected"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_a_voice_message_goes_where_it_belongs(
    voice: VoiceFacts, tasks: list[TaskThread], routing: bool, expected: Placement
) -> None:
    assert place(voice, tasks, routing=routing) == expected


def test_asking_which_clips_long_missions() -> None:
    long = TaskThread(3, EventID("$t3"), "word " * 40, waits_for_master=True)
    asked = place(facts(), [long, T12])
    assert isinstance(asked, AskWhich)
    assert "#3 word word" in asked.text
    assert "…" in asked.text
    assert "#12 check" in asked.text
