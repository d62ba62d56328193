"""`chavion token <agent>`: a new bearer token for an external agent of the HTTP bridge;
`chavion token --master`: a new dashboard token for the master.

Printed once and never again (only its hash is kept); the old token stops working at once,
so a leaked token is replaced by running the command again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bots.errors import ConfigError
from bots.settings.data_dir import DataDir
from bots.settings.model import Settings
from bots.store import Store


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    if args.master:
        print(asyncio.run(_issue_master(settings)))
        print(
            "chavion: a new dashboard token for the master; the old one no longer works. It "
            f"is shown only now: sign in with it at {settings.bridge.base_url}/dashboard/login "
            "(or send !dashboard in the council room for a one-time link).",
            file=sys.stderr,
        )
        return 0
    agent = settings.bridge.agent(args.agent)
    if agent is None:
        known = ", ".join(a.name for a in settings.bridge.agents)
        where = f"bridge agents: {known}" if known else "no bridge agents are configured"
        raise ConfigError(
            f"no bridge agent named {args.agent!r} in {settings.source} ({where}); "
            "add it under bridge.agents first"
        )
    token = asyncio.run(_issue(settings, agent.name))
    print(token)
    print(
        f"chavion: a new token for {agent.name}; the old one no longer works. It is shown "
        "only now: give it to the agent as `Authorization: Bearer <token>`.",
        file=sys.stderr,
    )
    return 0


async def _issue(settings: Settings, agent: str) -> str:
    async with await Store.open(DataDir(settings.data_dir).store) as store:
        return await store.bridge_tokens.issue(agent, time.time())


async def _issue_master(settings: Settings) -> str:
    async with await Store.open(DataDir(settings.data_dir).store) as store:
        return await store.dashboard_links.issue_master_token(time.time())
