"""`chavion`: bring the council up, run one bot, show how to log in, take it down, ask the
policy."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from bots import __version__
from bots.app import exit_codes
from bots.app.bridge_token import cmd_token
from bots.app.lifecycle import cmd_bot, cmd_down, cmd_up
from bots.app.one_shot import cmd_check_config, cmd_homeserver_config, cmd_info
from bots.app.policy_check import cmd_policy_check
from bots.app.service_unit import cmd_service
from bots.errors import BotError, ConfigError
from bots.settings.data_dir import PRIVATE_UMASK
from bots.settings.loading import find_config_path, load_settings
from bots.settings.model import Settings
from bots.settings.paths import DEFAULT_CONFIG, EXAMPLE_CONFIG
from executor.policy.model import LEVELS


def main(argv: Sequence[str] | None = None) -> int:
    # Logs, pid files, the store and Synapse's database (the Synapse child inherits this)
    # hold passwords and tokens: nothing any command writes is readable by other users.
    os.umask(PRIVATE_UMASK)
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        settings = _settings(args)
        command: Any = args.func
        return int(command(settings, args))
    except ConfigError as exc:
        print(f"chavion: {exc}", file=sys.stderr)
        return exit_codes.CONFIG_ERROR  # not retried by the service unit: fix the config
    except BotError as exc:
        print(f"chavion: {exc}", file=sys.stderr)
        return exit_codes.FAILED  # may pass (the network not up yet): retried
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chavion", description=__doc__)
    parser.add_argument(
        "--config",
        help="config file (default: $CHAVION_CONFIG, config/chavion.yaml, else the example)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"chavion {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start Synapse, provision the council and run every bot")
    up.add_argument("--detach", action="store_true", help="run in the background")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop what `chavion up` started")
    down.set_defaults(func=cmd_down)

    info = sub.add_parser("info", help="how to log in from Element")
    info.add_argument("--json", action="store_true", help="machine-readable")
    info.set_defaults(func=cmd_info)

    bot = sub.add_parser("bot", help="run one bot in this process (homeserver already up)")
    bot.add_argument("name", help="coordinator, executor or an agent's name")
    bot.set_defaults(func=cmd_bot)

    hs_config = sub.add_parser(
        "homeserver-config", help="write Synapse's config into the data dir and exit"
    )
    hs_config.set_defaults(func=cmd_homeserver_config)

    check = sub.add_parser("check-config", help="validate the config file and exit")
    check.set_defaults(func=cmd_check_config)

    token = sub.add_parser(
        "token",
        help="print a new HTTP bridge token for an external agent, or the master's "
        "dashboard token with --master (shown once)",
    )
    whose = token.add_mutually_exclusive_group(required=True)
    whose.add_argument("agent", nargs="?", help="an agent of bridge.agents")
    whose.add_argument("--master", action="store_true", help="the master's dashboard token instead")
    token.set_defaults(func=cmd_token)

    policy = sub.add_parser("policy", help="ask the command policy, with this config")
    policy_sub = policy.add_subparsers(required=True, metavar="ACTION")
    policy_check = policy_sub.add_parser(
        "check",
        help="judge commands (arguments, or one per line on stdin) as the executor would",
        description="Judges each command for --host with the config `chavion up` uses: "
        "allow, needs approval or forbid, the reason and the rule. Nothing runs. Exit status "
        "0 once all are judged (a forbid included), 2 for a config error or unknown host.",
    )
    policy_check.add_argument("--host", required=True, help="a host of execution.hosts")
    policy_check.add_argument(
        "--level", choices=LEVELS, help="the requester's level (default: the master's)"
    )
    policy_check.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: command, verdict, reason, rule",
    )
    policy_check.add_argument(
        "commands", nargs="*", metavar="COMMAND", help="one command per argument (quote it)"
    )
    policy_check.set_defaults(func=cmd_policy_check)
    _add_service(sub)
    return parser


def _add_service(sub: Any) -> None:
    service = sub.add_parser(
        "service",
        help="run the council as a systemd service that survives reboots",
        description="install writes a systemd unit running `chavion up` as you (the user who "
        "ran sudo), with this config and data dir as absolute paths, then enables and starts "
        "it; remove stops, disables and deletes it; show prints the unit. API keys go in "
        "the environment file (default: chavion.env beside the config file, mode 600).",
    )
    service.add_argument("action", choices=("install", "remove", "show"))
    service.add_argument(
        "--user",
        action="store_true",
        help="a systemd user unit in ~/.config/systemd/user instead of a system unit",
    )
    service.add_argument(
        "--unit-dir",
        metavar="DIR",
        help="write the unit here instead (systemctl is then not asked; for tests, staging)",
    )
    service.add_argument("--env-file", metavar="FILE", help="the unit's EnvironmentFile (API keys)")
    service.set_defaults(func=cmd_service)


def _settings(args: argparse.Namespace) -> Settings:
    """The config `--config` names (or the default); a first `up` copies the example into place."""
    path = find_config_path(args.config)
    if path == EXAMPLE_CONFIG and args.func is cmd_up and not args.config:
        shutil.copyfile(EXAMPLE_CONFIG, DEFAULT_CONFIG)
        print(f"chavion: wrote {DEFAULT_CONFIG} from the example; edit it to taste.")
        path = DEFAULT_CONFIG
    return load_settings(path)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("nio", "peewee", "aiohttp.access", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not verbose else logging.INFO)
