"""The coordinator's voice on plans: a plan that waits for the master is read out, and his
spoken "승인" / "거절" is his ✅ / ❌ on the plan he heard.

A spoken approval is bound to the plan read out: the ONE plan waiting for the master is
approved only when its digest is the digest of the last plan read out for its task
(`store.voice.last_readout`); a plan that changed since, or was never read out, is refused
with a word and read out again. It then goes the ✅'s way (`TaskService.approve`): the
coordinator first sends a "spoken verdict" message naming the plan event, its digest, the
speaker, his voice message and the transcript; that message is the approval event the
executor checks (`bots.execution.spoken_verdicts`), as it checks a ✅.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bots.context import BotContext
from bots.coordinator.tasks.reviewing import load_plan
from bots.errors import CommandError
from bots.execution.spoken_verdicts import SPOKEN_VERDICT_KIND
from bots.ids import EventID
from bots.message import Message, Reply
from bots.settings.voice import VoiceSettings
from bots.store.voice import ROOM
from bots.voice.speaking import Speaker, Utterance
from bots.voice.speech_text import SpokenStep, readout_text
from bots.voice.spoken import Approval, Denial, understand

if TYPE_CHECKING:
    from bots.coordinator.tasks.service import TaskService
    from bots.store.tasks import Task

log = logging.getLogger(__name__)

Verdict = Literal["approve", "deny"]


@dataclass(frozen=True)
class Heard:
    """A spoken verdict: approve or deny, and the reason said after a denial."""

    verdict: Verdict
    reason: str = ""


Classifier = Callable[[str, VoiceSettings], Heard | None]
"""What a transcript means for a waiting plan: approval, denial, or neither."""
CLAIM_SUFFIX = "/spoken-verdict"


class PlanVoice:
    def __init__(self, tasks: TaskService, speaker: Speaker, classify: Classifier) -> None:
        self.tasks = tasks
        self.speaker = speaker
        self.classify = classify
        self._reading: set[tuple[int, str]] = set()

    @property
    def bot(self) -> BotContext:
        return self.tasks.ctx.bot

    # ---- read out ------------------------------------------------------------------------

    def plan_waits(self, task: Task) -> None:
        """Called each time the engine shows `task`'s plan waiting for the master: read out
        once per plan digest, in the background (the plan's text went first)."""
        self.speaker.work.spawn(self.read_out(task), f"read out #{task.id}")

    async def read_out(self, task: Task, *, again: bool = False) -> EventID | None:
        """Reads the waiting plan out (unless this digest was, and not `again`) and records
        what was read; the voice event, or None."""
        digest, plan_event = task.plan_digest, task.plan_event
        if digest is None or plan_event is None or (task.id, digest) in self._reading:
            return None
        if not await self.speaker.speaks(task.room_id, ROOM):
            return None
        last = await self.bot.store.voice.last_readout(task.id)
        if not again and last is not None and last.plan_digest == digest:
            return None
        plan = load_plan(self.tasks.ctx, task)
        if plan is None:
            return None
        voice = self.bot.settings.voice
        steps = [SpokenStep(s.host, s.purpose, s.command) for s in plan.steps]
        text = readout_text(task.id, steps, voice.language, voice.speech_chars)
        now = self.tasks.ctx.clock()
        self._reading.add((task.id, digest))
        try:
            event = await self.speaker.speak(
                Utterance(
                    task.room_id,
                    text,
                    plan_event,
                    task.thread_root,
                    key=f"plan/{task.id}/{digest[:16]}/{int(now) if again else 0}",
                )
            )
            if event is not None:
                await self.bot.store.voice.record_readout(
                    task.id, digest, room_id=task.room_id, event_id=event, now=now
                )
            return event
        finally:
            self._reading.discard((task.id, digest))

    # ---- spoken verdicts -------------------------------------------------------------------

    async def observe(self, message: Message, bot: BotContext) -> list[Reply]:
        """A transcript of the master's voice that approves or denies: applied to the one
        plan waiting for him (once per transcript, across restarts)."""
        if message.spoken_in is None or message.sender != bot.settings.master_user_id:
            return []
        heard = self.classify(message.body, bot.settings.voice)
        if heard is None:
            return []
        claim = bot.account.name + CLAIM_SUFFIX
        if not await bot.store.claim_event(claim, message.event_id, message.room_id):
            return []
        try:
            text = await self.apply(message, heard)
        except CommandError as exc:
            text = str(exc)
        return [Reply.answering(message, text)]

    async def apply(self, message: Message, heard: Heard) -> str:
        verdict = heard.verdict
        account = self.bot.account
        if self.bot.settings.voice.transcriber not in (account.name, account.localpart):
            raise CommandError(
                "🎙️ Spoken approval needs the coordinator to transcribe (voice.transcriber: "
                f"{account.name}); tap ✅ on the plan, or send !approve N."
            )
        waiting = await self.waiting()
        if not waiting:
            raise CommandError("🎙️ No plan is waiting for your approval.")
        if len(waiting) > 1:
            names = ", ".join(f"#{t.id} ({t.mission[:40]})" for t in waiting)
            raise CommandError(
                f"🎙️ {len(waiting)} plans wait: {names}. Tap ✅ on the one you mean, or "
                f"send !approve {waiting[0].id}."
            )
        task = waiting[0]
        assert task.plan_event is not None
        assert task.plan_digest is not None
        if verdict == "approve":
            last = await self.bot.store.voice.last_readout(task.id)
            if last is None or last.plan_digest != task.plan_digest:
                why = "was never read out" if last is None else "changed since it was read out"
                self.speaker.work.spawn(self.read_out(task, again=True), f"read #{task.id} again")
                raise CommandError(
                    f"🎙️ #{task.id}: not approved: the plan {why}. Here it is again; say "
                    "승인 once you have heard it, or tap ✅."
                )
        event = await self._verdict_message(message, task, verdict)
        if verdict == "approve":
            return await self.tasks.approve(
                task.id, message.sender, event, plan_event=task.plan_event
            )
        return await self.tasks.deny(
            task.id,
            message.sender,
            heard.reason.strip() or f"denied by voice ({message.body[:100]})",
            event,
            plan_event=task.plan_event,
        )

    async def waiting(self) -> list[Task]:
        """The plans shown and waiting for the master's approval."""
        return [
            t
            for t in await self.tasks.ctx.tasks.active()
            if t.state == "awaiting_approval" and t.plan_event is not None
        ]

    async def _verdict_message(self, message: Message, task: Task, verdict: Verdict) -> EventID:
        """The event the approval is bound to (the executor reads it: see the module doc)."""
        digest = str(task.plan_digest)
        mark = "✅" if verdict == "approve" else "❌"
        council = {
            "v": 1,
            "kind": SPOKEN_VERDICT_KIND,
            "task": task.id,
            "verdict": verdict,
            "plan_event": task.plan_event,
            "plan_digest": digest,
            "speaker": message.sender,
            "audio_event": message.spoken_in,
            "transcript_event": message.event_id,
        }
        body = f"#{task.id} 🎙️{mark} heard from the master (plan {digest[:12]}): “{message.body}”"
        reply = Reply(
            task.room_id,
            body,
            thread_root=task.thread_root,
            reply_to=message.event_id,
            key=f"{message.event_id}/spoken-verdict",
            council=council,
        )
        return await self.bot.matrix.send(reply)


def spoken_verdict(text: str, voice: VoiceSettings) -> Heard | None:
    """Approval or denial said alone (`bots.voice.spoken.understand`), else None."""
    intent = understand(text, voice)
    if isinstance(intent, Approval):
        return Heard("approve")
    if isinstance(intent, Denial):
        return Heard("deny", intent.reason)
    return None
