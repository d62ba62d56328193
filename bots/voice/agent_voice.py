"""An agent's voice: it speaks the coordinator's report of a task it led, and (with
`voice.answers`) its own answer to a question the master asked by voice.

Both are spoken only once the text is in the room: a report is the coordinator's message
this agent sees; an answer is spoken when the agent sees its own final answer come back
from the homeserver. A long text is shortened by this agent in one model call.
"""

from __future__ import annotations

import logging

from bots.agents.agent import Agent
from bots.context import BotContext
from bots.ids import EventID
from bots.message import Message, Reply
from bots.routing.dispatch import ChatHandler
from bots.routing.router import Chat
from bots.voice.speaking import Speaker, Summarise, Utterance
from bots.voice.summary import summary_prompt
from bridge.llm.base import ChatMessage

log = logging.getLogger(__name__)

REPORT_KIND = "report"
SPEAKER_KEY = "speaker"
"""In a report's council object: the agent that led the task, who speaks it."""
MAX_ASKED = 200


class AgentVoice:
    def __init__(self, agent: Agent, speaker: Speaker) -> None:
        self.agent = agent
        self.speaker = speaker
        self._asked: dict[EventID, None] = {}
        """Voice questions this agent answered, whose answer is still to be spoken."""

    @property
    def name(self) -> str:
        return self.agent.agent.name

    async def on_task_message(self, message: Message, bot: BotContext) -> list[Reply]:
        """The coordinator's report of a task this agent led: spoken after it (`voice.reports`)."""
        council = message.council or {}
        sender = bot.roster.get(message.sender)
        if (
            council.get("kind") != REPORT_KIND
            or council.get(SPEAKER_KEY) != self.name
            or sender is None
            or sender.kind != "coordinator"
            or not bot.settings.voice.reports
        ):
            return []
        if not await self.speaker.speaks(message.room_id, self.name):
            return []
        task = council.get("task")
        self.speaker.later(
            Utterance(
                message.room_id,
                message.body,
                message.event_id,
                message.thread_root,
                key=f"report/{message.event_id}",
                agent=self.name,
                summarise=self.summariser(bot, task if isinstance(task, int) else None),
            )
        )
        return []

    def chat(self, chat: ChatHandler) -> ChatHandler:
        """The agent's chat, noting a question asked by voice (`voice.answers`)."""

        async def voiced(message: Message, route: Chat, bot: BotContext) -> list[Reply]:
            if message.spoken_in is not None and bot.settings.voice.answers:
                self._asked[message.event_id] = None
                while len(self._asked) > MAX_ASKED:
                    self._asked.pop(next(iter(self._asked)))
            return await chat(message, route, bot)

        return voiced

    async def observe(self, message: Message, bot: BotContext) -> list[Reply]:
        """Its own final answer to a voice question, back from the homeserver: spoken."""
        if (
            message.sender != bot.identity.user_id
            or message.reply_to not in self._asked
            or message.stream == "partial"
        ):
            return []
        asked = message.reply_to
        assert asked is not None
        self._asked.pop(asked, None)
        if not await self.speaker.speaks(message.room_id, self.name):
            return []
        self.speaker.later(
            Utterance(
                message.room_id,
                message.body,
                message.event_id,
                message.thread_root,
                key=f"answer/{message.event_id}",
                agent=self.name,
                summarise=self.summariser(bot, None),
            )
        )
        return []

    def summariser(self, bot: BotContext, task: int | None) -> Summarise:
        """One metered call of this agent's model (its budget and spend caps apply)."""

        async def summarise(text: str) -> str:
            voice = bot.settings.voice
            prompt = summary_prompt(
                text,
                chars=voice.speech_chars,
                language=voice.language,
                master_name=bot.settings.master.display_name,
            )
            conversation = [
                ChatMessage("system", self.agent.persona(bot, voice.language)),
                ChatMessage("user", prompt),
            ]
            completion, _ = await self.agent.complete(conversation, task=task)
            return completion.text

        return summarise
