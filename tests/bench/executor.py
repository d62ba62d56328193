"""Executor benchmark: many short commands on one host, against plain asyncssh and `ssh`.

Run: .venv/bin/python -m tests.bench.executor [--commands 200] [--concurrency 16] [--rounds 3]
     (as root: it starts a real OpenSSH sshd on loopback with scripts/sshd-test, in a temp
     directory, and stops it at the end; --profile adds a CPU profile of one Chavion batch)

Subject: Chavion's `CommandRunner` (global and per-host limit = concurrency) running `--commands`
short commands (`echo ok`) on that sshd, all started at once with asyncio.gather, timed from
the first start until every RunResult is back. Measured in the same run, interleaved round by
round to cancel drift:

- plain asyncssh: one `asyncssh.connect` with the same key, known_hosts, user and port, and
  the same commands through `conn.run()` under an asyncio.Semaphore(concurrency);
  target: Chavion's throughput at least 0.85x of it;
- sequential OpenSSH `ssh` invocations, a new process and connection each (a sample of
  `--ssh-sample`, scaled to `--commands`); target: Chavion at least 10x its throughput.

"Warm" batches run on a connection opened beforehand with one command outside the timing;
"cold" batches include opening the connection. A diagnostic line also times asyncssh sending
exactly what Chavion sends (the command under its kill-on-EOF wrapper, executor/wrapper.py:
bash in a fixed environment), to tell the client's overhead from the extra work the wrapper
costs the server.

Sandboxed: the same warm batch as an auto-approved command runs, inside the read-only
sandbox (bubblewrap, executor/sandbox.py), against the same plain asyncssh; and asyncssh
sending that sandboxed command line, as a diagnostic. Both ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import asyncssh

from executor.results import RunResult
from executor.runner import CommandRunner, Limits
from executor.wrapper import wrap_command
from tests.fakes.sshd import SshdServer, start_sshd, stop_sshd

COMMAND = "echo ok"
EXPECTED = "ok\n"

Batch = Callable[[], Awaitable[None]]


def machine_cpu() -> float:
    """CPU seconds all processes of the machine have used so far (0 without /proc/stat).

    Client and sshd share the machine's CPUs, so when they are all busy, throughput is set
    by the CPU each command costs on both sides together.
    """
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    busy = sum(fields) - fields[3] - fields[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass
class Samples:
    """Per batch: seconds of wall clock, CPU seconds of this process and of the machine."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    machine: list[float] = field(default_factory=list)

    async def time(self, batch: Batch) -> None:
        machine, cpu, wall = machine_cpu(), time.process_time(), time.perf_counter()
        await batch()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)
        self.machine.append(machine_cpu() - machine)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


def check(results: list[RunResult]) -> None:
    for result in results:
        if not result.ok or result.stdout != EXPECTED:
            raise RuntimeError(f"chavion: unexpected result {result!r}")


def check_asyncssh(results: list[asyncssh.SSHCompletedProcess]) -> None:
    for result in results:
        if result.exit_status != 0 or result.stdout != EXPECTED:
            raise RuntimeError(f"asyncssh: unexpected result {result!r}")


def chavion_batch(
    executor: CommandRunner, host: str, commands: int, *, sandboxed: bool = False
) -> Batch:
    async def batch() -> None:
        runs = (executor.run(host, COMMAND, sandboxed=sandboxed) for _ in range(commands))
        results = await asyncio.gather(*runs)
        check(results)
        if any(result.sandboxed != sandboxed for result in results):
            raise RuntimeError(f"chavion: asked sandboxed={sandboxed}, got {results[0]!r}")

    return batch


async def connect(server: SshdServer) -> asyncssh.SSHClientConnection:
    """Plain asyncssh with the options Chavion's pool uses (same key, known_hosts, user)."""
    return await asyncssh.connect(
        "127.0.0.1",
        server.port,
        username=server.user,
        known_hosts=str(server.known_hosts),
        client_keys=[str(server.client_key)],
        agent_path=None,
        config=None,
        gss_host=None,
        preferred_auth="publickey",
    )


def asyncssh_batch(
    conn: asyncssh.SSHClientConnection, commands: int, concurrency: int, command: str = COMMAND
) -> Batch:
    async def batch() -> None:
        slots = asyncio.Semaphore(concurrency)

        async def one() -> asyncssh.SSHCompletedProcess:
            async with slots:
                return await conn.run(command)

        check_asyncssh(await asyncio.gather(*(one() for _ in range(commands))))

    return batch


async def close(conn: asyncssh.SSHClientConnection) -> None:
    conn.close()
    await conn.wait_closed()


async def ssh_sequential(server: SshdServer, count: int) -> None:
    """`count` OpenSSH client runs one after the other, each its own process and connection."""
    argv = [
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        str(server.client_key),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        f"UserKnownHostsFile={server.known_hosts}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ControlMaster=no",
        "-o",
        "ControlPath=none",
        "-p",
        str(server.port),
        f"{server.user}@127.0.0.1",
        COMMAND,
    ]
    for _ in range(count):
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
        if process.returncode != 0 or stdout.decode() != EXPECTED:
            raise RuntimeError(f"ssh exited {process.returncode}: {stderr.decode().strip()}")


@dataclass
class Results:
    chavion: Samples = field(default_factory=Samples)
    plain: Samples = field(default_factory=Samples)
    wrapped: Samples = field(default_factory=Samples)
    sandboxed: Samples = field(default_factory=Samples)
    wrapped_sandboxed: Samples = field(default_factory=Samples)
    chavion_cold: Samples = field(default_factory=Samples)
    plain_cold: Samples = field(default_factory=Samples)
    ssh: Samples = field(default_factory=Samples)
    connections: int = 0
    rss_before: int = 0
    profile: str = ""


async def run(server: SshdServer, args: argparse.Namespace) -> Results:
    host = replace(server.host, max_concurrent=args.concurrency)
    limits = Limits(max_concurrent=args.concurrency)
    results = Results(rss_before=rss_kib())

    async def chavion_warm(executor: CommandRunner) -> None:
        await executor.run(host.name, COMMAND)  # opens the connection, outside the timing
        await results.chavion.time(chavion_batch(executor, host.name, args.commands))
        # The sandbox check of the connection, once, outside the timing too.
        await executor.run(host.name, COMMAND, sandboxed=True)
        await results.sandboxed.time(
            chavion_batch(executor, host.name, args.commands, sandboxed=True)
        )

    async def chavion_cold() -> None:
        async with CommandRunner([host], limits=limits) as executor:
            await results.chavion_cold.time(chavion_batch(executor, host.name, args.commands))

    async def plain_cold() -> None:
        opened: list[asyncssh.SSHClientConnection] = []

        async def batch() -> None:
            opened.append(await connect(server))
            await asyncssh_batch(opened[0], args.commands, args.concurrency)()

        await results.plain_cold.time(batch)  # closing is not timed, as for Chavion
        await close(opened[0])

    wrapped = wrap_command(COMMAND, workdir=host.workdir, env=host.env)
    wrapped_sandboxed = wrap_command(COMMAND, workdir=host.workdir, env=host.env, sandbox=True)
    for _ in range(args.rounds):
        async with CommandRunner([host], limits=limits) as executor:
            await chavion_warm(executor)
            results.connections = executor.connections_opened(host.name)
        conn = await connect(server)
        await conn.run(COMMAND)  # the same warm-up as Chavion's
        await results.plain.time(asyncssh_batch(conn, args.commands, args.concurrency))
        await results.wrapped.time(
            asyncssh_batch(conn, args.commands, args.concurrency, command=wrapped)
        )
        await results.wrapped_sandboxed.time(
            asyncssh_batch(conn, args.commands, args.concurrency, command=wrapped_sandboxed)
        )
        await close(conn)
        await chavion_cold()
        await plain_cold()
        await results.ssh.time(lambda: ssh_sequential(server, args.ssh_sample))

    if args.profile:
        async with CommandRunner([host], limits=limits) as executor:
            await executor.run(host.name, COMMAND)
            profiler = cProfile.Profile(time.process_time)  # CPU time: the box is saturated
            profiler.enable()
            await chavion_batch(executor, host.name, args.commands)()
            profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(25)
        results.profile = out.getvalue()
    return results


def rss_kib() -> int:
    """The resident set size of this process now, in KiB (0 where /proc is not available)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def report(results: Results, args: argparse.Namespace, server: SshdServer) -> None:
    n, c = args.commands, args.concurrency

    def rate(seconds: float) -> float:
        return float(n / seconds)

    def line(label: str, samples: Samples, note: str = "") -> None:
        rounds = ", ".join(f"{s * 1000:.0f}" for s in samples.wall)
        cpu = statistics.median(samples.cpu) / n * 1000
        machine = statistics.median(samples.machine) / n * 1000
        print(
            f"  {label:<30} {samples.median * 1000:5.0f} ms {rate(samples.median):4.0f} cmd/s"
            f"  CPU/cmd: client {cpu:.2f} ms, machine {machine:.1f} ms"
            f"  (rounds: {rounds} ms){note}"
        )

    ssh_each = statistics.median(results.ssh.wall) / args.ssh_sample
    ssh_total = ssh_each * n
    chavion_rate = rate(results.chavion.median)
    plain_rate = rate(results.plain.median)
    ssh_rate = 1 / ssh_each
    print(
        f"{n} x `{COMMAND}` on one host (OpenSSH sshd on 127.0.0.1:{server.port}, "
        f"user {server.user}), concurrency {c}, {os.cpu_count()} CPUs, "
        f"medians of {args.rounds} rounds"
    )
    print(
        "CPU/cmd: this process (chavion or asyncssh), and the whole machine (client, sshd, "
        "shells, anything else running)"
    )
    print("warm (connection opened beforehand):")
    line("chavion CommandRunner", results.chavion, f" connections: {results.connections}")
    line(f"plain asyncssh, Semaphore({c})", results.plain)
    line("  asyncssh + chavion's wrapper", results.wrapped, " diagnostic")
    line("chavion, sandboxed", results.sandboxed)
    line("  asyncssh + wrapper + sandbox", results.wrapped_sandboxed, " diagnostic")
    print("cold (connecting included):")
    line("chavion CommandRunner", results.chavion_cold)
    line("plain asyncssh", results.plain_cold)
    print(
        f"sequential `ssh` CLI: {ssh_each * 1000:.0f} ms per command (median of "
        f"{args.rounds} x {args.ssh_sample} runs), scaled to {n}: {ssh_total:.1f} s, "
        f"{ssh_rate:.1f} cmd/s"
    )
    plain_ratio = chavion_rate / plain_rate
    ssh_ratio = chavion_rate / ssh_rate
    print(
        f"chavion/asyncssh throughput (warm): {plain_ratio:.2f}x (target >= 0.85x) "
        f"{'OK' if plain_ratio >= 0.85 else 'BELOW TARGET'}"
    )
    sandboxed_ratio = rate(results.sandboxed.median) / plain_rate
    print(
        f"chavion sandboxed/asyncssh throughput (warm): {sandboxed_ratio:.2f}x "
        f"(target >= 0.85x) {'OK' if sandboxed_ratio >= 0.85 else 'BELOW TARGET'}"
    )
    print(
        f"chavion/sequential ssh throughput (warm): {ssh_ratio:.1f}x (target >= 10x) "
        f"{'OK' if ssh_ratio >= 10 else 'BELOW TARGET'}"
    )
    print(
        f"chavion/asyncssh throughput (cold): "
        f"{results.plain_cold.median / results.chavion_cold.median:.2f}x"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"process RSS: {results.rss_before / 1024:.0f} MiB before, {rss_kib() / 1024:.0f} MiB "
        f"after, {peak / 1024:.0f} MiB peak (subject and asyncssh baseline share the process)"
    )
    if results.profile:
        print(results.profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--ssh-sample", type=int, default=20, help="sequential ssh runs timed, then scaled"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU) one Chavion batch")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("needs root: scripts/sshd-test installs and runs sshd")
    # Directly under /tmp, as tests.fakes.sshd.running_sshd does: sshd reads authorized_keys
    # as the test user, so every parent must be searchable (the script opens up the directory).
    directory = Path(tempfile.mkdtemp(prefix="chavion-bench-sshd-"))
    try:
        server = start_sshd(directory)
        try:
            results = asyncio.run(run(server, args))
        finally:
            stop_sshd(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report(results, args, server)


if __name__ == "__main__":
    main()
