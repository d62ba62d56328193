"""Meeting discipline, pure: the agent-to-agent loop guard.

Agents may address each other, so two polite models could talk forever; the loop guard
stops a thread after a few agent-to-agent turns until a person speaks again. Agents
answering a person are not such turns: six agents answering "everyone" is one round, not a
loop. (Streaming edits are paced by `bots.text.throttle.EditThrottle`.)
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass

from bots.ids import EventID, RoomID
from bots.message import Message
from bots.routing.addressing import AGENT_KINDS

ThreadKey = EventID | RoomID
"""A conversation: its thread root, or the room for the main timeline."""

DEFAULT_AGENT_TURNS = 6
MAX_TRACKED_THREADS = 1024


def thread_key(message: Message) -> ThreadKey:
    """Where a message belongs for the loop guard: its thread, else its room."""
    return message.thread_root if message.thread_root is not None else message.room_id


class Turn(enum.Enum):
    """What one message means to the loop guard."""

    HUMAN = "human"
    """A person spoke: the streak ends."""
    AGENT_TO_AGENT = "agent-to-agent"
    """An agent answered another agent: one turn."""
    OTHER = "other"
    """An agent answering a person, a bot's notice, an edit: neither."""


def turn_of(message: Message, sender_kind: str | None) -> Turn:
    """`sender_kind` is the sender's roster kind ("agent", "coordinator", …), None for a
    person. An agent marks its answer to another agent (`Message.answers_agent`), so every
    bot classifies a message the same way without remembering who said what."""
    if message.replaces is not None or message.stream == "partial":
        return Turn.OTHER  # a streamed answer counts once, when it is complete
    if sender_kind is None:
        return Turn.HUMAN
    if sender_kind in AGENT_KINDS and message.answers_agent:
        return Turn.AGENT_TO_AGENT
    return Turn.OTHER


@dataclass
class _Streak:
    agent_turns: int = 0
    announced: bool = False


class LoopGuard:
    """Counts agent-to-agent turns per thread since the last human message; blocks past
    `limit`.

    Every agent sees the same events, so each one's guard reaches the same verdict.
    Only the most recently active threads are remembered; a forgotten one starts afresh.
    """

    def __init__(self, limit: int = DEFAULT_AGENT_TURNS) -> None:
        if limit < 0:
            raise ValueError("limit must be zero or more")
        self.limit = limit
        self._streaks: OrderedDict[ThreadKey, _Streak] = OrderedDict()

    def note(self, turn: Turn, key: ThreadKey) -> None:
        """Count one message in the thread: a human's ends the streak, an agent-to-agent
        turn extends it, anything else leaves it as it is."""
        if turn is Turn.HUMAN:
            self._streaks.pop(key, None)
        elif turn is Turn.AGENT_TO_AGENT:
            self._streak(key).agent_turns += 1

    def allows_agent_turn(self, key: ThreadKey) -> bool:
        return self.agent_turns(key) < self.limit

    def agent_turns(self, key: ThreadKey) -> int:
        streak = self._streaks.get(key)
        return streak.agent_turns if streak else 0

    def should_announce_trip(self, key: ThreadKey) -> bool:
        """True once per streak, when the guard first blocks: "loop guard tripped" is said once."""
        if self.allows_agent_turn(key):
            return False
        streak = self._streak(key)
        if streak.announced:
            return False
        streak.announced = True
        return True

    def _streak(self, key: ThreadKey) -> _Streak:
        streak = self._streaks.get(key)
        if streak is None:
            streak = self._streaks[key] = _Streak()
            while len(self._streaks) > MAX_TRACKED_THREADS:
                self._streaks.popitem(last=False)
        self._streaks.move_to_end(key)
        return streak
