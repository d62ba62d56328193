"""Tasks benchmark: many tasks at once through the whole workflow, zero-latency fake agents.

Run: .venv/bin/python -m tests.bench.tasks [--tasks 20] [--baseline 3]

Every bot (6 agents, coordinator, executor) runs in ONE process, `chavion up` without Synapse,
as a user runs it; the fake LLM server answers at once, scripted by stage (`CouncilScript`):
six proposals, a poll with six votes and reasons, a one-step read-only plan (`df -h` on
`local`), a review. Read-only steps are auto-approved (`tasks.auto_approve_readonly`), so no
person is in the loop. Measured:

- the baseline: one task alone, order to report (median of `--baseline` runs);
- `--tasks` orders sent at once: tasks per minute (first order to last report), p50/p95 of
  each task's order-to-report time, against the baseline;
- Matrix events per task, counted from the homeserver (`/messages` paginated forward from the
  run's start, decrypted by the master's client, each event given to the task whose thread,
  poll, plan or "#N" line it belongs to), for one task alone and for each of the tasks sent at
  once, against the minimum the workflow needs (`minimum_events`). The master's client alone
  under-counts with many tasks at once: a limited sync leaves events out (also printed);
- peak RSS (VmHWM) of the one process running all 8 bots; target under 250 MB, against its
  RSS when idle after start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bots.events import COUNCIL_KEY
from bots.homeserver.process import free_port
from tests.bench.agents import KEY_ENV, six_agents
from tests.bench.foundation import Up, bench_session, write_config
from tests.fakes.llm_server import FakeLLMServer
from tests.support.council_script import CouncilScript, agent_models
from tests.support.person import Person, Seen
from tests.support.room_events import (
    RoomEventCounts,
    ServerEvent,
    count_by_task,
    room_events_page,
    room_events_since,
)

AGENTS = 6
TARGET_RSS_MB = 250


def minimum_events(agents: int, steps: int = 1) -> dict[str, int]:
    """What the workflow cannot do without, for one task whose steps are auto-approved.

    The ack (which is also the proposal ask), one proposal per agent, the poll, one poll
    response and one reason per agent, the poll's end, the plan ask and the plan, the review
    ask and the review, the plan shown to the master, per step one request and one result,
    the report and its line in the main timeline; then the minutes (on by default): the
    scribe's ask, its text, and the decision and status report the coordinator adds.
    """
    return {
        "ack": 1,
        "proposals": agents,
        "poll start": 1,
        "poll responses": agents,
        "vote reasons": agents,
        "poll end": 1,
        "plan ask + plan": 2,
        "review ask + review": 2,
        "plan message": 1,
        "exec requests": steps,
        "exec results": steps,
        "report + timeline line": 2,
        "minutes ask + minutes + status": 3,
    }


def with_tasks(config: Path) -> Path:
    """The config with the task section a benchmark needs: read-only steps auto-approved,
    every task in work at once, waits long enough for a loaded machine."""
    loaded: dict[str, Any] = yaml.safe_load(config.read_text(encoding="utf-8"))
    loaded["tasks"] = {
        "auto_approve_readonly": True,
        "max_active": 50,
        "proposal_seconds": 120,
        "vote_seconds": 120,
        "plan_seconds": 120,
        "review_seconds": 120,
    }
    config.write_text(yaml.safe_dump(loaded, allow_unicode=True), encoding="utf-8")
    return config


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc (VmRSS, VmHWM)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def council_of(seen: Seen) -> dict[str, Any]:
    found = seen.content.get(COUNCIL_KEY)
    return found if isinstance(found, dict) else {}


class ServerReports:
    """The reports as the homeserver holds them, read every second from a sync token on: with
    many tasks at once a limited sync can leave a report out of what the master's client
    receives, and the benchmark would wait for it in vain."""

    def __init__(self, master: Person, room: str, token: str) -> None:
        self.master = master
        self.room = room
        self.token = token
        self.sent_at: dict[str, int] = {}
        """Event id → its origin_server_ts (ms), for the orders."""
        self.reports: dict[str, ServerEvent] = {}
        """Thread root → the report in that thread."""
        self.changed = asyncio.Event()

    async def run(self) -> None:
        while True:
            events, self.token = await room_events_page(self.master, self.room, self.token)
            for event in events:
                self.sent_at[event.event_id] = event.ts
                root = event.relates_to.get("event_id")
                if event.council.get("kind") == "report" and isinstance(root, str):
                    self.reports[root] = event
            if events:
                self.changed.set()
                self.changed = asyncio.Event()
            await asyncio.sleep(1)

    async def report(self, root: str) -> tuple[ServerEvent, float]:
        """The report of the task rooted at `root`, and the seconds from the order to it by
        the homeserver's clock."""
        while root not in self.reports or root not in self.sent_at:
            await self.changed.wait()
        report = self.reports[root]
        return report, (report.ts - self.sent_at[root]) / 1000


class Orders:
    """The master's side: orders, and the time each task's report arrives."""

    def __init__(self, master: Person, room: str, coordinator: str, server: ServerReports) -> None:
        self.master = master
        self.room = room
        self.coordinator = coordinator
        self.server = server
        self.missed = 0
        """Reports the master's client never received (a limited sync), found on the server."""
        self.timeline: list[tuple[float, str]] = []
        """The first task's thread: seconds after the order, first line of each message."""
        self.roots: list[str] = []
        """Every order's event id (its task's thread root), in the order they were sent."""

    async def one(self, mission: str, timeout: float = 600) -> float:
        """Order → the report in its thread; seconds."""
        started = time.monotonic()
        root = await self.master.say(self.room, f"//chavion_task: {mission}")
        self.roots.append(root)

        def report(seen: Seen) -> bool:
            relates = seen.relates_to
            return (
                seen.sender == self.coordinator
                and relates.get("rel_type") == "m.thread"
                and relates.get("event_id") == root
                and council_of(seen).get("kind") == "report"
            )

        client = asyncio.create_task(self.master.wait_for(report, timeout=timeout))
        server = asyncio.create_task(self.server.report(root))
        await asyncio.wait({client, server}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        server.cancel()
        if not client.done():
            # The server has it; give the client a moment, else the client missed it.
            await asyncio.wait({client}, timeout=5)
        if not client.done() or client.exception() is not None:
            client.cancel()
            if server.cancelled() or not server.done():
                thread = [
                    s.body[:100]
                    for s in self.master.seen
                    if s.relates_to.get("event_id") == root and s.sender == self.coordinator
                ]
                raise RuntimeError(f"no report for {mission!r} in {timeout:.0f} s: {thread}")
            found, seconds = server.result()
            self.missed += 1
            if str(found.content.get("body", "")).split(" ", 2)[1:2] != ["✅"]:
                raise RuntimeError(f"task {mission!r} did not complete: {found.content}")
            return seconds
        [done] = client.result()
        if not done.body.split(" ", 2)[1:2] == ["✅"]:
            raise RuntimeError(f"task {mission!r} did not complete: {done.body[:300]}")
        if not self.timeline:
            seen = [
                s
                for s in self.master.seen
                if s.relates_to.get("event_id") == root and s.received_at <= done.received_at
            ]
            self.timeline = [(s.received_at - started, s.body.split("\n", 1)[0][:70]) for s in seen]
        return done.received_at - started


def bot_events(master: Person, bots: set[str], since: float) -> Counter[str]:
    """Non-state events the bots sent into the room after `since`, by type (messages by
    their COUNCIL_KEY kind, else msgtype)."""
    counted: Counter[str] = Counter()
    for seen in master.seen:
        if seen.sender in bots and seen.received_at >= since:
            kind = council_of(seen).get("kind")
            edit = "edit " if "m.new_content" in seen.content else ""
            counted[f"m.room.message {edit}({kind or seen.content.get('msgtype')})"] += 1
    for event_type, seen in master.events:
        if seen.sender in bots and seen.received_at >= since:
            counted[event_type] += 1
    return counted


async def run(root: Path, tasks: int, baseline_runs: int, timeout: float) -> dict[str, Any]:
    os.environ[KEY_ENV] = "bench"
    async with FakeLLMServer() as server:
        agents = six_agents(server)
        server.respond(CouncilScript(agent_models(agents)))
        port = free_port()
        setup = Up(write_config(root, port, start_synapse=True, agents=agents), root / "setup.log")
        await asyncio.to_thread(setup.start)  # provisions accounts and room, then stops
        await asyncio.to_thread(setup.stop)
        config = with_tasks(write_config(root, port, start_synapse=False, agents=agents))
        settings, synapse, council, master = await bench_session(root, config)
        up = Up(config, root / "up.log")
        try:
            await asyncio.to_thread(up.start)
            assert up.process is not None
            pid = up.process.pid
            await master.sees_devices_of(*(settings.user_id(a) for a in settings.accounts))
            idle_rss, _ = peak_rss_mb(pid)
            bots = {str(settings.user_id(a)) for a in settings.accounts}
            alone_token = str(master.client.next_batch)
            reports = ServerReports(master, council.room_id, alone_token)
            watching = asyncio.create_task(reports.run())
            coordinator = settings.user_id(settings.coordinator)
            orders = Orders(master, council.room_id, coordinator, reports)

            before = time.monotonic()
            alone = [
                await orders.one(f"report disk usage of local ({i})", timeout)
                for i in range(baseline_runs)
            ]
            await master.settle(2)  # the last timeline line
            alone_events = bot_events(master, bots, before)
            alone_roots = list(orders.roots)
            mark = started = time.monotonic()
            times = await asyncio.gather(
                *(orders.one(f"report disk usage of local [{i}]", timeout) for i in range(tasks))
            )
            wall = time.monotonic() - started
            await master.settle(2)  # the last timeline lines
            together_events = bot_events(master, bots, mark)
            watching.cancel()
            _, peak_rss = peak_rss_mb(pid)
            room = council.room_id
            events = await room_events_since(master, room, alone_token)
            together_roots = orders.roots[len(alone_roots) :]
            first = next(i for i, e in enumerate(events) if e.event_id == together_roots[0])
            alone_counts = count_by_task(events[:first], alone_roots, bots)
            together_counts = count_by_task(events[first:], together_roots, bots)
            await asyncio.to_thread(up.stop)
        finally:
            if up.process is not None and up.process.poll() is None:
                up.process.kill()
            await master.close()
            await synapse.stop()
        return {
            "alone": alone,
            "times": list(times),
            "wall": wall,
            "alone_events": alone_events,
            "events": together_events,
            "alone_counts": alone_counts,
            "missed_reports": orders.missed,
            "together_counts": together_counts,
            "idle_rss": idle_rss,
            "peak_rss": peak_rss,
            "llm_calls": len(server.requests),
            "timeline": orders.timeline,
        }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def print_event_counts(results: dict[str, Any], floor: int, minimum: dict[str, int]) -> None:
    """Events per task from the homeserver, alone and at once, against the workflow's floor;
    then what the master's client received, to show what a limited sync leaves out."""
    print(f"Matrix events per task, from the homeserver (the workflow's minimum: {floor}):")
    runs: tuple[tuple[str, RoomEventCounts], ...] = (
        ("one task alone", results["alone_counts"]),
        (f"{len(results['times'])} tasks at once", results["together_counts"]),
    )
    for label, counts in runs:
        totals = counts.totals()
        mean = statistics.mean(totals) if totals else 0.0
        print(
            f"  {label}: {mean:.1f} per task (min {min(totals, default=0)}, "
            f"max {max(totals, default=0)}) → {mean / floor:.2f}x the minimum"
        )
        if counts.unattributed:
            strays = ", ".join(f"{n} {kind}" for kind, n in counts.unattributed.most_common())
            print(f"    bot events in no task: {strays}")
    together: RoomEventCounts = results["together_counts"]
    tasks = max(len(together.per_task), 1)
    for kind, count in together.by_kind().most_common():
        print(f"    {count / tasks:5.1f}  {kind}")
    print(f"  minimum: {', '.join(f'{k} {v}' for k, v in minimum.items())}")
    received = sum(results["events"].values()) / len(results["times"])
    alone = sum(results["alone_events"].values()) / len(results["alone"])
    print(
        f"  as the master's client received them (limited syncs leave some out): "
        f"{received:.1f} per task at once, {alone:.1f} alone; reports it never received "
        f"(found on the homeserver, timed by its clock): {results['missed_reports']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--baseline", type=int, default=3)
    logging.getLogger("nio").setLevel(logging.ERROR)
    parser.add_argument("--timeout", type=float, default=600, help="per task, seconds")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chavion-bench-tasks-"))
    try:
        results = asyncio.run(run(tmp, args.tasks, args.baseline, args.timeout))
    except BaseException:
        print(f"failed; the bots' log and data are kept in {tmp}")
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    alone = statistics.median(results["alone"])
    times: list[float] = results["times"]
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    per_minute = len(times) / results["wall"] * 60
    print(f"{AGENTS} agents + coordinator + executor in one process; zero-latency fake LLM")
    print(
        f"baseline: one task alone, order to report, median of {len(results['alone'])}: "
        f"{alone:.2f} s"
    )
    print(
        f"{len(times)} tasks at once: {per_minute:.1f} tasks/min "
        f"(all done in {results['wall']:.1f} s; one alone: {60 / alone:.1f}/min → "
        f"{per_minute / (60 / alone):.2f}x the throughput)"
    )
    print(
        f"  task time p50 {p50:.2f} s ({p50 / alone:.2f}x baseline), "
        f"p95 {p95:.2f} s ({p95 / alone:.2f}x)"
    )
    minimum = minimum_events(AGENTS)
    floor = sum(minimum.values())
    print_event_counts(results, floor, minimum)
    print(
        f"peak RSS of the bots' process: {results['peak_rss']:.0f} MB "
        f"(target < {TARGET_RSS_MB} MB; idle after start-up {results['idle_rss']:.0f} MB → "
        f"{results['peak_rss'] / results['idle_rss']:.2f}x)"
    )
    print("the first task alone, as the master saw its thread:")
    for at, line in results["timeline"]:
        print(f"  {at:6.2f} s  {line}")
    calls = results["llm_calls"]
    tasks_done = len(times) + len(results["alone"])
    print(f"LLM calls: {calls} for {tasks_done} tasks ({calls / tasks_done:.1f} per task)")


if __name__ == "__main__":
    main()
