"""Chavion's own words on Matrix: the event types and content keys its bots write and read.

Plain constants in one place, so the Matrix client, provisioning, execution and agents agree
on them without importing one another; changing one here changes the wire format.
"""

from __future__ import annotations

from typing import Final

CHAVION_EVENT_PREFIX: Final = "org.chavion."
"""Event types under this prefix are Chavion's own: they reach handlers as `RoomEvent`s."""

BOT_STATE_EVENT: Final = "org.chavion.bot"
"""A bot's presence mark in the council room (state, keyed by its user id)."""

STREAM_KEY: Final = "org.chavion.stream"
"""On a streamed answer: "partial" while it is being written, "done" on its last edit."""

TURN_KEY: Final = "org.chavion.turn"
"""Marks an agent's answer to another agent, for every bot's loop guard."""

AGENT_TO_AGENT: Final = "agent-to-agent"
"""The one value of `TURN_KEY`."""

UNREADABLE_EVENT: Final = "chavion.local.unreadable"
"""Never on the wire (outside `CHAVION_EVENT_PREFIX`, so no client can send one to a
handler): the type of the `RoomEvent` a bot hands its handlers for an encrypted
message it gave up on (no key arrived in time); its content says why."""

MENTIONS_IN_CLEAR_KEY: Final = "org.chavion.mentions"
"""Inside `m.relates_to` of the final edit of an answer to a person: who it is for. A
relation stays unencrypted in an encrypted room, so the homeserver can match it when it
decides what to push (an edit never notifies by default, and it cannot read `m.mentions`)."""

ANSWER_PUSH_RULE: Final = "org.chavion.answer"
"""The override push rule Chavion puts on the master's account: a final edit that names him
in `MENTIONS_IN_CLEAR_KEY` notifies, with sound, like a mention."""

COUNCIL_KEY: Final = "org.chavion.council"
"""On the coordinator's and agents' task messages (and inside a vote's poll start): what the
message is in a task's workflow (an ask, an answer, a plan, a report), as a JSON object that
`bots.tasks` reads. Clients ignore it; the readable text is in `body`."""

POLL_START: Final = "org.matrix.msc3381.poll.start"
"""A poll, in the unstable form: the only one Element X renders (see shared element facts)."""
POLL_RESPONSE: Final = "org.matrix.msc3381.poll.response"
POLL_END: Final = "org.matrix.msc3381.poll.end"
POLL_START_STABLE: Final = "m.poll.start"
POLL_RESPONSE_STABLE: Final = "m.poll.response"
POLL_END_STABLE: Final = "m.poll.end"
"""The names the Matrix spec (v1.7) gave polls; read, never sent."""
POLL_EVENTS: Final = frozenset(
    {POLL_START, POLL_RESPONSE, POLL_END, POLL_START_STABLE, POLL_RESPONSE_STABLE, POLL_END_STABLE}
)
"""Poll events in either form reach handlers as `RoomEvent`s (stable ones from newer clients)."""
POLL_TEXT: Final = "org.matrix.msc1767.text"
"""An MSC1767 text block: the question, an answer, a poll's fallback text."""
POLL_DISCLOSED: Final = "org.matrix.msc3381.poll.disclosed"
"""A poll whose running tally every member sees."""

VOICE_MARKER: Final = "org.matrix.msc3245.voice"
"""Marks an `m.audio` message as a recorded voice message (Element sends `{}`); Chavion's
own spoken replies carry it too, so Element shows them as voice messages."""
AUDIO_KEY: Final = "org.matrix.msc1767.audio"
"""An audio message's `{duration (ms), waveform (0–1024, 30–120 points)}`."""
TRANSCRIPT_KEY: Final = "org.chavion.transcript"
"""On the transcribing bot's "🎙️ <transcript>" reply (issue 20): `{"speaker": <user id>,
"audio_event": <event id>, "text": <transcript>}`, optionally `"mentions"` (shaped like
`m.mentions`) for whom the speaker named. Every Chavion bot, the transcriber too, reads such
a reply, from a Chavion bot only, as the speaker's typed message (`Message.spoken_in`)."""
