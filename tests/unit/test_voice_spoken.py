"""What the master meant, from what speech-to-text wrote: one row per way of saying it."""

from __future__ import annotations

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.routing.addressing import Identity, Roster
from bots.routing.router import Chat, Command, Ignore, RouterContext, parse
from bots.settings.voice import VoiceSettings
from bots.voice.spoken import (
    Approval,
    Denial,
    Intent,
    Speech,
    TaskOrder,
    VoteChoice,
    typed_form,
    understand,
)

VOICE = VoiceSettings()

INTENTS: list[tuple[str, str, Intent]] = [
    # task phrases, said first
    ("ko task", "차비온 태스크 디스크 확인해", TaskOrder("디스크 확인해")),
    ("ko task colon", "차비온 태스크: 디스크 확인해.", TaskOrder("디스크 확인해")),
    ("ko task comma", "차비온 태스크, 로그 정리해 줘", TaskOrder("로그 정리해 줘")),
    ("ko task joined", "차비온태스크 백업 돌려", TaskOrder("백업 돌려")),
    ("ko task second phrase", "차비온 작업 서버 재시작", TaskOrder("서버 재시작")),
    ("ko task after filler", "음, 차비온 태스크 디스크 확인해", TaskOrder("디스크 확인해")),
    ("en task", "Chavion task, check disk", TaskOrder("check disk")),
    ("en task lower", "chavion task check the disk usage.", TaskOrder("check the disk usage")),
    ("en task colon", "Chavion task: rotate the logs", TaskOrder("rotate the logs")),
    ("en task filler", "Uh, Chavion task, check disk.", TaskOrder("check disk")),
    ("en task hyphen", "Chavion-task check disk", TaskOrder("check disk")),
    ("task phrase alone", "차비온 태스크.", TaskOrder("")),
    ("task phrase not first", "클로드, 차비온 태스크 알아?", Speech("클로드, 차비온 태스크 알아?")),
    ("task word inside another", "chavion tasks are slow", Speech("chavion tasks are slow")),
    # votes, said alone
    ("ko sino", "일번", VoteChoice("A")),
    ("ko sino polite", "일번이요.", VoteChoice("A")),
    ("ko sino two", "이번이요", VoteChoice("B")),
    ("ko sino three", "삼 번", VoteChoice("C")),
    ("ko digit", "1번", VoteChoice("A")),
    ("ko digit polite", "2번으로 할게요.", VoteChoice("B")),
    ("ko digit ordinal", "3번째요", VoteChoice("C")),
    ("ko native ordinal", "첫 번째", VoteChoice("A")),
    ("ko native joined", "두번째요!", VoteChoice("B")),
    ("ko native third", "세 번째로 할게", VoteChoice("C")),
    ("ko letter", "비", VoteChoice("B")),
    ("ko letter polite", "비로 할게요.", VoteChoice("B")),
    ("ko letter a", "에이요", VoteChoice("A")),
    ("ko latin letter", "B로 할게요", VoteChoice("B")),
    ("ko vote word", "투표 1번", VoteChoice("A")),
    ("ko filler vote", "음... 일번이요", VoteChoice("A")),
    ("ko i choose", "저는 2번 선택할게요", VoteChoice("B")),
    ("en option one", "Option one.", VoteChoice("A")),
    ("en number 2", "number 2", VoteChoice("B")),
    ("en number two", "Number two, please.", VoteChoice("B")),
    ("en letter", "B", VoteChoice("B")),
    ("en letter period", "b.", VoteChoice("B")),
    ("en option letter", "Option C", VoteChoice("C")),
    ("en i vote", "I vote for option B.", VoteChoice("B")),
    ("en first", "The first one.", VoteChoice("A")),
    ("en second", "second", VoteChoice("B")),
    ("en my vote is", "My vote is three", VoteChoice("C")),
    ("en filler", "Um, option two.", VoteChoice("B")),
    ("en tenth", "option ten", VoteChoice("J")),
    ("no eleventh option", "option eleven", Speech("option eleven")),
    ("zero is no option", "0번", Speech("0번")),
    ("number inside a sentence", "1번 서버 상태 알려줘", Speech("1번 서버 상태 알려줘")),
    ("letter inside a sentence", "B plan sounds good", Speech("B plan sounds good")),
    # approval and denial, said alone
    ("ko approve", "승인", Approval()),
    ("ko approve polite", "승인합니다.", Approval()),
    ("ko approve filler", "음, 승인", Approval()),
    ("en approve", "Approve.", Approval()),
    ("en approved", "approved!", Approval()),
    ("en approve please", "Approve please", Approval()),
    ("approve in a sentence", "승인 절차 알려줘", Speech("승인 절차 알려줘")),
    ("ko deny", "거절", Denial()),
    ("ko deny reason", "거절, 너무 위험해", Denial("너무 위험해")),
    ("en deny", "Deny.", Denial()),
    ("en reject reason", "Reject: it restarts prod", Denial("it restarts prod")),
    ("deny in a sentence", "reject the idea of caching?", Speech("reject the idea of caching?")),
    # everything else, as said
    ("ko address", "클로드, 디스크 상태 어때?", Speech("클로드, 디스크 상태 어때?")),
    ("en question", "What is the load on web1?", Speech("What is the load on web1?")),
    ("blank ends", "  hello council  ", Speech("hello council")),
    ("filler only", "음.", Speech("음.")),
]


@pytest.mark.parametrize(
    ("said", "meant"), [(s, m) for _, s, m in INTENTS], ids=[i for i, _, _ in INTENTS]
)
def test_a_transcript_reads_as_what_was_meant(said: str, meant: Intent) -> None:
    assert understand(said, VOICE) == meant


TYPED = [
    ("task", "차비온 태스크 디스크 확인해", "//chavion_task: 디스크 확인해"),
    ("task en", "Chavion task, check disk.", "//chavion_task: check disk"),
    ("empty task", "chavion task", "//chavion_task:"),
    ("vote", "일번이요", "!vote A"),
    ("vote en", "option two", "!vote B"),
    ("approval as said", "승인", "승인"),
    ("denial as said", "거절, 위험해", "거절, 위험해"),
    ("speech as said", " 클로드야, 안녕 ", "클로드야, 안녕"),
]


@pytest.mark.parametrize(
    ("said", "typed"), [(s, t) for _, s, t in TYPED], ids=[i for i, _, _ in TYPED]
)
def test_the_typed_form_is_what_he_would_have_typed(said: str, typed: str) -> None:
    assert typed_form(understand(said, VOICE), said) == typed


def test_configured_phrases_replace_the_defaults() -> None:
    voice = VoiceSettings(
        task_phrases=("council job",), approve_phrases=("go ahead",), deny_phrases=("stop",)
    )
    assert understand("Council job: check disk", voice) == TaskOrder("check disk")
    assert understand("차비온 태스크 디스크", voice) == Speech("차비온 태스크 디스크")
    assert understand("Go ahead.", voice) == Approval()
    assert understand("stop", voice) == Denial()


# --- the typed form through the router: spoken names and commands reach the right bot ---

SERVER = "example.org"
CLAUDE = Identity(UserID(f"@claude:{SERVER}"), "Claude", ("클로드",))
GPT = Identity(UserID(f"@gpt:{SERVER}"), "GPT", ("지피티",))
COORDINATOR = Identity(UserID(f"@coordinator:{SERVER}"), "Coordinator", kind="coordinator")
ROSTER = Roster((CLAUDE, GPT, COORDINATOR))
MASTER = UserID(f"@master:{SERVER}")


def _as_typed(said: str) -> Message:
    """The transcript reply as every bot reads it: the master's message, its typed form."""
    return Message(
        room_id=RoomID(f"!council:{SERVER}"),
        event_id=EventID("$transcript"),
        sender=MASTER,
        body=typed_form(understand(said, VOICE), said),
        spoken_in=EventID("$voice"),
    )


def _route(said: str, me: Identity) -> object:
    ctx = RouterContext(
        me=me,
        roster=ROSTER,
        is_coordinator=me.kind == "coordinator",
        is_agent=me.kind == "agent",
    )
    return parse(_as_typed(said), ctx)


ROUTES = [
    ("vocative 아", "클로드야, 디스크 상태 어때?", CLAUDE, Chat),
    ("vocative not for gpt", "클로드야, 디스크 상태 어때?", GPT, Ignore),
    ("honorific and particle", "클로드님, 로그 봐 주세요.", CLAUDE, Chat),
    ("topic particle", "지피티는 어떻게 생각해?", GPT, Chat),
    ("english name", "Claude, what is the load?", CLAUDE, Chat),
    ("broadcast", "얘들아, 회의하자.", GPT, Chat),
    ("unaddressed", "오늘 날씨 좋네", CLAUDE, Ignore),
    ("task goes to coordinator", "차비온 태스크 디스크 확인해", COORDINATOR, Command),
    ("task not for an agent", "차비온 태스크 디스크 확인해", CLAUDE, Ignore),
    ("vote goes to coordinator", "일번이요", COORDINATOR, Command),
    ("vote not for an agent", "option two", CLAUDE, Ignore),
]


@pytest.mark.parametrize(
    ("said", "me", "route"), [(s, m, r) for _, s, m, r in ROUTES], ids=[i for i, *_ in ROUTES]
)
def test_the_typed_form_routes_as_typed(said: str, me: Identity, route: type) -> None:
    assert isinstance(_route(said, me), route)


def test_a_spoken_task_is_the_task_command() -> None:
    assert _route("Chavion task, check disk", COORDINATOR) == Command("task", "check disk")
    assert _route("두 번째요", COORDINATOR) == Command("vote", "B")


@pytest.mark.parametrize("body", ["Voice message", "클로드야 Voice message.ogg", "everyone.ogg"])
@pytest.mark.parametrize("me", [CLAUDE, GPT, COORDINATOR], ids=["claude", "gpt", "coordinator"])
def test_the_raw_voice_message_is_no_ones_to_answer(body: str, me: Identity) -> None:
    """Only the transcript is acted on: the audio event itself, whatever its body (Element
    Web writes "Voice message", Element X the file's name), routes nowhere."""
    ctx = RouterContext(
        me=me, roster=ROSTER, is_coordinator=me.kind == "coordinator", is_agent=me.kind == "agent"
    )
    audio = Message(
        room_id=RoomID(f"!council:{SERVER}"),
        event_id=EventID("$voice"),
        sender=MASTER,
        body=body,
        msgtype="m.audio",
    )
    assert isinstance(parse(audio, ctx), Ignore)
