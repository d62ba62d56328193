"""Telling the master something he did not ask about (a host down, a benched agent, a
missed schedule): one top-level message in the council room that mentions him.

Every such message goes through `master_alert`, so how it notifies is decided in one
place: it notifies (an `m.text` with a mention), except inside a night window, where only
`urgent` ones do and the rest arrive as silent notices (issue 19). `key` makes a repeated
alert (a restart, a second check of the same change) one message.
"""

from __future__ import annotations

from bots.context import BotContext
from bots.errors import BotError
from bots.ids import EventID
from bots.message import Reply


def alert_reply(
    bot: BotContext, body: str, *, key: str, urgent: bool = False, html: str | None = None
) -> Reply:
    """The alert as sent; `key` is prefixed with "alert/"."""
    if bot.council_room is None:
        raise BotError("this bot has no council room to alert the master in")
    return Reply(
        room_id=bot.council_room,
        body=body,
        html=html,
        notice=False,
        mention=(bot.settings.master_user_id,),
        key=f"alert/{key}",
        urgent=urgent,
    )


async def master_alert(
    bot: BotContext, body: str, *, key: str, urgent: bool = False, html: str | None = None
) -> EventID:
    """Sends the alert to the council room; its event id."""
    return await bot.matrix.send(alert_reply(bot, body, key=key, urgent=urgent, html=html))
