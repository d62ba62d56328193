"""Who runs which health job, what each change says, and `!digest` as a command."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.health.council_watch import CouncilHealthJob
from bots.health.digest_job import DigestJob
from bots.health.host_watch import HostHealthJob
from bots.health.jobs import digest_job, health_jobs
from bots.health.phrases import Said, alert_for
from bots.ids import EventID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.store.health import HealthState
from tests.support.task_engine import ROOM, Bench, open_bench

EVENTS = itertools.count()


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    opened = await open_bench(tmp_path)
    yield opened
    await opened.store.close()


class Engine:
    async def run(self, host: str, command: str, *, timeout: float | None = None) -> object:
        raise AssertionError("no round runs in this test")


def kinds(jobs: Sequence[object]) -> list[type]:
    return [type(job) for job in jobs]


def test_each_bot_runs_its_own_checks(bench: Bench) -> None:
    coordinator = bench.bot
    executor = replace(coordinator, account=bench.settings.executor)
    agent = replace(coordinator, account=bench.settings.agents[0].account)
    digest = digest_job(coordinator)
    assert kinds(health_jobs(coordinator, None, digest)) == [DigestJob, CouncilHealthJob]
    assert kinds(health_jobs(executor, Engine(), None)) == [HostHealthJob]  # type: ignore[arg-type]
    assert kinds(health_jobs(agent, None, None)) == []
    off = replace(bench.settings, health=replace(bench.settings.health, enabled=False))
    assert kinds(health_jobs(replace(coordinator, settings=off), None, digest)) == [DigestJob]


def standing(subject: str, state: str, detail: str = "") -> HealthState:
    return HealthState(subject, state, 0, 0.0, detail, 1, 0, 0.0)  # type: ignore[arg-type]


SAID = [
    (
        "host down",
        standing("host:web", "bad", "refused"),
        None,
        Said("🔴 Host web is down: refused", urgent=True),
    ),
    ("host back", standing("host:web", "ok"), 125.0, Said("🟢 Host web is back (after 2m 5s).")),
    (
        "disk over",
        standing("disk:web:/data", "bad", "95% used"),
        None,
        Said("⚠️ Disk /data on web is over its threshold: 95% used"),
    ),
    (
        "memory",
        standing("memory:db", "bad", "93% used"),
        None,
        Said("⚠️ Memory on db is high: 93% used"),
    ),
    (
        "trend",
        standing("full:web:/", "bad", "/ on web: 91%, full in about 7 h at 1.2 GB/h"),
        None,
        Said("⚠️ / on web: 91%, full in about 7 h at 1.2 GB/h"),
    ),
    ("trend over", standing("full:web:/", "ok"), None, None),
    (
        "provider",
        standing("provider:gpt", "bad", "3 model calls in a row failed"),
        None,
        Said("⚠️ gpt's model provider is failing: 3 model calls in a row failed"),
    ),
    ("bot back", standing("bot:gemini", "ok"), None, Said("🟢 gemini is back online.")),
]


@pytest.mark.parametrize(
    ("state", "bad_for", "said"), [c[1:] for c in SAID], ids=[c[0] for c in SAID]
)
def test_what_each_change_says(state: HealthState, bad_for: float | None, said: Said) -> None:
    assert alert_for(state, bad_for) == said


async def say(bench: Bench, body: str, power: int = 100) -> list[str]:
    registry = coordinator_commands(bench.service, clock=bench.clock, digest=digest_job(bench.bot))
    dispatcher = Dispatcher(bench.bot, registry)
    sender = bench.settings.master_user_id if power == 100 else UserID("@guest:localhost")
    message = Message(ROOM, EventID(f"$h{next(EVENTS)}"), sender, body, sender_power=power)
    return [reply.body for reply in await dispatcher.handle(message)]


async def test_digest_sends_the_digest_to_the_master(bench: Bench) -> None:
    assert await say(bench, "!digest") == []
    [sent] = [s for s in bench.matrix.sent if s.key.startswith("alert/digest/")]
    assert sent.body.startswith("📋 Digest")
    assert sent.reply is not None
    assert sent.reply.mention == (bench.settings.master_user_id,)


async def test_digest_refuses_arguments_and_others(bench: Bench) -> None:
    [refused] = await say(bench, "!digest now please")
    assert "!digest takes nothing after it. Send: !digest" in refused
    [denied] = await say(bench, "!digest", power=0)
    assert denied == "Not allowed: !digest needs power level 100 (you have 0)."
    assert [s for s in bench.matrix.sent if s.key.startswith("alert/digest/")] == []
