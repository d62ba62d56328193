"""A plan approved by voice, as the executor checks it (issue 20).

- The coordinator's "spoken verdict" message counts as the speaker's ✅ / ❌ only when the
  coordinator is the configured transcriber, it names a remembered plan with its digest and
  task, and the executor itself saw the named voice message from the speaker, in the plan's
  room, after the plan.
- Then the approval is checked like a ✅ (`check_grant`): an agent's voice approves nothing.
- A transcript is never read as a typed `!approve` by the executor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bots.execution.plan_approvals import PlanApprovals, PlanGrant, PlanRefusal
from bots.execution.spoken_verdicts import (
    SPOKEN_VERDICT_KIND,
    HeardVoice,
    SpokenRefusal,
    check_spoken,
    read_claim,
)
from bots.ids import EventID, RoomID, UserID
from bots.message import AudioAttachment, Message
from bots.store import Store
from bots.store.plan_approvals import PlanApprovalStore, StoredVerdict
from tests.unit.test_plan_approvals import (
    CLAUDE,
    COORD,
    EVE,
    MASTER,
    PLAN,
    ROOM,
    ROSTER,
    RULES,
    T0,
    plan_message,
    remembered,
    request,
)

VOICE = EventID("$voice")
SAID = EventID("$said")
DIGEST = remembered().digest


def claim_content(**changes: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "v": 1,
        "kind": SPOKEN_VERDICT_KIND,
        "task": 12,
        "verdict": "approve",
        "plan_event": PLAN,
        "plan_digest": DIGEST,
        "speaker": MASTER,
        "audio_event": VOICE,
        "transcript_event": EventID("$transcript"),
    }
    content.update(changes)
    return content


def said(sender: UserID = COORD, at: float = T0 + 5, **changes: Any) -> Message:
    return Message(
        ROOM, SAID, sender, "#12 🎙️✅", council=claim_content(**changes), timestamp_ms=int(at * 1000)
    )


def heard(sender: UserID = MASTER, at: float = T0 + 1, room: RoomID = ROOM) -> HeardVoice:
    return HeardVoice(VOICE, room, sender, at)


CHECKS = [
    ("all holds", {}, None),
    ("sent by an agent", {"message": said(sender=CLAUDE)}, "not the coordinator"),
    ("another bot transcribes", {"transcriber": CLAUDE}, "only when the coordinator transcribes"),
    ("no transcriber", {"transcriber": None}, "only when the coordinator transcribes"),
    ("an unknown plan", {"plan": None}, "is not a plan the executor saw"),
    ("another digest", {"message": said(plan_digest="0" * 64)}, "another plan digest"),
    ("another task", {"message": said(task=13)}, "another plan digest or task"),
    ("no voice message seen", {"heard": None}, "saw no voice message"),
    ("the voice is Eve's", {"heard": heard(sender=EVE)}, "not the speaker's"),
    ("voice in another room", {"heard": heard(room=RoomID("!x:hs"))}, "not the speaker's"),
    ("voice before the plan", {"heard": heard(at=T0 - 1)}, "before the plan was shown"),
]


@pytest.mark.parametrize(
    ("changes", "refusal"), [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS]
)
def test_a_spoken_verdict_counts_only_when_every_check_holds(
    changes: dict[str, Any], refusal: str | None
) -> None:
    message = changes.pop("message", said())
    claim = read_claim(message.council or {})
    assert not isinstance(claim, SpokenRefusal)
    args: dict[str, Any] = {
        "coordinator": COORD,
        "transcriber": COORD,
        "plan": remembered(),
        "heard": heard(),
        "at": T0 + 5,
    }
    args.update(changes)
    outcome = check_spoken(message, claim, **args)
    if refusal is None:
        assert outcome == StoredVerdict(SAID, ROOM, PLAN, None, MASTER, "approve", T0 + 5)
    else:
        assert isinstance(outcome, SpokenRefusal)
        assert refusal in outcome.reason


MALFORMED = [
    ("no task", {"task": None}, "names no task"),
    ("a task as text", {"task": "12"}, "names no task"),
    ("neither verdict", {"verdict": "maybe"}, "neither approve nor deny"),
    ("no plan event", {"plan_event": ""}, "no plan_event"),
    ("no digest", {"plan_digest": None}, "no plan_digest"),
    ("no speaker", {"speaker": 5}, "no speaker"),
    ("no voice event", {"audio_event": None}, "no audio_event"),
]


@pytest.mark.parametrize(
    ("changes", "reason"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_spoken_verdict_is_refused(changes: dict[str, Any], reason: str) -> None:
    claim = read_claim(claim_content(**changes))
    assert isinstance(claim, SpokenRefusal)
    assert reason in claim.reason


@pytest.fixture
async def plans(tmp_path: Path) -> AsyncIterator[PlanApprovalStore]:
    db = tmp_path / "chavion.db"
    store = await Store.open(db)
    opened = await PlanApprovalStore.open(db, clock=lambda: T0 + 100)
    yield opened
    await opened.close()
    await store.close()


def memory(store: PlanApprovalStore, transcriber: UserID | None = COORD) -> PlanApprovals:
    return PlanApprovals(
        store,
        coordinator=COORD,
        rules=RULES,
        clock=lambda: T0 + 120,
        settle_seconds=0.1,
        transcriber=transcriber,
    )


def voice_message(sender: UserID = MASTER, at: float = T0 + 1) -> Message:
    audio = AudioAttachment("mxc://hs/a", "audio/ogg", 3000, 1500, voice=True)
    return Message(
        ROOM,
        VOICE,
        sender,
        "Voice message",
        msgtype="m.audio",
        audio=audio,
        timestamp_ms=int(at * 1000),
    )


async def test_the_masters_voice_then_the_coordinators_verdict_approve_the_plans_steps(
    plans: PlanApprovalStore,
) -> None:
    remembering = memory(plans)
    await remembering.observe(plan_message(at=T0), ROSTER)
    await remembering.observe(voice_message(), ROSTER)
    await remembering.observe(said(), ROSTER)
    granted = await remembering.grant(request(approval=SAID))
    assert isinstance(granted, PlanGrant), granted
    assert (granted.by, granted.event_id) == (MASTER, SAID)


@pytest.mark.parametrize(
    ("voice_from", "speaker", "transcriber"),
    [
        (CLAUDE, CLAUDE, COORD),  # an agent's voice is remembered by no one
        (EVE, EVE, COORD),  # nor a stranger's
        (MASTER, MASTER, CLAUDE),  # the coordinator does not transcribe: it cannot vouch
    ],
    ids=["an agent speaks", "a stranger speaks", "another bot transcribes"],
)
async def test_a_spoken_verdict_that_fails_a_check_approves_nothing(
    plans: PlanApprovalStore, voice_from: UserID, speaker: UserID, transcriber: UserID
) -> None:
    remembering = memory(plans, transcriber)
    await remembering.observe(plan_message(at=T0), ROSTER)
    await remembering.observe(voice_message(sender=voice_from), ROSTER)
    await remembering.observe(said(speaker=speaker), ROSTER)
    refused = await remembering.grant(request(approval=SAID))
    assert isinstance(refused, PlanRefusal)
    assert "not an approval of this plan" in refused.reason


async def test_a_spoken_denial_voids_a_tick(plans: PlanApprovalStore) -> None:
    from tests.unit.test_plan_approvals import tick

    remembering = memory(plans)
    await remembering.observe(plan_message(at=T0), ROSTER)
    assert await remembering.observe_reaction(tick(PLAN))
    await remembering.observe(voice_message(), ROSTER)
    await remembering.observe(said(verdict="deny"), ROSTER)
    refused = await remembering.grant(request())
    assert isinstance(refused, PlanRefusal)
    assert "denied by" in refused.reason


async def test_a_transcript_is_never_read_as_a_typed_approval(plans: PlanApprovalStore) -> None:
    remembering = memory(plans)
    await remembering.observe(plan_message(at=T0), ROSTER)
    transcript = Message(
        ROOM, EventID("$t"), MASTER, "!approve 12", spoken_in=VOICE, timestamp_ms=int(T0 * 1000) + 1
    )
    typed = replace(transcript, event_id=EventID("$typed"), spoken_in=None)
    await remembering.observe(transcript, ROSTER)
    await remembering.observe(typed, ROSTER)
    refused = await remembering.grant(request(approval=EventID("$t")))
    assert isinstance(refused, PlanRefusal)
    granted = await remembering.grant(request(approval=EventID("$typed")))
    assert isinstance(granted, PlanGrant), granted
