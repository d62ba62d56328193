"""`!ping` round trip with the master in the Element stack, against the nio echo floor.

Run: .venv/bin/python -m tests.bench.element [--pings 30] [--rounds 2]

The master is played by the Element-stack client (`tests/support/element.py`: matrix-js-sdk
43 with its Rust crypto) in "exclude insecure devices" (`OnlySignedDevicesIsolationMode`),
sending `!ping` to the coordinator of a running `chavion up`. The floor is measured in the
same run exactly as `tests.bench.foundation` measures it: the nio master pinging a minimal
nio echo bot in the same council room, with as many clients syncing as Chavion runs bots
(the echo bot's device is not cross-signed, so the Element client, which withholds room keys
from such devices in this mode, cannot play the master against it). Both masters stay logged
in and syncing throughout, so both sides have the same syncing clients. Target: the Element
round trip within 1.25x of the floor, as for `!ping` in the foundation benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bots.homeserver.credentials import load_credentials
from bots.homeserver.process import free_port
from bots.settings.data_dir import DataDir
from tests.bench.foundation import (
    Up,
    bench_session,
    measure_floor,
    write_config,
)
from tests.support.element import ElementClient, replies_to


async def element_pings(
    element: ElementClient, room: str, responder: str, count: int
) -> list[float]:
    times = []
    for index in range(count):
        sent = time.monotonic()
        event = await element.say(room, f"!ping {index}")
        [reply] = await element.wait_for(replies_to(event, responder), timeout=30)
        assert reply.failure is None, f"pong not decrypted: {reply.failure}"
        times.append(reply.received_at - sent)
    return times[1:]  # the first message of a session also shares room keys


async def element_sees_signed(element: ElementClient, users: Sequence[str]) -> None:
    """Every bot's current device signed by its owner as Element judges it, or the
    isolation mode would withhold the room key from it."""
    for _ in range(300):
        judged = [await element.devices(u) for u in users]
        if all(ds and any(d["signed_by_owner"] for d in ds) for ds in judged):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the Element client never saw signed devices for all of {users}")


async def round_trips(
    root: Path, port: int, pings: int, rounds: int
) -> tuple[list[float], list[float]]:
    config = write_config(root, port, start_synapse=False)
    settings, synapse, council, master = await bench_session(root, config)
    data = DataDir(settings.data_dir)
    coordinator = settings.user_id(settings.coordinator)
    creds = load_credentials(data, settings.master.localpart)
    assert creds
    element = await ElementClient.start(root / "element")
    floor: list[float] = []
    measured: list[float] = []
    try:
        assert await element.login(settings.homeserver.client_url, creds.user_id, creds.password)
        await element.isolation("only_signed")
        for round_number in range(rounds):
            up = Up(config, root / "bench-up.log")
            await asyncio.to_thread(up.start)
            bots = [settings.user_id(a) for a in settings.accounts]
            await master.sees_devices_of(*bots)
            await element_sees_signed(element, bots)
            measured += await element_pings(element, council.room_id, coordinator, pings)
            await asyncio.to_thread(up.stop)

            floor += await measure_floor(
                master, settings, data, root / f"echo-{round_number}", council, pings
            )
    finally:
        await element.close()
        await master.close()
        await synapse.stop()
    return floor, measured


def p90(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pings", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("nio").setLevel(logging.ERROR)  # undecryptable history is expected noise
    with tempfile.TemporaryDirectory(prefix="chavion-bench-element-") as tmp:
        root = Path(tmp)
        port = free_port()
        up = Up(write_config(root, port, start_synapse=True), root / "up.log")
        up.start()  # provisions Synapse, the accounts and the room, as a user's first `up`
        up.stop()
        floor, element = asyncio.run(round_trips(root, port, args.pings, args.rounds))
    f, e = statistics.median(floor), statistics.median(element)
    print(
        f"!ping round trip, median of {len(element)}: Element master (only signed devices) "
        f"{e * 1000:.0f} ms, nio echo floor {f * 1000:.0f} ms"
    )
    print(f"p90: Element master {p90(element) * 1000:.0f} ms, floor {p90(floor) * 1000:.0f} ms")
    print(f"ratio Element/floor: {e / f:.2f}x (target <= 1.25x)")


if __name__ == "__main__":
    main()
