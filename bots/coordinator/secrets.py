"""Credentials pasted into a room: the coordinator removes the message and says so, once.

Someone who pastes a live API key into a chat with his agents has leaked it to the homeserver
and to every device in the room. The coordinator (it holds the power to) redacts the event
at once and tells the sender what kind of secret it removed, never the value, and that the
secret must be rotated: a redaction hides the text, it cannot unsend it. Agents in other
processes see the same event at the same moment; they leave it out of every prompt by the
same detection (`bots.text.credentials`), so nothing here has to reach them but Matrix.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bots.context import BotContext
from bots.errors import MatrixError
from bots.message import Message, Reply
from bots.routing.addressing import EXTERNAL
from bots.text.credentials import credential_kinds

log = logging.getLogger(__name__)

CLAIM_SUFFIX = "/credentials"
"""The store claims this watch's events apart from the coordinator's commands, so a command
in the same message is still answered, and a replayed message is not redacted twice."""


async def redact_credentials(message: Message, bot: BotContext) -> list[Reply]:
    """Redacts a person's message that holds a credential; a notice to the sender says
    what was removed and that it must be rotated (or, when the redaction was refused, that
    they must delete it themselves)."""
    sender = bot.roster.get(message.sender)
    if sender is not None and sender.kind != EXTERNAL:
        return []  # Chavion's own bots: agents never see keys, the executor masks them
    kinds = credential_kinds(message.body, message.formatted_body)
    if not kinds:
        return []
    if not await bot.store.claim_event(
        bot.account.name + CLAIM_SUFFIX, message.event_id, message.room_id
    ):
        return []
    try:
        await bot.matrix.redact(
            message.room_id,
            message.event_id,
            reason=f"It held {' and '.join(kinds)}.",
            key=f"{message.event_id}/redact",
        )
        removed = True
    except MatrixError as exc:
        log.warning("cannot redact %s, which holds a credential: %s", message.event_id, exc)
        removed = False
    log.info("%s held %s; redacted: %s", message.event_id, ", ".join(kinds), removed)
    notice = Reply.answering(message, credential_notice(kinds, removed=removed))
    return [replace(notice, mention=(message.sender,), key=f"{message.event_id}/credentials")]


def credential_notice(kinds: list[str], *, removed: bool) -> str:
    """What the sender is told: the kinds found, never a value, and what to do now."""
    held = " and ".join(kinds)
    one = len(kinds) == 1
    secret = "that secret" if one else "those secrets"
    if removed:
        return (
            f"I removed your message: it held {held}. Rotate {secret} now: the message "
            "reached the homeserver and every device in this room before I removed it."
        )
    return (
        f"Your message holds {held}, and I could not remove it (I lack the power to "
        f"redact here). Delete it yourself, and rotate {secret}: it has been sent."
    )
