"""The `chavion` commands that print one thing and exit: info, homeserver-config, check-config.

None of them starts anything; they read the settings and the data dir and report.
"""

from __future__ import annotations

import argparse
import json

from bots.app.login import format_login, login_info
from bots.homeserver.synapse_config import write_synapse_config
from bots.settings.data_dir import DataDir
from bots.settings.model import Settings


def cmd_info(settings: Settings, args: argparse.Namespace) -> int:
    info = login_info(settings, DataDir(settings.data_dir))
    print(json.dumps(info.as_json(), indent=2) if args.json else format_login(info))
    return 0


def cmd_homeserver_config(settings: Settings, args: argparse.Namespace) -> int:
    """For docker compose: the config must exist before the Synapse container starts."""
    files = write_synapse_config(settings.homeserver, DataDir(settings.data_dir))
    print(files.config)
    return 0


def cmd_check_config(settings: Settings, args: argparse.Namespace) -> int:
    print(f"{settings.source}: OK ({len(settings.agents)} agents)")
    return 0
