"""Matrix events → Chavion's values (`Message`, `RoomEvent`), and `Reply` → event content.

No I/O here: the client reads nio's room into `RoomFacts` and keeps an `EventMemory`, and
everything else is a function of an event's JSON (`event.source`), so every shape a client
may send is one row of an offline table test (tests/unit/test_matrix_convert.py).

A field a client filled with the wrong shape is read as absent: one odd event must never
cost a bot its sync loop, and it would meet the same event again after every restart.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nio import RoomMemberEvent

from bots.events import (
    AGENT_TO_AGENT,
    AUDIO_KEY,
    CHAVION_EVENT_PREFIX,
    COUNCIL_KEY,
    MENTIONS_IN_CLEAR_KEY,
    POLL_EVENTS,
    STREAM_KEY,
    TRANSCRIPT_KEY,
    TURN_KEY,
    VOICE_MARKER,
)
from bots.ids import EventID, RoomID, UserID
from bots.matrix.event_size import HTML_FORMAT
from bots.message import AudioAttachment, Incoming, Mentions, Message, Reply, RoomEvent
from bridge.speech import VoiceClip

SENDERS_REMEMBERED = 4000
"""Events whose sender is kept, to name the sender of the message a reply answers."""
PARTIALS_REMEMBERED = 256
"""Streamed answers still being written, waiting for their last edit."""

PowerOf = Callable[[str], int]
"""A sender's power in the council (the client reads it from nio's room state)."""


@dataclass(frozen=True)
class RoomFacts:
    """What reading an event needs to know about its room, read by the client from nio."""

    room_id: RoomID
    is_direct: bool = False
    encrypted: bool = False
    transcribers: frozenset[UserID] = frozenset()
    """The configured transcriber's account (`voice.transcriber`): only its transcript of a
    voice message is read as the speaker's words (`TRANSCRIPT_KEY`); an agent bot that
    wrote a marker would otherwise speak for the master."""


class EventMemory:
    """What reading an event needs from the events before it: who sent each one (a reply
    names the sender it answers) and streamed answers still being written (acted on at their
    last edit). Both bounded, the oldest forgotten first."""

    def __init__(
        self, senders_kept: int = SENDERS_REMEMBERED, partials_kept: int = PARTIALS_REMEMBERED
    ) -> None:
        self._senders: OrderedDict[str, str] = OrderedDict()
        self._partials: OrderedDict[str, Message] = OrderedDict()
        self._senders_kept = senders_kept
        self._partials_kept = partials_kept

    def note_sender(self, event_id: str, sender: str) -> None:
        self._senders[event_id] = sender
        self._senders.move_to_end(event_id)
        while len(self._senders) > self._senders_kept:
            self._senders.popitem(last=False)

    def remember(self, event: Any) -> None:
        """Notes the sender of any timeline event that names its id and sender."""
        source = event_source(event)
        if source is None:
            return
        sender, event_id = source.get("sender"), source.get("event_id")
        if isinstance(sender, str) and isinstance(event_id, str):
            self.note_sender(event_id, sender)

    def sender_of(self, event_id: str) -> UserID | None:
        sender = self._senders.get(event_id)
        return UserID(sender) if sender is not None else None

    def hold_partial(self, message: Message) -> None:
        self._partials[message.event_id] = message
        while len(self._partials) > self._partials_kept:
            self._partials.popitem(last=False)

    def take_partial(self, event_id: str) -> Message | None:
        return self._partials.pop(event_id, None)


# ---- incoming -----------------------------------------------------------------------------


def read_event(
    event: Any, room: RoomFacts, memory: EventMemory, power_of: PowerOf
) -> Incoming | None:
    """What a handler should see of a timeline event: a message, a reaction or one of
    Chavion's own events, or None for everything else."""
    return read_message(event, room, memory, power_of) or read_room_event(event, room, power_of)


def read_message(
    event: Any, room: RoomFacts, memory: EventMemory, power_of: PowerOf
) -> Message | None:
    """An `m.room.message` with a text body as a `Message`. A streamed answer's last edit
    comes back as the whole answer (see `completed_stream`); its partial first event is held
    in `memory` until then."""
    source = event_source(event)
    if source is None or source.get("type") != "m.room.message":
        return None
    content = source.get("content") or {}
    if not isinstance(content, dict) or not isinstance(content.get("body"), str):
        return None
    sender, event_id = source.get("sender"), source.get("event_id")
    if not isinstance(sender, str) or not isinstance(event_id, str):
        return None  # nothing to claim it by, no one to answer
    relates = mapping(content.get("m.relates_to"))
    related = relates.get("event_id") if isinstance(relates.get("event_id"), str) else None
    thread_root = replaces = reply_to = None
    if relates.get("rel_type") == "m.thread":
        thread_root = related
    elif relates.get("rel_type") == "m.replace":
        replaces = related
    in_reply = mapping(relates.get("m.in_reply_to")).get("event_id")
    if isinstance(in_reply, str) and not (thread_root and relates.get("is_falling_back")):
        reply_to = in_reply
    message = Message(
        room_id=room.room_id,
        event_id=EventID(event_id),
        sender=UserID(sender),
        body=content["body"],
        formatted_body=formatted_body(content),
        msgtype=str(content.get("msgtype", "m.text")),
        mentions=mentions(content),
        thread_root=EventID(thread_root) if thread_root else None,
        reply_to=EventID(reply_to) if reply_to else None,
        reply_to_sender=memory.sender_of(reply_to) if reply_to else None,
        replaces=EventID(replaces) if replaces else None,
        timestamp_ms=timestamp(source),
        sender_power=power_of(sender),
        is_direct=room.is_direct,
        encrypted=room.encrypted,
        answers_agent=content.get(TURN_KEY) == AGENT_TO_AGENT,
        stream=stream(content),
        council=council(content),
        audio=audio_attachment(content),
    )
    if message.sender in room.transcribers and message.replaces is None:
        message = spoken(message, content, power_of) or message
    if message.replaces is not None:
        new_content = mapping(content.get("m.new_content"))
        return completed_stream(message, new_content, memory) or message
    if message.stream == "partial":
        memory.hold_partial(message)
    return message


def completed_stream(
    edit: Message, new_content: Mapping[str, Any], memory: EventMemory
) -> Message | None:
    """A streamed answer is a message to act on once its last edit arrives: the first
    words alone name no one, or the wrong one. It keeps the first event's id, thread and
    reply, so it is claimed and answered as that event. None when `edit` is not that."""
    if stream(new_content) != "done" or not isinstance(new_content.get("body"), str):
        return None
    partial = memory.take_partial(str(edit.replaces))
    if partial is None or partial.sender != edit.sender:
        return None
    return replace(
        partial,
        body=new_content["body"],
        formatted_body=formatted_body(new_content),
        mentions=mentions(new_content),
        msgtype=str(new_content.get("msgtype", partial.msgtype)),
        stream="done",
        council=council(new_content) or partial.council,
    )


@dataclass(frozen=True)
class Transcript:
    """A transcript marker's content (`TRANSCRIPT_KEY`), well formed."""

    speaker: UserID
    audio_event: EventID
    text: str
    mentions: Mentions | None = None


def transcript_marker(content: Mapping[str, Any]) -> Transcript | None:
    """The transcript marker of an event's content; None when absent or malformed. Whether
    it counts depends on who sent it: only the transcriber's (`RoomFacts.transcribers`)."""
    marker = mapping(content.get(TRANSCRIPT_KEY))
    speaker, audio_event, words = (marker.get(k) for k in ("speaker", "audio_event", "text"))
    if not (
        isinstance(speaker, str)
        and speaker.startswith("@")
        and isinstance(audio_event, str)
        and audio_event.startswith("$")
        and isinstance(words, str)
        and words.strip()
    ):
        return None
    named = mentions({"m.mentions": marker["mentions"]}) if "mentions" in marker else None
    return Transcript(UserID(speaker), EventID(audio_event), words, named)


def spoken(transcript: Message, content: Mapping[str, Any], power_of: PowerOf) -> Message | None:
    """A Chavion bot's transcript of a voice message as the speaker's typed message: his id,
    his power, his words, the voice event in `spoken_in`; the transcript event's own id and
    relation. None when the marker is absent or malformed. The caller checks that a Chavion
    bot sent it: from anyone else the marker vouches for nothing."""
    heard = transcript_marker(content)
    if heard is None:
        return None
    return replace(
        transcript,
        sender=heard.speaker,
        body=heard.text,
        formatted_body=None,
        msgtype="m.text",
        mentions=heard.mentions,
        sender_power=power_of(heard.speaker),
        answers_agent=False,
        stream=None,
        council=None,
        audio=None,
        spoken_in=heard.audio_event,
    )


def read_room_event(event: Any, room: RoomFacts, power_of: PowerOf) -> RoomEvent | None:
    """Reactions, polls and Chavion's own event types; other events are not for handlers."""
    source = event_source(event)
    if source is None or "state_key" in source:
        return None
    kind = source.get("type")
    if not isinstance(kind, str) or not (
        kind == "m.reaction" or kind in POLL_EVENTS or kind.startswith(CHAVION_EVENT_PREFIX)
    ):
        return None
    content = source.get("content")
    sender = str(source.get("sender", ""))
    return RoomEvent(
        room_id=room.room_id,
        event_id=EventID(str(source.get("event_id", ""))),
        sender=UserID(sender),
        type=kind,
        content=content if isinstance(content, dict) else {},
        sender_power=power_of(sender),
        timestamp_ms=timestamp(source),
    )


def entry_index(events: Sequence[Any], user_id: str) -> int:
    """Index just after `user_id` came into the room in this batch of timeline events: after
    its invite when the invite is here (Element Web creates a DM with its first message, sent
    before the bot can join), else after its join. Earlier events are history."""
    start = 0
    invited_here = False
    for index, event in enumerate(events):
        if not isinstance(event, RoomMemberEvent) or event.state_key != user_id:
            continue
        if event.membership == "invite":
            start, invited_here = index + 1, True
        elif event.membership == "join" and event.prev_membership != "join":
            if not (invited_here and event.prev_membership == "invite"):
                start = index + 1
            invited_here = False
    return start


def event_source(event: Any) -> dict[str, Any] | None:
    """The event's JSON as the homeserver sent it (nio keeps it as `.source`), if any."""
    source = getattr(event, "source", None)
    return source if isinstance(source, dict) else None


def mentions(content: Mapping[str, Any]) -> Mentions | None:
    """`m.mentions`, or None when the client sent none (classic mobile clients)."""
    raw = content.get("m.mentions")
    if not isinstance(raw, dict):
        return None
    user_ids = raw.get("user_ids")
    return Mentions(
        user_ids=tuple(
            UserID(u)
            for u in (user_ids if isinstance(user_ids, list) else [])
            if isinstance(u, str)
        ),
        room=raw.get("room") is True,
    )


def formatted_body(content: Mapping[str, Any]) -> str | None:
    """The HTML body, only when it is declared as Matrix's HTML format."""
    formatted = content.get("formatted_body")
    if content.get("format") != HTML_FORMAT or not isinstance(formatted, str):
        return None
    return formatted


def stream(content: Mapping[str, Any]) -> str | None:
    value = content.get(STREAM_KEY)
    return value if isinstance(value, str) else None


def council(content: Mapping[str, Any]) -> dict[str, Any] | None:
    """A task message's council object; None when absent or not an object."""
    value = content.get(COUNCIL_KEY)
    return value if isinstance(value, dict) else None


def mapping(value: Any) -> dict[str, Any]:
    """A field that should be an object, or {} when a client sent something else."""
    return value if isinstance(value, dict) else {}


def timestamp(source: Mapping[str, Any]) -> int:
    value = source.get("origin_server_ts")
    return value if isinstance(value, int) else 0


def audio_attachment(content: Mapping[str, Any]) -> AudioAttachment | None:
    """An `m.audio` message's media: `url` in the clear, `file` (with its keys) when
    encrypted; None for other messages and for audio that points nowhere."""
    if content.get("msgtype") != "m.audio":
        return None
    encryption = mapping(content.get("file"))
    url = encryption.get("url") if encryption else content.get("url")
    if not isinstance(url, str) or not url.startswith("mxc://"):
        return None
    info = mapping(content.get("info"))
    size, duration = info.get("size"), info.get("duration")
    return AudioAttachment(
        url=url,
        mimetype=str(info.get("mimetype") or ""),
        size=size if isinstance(size, int) and size > 0 else 0,
        duration_ms=duration if isinstance(duration, int) and duration > 0 else 0,
        voice=VOICE_MARKER in content,
        encryption=encryption or None,
    )


# ---- outgoing -----------------------------------------------------------------------------


def voice_content(reply: Reply, clip: VoiceClip) -> dict[str, Any]:
    """A voice message as Element sends one (see shared element facts): `m.audio`, Ogg/Opus,
    `info.duration` in ms, the MSC1767 duration and waveform, the MSC3245 marker; the reply's
    text is the fallback body. The media keys (`url` or `file`) are added by the sender."""
    content = reply_content(reply)
    content.pop("format", None)
    content.pop("formatted_body", None)
    content.update(
        {
            "msgtype": "m.audio",
            "info": {
                "mimetype": clip.mimetype,
                "size": len(clip.data),
                "duration": clip.duration_ms,
            },
            AUDIO_KEY: {"duration": clip.duration_ms, "waveform": list(clip.waveform)},
            VOICE_MARKER: {},
        }
    )
    return content


def reply_content(reply: Reply) -> dict[str, Any]:
    """The event content for a reply: threads kept, mentions explicit, edits in full."""
    content: dict[str, Any] = {
        "msgtype": "m.notice" if reply.notice else "m.text",
        "body": reply.body,
        "m.mentions": {"user_ids": list(reply.mention)},
    }
    if reply.html is not None:
        content["format"] = HTML_FORMAT
        content["formatted_body"] = reply.html
    if reply.stream is not None:
        # Lets other bots (and tests) tell a finished answer from one still being written.
        content[STREAM_KEY] = reply.stream
    if reply.answers_agent:
        content[TURN_KEY] = AGENT_TO_AGENT
    if reply.council is not None:
        content[COUNCIL_KEY] = dict(reply.council)
    if reply.replaces is not None:
        new_content = dict(content)
        notifies = notifying_edit(reply)
        # The fallback of the edit that notifies is the answer itself, not "* answer": it
        # is what a notification shows when the app reads `body` rather than m.new_content.
        fallback = "" if notifies else "* "
        content["body"] = fallback + reply.body
        if reply.html is not None:
            content["formatted_body"] = fallback + reply.html
        content["m.new_content"] = new_content
        content["m.relates_to"] = {"rel_type": "m.replace", "event_id": reply.replaces}
        if notifies:
            content["m.relates_to"][MENTIONS_IN_CLEAR_KEY] = list(reply.mention)
    elif reply.thread_root is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": reply.thread_root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": reply.reply_to or reply.thread_root},
        }
    elif reply.reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply.reply_to}}
    return content


def raw_event_content(event_type: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """A machine event's content (a poll, an exec request or result) as sent: with an empty
    `m.mentions` when it has a `body` and names no one.

    Without `m.mentions`, Element and Synapse apply the legacy mention rules to the body
    (display name, user name, @room; MSC3952 turns them off for an event that has it): with
    the master's display name "master", the default localpart, a poll's end "the master chose
    C" and an exec request "requested by @master:…" buzzed his phone, highlighted. Whoever
    must be buzzed is named in a message's `m.mentions` (`reply_content`). Reactions keep no
    body and are left alone."""
    found = dict(content)
    if "body" in found and "m.mentions" not in found and event_type != "m.reaction":
        found["m.mentions"] = {}
    return found


def notifying_edit(reply: Reply) -> bool:
    """The last edit of a streamed answer to a person, the one event of it that should make
    the phone buzz: its preview was a silent notice, and Synapse pushes no edit by default
    (nor can it read `m.mentions` in an encrypted room). It names the person inside
    `m.relates_to`, which stays in the clear, for the master's `ANSWER_PUSH_RULE`."""
    return (
        reply.replaces is not None
        and reply.stream == "done"
        and not reply.notice
        and bool(reply.mention)
    )
