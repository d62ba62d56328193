"""The master's message that no key opened: said once, in the room, by the coordinator.

Every bot holds an encrypted message it cannot read and asks for its key
(`bots.matrix.late_keys`); when the wait is over, the coordinator, which is in every
council room and reads what the master writes there, tells the master what happened and
what to do. Only the coordinator speaks (one notice, not one per bot), only about the
master's messages (agents' chatter is theirs to resend), and the dispatcher's claim makes
it once per event even across restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bots.context import BotContext
from bots.events import UNREADABLE_EVENT
from bots.message import Reply, RoomEvent


def sent_at(timestamp_ms: int, timezone: str, now: datetime) -> str:
    """ "14:32" today, "3 Dec 14:32" another day, in the council's time zone."""
    zone = ZoneInfo(timezone)
    when = datetime.fromtimestamp(timestamp_ms / 1000, UTC).astimezone(zone)
    if when.date() == now.astimezone(zone).date():
        return when.strftime("%H:%M")
    return f"{when.day} {when.strftime('%b %H:%M')}"


# Why, by the code of `m.room_key.withheld` (the spec's codes); None: no key came at all.
WITHHELD_WHY = {
    "m.unverified": "your app withheld its key from the bots' devices because it does not "
    "trust them (it sends only to verified devices)",
    "m.blacklisted": "your app has blocked the bots' devices",
    "m.unauthorised": "your app did not allow the bots' devices to have its key",
    "m.unavailable": "your app no longer has its key",
    "m.no_olm": "your app could not open a secure channel to the bots' devices",
}
WHAT_TO_DO = (
    "Nothing was done with it. Please send it again; if this keeps happening, check in "
    "Element's security settings that sending to unverified devices is allowed, or verify "
    "the bots."
)


def unreadable_text(
    timestamp_ms: int,
    waited_seconds: int,
    timezone: str,
    now: datetime,
    code: str = "no-key",
    detail: str = "",
) -> str:
    when = sent_at(timestamp_ms, timezone, now)
    if code in WITHHELD_WHY:
        why = WITHHELD_WHY[code]
    elif code != "no-key":
        why = f"your app withheld its key ({code}{': ' + detail if detail else ''})"
    else:
        why = (
            f"no key to decrypt it reached the bots within {waited_seconds} s, although I "
            "asked your devices for it (your app did not share it with our devices, e.g. "
            "for a message sent before a bot joined)"
        )
    return f"I could not read your message from {when}: {why}. {WHAT_TO_DO}"


async def on_unreadable(event: RoomEvent, bot: BotContext) -> list[Reply]:
    """One notice for the master's unreadable message; nothing for anyone else's."""
    if event.type != UNREADABLE_EVENT or event.sender != bot.settings.master_user_id:
        return []
    waited, code, detail = (event.content.get(k) for k in ("waited_seconds", "reason", "detail"))
    text = unreadable_text(
        event.timestamp_ms,
        waited if isinstance(waited, int) else 60,
        bot.settings.timezone,
        datetime.now(UTC),
        code if isinstance(code, str) else "no-key",
        detail if isinstance(detail, str) else "",
    )
    # m.text with a mention: the phone buzzes, as it would have for the answer he waits for.
    return [
        Reply(
            room_id=event.room_id,
            body=text,
            notice=False,
            reply_to=event.event_id,
            mention=(event.sender,),
            key=f"{event.event_id}/unreadable",
        )
    ]
