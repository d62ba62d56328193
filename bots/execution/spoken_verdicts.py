"""A plan approved or denied by voice (issue 20), as the executor checks it.

The executor hears no audio. It accepts a spoken verdict only as far as it can check it:

- the verdict message comes from the configured coordinator, and the coordinator is the
  configured `voice.transcriber` (the one bot trusted for what was said: one trust added,
  not two);
- it names a plan the executor remembers (`plan_approvals`), with that plan's digest and task;
- it names the voice message it was heard from, and the executor itself saw that voice
  message (`m.audio` with the voice marker) from the speaker, in the plan's room, sent after
  the plan: the homeserver vouches that the master spoke, after the plan was shown;
- the speaker is an approver (checked again by `check_grant`, with every other rule of a ✅:
  the newest plan, no denial, the approval window).

So the transcriber can be wrong only about the words of a voice message the master really
sent after the plan; it cannot speak for him. What fails any check approves nothing (the
request falls back to the per-step prompt). Pure rules here; `PlanApprovals` keeps the memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bots.ids import EventID, RoomID, UserID
from bots.message import Message
from bots.store.plan_approvals import StoredPlan, StoredVerdict, VerdictKind

SPOKEN_VERDICT_KIND = "spoken-verdict"
"""The council `kind` of the coordinator's message carrying a spoken verdict."""
HEARD_KEPT = 500
"""Voice messages remembered (an approval lapses long before this many are sent)."""


@dataclass(frozen=True)
class HeardVoice:
    """A voice message an approver sent, as the executor saw it."""

    event_id: EventID
    room_id: RoomID
    sender: UserID
    at: float


@dataclass(frozen=True)
class SpokenVerdict:
    """What a verdict message claims, read from its council object."""

    task_id: str
    verdict: VerdictKind
    plan_event: EventID
    plan_digest: str
    speaker: UserID
    audio_event: EventID


@dataclass(frozen=True)
class SpokenRefusal:
    reason: str


def read_claim(council: Mapping[str, Any]) -> SpokenVerdict | SpokenRefusal:
    """The verdict message's fields, or what is missing."""
    task = council.get("task")
    if isinstance(task, bool) or not isinstance(task, int):
        return SpokenRefusal("the spoken verdict names no task")
    verdict = council.get("verdict")
    if verdict not in ("approve", "deny"):
        return SpokenRefusal("the spoken verdict is neither approve nor deny")
    fields = {}
    for key in ("plan_event", "plan_digest", "speaker", "audio_event"):
        value = council.get(key)
        if not isinstance(value, str) or not value:
            return SpokenRefusal(f"the spoken verdict has no {key}")
        fields[key] = value
    return SpokenVerdict(
        str(task),
        "approve" if verdict == "approve" else "deny",
        EventID(fields["plan_event"]),
        fields["plan_digest"],
        UserID(fields["speaker"]),
        EventID(fields["audio_event"]),
    )


def check_spoken(
    message: Message,
    claim: SpokenVerdict,
    *,
    coordinator: UserID,
    transcriber: UserID | None,
    plan: StoredPlan | None,
    heard: HeardVoice | None,
    at: float,
) -> StoredVerdict | SpokenRefusal:
    """The verdict to remember for `message`, or why it is not one (module doc)."""
    if message.sender != coordinator:
        return SpokenRefusal(f"a spoken verdict from {message.sender}, not the coordinator")
    if transcriber != coordinator:
        return SpokenRefusal("spoken verdicts count only when the coordinator transcribes")
    if message.replaces is not None:
        return SpokenRefusal("an edit of a spoken verdict is not one")
    if plan is None:
        return SpokenRefusal(f"{claim.plan_event} is not a plan the executor saw")
    if plan.digest != claim.plan_digest or plan.task_id != claim.task_id:
        return SpokenRefusal("the spoken verdict names another plan digest or task")
    if plan.room_id != message.room_id:
        return SpokenRefusal("the spoken verdict is not in the plan's room")
    if heard is None:
        return SpokenRefusal(f"the executor saw no voice message {claim.audio_event}")
    if heard.sender != claim.speaker or heard.room_id != plan.room_id:
        return SpokenRefusal("the voice message is not the speaker's, in the plan's room")
    if heard.at < plan.at:
        return SpokenRefusal("the voice message was sent before the plan was shown")
    return StoredVerdict(
        message.event_id,
        message.room_id,
        plan.plan_event,
        None,
        claim.speaker,
        claim.verdict,
        at,
    )


class HeardVoices:
    """The last voice messages approvers sent, in memory: after a restart a spoken verdict
    on an older voice message is refused (fail closed; ✅ still works)."""

    def __init__(self, kept: int = HEARD_KEPT) -> None:
        self._kept = kept
        self._heard: OrderedDict[EventID, HeardVoice] = OrderedDict()

    def note(self, heard: HeardVoice) -> None:
        self._heard[heard.event_id] = heard
        while len(self._heard) > self._kept:
            self._heard.popitem(last=False)

    def get(self, event_id: EventID) -> HeardVoice | None:
        return self._heard.get(event_id)
