"""Who in the council is up: each bot's presence in one phrase, and `!status`.

A bot's presence is its own mark in the council room (`BotPresence`); a mark that stopped
being renewed means the bot crashed, so the phrase is judged against the heartbeat.
"""

from __future__ import annotations

import time

from bots import __version__
from bots.context import BotPresence
from bots.ids import UserID
from bots.message import Reply
from bots.routing.commands import CommandRequest
from bots.text.durations import coarse

CROSS_SIGNING_PHRASES = {
    "signed": "cross-signed",
    "unsigned": "device not signed",
    "keys-differ": "device not signed (cross-signing keys not its own)",
    "missing": "no cross-signing keys",
    "no-device": "device not signed (its keys are not on the homeserver)",
    "failed": "cross-signing failed, see its log",
}
"""What `!status` says of each `org.chavion.bot` `cross_signing` value; anything but
"signed" means Element will not trust the bot's device (restart the bot to retry)."""


def describe_cross_signing(state: str) -> str:
    """The phrase for a bot's cross-signing state; "" when its mark does not say."""
    if not state:
        return ""
    return CROSS_SIGNING_PHRASES.get(state, f"cross-signing: {state}")


def describe_presence(presence: BotPresence | None, now: float, heartbeat: float) -> str:
    """One status word per bot, judged from its last mark: a crashed bot goes stale."""
    if presence is None:
        return "never started"
    if not presence.online:
        return f"offline (stopped {coarse(now - presence.heartbeat_at)} ago)"
    silent = now - presence.heartbeat_at
    if silent > 2.5 * heartbeat:
        return f"not responding (last sign {coarse(silent)} ago)"
    where = f" on {presence.host}" if presence.host else ""
    signing = describe_cross_signing(presence.cross_signing)
    return f"online{where}, up {coarse(now - presence.started_at)}, v{presence.version}" + (
        f", {signing}" if signing else ""
    )


async def status(request: CommandRequest) -> list[Reply]:
    bot = request.bot
    now = time.time()
    reachable = await bot.matrix.homeserver_reachable()
    presences = await bot.matrix.presences() if reachable else {}
    heartbeat = bot.settings.runtime.heartbeat_seconds
    lines = [
        f"Chavion {__version__} — homeserver {bot.settings.homeserver.server_name}: "
        + ("reachable" if reachable else "NOT reachable"),
        f"{bot.account.display_name} up {coarse(now - bot.started_at)}",
    ]
    for account in bot.settings.accounts:
        user_id = UserID(bot.settings.user_id(account))
        state = describe_presence(presences.get(user_id), now, heartbeat)
        lines.append(f"• {account.display_name} ({account.kind}): {state}")
    return [Reply.answering(request.message, "\n".join(lines))]
