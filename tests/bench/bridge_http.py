"""Bridge HTTP benchmark: the SOP server under many agents, against a bare aiohttp floor.

Run: .venv/bin/python -m tests.bench.bridge_http [--full] [--rounds 2] [--pollers 500]
     [--posters 50]

Load, for 10 s (30 s with --full) after a 1 s warm-up: `--pollers` clients each polling
`GET /api/tasks` (50 tasks, each client with its own token) and `--posters` clients each
posting `POST /api/messages`, all on loopback, as fast as each answer comes back.

Subject: `build_app` with the in-memory ports (tests/support/bridge_ports.py): every call
through the token, the rate limit (set high enough not to refuse), the body checks and the
JSON errors middleware. Floor in the same run, with the same load generator: a bare aiohttp
app answering the same two paths with the same JSON and no checks at all. Each server runs
in its own process (so its RSS is its own); the clients share one process, which on a small
machine is the real ceiling — the ratio to the floor is what reads. Printed: requests/s,
p50/p99/max latency per kind, errors (anything but 2xx, or a failed connection), the
server's RSS idle and at its peak, the server's CPU time per request (steadier than req/s
when the client or other work holds the CPU), and the ratios. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

TASKS = 50


def tokens(count: int) -> list[str]:
    return [f"t-agent{k}" for k in range(count)]


# --- the servers (child processes) ---------------------------------------------------------


def subject_app(clients: int) -> web.Application:
    from bridge.http.app import build_app
    from bridge.http.settings import BridgeHttpSettings
    from tests.support.bridge_ports import memory

    mem = memory(*(f"agent{k}" for k in range(clients)))
    for n in range(TASKS):
        mem.tasks.add(f"Task number {n}: renew something important", status="pending")
    settings = BridgeHttpSettings(port=0, rate_per_minute=1e9, burst=10**9)
    return build_app(mem.ports(), settings)


def floor_app() -> web.Application:
    """The same answers, built the same way, without any check or port."""
    from dataclasses import asdict

    from tests.support.bridge_ports import memory

    mem = memory()
    for n in range(TASKS):
        mem.tasks.add(f"Task number {n}: renew something important", status="pending")
    count = [0]

    async def list_tasks(_request: web.Request) -> web.Response:
        views = list(reversed(mem.tasks.tasks.values()))
        return web.json_response({"tasks": [asdict(v) for v in views], "count": len(views)})

    async def post_message(request: web.Request) -> web.Response:
        await request.json()
        count[0] += 1
        return web.json_response({"success": True, "event_id": f"$m{count[0]}"}, status=201)

    app = web.Application()
    app.router.add_get("/api/tasks", list_tasks)
    app.router.add_post("/api/messages", post_message)
    return app


async def run_server(kind: str, clients: int, port_file: Path) -> None:
    app = subject_app(clients) if kind == "subject" else floor_app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    port = str(server.sockets[0].getsockname()[1])
    await asyncio.to_thread(port_file.write_text, port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


# --- the load (this process) ---------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_error: str = ""
    seconds: float = 0.0
    rss_idle_kib: int = 0
    rss_peak_kib: int = 0
    server_cpu: float = 0.0  # seconds of CPU the server used while measured

    @property
    def count(self) -> int:
        return sum(len(xs) for xs in self.latencies.values())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (0 where /proc is not available)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def client_loop(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    kind: str,
    until: float,
    measure_from: float,
    results: Results,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    body = json.dumps({"content": f"progress from {token}"}).encode()
    n = 0
    while (now := time.monotonic()) < until:
        n += 1
        try:
            if kind == "poll":
                async with session.get(f"{url}/api/tasks", headers=headers) as r:
                    await r.read()
                    ok = r.status == 200
            else:
                post_headers = {**headers, "Content-Type": "application/json"}
                async with session.post(
                    f"{url}/api/messages", data=body, headers=post_headers
                ) as r:
                    await r.read()
                    ok = r.status == 201
            error = "" if ok else f"status {r.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        done = time.monotonic()
        if now >= measure_from:
            if error:
                results.errors[kind] += 1
                results.first_error = results.first_error or error
            else:
                results.latencies[kind].append(done - now)


async def load(url: str, pid: int, args: argparse.Namespace) -> Results:
    results = Results(rss_idle_kib=rss_kib(pid))
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    names = tokens(args.pollers + args.posters)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic()
        measure_from = start + 1.0
        until = measure_from + args.seconds
        loops = [
            client_loop(session, url, names[k], "poll", until, measure_from, results)
            for k in range(args.pollers)
        ] + [
            client_loop(session, url, names[args.pollers + k], "post", until, measure_from, results)
            for k in range(args.posters)
        ]

        async def sample() -> None:
            await asyncio.sleep(measure_from - time.monotonic())
            cpu_from = cpu_seconds(pid)
            while time.monotonic() < until:
                results.rss_peak_kib = max(results.rss_peak_kib, rss_kib(pid))
                await asyncio.sleep(0.25)
            results.server_cpu = cpu_seconds(pid) - cpu_from

        await asyncio.gather(*loops, sample())
        results.seconds = args.seconds
    return results


def measure(kind: str, args: argparse.Namespace) -> Results:
    with tempfile.TemporaryDirectory() as folder:
        port_file = Path(folder) / "port"
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.bench.bridge_http",
                "--serve",
                kind,
                "--clients",
                str(args.pollers + args.posters),
                "--port-file",
                str(port_file),
            ],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if child.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the {kind} server did not start")
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}"
            return asyncio.run(load(url, child.pid, args))
        finally:
            child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
            if child.poll() is None:
                child.kill()


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(runs: list[Results]) -> dict[str, float]:
    every = [x for r in runs for xs in r.latencies.values() for x in xs]
    count = sum(r.count for r in runs)
    return {
        "rps": count / sum(r.seconds for r in runs),
        "p99": quantile(every, 0.99),
        "cpu_ms": 1000 * sum(r.server_cpu for r in runs) / max(1, count),
    }


def report(floors: list[Results], subjects: list[Results], args: argparse.Namespace) -> None:
    print(
        f"load: {args.pollers} clients polling GET /api/tasks ({TASKS} tasks), {args.posters} "
        f"posting POST /api/messages, {args.seconds:g} s measured after 1 s warm-up, loopback, "
        f"{args.rounds} round(s) each, floor and bridge alternating; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':8} {'kind':5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    rows = [("floor", r) for r in floors] + [("bridge", r) for r in subjects]
    for name, results in rows:
        for kind in ("poll", "post"):
            xs = results.latencies[kind]
            print(
                f"{name:8} {kind:5} {len(xs) / results.seconds:8.0f} "
                f"{statistics.median(xs) * 1000 if xs else float('nan'):8.1f} "
                f"{quantile(xs, 0.99) * 1000:8.1f} {max(xs, default=float('nan')) * 1000:8.1f} "
                f"{results.errors[kind]:7d}"
            )
        if results.first_error:
            print(f"{'':8} first error: {results.first_error}")
        print(
            f"{'':8} server RSS: {results.rss_idle_kib / 1024:.0f} MiB idle, "
            f"{results.rss_peak_kib / 1024:.0f} MiB peak; server CPU "
            f"{1000 * results.server_cpu / max(1, results.count):.2f} ms a request"
        )
    f, s = summary(floors), summary(subjects)
    print(
        f"ratio bridge/floor: server CPU a request {s['cpu_ms'] / f['cpu_ms']:.2f} "
        f"({s['cpu_ms']:.2f} vs {f['cpu_ms']:.2f} ms), req/s {s['rps'] / f['rps']:.2f} "
        f"({s['rps']:.0f} vs {f['rps']:.0f}), p99 {s['p99'] / f['p99']:.2f} "
        f"({s['p99'] * 1000:.0f} vs {f['p99'] * 1000:.0f} ms)"
    )
    print(
        "(one client process drives all the load: req/s and latency are bounded by it and by "
        "other load on the machine; the server's CPU a request is the steadier figure)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--full", action="store_true", help="30 s instead of 10 s")
    parser.add_argument("--pollers", type=int, default=500)
    parser.add_argument("--posters", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="floor/bridge pairs, alternating")
    parser.add_argument("--serve", choices=("subject", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(run_server(args.serve, args.clients, args.port_file))
        return
    args.seconds = 30.0 if args.full else 10.0
    floors: list[Results] = []
    subjects: list[Results] = []
    for _ in range(args.rounds):
        floors.append(measure("floor", args))
        subjects.append(measure("subject", args))
    report(floors, subjects, args)


if __name__ == "__main__":
    main()
