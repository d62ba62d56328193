"""`chavion`: bring the council up, run one bot, show how to log in, take it down."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from bots import __version__
from bots.app.data_dir import PRIVATE_UMASK, DataDir, open_private_log, read_json, write_private
from bots.app.runtime import BotRunner
from bots.app.settings import (
    DEFAULT_CONFIG,
    EXAMPLE_CONFIG,
    Settings,
    find_config_path,
    load_settings,
)
from bots.errors import BotError, ConfigError
from bots.homeserver.admin_api import HomeserverApi
from bots.homeserver.credentials import load_credentials
from bots.homeserver.process import (
    SynapseProcess,
    homeserver_answers,
    process_argv,
    read_pid,
    stop_recorded_synapse,
)
from bots.homeserver.provision import Provisioner, load_council
from bots.homeserver.synapse_config import write_synapse_config

log = logging.getLogger("chavion")


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
    except (BotError, ConfigError) as exc:
        print(f"chavion: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


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
    return parser


def _settings(args: argparse.Namespace) -> Settings:
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


# ---- up ----------------------------------------------------------------------------------


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    data = DataDir(settings.data_dir)
    data.ensure()
    running = _running_pid(data)
    if running:
        raise BotError(f"Chavion is already running (pid {running}); `chavion down` stops it")
    orphan = stop_recorded_synapse(data.synapse_pid, data.synapse_config)
    if orphan:
        print(f"chavion: stopped Synapse (pid {orphan}) left running by an earlier `chavion up`.")
    if args.detach:
        return _detach(settings, data)
    return asyncio.run(_up(settings, data))


async def _up(settings: Settings, data: DataDir) -> int:
    started = time.monotonic()
    write_private(data.pid_file, str(os.getpid()))
    data.ready_file.unlink(missing_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    synapse: SynapseProcess | None = None
    supervisor: asyncio.Task[None] | None = None
    try:
        files = write_synapse_config(settings.homeserver, data)
        hs = settings.homeserver
        if hs.start:
            synapse = SynapseProcess(
                files.config,
                hs.client_url,
                hs.bind_address,
                hs.port,
                data.synapse / "stdout.log",
                pid_file=data.synapse_pid,
            )
            await synapse.start()
            supervisor = asyncio.create_task(synapse.supervise())
        elif not await homeserver_answers(hs.client_url):
            raise BotError(f"no homeserver answers at {hs.client_url} (homeserver.start is false)")
        async with aiohttp.ClientSession() as session:
            api = HomeserverApi(session, hs.client_url)
            await Provisioner(settings, api, files.registration_secret, data).run()
        runner = BotRunner(settings, [a.name for a in settings.accounts])
        ready = asyncio.Event()
        bots = asyncio.create_task(runner.run(stop, ready))
        announced = asyncio.create_task(_announce(settings, data, ready, started))
        await bots
        announced.cancel()
        return 0
    finally:
        if supervisor:
            supervisor.cancel()
        if synapse:
            await synapse.stop()
        data.pid_file.unlink(missing_ok=True)
        data.ready_file.unlink(missing_ok=True)


async def _announce(
    settings: Settings, data: DataDir, ready: asyncio.Event, started: float
) -> None:
    await ready.wait()
    seconds = time.monotonic() - started
    info = login_info(settings, data)
    # Atomic: `up --detach` polls this file and must never read it half-written.
    write_private(data.ready_file, json.dumps({"pid": os.getpid(), "seconds": seconds}))
    print(format_login(info, seconds), flush=True)


def _detach(settings: Settings, data: DataDir) -> int:
    """Start `chavion up` in the background and return once it is ready (or has failed)."""
    log_file = open_private_log(data.log_file)
    command = [sys.executable, "-m", "bots", "--config", str(settings.source), "up"]
    child = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, start_new_session=True
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise BotError(f"chavion up exited with status {child.returncode}; see {data.log_file}")
        ready = read_json(data.ready_file)
        if ready and ready.get("pid") == child.pid:
            print(format_login(login_info(settings, data), float(ready["seconds"])))
            print(
                f"Running in the background (pid {child.pid}, log {data.log_file}); "
                "`chavion down` stops it."
            )
            return 0
        time.sleep(0.2)
    child.terminate()
    raise BotError(f"chavion up was not ready after 180 s; see {data.log_file}")


def _running_pid(data: DataDir) -> int | None:
    """The pid of the `chavion up` this data dir records, if that process is still it.

    A stale file (the process is gone, or its pid now belongs to something else) is removed:
    its pid must never be signalled.
    """
    pid = read_pid(data.pid_file)
    if pid is None:
        return None
    if not is_chavion_up(pid):
        data.pid_file.unlink(missing_ok=True)
        return None
    return pid


def is_chavion_up(pid: int) -> bool:
    """Whether `pid` runs `chavion up` (as `chavion ...` or `python -m bots ...`)."""
    argv = process_argv(pid)
    if not argv:
        return False
    chavion = any(Path(arg).name == "chavion" for arg in argv[:2])
    module = ("-m", "bots") in itertools.pairwise(argv)
    return (chavion or module) and "up" in argv[1:]


# ---- down, info, bot ---------------------------------------------------------------------


def cmd_down(settings: Settings, args: argparse.Namespace) -> int:
    data = DataDir(settings.data_dir)
    pid = _running_pid(data)
    if pid is not None:
        _stop_chavion(pid)
        print(f"Stopped Chavion (pid {pid}).")
    # Chavion stops its Synapse; one still recorded outlived a `chavion up` that was killed.
    orphan = stop_recorded_synapse(data.synapse_pid, data.synapse_config)
    if orphan:
        print(f"Stopped Synapse (pid {orphan}), left running by an earlier `chavion up`.")
    if pid is None and orphan is None:
        print("Chavion is not running.")
    return 0


def _stop_chavion(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not is_chavion_up(pid):
            return
        time.sleep(0.2)
    raise BotError(f"Chavion (pid {pid}) did not stop within 60 s")


def login_info(settings: Settings, data: DataDir) -> dict[str, Any]:
    master = load_credentials(data, settings.master.localpart)
    council = load_council(data)
    if master is None or council is None:
        raise BotError("nothing is provisioned yet: run `chavion up` first")
    return {
        "homeserver": settings.homeserver.public_url,
        "master_user": master.user_id,
        "master_password": master.password,
        "council_room_id": council.room_id,
        "council_alias": council.alias,
        "bots": [
            {"name": a.name, "user_id": settings.user_id(a), "kind": a.kind}
            for a in settings.accounts
        ],
        "bridge_url": None,
    }


def format_login(info: dict[str, Any], seconds: float | None = None) -> str:
    head = "Chavion is up" + (f" (ready in {seconds:.1f} s)." if seconds is not None else ".")
    bots = ", ".join(b["user_id"] for b in info["bots"])
    return "\n".join(
        [
            head,
            "Log in from Element (Element X or Element Web):",
            f"  Homeserver: {info['homeserver']}",
            f"  User:       {info['master_user']}",
            f"  Password:   {info['master_password']}",
            f"  Room:       {info['council_alias']}  (you are already a member)",
            f"  Bots:       {bots}",
            "Then say `!help` in the room. From a phone, Element X needs the homeserver behind",
            "HTTPS: see the README's Production section.",
        ]
    )


def cmd_info(settings: Settings, args: argparse.Namespace) -> int:
    info = login_info(settings, DataDir(settings.data_dir))
    print(json.dumps(info, indent=2) if args.json else format_login(info))
    return 0


def cmd_homeserver_config(settings: Settings, args: argparse.Namespace) -> int:
    """For docker compose: the config must exist before the Synapse container starts."""
    files = write_synapse_config(settings.homeserver, DataDir(settings.data_dir))
    print(files.config)
    return 0


def cmd_check_config(settings: Settings, args: argparse.Namespace) -> int:
    print(f"{settings.source}: OK ({len(settings.agents)} agents)")
    return 0


def cmd_bot(settings: Settings, args: argparse.Namespace) -> int:
    account = settings.account(args.name)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        ready = asyncio.Event()
        runner = BotRunner(settings, [account.name])
        task = asyncio.create_task(runner.run(stop, ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            print(f"{account.display_name} is online as {settings.user_id(account)}.", flush=True)
        await task
        with contextlib.suppress(asyncio.CancelledError):
            waiter.cancel()

    asyncio.run(run())
    return 0
