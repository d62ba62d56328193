"""Voice-in benchmark: the master's voice message → the transcriber's "🎙️ …" reply, against a
plain text message's round trip (`!ping` → the coordinator's answer), measured in the same
run on the same Synapse with the same bots up.

Run: .venv/bin/python -m tests.bench.voice_in [--messages 20] [--rounds 2]

The fake transcription endpoint answers at once, so the difference is Chavion's own: the
upload of the voice message by the master, its download (decrypted: the council room is
encrypted) and Ogg check by the transcriber, the SDK's multipart request, the thread
routing's store reads, and the transcript's send. Target: within 1.5x of the text round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bots.events import TRANSCRIPT_KEY
from bots.homeserver.process import free_port
from tests.bench.foundation import Up, bench_session, measure_pings, write_config
from tests.fakes.llm_server import FakeLLMServer
from tests.support.person import Person, Seen
from tests.support.voice_sample import SAMPLE_DURATION_MS, SAMPLE_OGG, SAMPLE_WAVEFORM

KEY_ENV = "CHAVION_BENCH_LLM_KEY"
HEARD = "just a note to myself"
"""What the fake hears: addressed to no one, so no agent answers and nothing else runs."""


def with_voice(path: Path, server: FakeLLMServer) -> None:
    """The example's agents and voice input aimed at the fake server."""
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    urls = {
        "anthropic": server.anthropic_base_url,
        "openai": server.openai_base_url,
        "openai-compatible": server.openai_base_url,
        "gemini": server.gemini_base_url,
    }
    for agent in config["agents"]:
        agent["base_url"] = urls[agent["provider"]]
        agent["api_key_env"] = KEY_ENV
    config["voice"] = {
        "stt": {"backend": "openai", "base_url": server.openai_base_url, "api_key_env": KEY_ENV},
        "tts": {"backend": "off"},
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def transcript_of(voice: str, coordinator: str) -> Callable[[Seen], bool]:
    return lambda s: (
        s.sender == coordinator and s.in_reply_to == voice and TRANSCRIPT_KEY in s.content
    )


async def voice_round_trips(master: Person, room: str, coordinator: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        sent = time.monotonic()
        event = await master.send_voice(
            room, SAMPLE_OGG, duration_ms=SAMPLE_DURATION_MS, waveform=SAMPLE_WAVEFORM
        )
        [reply] = await master.wait_for(transcript_of(event, coordinator), timeout=30)
        times.append(reply.received_at - sent)
    return times[1:]  # the first also shares room keys and opens the SDK's connection


async def run(root: Path, messages: int, rounds: int) -> dict[str, list[float]]:
    os.environ[KEY_ENV] = "bench"
    results: dict[str, list[float]] = {"text": [], "voice": []}
    async with FakeLLMServer() as server:
        server.set_default_transcript(HEARD)
        port = free_port()
        setup_config = write_config(root, port, start_synapse=True)
        with_voice(setup_config, server)
        setup = Up(setup_config, root / "setup.log")
        await asyncio.to_thread(setup.start)  # provisions accounts and room, then stops
        await asyncio.to_thread(setup.stop)
        config = write_config(root, port, start_synapse=False)
        with_voice(config, server)
        settings, synapse, council, master = await bench_session(root, config)
        coordinator = settings.user_id(settings.coordinator)
        try:
            for _ in range(rounds):
                up = Up(config, root / "up.log")
                await asyncio.to_thread(up.start)
                await master.sees_devices_of(*(settings.user_id(a) for a in settings.accounts))
                # Interleaved, so load on the machine falls on both alike.
                for _ in range(2):
                    results["text"] += await measure_pings(
                        master, council.room_id, coordinator, messages // 2 + 1
                    )
                    results["voice"] += await voice_round_trips(
                        master, council.room_id, coordinator, messages // 2 + 1
                    )
                await asyncio.to_thread(up.stop)
        finally:
            await master.close()
            await synapse.stop()
        results["transcriptions"] = [float(len(server.transcription_requests))]
        results["llm_calls"] = [float(len(server.requests))]
    return results


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("nio").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="chavion-bench-voice-in-") as tmp:
        results = asyncio.run(run(Path(tmp), args.messages, args.rounds))
    text, voice = results["text"], results["voice"]
    text_median, voice_median = statistics.median(text), statistics.median(voice)
    print("voice in: encrypted council room, zero-latency fake transcription endpoint")
    print(
        f"text  (!ping → answer), {len(text)} messages: median {text_median * 1000:.0f} ms, "
        f"p95 {p95(text) * 1000:.0f} ms"
    )
    print(
        f"voice (voice message → 🎙️ transcript), {len(voice)} messages: median "
        f"{voice_median * 1000:.0f} ms, p95 {p95(voice) * 1000:.0f} ms"
    )
    print(f"ratio of medians: {voice_median / text_median:.2f}x (target <= 1.5x)")
    print(
        f"transcriptions: {int(results['transcriptions'][0])} (one per voice message sent), "
        f"LLM calls: {int(results['llm_calls'][0])} (expected 0: no one was addressed)"
    )


if __name__ == "__main__":
    main()
