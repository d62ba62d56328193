"""Divide-and-merge benchmark: a split task's four parts run in parallel, so the task takes
about as long as its slowest part, not the sum of them.

Run: .venv/bin/python -m tests.bench.split [--runs 3]

Every bot (6 agents, coordinator, executor) runs in ONE process, `chavion up` without Synapse,
as a user runs it; the fake LLM server answers every stage at once (the split, the merge,
the minutes) except the parts: four parts on four agents that "think" 0.4, 0.8, 1.2 and
1.6 s. Measured, alternating in the same run (`--runs` each, medians):

- the split task: `//chavion_task: split: …` → its report, as the master's client sees it;
- the baseline: the same split task where only the slowest part takes time (1.6 s; the
  other three answer at once), i.e. the slowest sub-task alone with the same workflow;
- the ratio of the two (target ≤ 1.3), and the parts' phase alone (working → merging, from
  the store's moves) against the slowest part's 1.6 s and against the 4.0 s of the parts
  done one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bots.homeserver.process import free_port
from bots.settings.data_dir import DataDir
from tests.bench.agents import KEY_ENV, six_agents
from tests.bench.foundation import Up, bench_session, write_config
from tests.bench.tasks import Orders, ServerReports
from tests.fakes.llm_server import FakeLLMServer, RecordedRequest, Scripted, reply
from tests.support.council_script import CouncilScript, agent_models
from tests.support.task_db import TaskDb

TARGET = 1.3
PLANNER = "gpt"
"""The judge (role `judging`), who splits and merges when `tasks.planner` is unset."""
PARTS = (("claude", 0.4), ("gemini", 0.8), ("perplexity", 1.2), ("local", 1.6))
"""Each part's agent and how long its model takes."""
SPLIT: dict[str, Any] = {
    "parts": [
        {"title": f"Part {n} of the survey", "detail": f"the {agent} share", "agent": agent}
        for n, (agent, _) in enumerate(PARTS, start=1)
    ]
}


def with_split(config: Path) -> Path:
    """Task settings for the benchmark: every wait long, split only when ordered."""
    loaded: dict[str, Any] = yaml.safe_load(config.read_text(encoding="utf-8"))
    loaded["tasks"] = {
        "max_active": 10,
        "split": "never",
        "plan_seconds": 120,
        "part_seconds": 120,
        "proposal_seconds": 120,
    }
    config.write_text(yaml.safe_dump(loaded, allow_unicode=True), encoding="utf-8")
    return config


def script(agents: list[dict[str, Any]], delays: dict[str, float]) -> CouncilScript:
    """Zero latency everywhere but the parts, which take `delays[agent]` seconds."""
    found = CouncilScript(agent_models(agents))
    found.set("split", PLANNER, "```json\n" + json.dumps(SPLIT) + "\n```")
    for agent, _ in PARTS:
        found.set("part", agent, _part(agent, delays.get(agent, 0.0)))
    found.set("merge", PLANNER, "The survey, merged from its four parts.")
    return found


def _part(agent: str, delay: float) -> Any:
    def answer(request: RecordedRequest) -> Scripted:
        return reply(f"The {agent} share, done.", delay_s=delay)

    return answer


async def phase_seconds(db: TaskDb) -> float:
    """The newest task's time in `working` (all parts asked → all parts settled)."""
    [row] = await db.rows("SELECT max(id) AS id FROM tasks")
    moves = await db.rows(
        "SELECT to_state, at FROM task_moves WHERE task_id = ? ORDER BY seq", row["id"]
    )
    at = {m["to_state"]: float(m["at"]) for m in moves}
    if "working" not in at or "merging" not in at:
        raise RuntimeError(f"task #{row['id']} did not work in parts: {moves}")
    return at["merging"] - at["working"]


async def run(root: Path, runs: int, timeout: float) -> dict[str, list[float]]:
    os.environ[KEY_ENV] = "bench"
    async with FakeLLMServer() as server:
        agents = six_agents(server)
        port = free_port()
        setup = Up(write_config(root, port, start_synapse=True, agents=agents), root / "setup.log")
        await asyncio.to_thread(setup.start)  # provisions accounts and room, then stops
        await asyncio.to_thread(setup.stop)
        config = with_split(write_config(root, port, start_synapse=False, agents=agents))
        settings, synapse, council, master = await bench_session(root, config)
        db = TaskDb(DataDir(settings.data_dir).store)
        up = Up(config, root / "up.log")
        found: dict[str, list[float]] = {"split": [], "baseline": [], "phase": [], "slow": []}
        try:
            await asyncio.to_thread(up.start)
            await master.sees_devices_of(*(settings.user_id(a) for a in settings.accounts))
            reports = ServerReports(master, council.room_id, str(master.client.next_batch))
            watching = asyncio.create_task(reports.run())
            coordinator = settings.user_id(settings.coordinator)
            orders = Orders(master, council.room_id, coordinator, reports)
            every = dict(PARTS)
            slowest = {PARTS[-1][0]: PARTS[-1][1]}
            for i in range(runs + 1):  # the first pair warms up and is not counted
                for label, delays in (("split", every), ("baseline", slowest)):
                    server.respond(script(agents, delays))
                    seconds = await orders.one(f"split: survey the fleet ({label} {i})", timeout)
                    phase = await phase_seconds(db)
                    if i:
                        found[label].append(seconds)
                        found["phase" if label == "split" else "slow"].append(phase)
                    await master.settle(1)  # its minutes, before the next order
            watching.cancel()
            await asyncio.to_thread(up.stop)
        finally:
            if up.process is not None and up.process.poll() is None:
                up.process.kill()
            await master.close()
            await synapse.stop()
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="per task, seconds")
    args = parser.parse_args()
    logging.getLogger("nio").setLevel(logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="chavion-bench-split-"))
    started = time.monotonic()
    try:
        found = asyncio.run(run(tmp, args.runs, args.timeout))
    except BaseException:
        print(f"failed; the bots' log and data are kept in {tmp}")
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    split, base = statistics.median(found["split"]), statistics.median(found["baseline"])
    phase, slow = statistics.median(found["phase"]), statistics.median(found["slow"])
    longest = PARTS[-1][1]
    total = sum(d for _, d in PARTS)
    print("6 agents + coordinator + executor in one process; fake LLM at 0 s but the parts")
    print(f"parts: {', '.join(f'{a} {d:.1f} s' for a, d in PARTS)} (one after another {total} s)")
    print(f"runs: {args.runs} of each, medians, after one warm-up pair")
    print(f"split task, order to report: {split:.2f} s ({', '.join(_s(found['split']))})")
    print(
        f"baseline, the slowest part alone (others at 0 s): {base:.2f} s "
        f"({', '.join(_s(found['baseline']))})"
    )
    verdict = "within" if split / base <= TARGET else "OVER"
    print(f"ratio: {split / base:.2f}x the baseline ({verdict} the {TARGET}x target)")
    print(
        f"the parts' phase (working → merging): {phase:.2f} s with all four, {slow:.2f} s "
        f"with the slowest alone; {phase / longest:.2f}x the slowest part's {longest} s, "
        f"{phase / total:.2f}x the parts one after another"
    )
    print(f"benchmark wall time: {time.monotonic() - started:.0f} s")


def _s(values: list[float]) -> list[str]:
    return [f"{v:.2f}" for v in values]


if __name__ == "__main__":
    main()
