"""The health jobs on a real store with a controllable clock: the master hears of each
change of state once (across restarts and racing watchers), never of a check that stays
the same; the disk trend is said once per episode; the digest once per local day."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from bots.context import BotPresence
from bots.health.call_streak import CallStreak
from bots.health.council_watch import CouncilHealthJob
from bots.health.digest_job import DigestJob
from bots.health.host_watch import HostHealthJob
from bots.health.jobs import alert_sender
from bots.health.probe import parse_host, probe_command
from bots.ids import UserID
from bots.settings.health import DigestSettings, HealthSettings
from tests.support.task_engine import ROOM, Bench, open_bench

GB = 1_000_000_000
KB = 1024
FREE = (
    "               total        used        free      shared  buff/cache   available\n"
    "Mem:     10000000000  1000000000  8000000000     9580544  1000000000  9000000000\n"
)


def output(used_gb: float, size_gb: float = 100.0, load: float = 0.5) -> str:
    used = int(used_gb * GB / KB)
    free = int((size_gb - used_gb) * GB / KB)
    return (
        f"{load} 0.4 0.3 1/100 99\n2\n{FREE}"
        "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
        f"/dev/vda {used + free} {used} {free} 50% /\n"
    )


@dataclass
class Result:
    stdout: str
    exit_status: int | None = 0
    stderr: str = ""
    timed_out: bool = False


@dataclass
class Hosts:
    """The executor's engine as the probe sees it: each host's next output, or down."""

    used_gb: dict[str, float] = field(default_factory=lambda: {"web": 50.0})
    down: set[str] = field(default_factory=set)
    commands: list[str] = field(default_factory=list)

    async def run(self, host: str, command: str, *, timeout: float | None = None) -> Result:
        self.commands.append(command)
        if host in self.down:
            raise ConnectionRefusedError(f"cannot reach {host}: connection refused")
        return Result(output(self.used_gb[host]))


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    opened = await open_bench(tmp_path)
    yield opened
    await opened.store.close()


SETTINGS = HealthSettings(interval_seconds=300)


def host_job(bench: Bench, hosts: Hosts, settings: HealthSettings = SETTINGS) -> HostHealthJob:
    return HostHealthJob(
        tuple(hosts.used_gb),
        hosts,
        bench.store.health,
        alert_sender(bench.bot),
        settings,
        clock=bench.clock,
    )


def alerts(bench: Bench) -> list[tuple[str, bool]]:
    return [
        (s.body, s.reply.urgent)
        for s in bench.matrix.sent
        if s.reply and s.key.startswith("alert/")
    ]


async def rounds(job: HostHealthJob | CouncilHealthJob, bench: Bench, count: int) -> None:
    for _ in range(count):
        await job.check_once()
        bench.clock.now += 300


async def test_a_host_down_is_told_once_urgently_and_its_return_once(bench: Bench) -> None:
    hosts = Hosts()
    job = host_job(bench, hosts)
    await rounds(job, bench, 3)
    assert alerts(bench) == []  # fine, and said nothing
    hosts.down.add("web")
    await rounds(job, bench, 1)
    assert alerts(bench) == []  # one bad reading is not an outage
    await rounds(job, bench, 4)
    assert alerts(bench) == [("🔴 Host web is down: cannot reach web: connection refused", True)]
    hosts.down.clear()
    await rounds(host_job(bench, hosts), bench, 3)  # a restarted watch: same store, no repeat
    assert alerts(bench)[1:] == [("🟢 Host web is back (after 20m 0s).", False)]
    assert all(command == probe_command(["/"]) for command in hosts.commands)


async def test_a_change_written_but_not_said_is_said_after_a_restart(bench: Bench) -> None:
    hosts = Hosts(down={"web"})

    async def crash(body: str, key: str, urgent: bool) -> object:
        raise RuntimeError("stopped between the write and the message")

    broken = HostHealthJob(("web",), hosts, bench.store.health, crash, SETTINGS, bench.clock)
    await broken.check_once()
    with pytest.raises(RuntimeError):
        await broken.check_once()
    assert alerts(bench) == []
    await rounds(host_job(bench, hosts), bench, 3)
    assert [body for body, _ in alerts(bench)] == [
        "🔴 Host web is down: cannot reach web: connection refused"
    ]


async def test_two_watchers_at_once_tell_once(bench: Bench) -> None:
    hosts = Hosts(down={"web"})
    jobs = [host_job(bench, hosts) for _ in range(4)]
    for _ in range(3):
        await asyncio.gather(*(job.check_once() for job in jobs))
        bench.clock.now += 300
    assert len(alerts(bench)) == 1
    assert bench.matrix.repeats == 0  # not even a second send for the homeserver to drop


async def test_a_disk_over_its_threshold_and_back(bench: Bench) -> None:
    hosts = Hosts(used_gb={"web": 95.0})
    job = host_job(bench, hosts)
    await rounds(job, bench, 2)
    hosts.used_gb["web"] = 80.0
    await rounds(job, bench, 1)
    assert [body for body, _ in alerts(bench)] == [
        "⚠️ Disk / on web is over its threshold: 95% used (threshold 90%)",
        "🟢 Disk / on web is back under its threshold: 80% used (threshold 90%)",
    ]


async def test_a_filling_disk_is_told_once_before_it_fills(bench: Bench) -> None:
    hosts = Hosts(used_gb={"web": 60.0})
    job = host_job(bench, hosts, replace(SETTINGS, disk_pct=99.0))
    for _ in range(12):  # 1 GB per 5 min: 12 GB/h
        await rounds(job, bench, 1)
        hosts.used_gb["web"] += 1.0
    told = [body for body, _ in alerts(bench)]
    assert len(told) == 1
    assert told[0].startswith("⚠️ / on web: ")
    assert told[0].endswith("full in about 3 h at 12 GB/h")
    hosts.used_gb["web"] -= 20  # cleaned up: the episode ends without a word
    await rounds(job, bench, 30)
    assert len(alerts(bench)) == 1


async def test_old_samples_are_pruned(bench: Bench) -> None:
    job = host_job(bench, Hosts(), replace(SETTINGS, trend_hours=1.0))
    await rounds(job, bench, 30)  # 2.5 hours
    kept = await bench.store.health.samples("web", "/", 0.0)
    assert 11 <= len(kept) <= 13


def test_the_probe_reads_each_mount_in_bytes() -> None:
    found = parse_host(output(91.0), ["/"])
    (mount,) = found.mounts
    assert (mount.mount, mount.pct) == ("/", 91.0)
    assert mount.size == pytest.approx(100 * GB, abs=2 * KB)
    assert probe_command(["/", "/data"]).endswith("df -P -k / /data")


# ---- the coordinator's side ---------------------------------------------------------


@dataclass
class Room:
    marks: dict[UserID, BotPresence] = field(default_factory=dict)

    async def presences(self) -> dict[UserID, BotPresence]:
        return self.marks


GPT = UserID("@gpt:example.org")


def council_job(bench: Bench, room: Room, heartbeat: float = 60) -> CouncilHealthJob:
    return CouncilHealthJob(
        {"gpt": GPT, "never": UserID("@never:example.org")},
        ["claude", "gpt"],
        room,
        bench.store.health,
        alert_sender(bench.bot),
        SETTINGS,
        heartbeat_seconds=heartbeat,
        clock=bench.clock,
    )


async def test_a_bot_offline_and_back(bench: Bench) -> None:
    room = Room({GPT: BotPresence(GPT, True, heartbeat_at=bench.clock.now)})
    job = council_job(bench, room, heartbeat=3600)
    await rounds(job, bench, 2)
    room.marks[GPT] = BotPresence(GPT, False, heartbeat_at=bench.clock.now)
    await rounds(job, bench, 3)
    room.marks[GPT] = BotPresence(GPT, True, heartbeat_at=bench.clock.now)
    await rounds(job, bench, 2)
    assert [body for body, _ in alerts(bench)] == [
        "⚠️ gpt is offline: stopped 5m 0s ago",
        "🟢 gpt is back online (after 10m 0s).",
    ]


async def test_a_bot_that_stopped_renewing_its_mark_is_offline(bench: Bench) -> None:
    room = Room({GPT: BotPresence(GPT, True, heartbeat_at=bench.clock.now)})
    await rounds(council_job(bench, room), bench, 3)
    assert [body for body, _ in alerts(bench)] == ["⚠️ gpt is offline: no sign for 10m 0s"]


async def test_a_failing_provider_and_its_recovery(bench: Bench) -> None:
    streak = CallStreak("claude", lambda: bench.store.health, bench.clock)
    job = council_job(bench, Room())
    for _ in range(2):
        streak.note(False)
    await streak.settle()
    await rounds(job, bench, 3)
    assert alerts(bench) == []  # two failures: under the threshold of three
    streak.note(False)
    streak.note(False)
    await streak.settle()
    await rounds(job, bench, 2)
    streak.note(True)
    streak.note(True)  # a second success writes nothing
    await streak.settle()
    await rounds(job, bench, 1)
    assert [body for body, _ in alerts(bench)] == [
        "⚠️ claude's model provider is failing: 4 model calls in a row failed",
        "🟢 claude's model provider answers again (after 5m 0s).",
    ]
    assert await bench.store.health.failed_calls() == {"claude": 0}


# ---- the digest -----------------------------------------------------------------------

SEOUL_0659 = 1_796_335_140.0
"""2026-12-04 06:59 in Asia/Seoul (the example config's zone)."""


def digest_job(bench: Bench) -> DigestJob:
    health = replace(bench.settings.health, digest=DigestSettings(at=(7, 0)))
    bench.bot.settings = bench.settings = replace(bench.settings, health=health)
    return DigestJob(bench.settings, bench.store, alert_sender(bench.bot), bench.clock)


def digests(bench: Bench) -> list[str]:
    return [s.key for s in bench.matrix.sent if s.key.startswith("alert/digest/")]


async def test_the_digest_goes_once_a_day_at_its_hour(bench: Bench) -> None:
    bench.clock.now = SEOUL_0659
    job = digest_job(bench)
    assert await job.check_once() == []
    bench.clock.now += 60
    (text,) = await job.check_once()
    assert text.startswith("📋 Digest, Fri 04 Dec 07:00")
    bench.clock.now += 3600
    assert await digest_job(bench).check_once() == []  # restarted: still once that day
    bench.clock.now += 23 * 3600
    await job.check_once()
    assert digests(bench) == ["alert/digest/2026-12-04", "alert/digest/2026-12-05"]


async def test_a_claimed_digest_not_sent_is_sent_after_a_restart(bench: Bench) -> None:
    bench.clock.now = SEOUL_0659 + 120
    job = digest_job(bench)
    await bench.store.digests.claim_daily("2026-12-04", bench.clock.now)  # then it stopped
    await job.check_once()
    await job.check_once()
    assert digests(bench) == ["alert/digest/2026-12-04"]


async def test_the_digest_counts_what_finished_since_the_last_one(bench: Bench) -> None:
    bench.clock.now = SEOUL_0659 + 60
    job = digest_job(bench)
    await job.check_once()
    tasks = bench.store.tasks
    for number, mission in enumerate(("back up the database", "upgrade nginx", "clean /tmp")):
        bench.clock.now += 60
        task, _ = await tasks.create(
            intake_key=f"k{number}",
            room_id=ROOM,
            thread_root=None,
            mission=mission,
            priority="normal",
            requester=bench.settings.master_user_id,
            source="matrix",
            now=bench.clock.now,
        )
        if number == 0:
            await tasks.move(
                task.id, "pending", "planning", actor="t", reason="t", now=bench.clock.now
            )
            await tasks.move(
                task.id, "planning", "completed", actor="t", reason="t", now=bench.clock.now
            )
        elif number == 1:
            await tasks.move(
                task.id, "pending", "failed", actor="t", reason="t", now=bench.clock.now
            )
    bench.clock.now += 60
    text = await job.send_now()
    assert "Tasks: 1 done, 1 failed" in text
    assert "  ✅ #1 back up the database" in text
    assert "  ❌ #2 upgrade nginx" in text
    bench.clock.now += 60
    assert "Tasks: none finished" in await job.send_now()
