"""Agents benchmark, with a zero-latency fake LLM behind the real SDKs.

Run: .venv/bin/python -m tests.bench.agents [--messages 20] [--rounds 2]

(a) the master names one agent → that agent's reply, against the floor measured in the same
    run: a bare nio echo client on the same Synapse with as many clients syncing;
    target within 1.25x.
(b) a broadcast to all six agents → all six replies seen, against (a); target within 1.5x.

Two floors put (b) in proportion: six nio echo bots answering one message, and Synapse on
its own, six of the agents' accounts sending at once against one of them sending (no bot
logic at all, only the sends and the master's sync that sees them).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from nio import AsyncClient

from bots.homeserver.credentials import load_credentials
from bots.homeserver.process import free_port
from bots.settings.data_dir import DataDir
from bots.settings.paths import EXAMPLE_CONFIG
from tests.bench.foundation import (
    Up,
    bench_session,
    close_echo_clients,
    echo_client,
    knows_device,
    measure_pings,
    write_config,
)
from tests.fakes.llm_server import FakeLLMServer
from tests.support.person import Person, Seen, replies_to

KEY_ENV = "CHAVION_BENCH_LLM_KEY"


def six_agents(server: FakeLLMServer) -> list[dict[str, Any]]:
    """The example's five agents plus one more, each aimed at the fake server."""
    example: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    agents = [copy.deepcopy(a) for a in example["agents"]]
    extra = copy.deepcopy(agents[1])
    extra.update(
        name="mistral",
        localpart="mistral",
        display_name="Mistral",
        aliases=["미스트랄"],
        provider="openai-compatible",
        model="mistral-large",
    )
    agents.append(extra)
    urls = {
        "anthropic": server.anthropic_base_url,
        "openai": server.openai_base_url,
        "openai-compatible": server.openai_base_url,
        "gemini": server.gemini_base_url,
    }
    for agent in agents:
        agent["base_url"] = urls[agent["provider"]]
        agent["api_key_env"] = KEY_ENV
        agent.pop("budget", None)
    return agents


async def broadcast_times(
    master: Person,
    room: str,
    responders: Sequence[str],
    count: int,
    text: str = "everyone, roll call",
) -> list[float]:
    times = []
    for index in range(count):
        sent = time.monotonic()
        event = await master.say(room, f"{text} {index}")
        arrivals = []
        for responder in responders:
            [reply] = await master.wait_for(replies_to(event, responder), timeout=30)
            arrivals.append(reply.received_at)
        times.append(max(arrivals) - sent)
    return times[1:]


def has_body(body: str, seen: Seen) -> bool:
    return seen.body == body


async def sends_seen(
    master: Person, room: str, senders: Sequence[AsyncClient], count: int, tag: str
) -> list[float]:
    """From the first send to the master seeing the last of them: what Synapse alone costs
    for as many messages as a broadcast answers with, in the same shape as a reply."""
    times = []
    for index in range(count):
        body = f"{tag} {index}"
        content = {"msgtype": "m.text", "body": body, "m.mentions": {"user_ids": [master.user_id]}}
        started = time.monotonic()
        await asyncio.gather(
            *(
                sender.room_send(room, "m.room.message", content, ignore_unverified_devices=True)
                for sender in senders
            )
        )
        seen = await master.wait_for(partial(has_body, body), count=len(senders))
        times.append(max(s.received_at for s in seen) - started)
    return times[1:]


async def run(root: Path, messages: int, rounds: int) -> dict[str, list[float]]:
    os.environ[KEY_ENV] = "bench"
    results: dict[str, list[float]] = {
        "floor": [],
        "single": [],
        "broadcast": [],
        "floor_broadcast": [],
        "send_one": [],
        "send_six": [],
    }
    async with FakeLLMServer() as server:
        port = free_port()
        agents = six_agents(server)
        setup = Up(write_config(root, port, start_synapse=True, agents=agents), root / "setup.log")
        await asyncio.to_thread(setup.start)  # provisions accounts and room, then stops
        await asyncio.to_thread(setup.stop)
        config = write_config(root, port, start_synapse=False, agents=agents)
        settings, synapse, council, master = await bench_session(root, config)
        data = DataDir(settings.data_dir)
        agent_ids = [settings.user_id(a.account) for a in settings.agents]
        claude = agent_ids[0]
        try:
            for round_number in range(rounds):
                up = Up(config, root / "up.log")
                await asyncio.to_thread(up.start)
                await master.sees_devices_of(*(settings.user_id(a) for a in settings.accounts))
                results["single"] += await measure_pings(
                    master, council.room_id, claude, messages, text="claude, ping"
                )
                results["broadcast"] += await broadcast_times(
                    master, council.room_id, agent_ids, messages
                )
                await asyncio.to_thread(up.stop)

                clients = []
                for account in settings.accounts:
                    bot = load_credentials(data, account.localpart)
                    assert bot
                    clients.append(
                        await echo_client(
                            settings.homeserver.client_url,
                            bot.user_id,
                            bot.password,
                            root / f"echo-{round_number}-{account.localpart}",
                            echo=account.kind == "agent",
                            trigger=("floor, ping", "floor roll")
                            if account.name == "claude"
                            else "floor roll",
                            as_text=True,  # agents answer the master in m.text, mentioning them
                        )
                    )
                for account, (client, _) in zip(settings.accounts, clients, strict=True):
                    if account.kind == "agent":
                        await master.sees_devices_of(device=(client.user_id, client.device_id))
                        await knows_device(client, master.user_id, master.client.device_id)
                # Texts no agent answers, so Chavion has nothing to catch up on next round.
                results["floor"] += await measure_pings(
                    master, council.room_id, claude, messages, text="floor, ping"
                )
                results["floor_broadcast"] += await broadcast_times(
                    master, council.room_id, agent_ids, messages, text="floor roll"
                )
                senders = [
                    client
                    for account, (client, _) in zip(settings.accounts, clients, strict=True)
                    if account.kind == "agent"
                ]
                results["send_one"] += await sends_seen(
                    master, council.room_id, senders[:1], messages, f"alone {round_number}"
                )
                results["send_six"] += await sends_seen(
                    master, council.room_id, senders, messages, f"together {round_number}"
                )
                await close_echo_clients(clients)
        finally:
            await master.close()
            await synapse.stop()
        results["llm_calls"] = [float(len(server.requests))]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("nio").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="chavion-bench-agents-") as tmp:
        results = asyncio.run(run(Path(tmp), args.messages, args.rounds))
    floor = statistics.median(results["floor"])
    single = statistics.median(results["single"])
    broadcast = statistics.median(results["broadcast"])
    sent = args.rounds * args.messages
    print("agents: 6 (+ coordinator and executor = 8 syncing bots), zero-latency fake LLM")
    print(
        f"(a) addressed reply, median of {len(results['single'])}: chavion {single * 1000:.0f} ms,"
        f" nio echo floor {floor * 1000:.0f} ms → {single / floor:.2f}x (target <= 1.25x)"
    )
    floor_all = statistics.median(results["floor_broadcast"])
    print(
        f"    floor for (b): 6 nio echo bots answering one message, all 6 seen: "
        f"{floor_all * 1000:.0f} ms → {floor_all / floor:.2f}x of one echo"
    )
    print(
        f"(b) broadcast, all 6 replies, median of {len(results['broadcast'])}: "
        f"{broadcast * 1000:.0f} ms → {broadcast / single:.2f}x of (a) (target <= 1.5x); "
        f"{broadcast / floor_all:.2f}x of its floor"
    )
    one, six = statistics.median(results["send_one"]), statistics.median(results["send_six"])
    print(
        f"    Synapse alone: six accounts sending at once, all six seen: {six * 1000:.0f} ms, "
        f"one account sending: {one * 1000:.0f} ms → {six / one:.2f}x"
    )
    calls = int(results["llm_calls"][0])
    print(
        f"LLM calls: {calls} for {sent} addressed + {sent} broadcast messages "
        f"(expected {sent + 6 * sent}: one per reply, none for anything else)"
    )


if __name__ == "__main__":
    main()
