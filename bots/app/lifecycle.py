"""`chavion up`, `down` and `bot`: start the council (here or detached), stop it, run one bot.

The pid files in the data dir are the only record of what runs; a stale one (its process
gone, or its pid reused by something else) is removed, never signalled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bots.app.login import format_login, login_info
from bots.app.runtime import BotRunner
from bots.errors import BotError
from bots.homeserver.admin_api import HomeserverApi
from bots.homeserver.process import (
    SynapseProcess,
    homeserver_answers,
    process_argv,
    read_pid,
    stop_recorded_synapse,
)
from bots.homeserver.provision import Provisioner
from bots.homeserver.synapse_config import write_synapse_config
from bots.settings.data_dir import DataDir, open_private_log, read_json, write_private
from bots.settings.model import Settings

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
    stop = _stop_on_signals()
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


# ---- down --------------------------------------------------------------------------------


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


# ---- bot ---------------------------------------------------------------------------------


def cmd_bot(settings: Settings, args: argparse.Namespace) -> int:
    account = settings.account(args.name)

    async def run() -> None:
        stop = _stop_on_signals()
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


def _stop_on_signals() -> asyncio.Event:
    """An event SIGTERM or SIGINT sets, so the bots stop cleanly rather than die mid-reply."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
