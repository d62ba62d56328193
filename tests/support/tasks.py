"""A council that runs tasks, for end-to-end tests: coordinator, executor and agents on the
suite's Synapse, agents on `FakeLLMServer` scripted by `CouncilScript`, and the master.

`task_config` writes the suite's config with the agents aimed at the fake server, quick task
timings and (optionally) the real sshd as host `web-1`. `TaskBots` starts the coordinator in
this process or in its own (to SIGKILL it), the executor and the agents in this process.
`TaskMaster` plays the master: gives orders, taps ✅, votes in polls, types `!approve N`,
and waits for a task's state or a message in its thread with a timeout that says what it
waited for and what the thread held.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from bots.errors import CommandError
from bots.events import COUNCIL_KEY, POLL_RESPONSE, POLL_START
from bots.homeserver.process import SynapseProcess
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.sshd import SshdServer
from tests.support.council import BotProcess, InProcessBots, ThrowawayCouncil
from tests.support.council_script import AgentModel, CouncilScript, agent_models
from tests.support.person import Person, Seen
from tests.support.task_db import TaskDb

KEY_ENV = "CHAVION_TEST_LLM_KEY"
AGENTS = ("claude", "gpt", "gemini", "local")
REMOTE_HOST = "web-1"
ConfigEdit = Callable[[dict[str, Any]], None]
"""Changes a module makes to the config's data before it is written (sections `tasks` does
not cover, such as `night:`)."""

QUICK_TASKS: dict[str, Any] = {
    "proposal_seconds": 20,
    "vote_seconds": 15,
    "plan_seconds": 20,
    "review_seconds": 15,
    "tie_seconds": 5,
    "approval_seconds": 120,
    "step_seconds": 30,
    "max_attempts": 3,
}
"""Task timings for tests: long enough for a loaded CI machine, short enough to expire."""


def task_config(
    council: ThrowawayCouncil,
    llm: FakeLLMServer,
    path: Path,
    *,
    sshd: SshdServer | None = None,
    tasks: dict[str, Any] | None = None,
    agents: Sequence[str] = AGENTS,
    edit: ConfigEdit | None = None,
) -> Path:
    """The suite's config with the agents on the fake server, quick task timings and the
    real sshd as `web-1`, then `edit` (a module's own sections, e.g. `night:`); written to
    `path` so a bot in its own process reads the same."""
    config: dict[str, Any] = yaml.safe_load(council.config_path.read_text(encoding="utf-8"))
    urls = {
        "anthropic": llm.anthropic_base_url,
        "openai": llm.openai_base_url,
        "openai-compatible": llm.openai_base_url,
        "gemini": llm.gemini_base_url,
    }
    kept = []
    for agent in config["agents"]:
        if agent["name"] in agents:
            agent.update(base_url=urls[agent["provider"]], api_key_env=KEY_ENV, timeout_seconds=10)
            kept.append(agent)
    config["agents"] = kept
    config["tasks"] = {**QUICK_TASKS, **(tasks or {})}
    if sshd is not None:
        config["execution"]["hosts"][REMOTE_HOST] = {
            "address": "127.0.0.1",
            "port": sshd.port,
            "user": sshd.user,
            "key": str(sshd.client_key),
            "known_hosts": str(sshd.known_hosts),
        }
    if edit is not None:
        edit(config)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    os.environ[KEY_ENV] = "test-key"
    return path


def models_of(config_path: Path) -> list[AgentModel]:
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    return agent_models(config["agents"])


@dataclass
class CoordinatorProcess:
    """`chavion bot coordinator` in its own process, so a test can SIGKILL it."""

    council: ThrowawayCouncil
    config_path: Path
    running: BotProcess | None = None

    async def start(self) -> None:
        self.running = self.council.bot_process("coordinator", self.config_path)
        await self.running.online()

    async def kill(self) -> None:
        """SIGKILL: no clean stop, no last words, as a power cut or the OOM killer."""
        if self.running is not None:
            self.running.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.running.process.wait, 30)
            self.running = None

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None


@dataclass
class TaskBots:
    """Coordinator (here or in its own process), executor and agents, on one config."""

    settings: Settings
    config_path: Path
    others: InProcessBots
    coordinator: InProcessBots | None = None
    process: CoordinatorProcess | None = None

    @classmethod
    async def start(
        cls,
        council: ThrowawayCouncil,
        config_path: Path,
        *,
        own_process: bool = False,
        agents: Sequence[str] = AGENTS,
    ) -> TaskBots:
        settings = load_settings(config_path)
        others = await InProcessBots.start(settings, ["executor", *agents])
        bots = cls(settings, config_path, others)
        try:
            if own_process:
                bots.process = CoordinatorProcess(council, config_path)
                await bots.process.start()
            else:
                bots.coordinator = await InProcessBots.start(settings, ["coordinator"])
        except BaseException:
            await others.stop()
            raise
        return bots

    async def stop(self) -> None:
        if self.coordinator is not None:
            await self.coordinator.stop()
        if self.process is not None:
            await self.process.stop()
        await self.others.stop()


async def take_over_coordinator(session: InProcessBots) -> None:
    """Stop the suite's own coordinator (the `coordinator` fixture) so a module can run its
    own on the same account and store; `give_back_coordinator` starts it again."""
    await session.stop()


async def give_back_coordinator(session: InProcessBots, settings: Settings) -> None:
    fresh = await InProcessBots.start(settings, ["coordinator"])
    session.runner, session.stop_event, session.task = fresh.runner, fresh.stop_event, fresh.task


# ---- the master's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRef:
    """A task as the master knows it: its number and the message that started its thread."""

    id: int
    root: str

    @property
    def tag(self) -> str:
        return f"#{self.id}"


def council_of(seen: Seen) -> dict[str, Any]:
    """The `org.chavion.council` object of a message or event ({} when it has none)."""
    found = seen.content.get(COUNCIL_KEY)
    if isinstance(found, dict):
        return found
    inner = seen.content.get(POLL_START)
    found = inner.get(COUNCIL_KEY) if isinstance(inner, dict) else None
    return found if isinstance(found, dict) else {}


def in_thread(root: str) -> Callable[[Seen], bool]:
    return lambda s: (
        s.relates_to.get("rel_type") == "m.thread" and s.relates_to.get("event_id") == root
    )


def answering(root: str) -> Callable[[Seen], bool]:
    """In the thread of `root`, or a plain reply to it (a refusal need not open a thread)."""
    thread = in_thread(root)
    return lambda s: thread(s) or s.in_reply_to == root


class TaskMaster:
    """The master giving and steering tasks in the council room."""

    def __init__(self, person: Person, council: ThrowawayCouncil, db: TaskDb) -> None:
        self.person = person
        self.council = council
        self.db = db
        self.room = council.council_room
        self.coordinator = council.user_id("coordinator")

    # ---- acting ------------------------------------------------------------------------

    async def order(self, text: str, *, timeout: float = 30) -> TaskRef:
        """Sends an order and waits for the coordinator's ack in its thread: the task."""
        root = await self.person.say(self.room, text)
        ack = await self.wait(
            answering(root),
            lambda s: s.sender == self.coordinator and council_of(s).get("task") is not None,
            what=f"the ack of {text!r}",
            timeout=timeout,
        )
        return TaskRef(int(council_of(ack)["task"]), root)

    async def command(self, text: str) -> str:
        return await self.person.say(self.room, text)

    async def react(self, event_id: str, key: str) -> str:
        return await self.person.react(self.room, event_id, key)

    async def vote(self, poll_event: str, key: str) -> str:
        content = {
            "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event},
            POLL_RESPONSE: {"answers": [key]},
        }
        return await self.person.send_event(self.room, POLL_RESPONSE, content)

    # ---- watching ----------------------------------------------------------------------

    def thread(self, task: TaskRef) -> list[Seen]:
        """Messages in the task's thread so far (events such as polls are in `events`)."""
        return self.person.matching(in_thread(task.root))

    def events(self, task: TaskRef, event_type: str) -> list[Seen]:
        thread = in_thread(task.root)
        return [s for kind, s in self.person.events if kind == event_type and thread(s)]

    async def wait(
        self,
        where: Callable[[Seen], bool],
        what_matches: Callable[[Seen], bool],
        *,
        what: str,
        timeout: float = 60,
        count: int = 1,
    ) -> Seen:
        try:
            found = await self.person.wait_for(
                lambda s: where(s) and what_matches(s), count=count, timeout=timeout
            )
        except TimeoutError:
            said = [s.body[:160] for s in self.person.seen if where(s)]
            raise AssertionError(
                f"waited {timeout:.0f} s for {what}; the thread held: {said}"
            ) from None
        return found[count - 1]

    async def in_thread(
        self,
        task: TaskRef,
        matches: Callable[[Seen], bool],
        *,
        what: str,
        timeout: float = 60,
        count: int = 1,
    ) -> Seen:
        """A message in the task's thread, with a failure that names the task and state."""
        try:
            return await self.wait(
                in_thread(task.root), matches, what=what, timeout=timeout, count=count
            )
        except AssertionError as exc:
            state = await self.db.state(task.id)
            raise AssertionError(f"task {task.tag} ({state}): {exc}") from None

    async def council_message(
        self, task: TaskRef, kind: str, *, what: str, timeout: float = 60, **fields: Any
    ) -> Seen:
        """The coordinator's message of a kind ("plan", "report", "ask"), with fields."""

        def matches(s: Seen) -> bool:
            council = council_of(s)
            return (
                s.sender == self.coordinator
                and council.get("kind") == kind
                and all(council.get(k) == v for k, v in fields.items())
            )

        return await self.in_thread(task, matches, what=what, timeout=timeout)

    async def plan(self, task: TaskRef, attempt: int = 1, timeout: float = 90) -> Seen:
        return await self.council_message(
            task, "plan", attempt=attempt, what=f"the plan of attempt {attempt}", timeout=timeout
        )

    async def report(self, task: TaskRef, timeout: float = 90) -> Seen:
        return await self.council_message(task, "report", what="the report", timeout=timeout)

    async def poll(self, task: TaskRef, timeout: float = 60) -> Seen:
        try:
            return await self.person.wait_for_event(
                POLL_START, in_thread(task.root), timeout=timeout
            )
        except TimeoutError:
            state = await self.db.state(task.id)
            said = [s.body[:160] for s in self.thread(task)]
            raise AssertionError(
                f"task {task.tag} ({state}): no poll in {timeout:.0f} s; the thread held: {said}"
            ) from None

    async def answers(
        self, task: TaskRef, stage: str, count: int, timeout: float = 60
    ) -> list[Seen]:
        """Agents' answers at a stage, at least `count` of them."""

        def matches(s: Seen) -> bool:
            council = council_of(s)
            return council.get("kind") == "answer" and council.get("stage") == stage

        await self.in_thread(
            task, matches, what=f"{count} {stage} answers", timeout=timeout, count=count
        )
        return [s for s in self.thread(task) if matches(s)]

    async def state(self, task: TaskRef, *states: str, timeout: float = 60, what: str = "") -> str:
        """Waits until the stored task is in one of `states`; names them on timeout."""
        deadline = time.monotonic() + timeout
        seen: list[str | None] = []
        while True:
            now = await self.db.state(task.id)
            if not seen or seen[-1] != now:
                seen.append(now)
            if now in states:
                return now
            if time.monotonic() > deadline:
                said = [s.body[:120] for s in self.thread(task)]
                raise AssertionError(
                    f"task {task.tag} never reached {' or '.join(states)} {what}within "
                    f"{timeout:.0f} s: went {seen}; the thread held: {said}"
                )
            await asyncio.sleep(0.2)


def mentions(seen: Seen, user_id: str) -> bool:
    """Whether a message mentions a user the way that makes the phone buzz."""
    listed = seen.content.get("m.mentions", {}).get("user_ids", [])
    formatted = str(seen.content.get("formatted_body", ""))
    return user_id in listed or user_id in formatted


def commands_in(body: str) -> list[str]:
    """The code spans and blocks of a message body: where a plan shows its commands."""
    blocks = re.findall(r"```[a-z]*\n(.*?)\n```", body, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", body, flags=re.S))
    return [b.strip() for b in blocks] + spans


def one_each(values: Collection[str]) -> bool:
    return len(values) == len(set(values))


@contextlib.asynccontextmanager
async def running_task_bots(
    council: ThrowawayCouncil,
    coordinator: InProcessBots,
    master: Person,
    config: Path,
    *,
    own_process: bool = False,
) -> AsyncIterator[TaskBots]:
    """The task bots on `config` in place of the suite's coordinator, trusted by the master's
    client; the suite's coordinator is given back afterwards."""
    await take_over_coordinator(coordinator)
    try:
        started = await TaskBots.start(council, config, own_process=own_process)
        try:
            names = ("coordinator", "executor", *AGENTS)
            await master.sees_devices_of(*(council.user_id(n) for n in names))
            yield started
        finally:
            await started.stop()
    finally:
        await give_back_coordinator(coordinator, council.settings)


class StartTaskBots(Protocol):
    """Starts the task bots for one module: the suite's config with the `tasks` overrides
    (and the real sshd as `web-1` when given), then `edit` on the config's data for any
    other section, written under a temp dir named `name`."""

    def __call__(
        self,
        name: str,
        *,
        tasks: dict[str, Any] | None = None,
        sshd: SshdServer | None = None,
        own_process: bool = False,
        edit: ConfigEdit | None = None,
    ) -> contextlib.AbstractAsyncContextManager[TaskBots]: ...


async def cancel_open_tasks(bots: InProcessBots, settings: Settings) -> list[int]:
    """Cancels, through the running coordinator, every task still open: a module that leaves
    tasks behind must not have them proposed on, voted and planned in the next module's
    tests (their agents' requests would be counted there). Returns the numbers cancelled."""
    [service] = [b.tasks for b in bots.runner.bots if b.tasks is not None]
    cancelled = []
    for task in await service.ctx.tasks.active():
        with contextlib.suppress(CommandError):  # it ended meanwhile
            await service.cancel(task.id, settings.master_user_id)
            cancelled.append(task.id)
    return cancelled


def scripted_council(llm: FakeLLMServer, bots: TaskBots) -> Iterator[CouncilScript]:
    """A fresh script answering every agent by stage; no request may have broken it."""
    llm.reset()
    found = CouncilScript(models_of(bots.config_path))
    llm.respond(found)
    yield found
    assert llm.responder_errors == []


async def command_started(
    boss: TaskMaster, request_id: str, task: TaskRef, timeout: float = 30
) -> None:
    """Until the executor's audit log says the request's command started."""
    deadline = time.monotonic() + timeout
    while "start" not in (await boss.db.audit(task.id)).get(request_id, []):
        assert time.monotonic() < deadline, f"{request_id} never started"
        await asyncio.sleep(0.1)


def task_master(master: Person, council: ThrowawayCouncil) -> TaskMaster:
    return TaskMaster(master, council, TaskDb(council.data.store))


# ---- bad days: bots stopped one group at a time, the homeserver restarted ------------------


async def task_status(master: TaskMaster, task: TaskRef, *, timeout: float = 30) -> Seen:
    """`!task N` as the master types it, and the coordinator's answer to it."""
    command = await master.command(f"!task {task.id}")
    return await master.wait(
        lambda s: s.sender == master.coordinator,
        lambda s: s.in_reply_to == command,
        what=f"the answer to !task {task.id}",
        timeout=timeout,
    )


@dataclass
class BotsApart:
    """The task bots in three groups a test can stop and start on their own: the coordinator
    in its own process (to SIGKILL it, or to run it on other timings), the executor, and the
    agents (both in this process)."""

    council: ThrowawayCouncil
    settings: Settings
    config_path: Path
    process: CoordinatorProcess
    executor: InProcessBots | None = None
    agents: InProcessBots | None = None

    async def start_executor(self) -> None:
        if self.executor is None:
            self.executor = await InProcessBots.start(self.settings, ["executor"])

    async def stop_executor(self) -> None:
        if self.executor is not None:
            await self.executor.stop()
            self.executor = None

    async def start_agents(self) -> None:
        if self.agents is None:
            self.agents = await InProcessBots.start(self.settings, list(AGENTS))

    async def stop_agents(self) -> None:
        if self.agents is not None:
            await self.agents.stop()
            self.agents = None

    def agent_bot(self, name: str) -> Any:
        """A running agent's bot (`RunningBot`): its Matrix client sends as that agent."""
        assert self.agents is not None, "the agents are stopped"
        return next(b for b in self.agents.runner.bots if b.account.name == name)

    def executor_bot(self) -> Any:
        assert self.executor is not None, "the executor is stopped"
        return self.executor.runner.bots[0]

    async def stop(self) -> None:
        await self.process.stop()
        await self.stop_agents()
        await self.stop_executor()

    @contextlib.asynccontextmanager
    async def coordinator_on(self, config_path: Path) -> AsyncIterator[CoordinatorProcess]:
        """The coordinator on another config (other task timings) for a block, then back."""
        await self.process.stop()
        other = CoordinatorProcess(self.council, config_path)
        await other.start()
        try:
            yield other
        finally:
            await other.stop()
            await self.process.start()


@contextlib.asynccontextmanager
async def running_bots_apart(
    council: ThrowawayCouncil, coordinator: InProcessBots, master: Person, config: Path
) -> AsyncIterator[BotsApart]:
    """`BotsApart` on `config` in place of the suite's coordinator, trusted by the master's
    client; the suite's coordinator is given back afterwards."""
    await take_over_coordinator(coordinator)
    try:
        settings = load_settings(config)
        bots = BotsApart(council, settings, config, CoordinatorProcess(council, config))
        try:
            await bots.start_executor()
            await bots.start_agents()
            await bots.process.start()
            names = ("coordinator", "executor", *AGENTS)
            await master.sees_devices_of(*(council.user_id(n) for n in names))
            yield bots
        finally:
            await bots.stop()
    finally:
        await give_back_coordinator(coordinator, council.settings)


def bot_log(council: ThrowawayCouncil, name: str) -> Path:
    """The log of the newest `chavion bot NAME` process the council started."""
    logs = sorted(council.root.glob(f"bot-{name}-*.log"), key=lambda p: p.stat().st_mtime)
    assert logs, f"no log of a {name} process in {council.root}"
    return logs[-1]


async def restart_homeserver(council: ThrowawayCouncil, *, down_for: float = 1.0) -> float:
    """Stops the suite's Synapse (SIGTERM, as an upgrade or a reboot does), leaves it down
    for `down_for` seconds, and starts it again on the same config, port and database;
    the seconds it was away. Every client (bots, the master) sees connections refused and
    retries until it answers again."""
    old = council.synapse
    started = time.monotonic()
    await old.stop()
    await asyncio.sleep(down_for)
    fresh = SynapseProcess(
        council.data.synapse_config,
        council.url,
        "127.0.0.1",
        council.settings.homeserver.port,
        council.data.synapse / "stdout.log",
    )
    await fresh.start()
    council.synapse = fresh
    return time.monotonic() - started
