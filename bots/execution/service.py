"""The executor bot: runs commands on configured hosts, only as its own config allows.

Requests come from `!run` (the master) and from `org.chavion.exec.request` events (the
coordinator, or the master directly); a ✅ on an approval prompt approves, and a ✅ on a
task's plan approves the requests that are its steps (plan_approvals.py: the executor
observes plan messages and `!approve N` without answering them). `org.chavion.exec.cancel`
from the coordinator or an approver stops a request. This module plugs the parts into a
Dispatcher: the commands (commands.py), the life of a request (lifecycle.py) and the
background work after a restart and for expiry (sweeper.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bots.background import BackgroundTasks
from bots.context import BotContext, MetricsSink
from bots.errors import CommandError, ConfigError
from bots.execution.approvals import ApprovalRules, approval_from_reaction, is_approver
from bots.execution.commands import ExecutionCommands
from bots.execution.ledger import RequestLedger
from bots.execution.lifecycle import Clock, Pacing, RequestLifecycle, Sleep
from bots.execution.outbox import Origin, Outbox
from bots.execution.plan_approvals import PlanApprovals
from bots.execution.progress import PROGRESS_EDIT_INTERVAL_S, PROGRESS_EDITS
from bots.execution.requests import (
    CANCEL_EVENT,
    REQUEST_EVENT,
    EventError,
    ExecCancel,
    accept_request,
    parse_cancel,
    request_id_for_event,
    thread_root_of,
)
from bots.execution.sweeper import Sweeper, sweep_interval
from bots.ids import RequestID, RoomID, UserID
from bots.message import Message, Reply, RoomEvent
from bots.routing.commands import Registry
from bots.settings import Settings
from bots.store.plan_approvals import PlanApprovalStore
from executor.runner import CommandRunner

log = logging.getLogger(__name__)


class ExecutionService:
    """The executor bot's state and behaviour; `registry()` and `on_event` plug it into a
    Dispatcher, `run_background` reports what a restart left and expires requests."""

    def __init__(
        self,
        settings: Settings,
        engine: CommandRunner,
        audit: RequestLedger,
        council_room: RoomID,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        edit_interval: float = PROGRESS_EDIT_INTERVAL_S,
        progress_edits: int = PROGRESS_EDITS,
        sweep_seconds: float | None = None,
        plans: PlanApprovalStore | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        """`plans`: the memory of task plans; without it no plan approves a request.
        `metrics`: where runs are counted for the bridge's `/metrics` (None: nowhere)."""
        self.settings = settings
        self.engine = engine
        self.audit = audit
        execution = settings.execution
        bot_ids = tuple(settings.user_id(account) for account in settings.accounts)
        rules = ApprovalRules(
            approvers=settings.approvers,
            expiry_seconds=execution.approval_expiry_seconds,
            excluded=bot_ids,
        )
        self._outbox = Outbox()
        self._work = BackgroundTasks("executor")
        self.coordinator = settings.user_id(settings.coordinator)
        self.plans = (
            None
            if plans is None
            else PlanApprovals(
                plans,
                coordinator=self.coordinator,
                rules=rules,
                clock=clock,
                ledger=audit,
                transcriber=_transcriber(settings),
            )
        )
        self.lifecycle = RequestLifecycle(
            settings,
            engine,
            audit,
            council_room,
            rules=rules,
            outbox=self._outbox,
            work=self._work,
            clock=clock,
            sleep=sleep,
            pacing=Pacing(edit_interval, progress_edits),
            plans=self.plans,
        )
        self.lifecycle.metrics = metrics
        interval = sweep_seconds or sweep_interval(execution.approval_expiry_seconds)
        self.sweeper = Sweeper(self.lifecycle, interval)
        self._commands = ExecutionCommands(self.lifecycle)

    def attach(self, bot: BotContext) -> None:
        self._outbox.attach(bot)

    async def prepare(self) -> None:
        """Before the bot syncs: see `Sweeper.prepare`."""
        await self.sweeper.prepare()

    def hold_starts(self) -> None:
        """Before the bot first syncs: no approved command starts until `run_background` has
        seen the catch-up handled. A request and the coordinator's cancel of it that came
        while the executor was away arrive in one sync and are handled concurrently; without
        the hold the request could start before its cancel is read."""
        self.lifecycle.starts_open.clear()

    async def run_background(
        self,
        synced: asyncio.Event,
        stop: asyncio.Event,
        caught_up: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Once online and caught up (`caught_up`: the Matrix side's, which returns once the
        first sync's events are handled): starts open, then say what the restart left and
        expire overdue requests until `stop`."""
        await synced.wait()
        try:
            if caught_up is not None:
                await caught_up()
        finally:
            self.lifecycle.starts_open.set()
        await self.sweeper.run(synced, stop)

    async def aclose(self) -> None:
        """Stops running commands (their results are still recorded) and waits for them;
        approved requests that have not started yet never start."""
        self.lifecycle.stop_runs()
        await self._work.drain(timeout=20)

    def registry(self) -> Registry:
        return self._commands.registry()

    async def observe(self, message: Message, bot: BotContext) -> list[Reply]:
        """Every message: plan messages and `!approve N` / `!deny N` are remembered (the
        coordinator answers those; the executor never does)."""
        if self.plans is None or message.sender == bot.identity.user_id:
            return []
        try:
            await self.plans.observe(message, bot.roster)
        except Exception:  # never an apology in the room: the executor answers none of these
            log.exception("remembering %s for plan approvals failed", message.event_id)
        return []

    async def on_event(self, event: RoomEvent, bot: BotContext) -> list[Reply]:
        self._outbox.attach(bot)
        if event.type == "m.reaction":
            return await self._reaction(event)
        if event.type == REQUEST_EVENT:
            return await self._request_event(event)
        if event.type == CANCEL_EVENT:
            return await self._cancel_event(event)
        return []

    async def _cancel_event(self, event: RoomEvent) -> list[Reply]:
        """The coordinator (relaying its task) or an approver stops a request; a cancel from
        anyone else, or naming another task than the request's, changes nothing."""
        relayed = event.sender == self.coordinator and event.sender in self.settings.exec_senders
        if not relayed and not is_approver(event.sender, self.lifecycle.rules):
            log.info("ignored the cancel %s from %s: not allowed", event.event_id, event.sender)
            return []
        cancel = parse_cancel(event.content)
        if isinstance(cancel, EventError):
            log.warning("refused the cancel %s: %s", event.event_id, cancel.message)
            return []
        async with self.lifecycle.gate(cancel.request_id):  # not while it opens or starts
            return await self._cancel(event, cancel, relayed=relayed)

    async def _cancel(self, event: RoomEvent, cancel: ExecCancel, *, relayed: bool) -> list[Reply]:
        rid = cancel.request_id
        record, asked = await self.audit.get(rid), await self.audit.asked(rid)
        if record is None or asked is None:
            # Not here yet (the executor was away): kept, so the request never runs.
            await self.audit.remember_cancel(
                rid,
                actor=event.sender,
                event_id=event.event_id,
                task_id=cancel.task_id,
                reason=cancel.reason,
            )
            log.info("the cancel %s names no request %s yet: kept", event.event_id, rid)
            return []
        task = asked.get("task_id")
        if cancel.task_id is not None and cancel.task_id != task:
            text = f"the cancel names task {cancel.task_id}, the request is of task {task}"
            detail = {"verdict": "refused", "reason": text}
            await self.audit.append(
                rid, "cancel", actor=event.sender, event_id=event.event_id, detail=detail
            )
            log.warning("refused the cancel %s of %s: %s", event.event_id, rid, text)
            return []
        asking = Message(event.room_id, event.event_id, event.sender, "")
        try:
            replies = await self.lifecycle.cancel(
                asking, rid, relayed=relayed, reason=cancel.reason
            )
        except CommandError as refused:
            log.info("the cancel %s of %s changed nothing: %s", event.event_id, rid, refused)
            return []
        origin = await self.lifecycle.origin_of(record)
        return [
            replace(
                r,
                body=origin.tag(r.body),
                html=None if r.html is None else origin.tag(r.html),
                reply_to=origin.event_id,
                room_id=origin.room_id,
                thread_root=origin.thread_root,
            )
            for r in replies
        ]

    async def _request_event(self, event: RoomEvent) -> list[Reply]:
        senders = self.settings.exec_senders
        thread = thread_root_of(event.content)
        if event.sender not in senders:
            log.info("ignored %s from %s: not an allowed sender", event.event_id, event.sender)
            return []
        bot_ids = self.lifecycle.bot_ids
        people = [s for s in senders if s not in bot_ids]
        relays = [s for s in senders if s in bot_ids]
        request = accept_request(event.content, event.sender, senders=people, relays=relays)
        if isinstance(request, EventError):
            raw = event.content.get("request_id")
            rid = RequestID(raw) if isinstance(raw, str) else request_id_for_event(event.event_id)
            await self.lifecycle.audit_refusal(
                RequestID(rid[:128]), "decision", event.sender, event.event_id, request.message
            )
            return [
                Reply(
                    event.room_id,
                    f"Refused execution request: {request.message}.",
                    thread_root=thread,
                    reply_to=event.event_id,
                    key=f"{event.event_id}/0",
                )
            ]
        origin = Origin(event.room_id, event.event_id, thread, request.task_id)
        async with self.lifecycle.gate(request.request_id):  # not while a cancel of it is read
            await self.lifecycle.submit(request, origin)
        return []

    async def _reaction(self, event: RoomEvent) -> list[Reply]:
        target, key = event.reacts_to, event.reaction_key
        if target is None or key is None:
            return []
        record = await self.audit.find_by_prompt(target)
        if record is None:  # a ✅ counts only on an approval prompt, not on the asking message
            if self.plans is not None:  # … or, for the requests of its steps, on a plan
                await self.plans.observe_reaction(event)
            return []
        approval = approval_from_reaction(
            key, event.sender, event.event_id, self.lifecycle.clock(), record.as_state()
        )
        if approval is None:
            return []
        text = await self.lifecycle.approve(record.request_id, event.sender, event.event_id)
        origin = await self.lifecycle.origin_of(record)
        return [
            Reply(
                event.room_id,
                origin.tag(text),
                thread_root=origin.thread_root,
                reply_to=target,
                key=f"{event.event_id}/0",
            )
        ]


def _transcriber(settings: Settings) -> UserID | None:
    """The bot that hears voice messages (`voice.transcriber`); None when it is no bot."""
    try:
        return settings.user_id(settings.account(settings.voice.transcriber))
    except ConfigError:
        return None
