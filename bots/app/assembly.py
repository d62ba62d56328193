"""Building one bot from the settings: its Matrix connection, its context, and what it answers.

Every bot is the same Matrix plumbing; only its kind decides what it answers (an agent's
chat, the coordinator's loop watch, the executor's commands), so each kind has one builder
here and the runtime only has to run what comes out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bots.agents.agent import Agent
from bots.agents.commands import agent_commands
from bots.agents.council import POLL_START_TYPES, CouncilMember
from bots.background import BackgroundJob
from bots.bridge.server import BridgeServer, is_bridge_order
from bots.context import BotContext, MetricsSink
from bots.coordinator.commands import coordinator_commands
from bots.coordinator.council import LoopWatch
from bots.coordinator.polls import PollService, is_poll_answer
from bots.coordinator.scheduler import SchedulerJob
from bots.coordinator.secrets import redact_credentials
from bots.coordinator.tasks.service import TASK_EVENT_TYPES, TaskService
from bots.coordinator.unreadable import on_unreadable
from bots.coordinator.vote_command import vote_target
from bots.errors import ConfigError
from bots.events import UNREADABLE_EVENT
from bots.execution.commands import EXECUTOR_COMMANDS
from bots.execution.ledger import RequestLedger
from bots.execution.service import ExecutionService
from bots.health.digest_job import DigestJob
from bots.health.jobs import digest_job, health_jobs
from bots.homeserver.credentials import load_credentials
from bots.ids import EventID, RoomID
from bots.matrix.client import BotConnection, MatrixBot
from bots.message import Incoming, Message, Reply, RoomEvent
from bots.night.morning import MorningReport
from bots.night.quiet import NightQuiet
from bots.routing.access import may_invite
from bots.routing.addressing import EXTERNAL, Identity, Roster
from bots.routing.dispatch import CouncilHandler, Dispatcher, EventHandler, Observer
from bots.settings.data_dir import DataDir
from bots.settings.model import AccountSettings, Settings
from bots.store import Store
from bots.store.plan_approvals import PlanApprovalStore
from bots.voice.agent_voice import AgentVoice
from bots.voice.hearing import Hearing
from bots.voice.plan_voice import PlanVoice, spoken_verdict
from bots.voice.services import speech_services
from bots.voice.speaking import Speaker
from executor.runner import CommandRunner, Limits


def build_roster(settings: Settings) -> Roster:
    """Every bot, and the agents the HTTP bridge speaks for (kind `external`): they are
    agents to the others (named, counted by the loop guard, never a person)."""
    return Roster(
        bots=(
            *(
                Identity(settings.user_id(a), a.display_name, a.aliases, a.kind)
                for a in settings.accounts
            ),
            *(
                Identity(
                    settings.user_id(a.account),
                    a.account.display_name,
                    (a.name, *a.account.aliases),
                    EXTERNAL,
                )
                for a in settings.bridge.agents
            ),
        ),
        broadcast_words=settings.runtime.broadcast_words,
    )


@dataclass(frozen=True)
class SharedParts:
    """What every bot in one process is built from: they share the store and the executor."""

    settings: Settings
    roster: Roster
    store: Store
    data: DataDir
    council_room: RoomID
    execution: ExecutionService | None = None
    metrics: MetricsSink | None = None
    """What every bot here counts for the bridge's `/metrics`; None without a bridge."""


@dataclass(frozen=True)
class RunningBot:
    """A bot ready to run; its agent, if it is one, holds a model client to close on stop,
    and `resume` answers what a stop cut off (run once the bot has synced). The
    coordinator's `tasks` engine runs in the background once it has synced."""

    account: AccountSettings
    matrix: MatrixBot
    agent: Agent | None = None
    resume: Callable[[], Awaitable[int]] | None = None
    tasks: TaskService | None = None
    polls: PollService | None = None
    bridge: BridgeServer | None = None
    """The HTTP bridge the coordinator serves when `bridge.enabled` (issue 18)."""
    jobs: tuple[BackgroundJob, ...] = ()
    """This bot's periodic work, run by the runner once the bot has synced (issue 19)."""
    hearing: Hearing | None = None
    """The transcriber's ears (issue 20), on the `voice.transcriber` bot only; closed on stop."""


def build_bot(name: str, parts: SharedParts) -> RunningBot:
    settings = parts.settings
    account = settings.account(name)
    creds = load_credentials(parts.data, account.localpart)
    if creds is None:
        raise ConfigError(
            f"no credentials for {account.name} in {parts.data.accounts}: run `chavion up` once "
            "on the machine that holds the homeserver, then copy that file here"
        )
    identity = parts.roster.get(settings.user_id(account))
    assert identity is not None
    dispatcher: Dispatcher | None = None
    bridge: BridgeServer | None = None
    hearing: Hearing | None = None

    async def on_message(message: Incoming) -> list[Reply]:
        # The dispatcher needs the context, which needs the connection made here first.
        assert dispatcher is not None
        if bridge is not None:
            await bridge.hear(message)  # the dashboard's live feed
        if account.kind == "coordinator" and is_bridge_order(message, settings):
            return []  # the bridge took this order in already, with this event as its key
        if hearing is not None and hearing.wants(message):
            assert isinstance(message, Message)
            return await hearing.hear(message) + await dispatcher.handle(message)
        return await dispatcher.handle(message)

    matrix = MatrixBot(
        BotConnection(
            name=account.name,
            homeserver_url=settings.homeserver.client_url,
            credentials=creds,
            crypto_store=parts.data.crypto_store(account.localpart),
            council_room=parts.council_room,
            max_backoff_seconds=settings.runtime.max_backoff_seconds,
            sync_timeout_ms=settings.runtime.sync_timeout_ms,
            heartbeat_seconds=settings.runtime.heartbeat_seconds,
            account_file=parts.data.account_file(account.localpart),
            cross_signing_keys=parts.data.cross_signing_file(account.localpart),
            key_wait_seconds=settings.runtime.key_wait_seconds,
            transcribers=frozenset(
                {settings.user_id(settings.account(settings.voice.transcriber))}
            ),
        ),
        parts.store,
        on_message,
        lambda inviter: may_invite(inviter, settings.master_user_id, settings.access),
        metrics=parts.metrics,
        outgoing=NightQuiet(
            parts.store.night,
            settings.master_user_id,
            cache_seconds=settings.night.quiet_cache_seconds,
        ),
    )
    context = BotContext(
        settings,
        account,
        identity,
        parts.roster,
        matrix,
        parts.store,
        council_room=parts.council_room,
    )
    agent: Agent | None = None
    tasks: TaskService | None = None
    polls: PollService | None = None
    scheduler: SchedulerJob | None = None
    digest: DigestJob | None = None
    if account.kind == "agent":
        agent = Agent(settings, settings.agent(account.name), parts.store, parts.metrics)
        dispatcher = _agent_dispatcher(context, agent)
    elif account.kind == "coordinator":
        tasks = TaskService.for_bot(context)
        plan_voice = PlanVoice(tasks, Speaker(context), spoken_verdict)
        tasks.ctx.plan_waits = plan_voice.plan_waits
        polls = PollService(context, clock=tasks.ctx.clock)
        scheduler = SchedulerJob(context, tasks, clock=tasks.ctx.clock)
        digest = digest_job(context)
        dispatcher = _coordinator_dispatcher(
            context, tasks, polls, scheduler.poke, digest, plan_voice.observe
        )
    else:
        # The runner opens the execution service whenever the executor bot is among its names.
        assert parts.execution is not None
        dispatcher = _executor_dispatcher(context, parts.execution)
    if settings.voice.transcriber == account.name:
        hearing = _hearing(context, tasks)
    resume = dispatcher.resume if agent is not None else None
    if tasks is not None and settings.bridge.enabled:
        bridge = BridgeServer(
            settings,
            parts.store,
            parts.data,
            parts.council_room,
            parts.roster,
            tasks,
            hosts=parts.execution.engine if parts.execution is not None else None,
        )
    jobs: list[BackgroundJob] = []
    if scheduler is not None:
        jobs.append(scheduler)
    if tasks is not None:
        jobs.append(MorningReport(context, clock=tasks.ctx.clock))
    engine = parts.execution.engine if parts.execution is not None else None
    jobs += health_jobs(context, engine if account.kind == "executor" else None, digest)
    return RunningBot(
        account, matrix, agent, resume, tasks, polls, bridge, tuple(jobs), hearing=hearing
    )


def _hearing(context: BotContext, tasks: TaskService | None) -> Hearing:
    """The transcriber's ears (issue 20): only this bot hears voice messages; every bot then
    reads its transcript as the speaker's typed message. A spoken "B" is a vote where the
    coordinator has one open (its task votes, the master's polls)."""
    services = speech_services(context.settings)
    votes_open = None
    if tasks is not None:
        votes = tasks

        async def open_here(room: RoomID, thread: EventID | None) -> bool:
            return await vote_target(context.store, votes, room, thread) is not None

        votes_open = open_here
    return Hearing(context, services.stt, services.problem_stt, votes_open=votes_open)


def _agent_dispatcher(context: BotContext, agent: Agent) -> Dispatcher:
    """An agent chats when addressed, keeps up with the rest of the room, and answers the
    coordinator's task asks (messages, and the vote's poll start)."""
    member = CouncilMember(agent, self_vote=context.settings.tasks.self_vote)
    voice = AgentVoice(agent, Speaker(context))
    return Dispatcher(
        context,
        agent_commands(agent),
        chat=voice.chat(agent.chat),
        observer=_each(agent.observe, voice.observe),
        resume=agent.chat,
        council=_each(member.on_task_message, voice.on_task_message),
        on_event=member.on_event,
        event_types=POLL_START_TYPES,
        others_commands=EXECUTOR_COMMANDS,
    )


def _coordinator_dispatcher(
    context: BotContext,
    tasks: TaskService,
    polls: PollService,
    wake_scheduler: Callable[[], None] | None = None,
    digest: DigestJob | None = None,
    spoken_verdicts: Observer | None = None,
) -> Dispatcher:
    """The coordinator answers the council's commands, stops agents talking in circles and
    runs tasks: agents' answers, poll responses, reactions on plans and execution results go
    to the task engine unclaimed (it stores each fact idempotently, so a crash between a
    claim and the record cannot lose one)."""
    watch = LoopWatch(context.settings.runtime.agent_turn_limit)
    return Dispatcher(
        context,
        coordinator_commands(
            tasks,
            clock=tasks.ctx.clock,
            polls=polls,
            minutes=tasks.minutes,
            wake_scheduler=wake_scheduler,
            digest=digest,
            votes=tasks,
        ),
        observer=_each(
            redact_credentials, watch.observe, *([spoken_verdicts] if spoken_verdicts else [])
        ),
        on_event=_coordinator_events(tasks, polls),
        council=_council_answers(tasks, polls),
        event_types=frozenset({UNREADABLE_EVENT}) | TASK_EVENT_TYPES,
        others_commands=EXECUTOR_COMMANDS,
        claim=False,
    )


def _coordinator_events(tasks: TaskService, polls: PollService) -> EventHandler:
    """One handler routing by type: an unreadable message is still claimed (it is said once
    even across restarts); a response to the master's own poll is the polls' (by the poll's
    event id); every other event is the task engine's."""

    async def on_event(event: RoomEvent, bot: BotContext) -> list[Reply]:
        if event.type == UNREADABLE_EVENT:
            if not await bot.store.claim_event(bot.account.name, event.event_id, event.room_id):
                return []
            return await on_unreadable(event, bot)
        if await polls.owns(event):
            return await polls.on_event(event, bot)
        return await tasks.on_event(event, bot)

    return on_event


def _council_answers(tasks: TaskService, polls: PollService) -> CouncilHandler:
    """Agents' answers: to the master's poll (stage "poll") or to a task's ask."""

    async def on_answer(message: Message, bot: BotContext) -> list[Reply]:
        if is_poll_answer(message):
            return await polls.on_answer(message, bot)
        return await tasks.on_task_message(message, bot)

    return on_answer


def _each(*observers: Observer) -> Observer:
    """Several watchers over every message, in order, their replies together."""

    async def observe(message: Message, bot: BotContext) -> list[Reply]:
        return [reply for watch in observers for reply in await watch(message, bot)]

    return observe


def _executor_dispatcher(context: BotContext, execution: ExecutionService) -> Dispatcher:
    """The executor owns the execution commands and follows approvals given as events."""
    execution.attach(context)
    return Dispatcher(
        context,
        execution.registry(),
        observer=execution.observe,
        on_event=execution.on_event,
        owned_commands=EXECUTOR_COMMANDS,
    )


async def open_execution(
    settings: Settings, data: DataDir, council_room: RoomID, metrics: MetricsSink | None = None
) -> ExecutionService:
    """One engine per process: SSH connections, the embedded `local` server, the audit."""
    execution = settings.execution
    audit = await RequestLedger.open(data.store, secrets=execution.secrets)
    engine = CommandRunner(
        execution.hosts.values(),
        limits=Limits(
            max_concurrent=execution.max_concurrent,
            output_limit=execution.output_limit,
            default_timeout=execution.default_timeout_seconds,
        ),
        secrets=execution.secrets,
        data_dir=data.root,
    )
    try:
        plans = await PlanApprovalStore.open(data.store)
    except BaseException:
        await engine.aclose()
        await audit.close()
        raise
    service = ExecutionService(settings, engine, audit, council_room, plans=plans, metrics=metrics)
    try:
        await service.prepare()
    except BaseException:
        await engine.aclose()
        await audit.close()
        await plans.close()
        raise
    return service


async def close_execution(service: ExecutionService) -> None:
    try:
        await service.aclose()
        await service.engine.aclose()
    finally:
        await service.audit.close()
        if service.plans is not None:
            await service.plans.store.close()
