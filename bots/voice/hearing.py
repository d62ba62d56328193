"""The transcriber: the master's voice message heard, and posted as what he would have typed.

One bot (`voice.transcriber`, the coordinator by default) hears each voice message, once
(claimed before any work, so a restart never transcribes twice): it checks the sender may
talk to the council and the stated size and length, downloads (decrypted in an encrypted
room), transcribes with the language hint, and posts ONE notice "🎙️ <transcript>" replying
to the voice message, in the thread it belongs to (`bots.voice.threading`), carrying
`TRANSCRIPT_KEY` with the typed form (`bots.voice.spoken`). Every Chavion bot, this one too,
reads that notice as the master's typed message: agents answer, tasks start, votes count
through the paths typed messages take. Nothing here acts on what was said.

Whatever goes wrong is said in one sentence, replying to the voice message: too large, too
long, speech-to-text off or unusable, audio that does not decode, silence.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bots.context import BotContext
from bots.errors import MatrixError
from bots.events import TRANSCRIPT_KEY
from bots.ids import EventID, RoomID, UserID
from bots.message import Incoming, Message, Reply
from bots.routing.access import may_run
from bots.routing.addressing import addressed_bots, is_broadcast
from bots.routing.router import leading_address
from bots.store.tasks import Task
from bots.voice.spoken import Speech, TaskOrder, VoteChoice, typed_form, understand
from bots.voice.threading import AskWhich, TaskThread, VoiceFacts, Where, place
from bridge.errors import SpeechError
from bridge.speech import SpeechToText
from bridge.speech.ogg import looks_like_ogg, read_ogg_opus

log = logging.getLogger(__name__)

HEARD = "🎙️"
ACCESS_RULE = "transcribe"
"""The access rule a voice message is checked against (the default rule unless the config
names it): who may talk to the council by voice."""
STT_OFF = (
    "Voice input is off: set voice.stt.backend to openai (or local with a model_dir) in "
    "the config, e.g. `voice: {stt: {backend: openai}}`."
)
VotesOpen = Callable[[RoomID, EventID | None], Awaitable[bool]]
"""Whether a vote (a task's, or the master's poll) is open in this room and thread."""


class Hearing:
    """The transcriber's part: `wants` picks the voice messages, `hear` handles one."""

    def __init__(
        self,
        bot: BotContext,
        stt: SpeechToText | None,
        problem: str | None,
        *,
        votes_open: VotesOpen | None = None,
    ) -> None:
        """`stt` None: voice input cannot work, and `problem` says why (the services'
        sentence); `votes_open` tells a spoken "B" (a vote) from a letter said in passing."""
        self._bot = bot
        self._stt = stt
        self._problem = problem or STT_OFF
        self._votes_open = votes_open

    async def aclose(self) -> None:
        """Closes the speech-to-text client (an SDK's connection pool), when it has one."""
        close = getattr(self._stt, "aclose", None)
        if close is not None:
            await close()

    def wants(self, incoming: Incoming) -> bool:
        """An audio message from a person (no bot's speech is heard), not an edit."""
        return (
            isinstance(incoming, Message)
            and incoming.audio is not None
            and incoming.replaces is None
            and self._bot.roster.get(incoming.sender) is None
        )

    async def hear(self, message: Message) -> list[Reply]:
        """Claimed, then heard; a refusal or failure is said, anything else is logged."""
        bot = self._bot
        decision = may_run(ACCESS_RULE, message.sender, message.sender_power, bot.settings.access)
        if not decision.allowed:
            log.info("voice message %s not heard: %s", message.event_id, decision.reason)
            return []
        if not await bot.store.claim_event(bot.account.name, message.event_id, message.room_id):
            return []  # heard before a restart: never twice
        try:
            return await self._hear(message)
        except Exception:
            log.exception("hearing the voice message %s failed", message.event_id)
            return [_say(message, "Sorry, I could not hear that voice message; it is logged.")]

    async def _hear(self, message: Message) -> list[Reply]:
        voice = self._bot.settings.voice
        audio = message.audio
        assert audio is not None
        if audio.duration_ms > voice.max_seconds * 1000:
            return [
                _say(message, _too_long(math.ceil(audio.duration_ms / 1000), voice.max_seconds))
            ]
        if audio.size > voice.max_bytes:
            return [_say(message, _too_large(audio.size, voice.max_bytes))]
        if self._stt is None:
            return [_say(message, self._problem)]
        try:
            data = await self._bot.matrix.download(audio, voice.max_bytes)
        except MatrixError as exc:
            return [_say(message, f"I could not fetch your voice message: {exc}.")]
        mimetype = audio.mimetype or "audio/ogg"
        try:
            if mimetype.startswith("audio/ogg") or looks_like_ogg(data):
                # Checked here, not by the paid API: a damaged file is said at once, and a
                # stated duration that lies is caught by the one the stream carries.
                # Pure Python over every byte: off the event loop the bots share.
                seconds = (await asyncio.to_thread(read_ogg_opus, data)).duration_ms / 1000
                if seconds > voice.max_seconds:
                    return [_say(message, _too_long(math.ceil(seconds), voice.max_seconds))]
            heard = await self._stt.transcribe(data, mimetype, voice.language)
        except SpeechError as exc:
            return [_say(message, f"I could not make out your voice message: {exc}")]
        heard = " ".join(heard.split())
        if not heard:
            return [_say(message, "I heard no words in your voice message; please say it again.")]
        return await self._post(message, heard)

    async def _post(self, message: Message, heard: str) -> list[Reply]:
        voice = self._bot.settings.voice
        intent = understand(heard, voice)
        typed = typed_form(intent, heard)
        said = replace(message, body=typed, msgtype="m.text", audio=None)
        facts = VoiceFacts(
            thread_root=message.thread_root,
            replied_task=await self._replied_task(message),
            addressed=isinstance(intent, TaskOrder) or self._addressed(said),
        )
        tasks = [t for t in map(task_thread, await self._bot.store.tasks.active()) if t]
        where = place(facts, tasks, routing=voice.thread_routing)
        if isinstance(where, AskWhich):
            # Nothing acts on words whose task is unknown: no marker, just the question.
            return [_say(message, f"{HEARD} {heard}\n{where.text}")]
        if isinstance(intent, VoteChoice) and not await self._vote_open(message, where):
            typed = typed_form(Speech(heard), heard)  # no vote here: "B" is just said
        replied_bot = self._bot.roster.get(message.reply_to_sender or "")
        named = (replied_bot.user_id,) if replied_bot and where.task_id is None else ()
        content = transcript_content(message, heard, typed, where, named)
        await self._bot.matrix.send_event(
            message.room_id, "m.room.message", content, key=f"{message.event_id}/transcript"
        )
        return []

    async def _replied_task(self, message: Message) -> TaskThread | None:
        if message.reply_to is None:
            return None
        task = await self._bot.store.tasks.by_event(message.reply_to)
        return task_thread(task) if task is not None else None

    def _addressed(self, said: Message) -> bool:
        """Said to a bot by name, or to everyone: theirs, not a waiting task's."""
        roster = self._bot.roster
        named, broadcast, _ = leading_address(said.body, roster)
        return bool(
            named or broadcast or addressed_bots(said, roster) or is_broadcast(said, roster)
        )

    async def _vote_open(self, message: Message, where: Where) -> bool:
        if self._votes_open is None:
            return False
        return await self._votes_open(message.room_id, where.thread_root)


def task_thread(task: Task) -> TaskThread | None:
    """A task as thread routing sees it; None for one without a thread."""
    if task.thread_root is None:
        return None
    waits = task.state == "awaiting_approval" or task.waiting_for.startswith("the master")
    return TaskThread(task.id, task.thread_root, task.mission, waits_for_master=waits)


def transcript_content(
    message: Message, heard: str, typed: str, where: Where, named: tuple[UserID, ...] = ()
) -> dict[str, Any]:
    """The "🎙️ <transcript>" notice: replying to the voice message, in the thread chosen,
    naming no one (it must not buzz anyone), with the marker every Chavion bot reads.
    `named`: the bot whose message the voice message answered, kept as the speaker's
    mention (the notice itself answers the voice message, not that bot)."""
    marker: dict[str, Any] = {
        "speaker": message.sender,
        "audio_event": message.event_id,
        "text": typed,
    }
    if named:
        marker["mentions"] = {"user_ids": list(named)}
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": f"{HEARD} {heard}",
        "m.mentions": {},
        TRANSCRIPT_KEY: marker,
    }
    if where.thread_root is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": where.thread_root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": message.event_id},
        }
    else:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": message.event_id}}
    return content


def _say(message: Message, text: str) -> Reply:
    """One sentence to the speaker, replying to his voice message."""
    reply = Reply.answering(message, text)
    return replace(reply, key=f"{message.event_id}/heard")


def _too_long(seconds: int, limit: int) -> str:
    return (
        f"Your voice message is {seconds} s long; I take at most {limit} s "
        "(voice.max_seconds). Say it in shorter parts."
    )


def _too_large(size: int, limit: int) -> str:
    return (
        f"Your voice message is {size / 1_048_576:.1f} MB; I take at most "
        f"{limit / 1_048_576:.1f} MB (voice.max_bytes). Say it in shorter parts."
    )
