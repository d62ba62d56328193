"""`!dashboard`: the master asks for a one-time link to the dashboard (issue 18).

The link carries a fresh secret valid `LINK_SECONDS`; its first login uses it up (the store
keeps only its hash), so the link left in the room's history opens nothing later. Only the
master gets one, whatever power level another member has: the dashboard acts as him.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec

LINK_SECONDS = 600.0
WILDCARDS = frozenset({"0.0.0.0", "::", "[::]"})
"""Listening addresses that mean "every interface": no browser opens a link to them."""


def dashboard_link(base_url: str, secret: str) -> str:
    return f"{base_url}/dashboard/login?once={secret}"


def dashboard_spec(clock: Callable[[], float] = time.time) -> CommandSpec:
    async def dashboard(request: CommandRequest) -> list[Reply]:
        settings = request.bot.settings
        if request.message.sender != settings.master_user_id:
            raise CommandError("Only the master gets a dashboard link.")
        if not settings.bridge.enabled:
            raise CommandError(
                "The dashboard is off: it is served by the HTTP bridge; set bridge.enabled: "
                "true in the config and restart."
            )
        if request.args.strip():
            raise CommandError("!dashboard takes nothing: send just !dashboard.")
        secret = await request.bot.store.dashboard_links.issue(clock(), LINK_SECONDS)
        minutes = int(LINK_SECONDS // 60)
        text = (
            f"🔗 Your dashboard: {dashboard_link(settings.bridge.base_url, secret)}\n"
            f"It signs you in once, within {minutes} minutes; send !dashboard again for "
            "another."
        )
        bridge = settings.bridge
        if bridge.public_url is None and bridge.host in WILDCARDS:
            text += (
                f"\n⚠️ {bridge.host} is where the bridge listens, not an address a browser can "
                "open: set bridge.public_url (the reverse proxy's https:// address) in the config."
            )
        return [Reply.answering(request.message, text)]

    return CommandSpec(
        "dashboard", "a one-time link to the web dashboard (the master's)", dashboard
    )
