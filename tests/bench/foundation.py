"""Foundation benchmark: cold and warm `chavion up`, and the `!ping` round trip.

Run: .venv/bin/python -m tests.bench.foundation [--pings 30] [--rounds 2]

The round trip is compared with a floor measured in the same run on the same Synapse: a
minimal nio echo client answering `!ping` in the same encrypted council room, with as many
clients syncing as Chavion runs bots (each syncing client costs Synapse 15-20 ms).
Targets: cold start under 20 s on a 2-core machine; round trip within 1.25x of the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from bots.homeserver.credentials import load_credentials
from bots.homeserver.process import SynapseProcess, free_port
from bots.homeserver.provision import Council, load_council
from bots.settings.data_dir import DataDir
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.settings.paths import EXAMPLE_CONFIG
from tests.support.person import Person, replies_to


def write_config(
    root: Path, port: int, *, start_synapse: bool, agents: list[dict[str, Any]] | None = None
) -> Path:
    """The shipped example as a user would run it, but with the port and data dir moved and
    Synapse's per-user rate limits raised: the master sends pings faster than a person,
    and the floor logs in more clients from one address than `rc_login` lets through."""
    config: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    config["data_dir"] = str(root / "data")
    config["homeserver"]["port"] = port
    config["homeserver"]["start"] = start_synapse
    config["homeserver"]["relaxed_rate_limits"] = True
    if agents is not None:
        config["agents"] = agents
    path = root / ("chavion.yaml" if start_synapse else "chavion-bots-only.yaml")
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


CROSS_SIGNING_LINE = re.compile(rb"(\S+): cross-signing (\S+) in (\d+) ms")


def cross_signing_ms(log: Path, start: int) -> dict[str, tuple[str, int]]:
    """Each bot's cross-signing step in the part of `up`'s log from byte `start`: its state
    and duration as the bot logged them (`bots.matrix.cross_signing_client`)."""
    with log.open("rb") as handle:
        handle.seek(start)
        found = CROSS_SIGNING_LINE.findall(handle.read())
    return {name.decode(): (state.decode(), int(ms)) for name, state, ms in found}


def describe_cross_signing(steps: dict[str, tuple[str, int]]) -> str:
    if not steps:
        return "not logged"
    states = sorted({state for state, _ in steps.values()})
    times = [ms for _, ms in steps.values()]
    return (
        f"{len(steps)} bots {'/'.join(states)}; per bot max {max(times)} ms, "
        f"sum {sum(times)} ms (the bots run it in parallel, before their first sync)"
    )


class Up:
    """`chavion up` as a user runs it, timed from launch to its ready line."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bots", "--config", str(self.config), "up"],
            stdout=subprocess.PIPE,
            stderr=self.log.open("ab"),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(b"Chavion is up"):
                return time.monotonic() - started
        raise RuntimeError(f"chavion up exited ({self.process.wait()}); see {self.log}")

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        assert code == 0, f"chavion up exited with {code}"


async def echo_client(
    url: str,
    user_id: str,
    password: str,
    store: Path,
    echo: bool,
    trigger: str | tuple[str, ...] = "!ping",
    as_text: bool = False,
) -> Any:
    """The floor: the least a nio bot can do to answer a message, in the same kind of event
    as the subject sends (Synapse's push rules cost more for an m.text that mentions
    someone than for an m.notice)."""
    client = AsyncClient(
        url, user_id, store_path=str(store), config=AsyncClientConfig(encryption_enabled=True)
    )
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    response = await client.login(password, device_name="bench echo")
    assert isinstance(response, LoginResponse), response
    first = await client.sync(timeout=0, full_state=True)
    assert isinstance(first, SyncResponse)

    async def on_message(room: Any, event: RoomMessageText) -> None:
        if event.sender != user_id and event.body.startswith(trigger):
            response = await client.room_send(
                room.room_id,
                "m.room.message",
                {
                    "msgtype": "m.text" if as_text else "m.notice",
                    "body": "pong",
                    "m.mentions": {"user_ids": [event.sender] if as_text else []},
                    "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
                },
                ignore_unverified_devices=True,
            )
            if not isinstance(response, RoomSendResponse):
                print(f"echo could not answer: {response}", file=sys.stderr)

    if echo:
        client.add_event_callback(on_message, RoomMessageText)
    task = asyncio.create_task(client.sync_forever(timeout=30_000, since=first.next_batch))
    return client, task


async def measure_floor(
    master: Person, settings: Settings, data: DataDir, root: Path, council: Council, pings: int
) -> list[float]:
    """The floor: as many plain nio clients syncing as Chavion runs bots, one of them (on the
    coordinator's account) echoing; the master's `!ping` round trips to it."""
    coordinator = settings.user_id(settings.coordinator)
    clients = []
    for index, account in enumerate(settings.accounts):
        creds = load_credentials(data, account.localpart)
        assert creds
        clients.append(
            await echo_client(
                settings.homeserver.client_url,
                creds.user_id,
                creds.password,
                root / account.localpart,
                echo=index == 0,
            )
        )
    await master.sees_devices_of(device=(coordinator, clients[0][0].device_id))
    await knows_device(clients[0][0], master.user_id, master.client.device_id)
    try:
        return await measure_pings(master, council.room_id, coordinator, pings)
    finally:
        await close_echo_clients(clients)


async def close_echo_clients(clients: list[tuple[AsyncClient, asyncio.Task[None]]]) -> None:
    for client, task in clients:
        task.cancel()
        await client.logout()  # no stale devices for the next round to share keys with
        await client.close()


async def knows_device(client: AsyncClient, user_id: str, device_id: str) -> None:
    """A fresh echo client must know the master's device before it can encrypt for it."""
    for _ in range(300):
        if client.should_query_keys:
            await client.keys_query()
        if any(d.id == device_id for d in client.device_store.active_user_devices(user_id)):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{client.user_id} never learnt {user_id}'s device {device_id}")


async def measure_pings(
    master: Person, room: str, responder: str, count: int, text: str = "!ping"
) -> list[float]:
    times = []
    for index in range(count):
        sent = time.monotonic()
        event = await master.say(room, f"{text} {index}")
        [reply] = await master.wait_for(replies_to(event, responder), timeout=30)
        times.append(reply.received_at - sent)
    return times[1:]  # the first message of a session also shares room keys


async def bench_session(
    root: Path, config: Path
) -> tuple[Settings, SynapseProcess, Council, Person]:
    """Synapse (already provisioned by a first `chavion up`) run by the benchmark itself, so
    it outlives the subject and the floor that take turns on it; and the master, logged in."""
    settings = load_settings(config)
    data = DataDir(settings.data_dir)
    port = settings.homeserver.port
    synapse = SynapseProcess(
        data.synapse_config,
        settings.homeserver.client_url,
        "127.0.0.1",
        port,
        data.synapse / "stdout.log",
    )
    await synapse.start()
    council = load_council(data)
    creds = load_credentials(data, settings.master.localpart)
    assert council
    assert creds
    master = await Person.login(
        settings.homeserver.client_url, creds.user_id, creds.password, root / "master-store"
    )
    return settings, synapse, council, master


async def round_trips(
    root: Path, port: int, pings: int, rounds: int
) -> tuple[list[float], list[float]]:
    config = write_config(root, port, start_synapse=False)
    settings, synapse, council, master = await bench_session(root, config)
    data = DataDir(settings.data_dir)
    coordinator = settings.user_id(settings.coordinator)
    floor: list[float] = []
    chavion: list[float] = []
    try:
        for round_number in range(rounds):
            # Chavion: every bot of the example config syncing, the coordinator answering.
            up = Up(config, root / "bench-up.log")
            await asyncio.to_thread(up.start)
            await master.sees_devices_of(*(settings.user_id(a) for a in settings.accounts))
            chavion += await measure_pings(master, council.room_id, coordinator, pings)
            await asyncio.to_thread(up.stop)

            floor += await measure_floor(
                master, settings, data, root / f"echo-{round_number}", council, pings
            )
    finally:
        await master.close()
        await synapse.stop()
    return floor, chavion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pings", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("nio").setLevel(logging.ERROR)  # undecryptable history is expected noise
    with tempfile.TemporaryDirectory(prefix="chavion-bench-") as tmp:
        root = Path(tmp)
        port = free_port()
        log = root / "up.log"
        up = Up(write_config(root, port, start_synapse=True), log)
        cold = up.start()
        up.stop()
        offset = log.stat().st_size
        cold_signing = cross_signing_ms(log, 0)
        warm = up.start()
        up.stop()
        warm_signing = cross_signing_ms(log, offset)
        floor, chavion = asyncio.run(round_trips(root, port, args.pings, args.rounds))
    f, c = statistics.median(floor), statistics.median(chavion)
    accounts = len(load_settings(EXAMPLE_CONFIG).accounts)
    print(f"bots running: {accounts} (the shipped example config)")
    print(f"cold `chavion up` to ready: {cold:.2f} s (target < 20 s)")
    print(f"warm restart to ready:      {warm:.2f} s")
    print(f"cross-signing, cold: {describe_cross_signing(cold_signing)} (target < 1 s for 7 bots)")
    print(f"cross-signing, warm: {describe_cross_signing(warm_signing)}")
    print(
        f"!ping round trip, median of {len(chavion)}: chavion {c * 1000:.0f} ms, "
        f"nio echo floor {f * 1000:.0f} ms (same Synapse, {accounts} syncing clients)"
    )
    print(
        f"p90: chavion {sorted(chavion)[int(len(chavion) * 0.9)] * 1000:.0f} ms, "
        f"floor {sorted(floor)[int(len(floor) * 0.9)] * 1000:.0f} ms"
    )
    print(f"ratio chavion/floor: {c / f:.2f}x (target <= 1.25x)")


if __name__ == "__main__":
    main()
