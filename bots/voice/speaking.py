"""Speaking a text that was already sent: summarised when long, synthesised, sent as a voice
message replying to it in the same thread.

The text always goes first and is never held for the voice: `Speaker.later` runs the work in
the background (`bots.background`), so the handler that sent the text has returned. A failure
(the speech service down, the summary refused) is logged with its traceback and said once in
the room, briefly; the text is already there, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bots.background import BackgroundTasks
from bots.context import BotContext
from bots.ids import EventID, RoomID
from bots.message import Reply
from bots.store.voice import ROOM
from bots.voice.services import SpeechServices, speech_services
from bots.voice.speech_text import fallback_body, read_summary, trimmed
from bridge.errors import SpeechError

log = logging.getLogger(__name__)

Summarise = Callable[[str], Awaitable[str]]
"""One model call that turns a long text into a short spoken one (the reporting agent's)."""
VOICE_MARK = "🔊"


@dataclass(frozen=True)
class Utterance:
    """A sent text to speak: where it is, who speaks it, and how it may be shortened."""

    room_id: RoomID
    text: str
    answers: EventID
    """The sent text's event: the voice message replies to it."""
    thread_root: EventID | None
    key: str
    """Stable per utterance: a retry sends the same voice event."""
    agent: str = ROOM
    """Whose voice setting decides (`!voice off claude`); `ROOM` for the room's."""
    summarise: Summarise | None = None
    """Used when the text is longer than `voice.speech_chars`; None: it is trimmed."""


class Speaker:
    """One bot's voice. `services` is built from the settings unless given (tests)."""

    def __init__(self, bot: BotContext, services: SpeechServices | None = None) -> None:
        self.bot = bot
        self._services = services
        self.work = BackgroundTasks(f"{bot.account.name} voice")
        self._said: set[tuple[str, str]] = set()
        self.spoken = 0
        """Voice messages sent (for tests and counters)."""

    @property
    def services(self) -> SpeechServices:
        if self._services is None:
            self._services = speech_services(self.bot.settings)
        return self._services

    async def speaks(self, room_id: str, agent: str = ROOM) -> bool:
        """Whether voice is on here (`!voice`, else `voice.speak_by_default`) and a
        text-to-speech service is set up; read every time, so `!voice` takes effect at once."""
        if self.services.tts is None:
            return False
        default = self.bot.settings.voice.speak_by_default
        return await self.bot.store.voice.speaks(room_id, agent, default)

    def later(
        self, utterance: Utterance, after: Callable[[EventID], Awaitable[object]] | None = None
    ) -> None:
        """Speaks in the background; `after(voice event)` runs once it is sent."""
        self.work.spawn(self._speak_and(utterance, after), f"speak {utterance.key}")

    async def _speak_and(
        self, utterance: Utterance, after: Callable[[EventID], Awaitable[object]] | None
    ) -> None:
        event = await self.speak(utterance)
        if event is not None and after is not None:
            await after(event)

    async def speak(self, utterance: Utterance) -> EventID | None:
        """The voice message's event, or None when it could not be made (said once)."""
        tts = self.services.tts
        if tts is None:
            return None
        voice = self.bot.settings.voice
        try:
            text = await self.spoken_text(utterance)
            clip = await tts.synthesize(text, voice.language)
            reply = Reply(
                utterance.room_id,
                fallback_body(VOICE_MARK, text),
                thread_root=utterance.thread_root,
                reply_to=utterance.answers,
                key=f"voice/{utterance.key}",
            )
            event = await self.bot.matrix.send_voice(reply, clip)
        except SpeechError as exc:
            log.warning("speaking %s failed: %s", utterance.key, exc, exc_info=True)
            await self._say_once(utterance, "speech", f"🔇 Could not speak this: {exc}")
            return None
        except Exception:
            log.exception("speaking %s failed", utterance.key)
            await self._say_once(utterance, "error", "🔇 Could not speak this; the text stands.")
            return None
        self.spoken += 1
        return event

    async def spoken_text(self, utterance: Utterance) -> str:
        """The text as said: itself when short; else the summary, or, when that fails, the
        trimmed text (said as cut)."""
        voice = self.bot.settings.voice
        limit = voice.speech_chars
        if len(utterance.text) <= limit or utterance.summarise is None:
            return trimmed(utterance.text, limit, voice.language)
        try:
            summary = read_summary(await utterance.summarise(utterance.text), limit, voice.language)
        except Exception:
            log.warning("summarising %s for speech failed", utterance.key, exc_info=True)
            summary = None
        return summary or trimmed(utterance.text, limit, voice.language)

    async def _say_once(self, utterance: Utterance, kind: str, text: str) -> None:
        """One short word per room and kind of failure while the bot runs, not one per text."""
        if (utterance.room_id, kind) in self._said:
            return
        self._said.add((utterance.room_id, kind))
        reply = Reply(
            utterance.room_id,
            text,
            thread_root=utterance.thread_root,
            reply_to=utterance.answers,
            key=f"voice-failed/{utterance.key}",
        )
        try:
            await self.bot.matrix.send(reply)
        except Exception:
            log.exception("could not say that speaking %s failed", utterance.key)
