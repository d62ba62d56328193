"""An agent's answer while the model writes it: one message edited in place, then split.

A quick answer arrives whole, as one message; a slow one appears once the model has been
writing for a while and is edited (throttled, each edit within one event) as more arrives.
The final edit always goes out, split into more messages when the answer outgrew one event.
"Typing…" is shown only for slow answers: every notice wakes every syncing client.
An answer taken up again after a restart says so, and finishes the placeholder the
interrupted run had shown instead of leaving it hanging.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from bots.context import BotContext
from bots.ids import EventID
from bots.matrix.event_size import MAX_PLAINTEXT_BYTES, reply_bytes_bound
from bots.message import Message, Reply
from bots.routing.addressing import AGENT_KINDS
from bots.store.pending_answers import PendingAnswer
from bots.text.markdown import markdown_to_html
from bots.text.splitting import split_message
from bots.text.throttle import EditThrottle

STREAM_MARK = " …"
# A quick answer arrives whole, as one message: a placeholder is shown only once the model
# has been writing for this long, so fast replies cost one event and no edits.
SHOW_PARTIAL_AFTER_S = 1.0
TYPING_AFTER_S = 0.5
RESUMED_MARK = "(Answered after a restart.)\n\n"


async def typing_if_slow(bot: BotContext, message: Message) -> bool:
    """Show "typing…" only for answers that take a while: a typing notice wakes every
    syncing client, which a quick answer should not pay for."""
    await asyncio.sleep(TYPING_AFTER_S)
    await bot.matrix.typing(message.room_id, True)
    return True


class StreamingAnswer:
    """One answer on its way: a message that appears with the first words, then is edited
    (throttled, capped) as more arrive; the final edit always goes out.

    An answer to a person makes the phone buzz exactly once, with the final text: the
    preview and its edits are silent notices naming no one, and the final version is
    `m.text` naming the person (the whole message when it came quickly, else the last edit,
    which the master's `org.chavion.answer` push rule lets notify). Parts after the first
    of a long answer are notices too. Answers to other agents never notify.
    """

    def __init__(
        self,
        message: Message,
        bot: BotContext,
        streaming: bool,
        *,
        resumed: PendingAnswer | None = None,
    ) -> None:
        self._message = message
        self._bot = bot
        self._streaming = streaming
        sender = bot.roster.get(message.sender)
        # An answer to the master may buzz the phone; chatter between agents never does.
        self._to_person = sender is None
        self._to_agent = sender is not None and sender.kind in AGENT_KINDS
        self._text = ""
        # A re-run's events get keys of their own: the cut-off run's transaction ids would
        # make the homeserver hand back its old events instead of sending the new text.
        self._key = (
            message.event_id if resumed is None else f"{message.event_id}/r{resumed.attempts}"
        )
        self._mark = "" if resumed is None else RESUMED_MARK
        self._event: EventID | None = None if resumed is None else resumed.placeholder
        self._started = time.monotonic()
        self._throttle = EditThrottle(self._started)
        self._edits = 0

    def _reply(
        self,
        body: str,
        *,
        replaces: EventID | None = None,
        key: str,
        done: bool = False,
        first: bool = False,
        buzz: bool = False,
    ) -> Reply:
        """`first`: the message that starts the answer, the one that counts as a turn.
        `buzz`: the one event of the answer that should notify its person."""
        loud = buzz and self._to_person
        base = Reply.answering(self._message, body, html=markdown_to_html(body), notice=not loud)
        return Reply(
            room_id=base.room_id,
            body=base.body,
            html=base.html,
            notice=base.notice,
            thread_root=base.thread_root,
            reply_to=base.reply_to,
            mention=(self._message.sender,) if loud else (),
            replaces=replaces,
            key=key,
            stream=None if not self._streaming else ("done" if done else "partial"),
            answers_agent=self._to_agent and first,
        )

    async def on_delta(self, piece: str) -> None:
        self._text += piece
        if not self._text.strip():
            return
        outbox = self._bot.matrix
        if self._event is None:
            if time.monotonic() - self._started < SHOW_PARTIAL_AFTER_S:
                return
            self._event = await outbox.send(
                self._reply(self._mark + self._text + STREAM_MARK, key=f"{self._key}/0", first=True)
            )
            await self._bot.store.pending_answers.note_placeholder(
                self._bot.account.name, self._message.event_id, self._event
            )
            return
        if self._throttle.should_edit(time.monotonic()):
            edit = self._reply(
                self._mark + self._text + STREAM_MARK,
                replaces=self._event,
                key=f"{self._key}/edit{self._edits + 1}",
            )
            if reply_bytes_bound(edit.body, edit.html) > MAX_PLAINTEXT_BYTES:
                return  # too long for one event: the final edit splits it into several
            self._edits += 1
            await outbox.send(edit)

    def final(self, text: str) -> list[Reply]:
        chunks = split_message(self._mark + text) if text else []
        chunks = chunks or [self._mark + "(no answer)"]
        replies: list[Reply] = []
        key = self._key
        if self._event is not None:
            replies.append(
                self._reply(
                    chunks[0], replaces=self._event, key=f"{key}/final", done=True, buzz=True
                )
            )
        else:
            replies.append(self._reply(chunks[0], key=f"{key}/0", done=True, first=True, buzz=True))
        for index, chunk in enumerate(chunks[1:], start=1):
            replies.append(self._reply(chunk, key=f"{key}/{index}", done=True))
        return replies

    def failure(self, reason: str) -> Reply:
        if self._event is not None:
            return self._reply(
                self._mark + self._text + f"\n\n(stopped: {reason})",
                replaces=self._event,
                key=f"{self._key}/final",
                done=True,
                buzz=True,
            )
        return dataclasses.replace(Reply.answering(self._message, reason), key=f"{self._key}/0")
