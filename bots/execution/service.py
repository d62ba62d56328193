"""The executor bot: runs commands on configured hosts, only as its own config allows.

Requests come from `!run` (the master) and from `org.chavion.exec.request` events (the
coordinator, or the master directly). The executor judges each one itself: its own policy,
its own list of approvers, the exact command digest. Every step is written to the audit
log before it is acted on: the intent row (`running`) is committed before the command
starts, so a request id runs at most once, and a run cut short by a restart is reported as
"interrupted, state unknown", never retried.

Commands run in the service's own task group, so a handler returns at once; progress is
one message edited (throttled), the result a new message (plus an `m.file` when the output
is long) and an `org.chavion.exec.result` event for the coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TypeVar
from zoneinfo import ZoneInfo

from bots.app.background import BackgroundTasks
from bots.app.settings import Settings
from bots.context import BotContext
from bots.coordinator.commands import make_help, ping
from bots.errors import CommandError
from bots.execution.approvals import (
    ApprovalRules,
    Approve,
    Cancel,
    Deny,
    Expire,
    Forbid,
    RequestState,
    apply,
    approval_from_reaction,
)
from bots.execution.ledger import RequestLedger, RequestRecord
from bots.execution.progress import (
    PROGRESS_EDIT_INTERVAL_S,
    PROGRESS_EDITS,
    LiveTail,
    approval_prompt,
    audit_listing,
    hosts_listing,
    outcome_message,
    progress_message,
    progress_throttle,
    result_message,
)
from bots.execution.requests import (
    REQUEST_EVENT,
    RESULT_EVENT,
    EventError,
    ExecRequest,
    ExecResult,
    accept_request,
    command_digest,
    new_request,
    outcome_result,
    parse_audit_args,
    parse_deny_args,
    parse_request_ref,
    parse_run_args,
    request_id_for_event,
    result_content,
    result_from_run,
)
from bots.ids import EventID, RequestID, RoomID, UserID
from bots.message import Reply, RoomEvent
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from executor.errors import ConnectionLost, ExecutorError, RunInterrupted
from executor.masking import mask_text
from executor.policy import Decision, Requester, Verdict, decide
from executor.results import RunResult
from executor.runner import CommandRunner, RunHandle

log = logging.getLogger(__name__)

EXECUTOR_COMMANDS = frozenset({"run", "approve", "deny", "cancel", "hosts", "audit"})
"""Answered by the executor even when no bot is named; the other bots leave them alone."""
PROBE_COMMAND = "cat /proc/loadavg"
"""`!hosts` runs this fixed read-only probe itself; it is not a request and not audited."""

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Origin:
    """Where a request was asked: replies about it go there."""

    room_id: RoomID
    event_id: EventID | None
    thread_root: EventID | None = None


@dataclass
class _Live:
    """What only this process knows of a request: the unmasked command and the run."""

    request: ExecRequest
    origin: Origin
    handle: RunHandle | None = None


@dataclass
class _Startup:
    interrupted: list[RequestRecord] = field(default_factory=list)
    abandoned: list[RequestRecord] = field(default_factory=list)


def sweep_interval(expiry_seconds: float) -> float:
    """How often pending requests are checked for expiry: a tenth of the window, 0.2–5 s."""
    return min(5.0, max(0.2, expiry_seconds / 10))


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
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.audit = audit
        self.council_room = council_room
        self.clock = clock
        self._sleep = sleep
        self.edit_interval = edit_interval
        self.progress_edits = progress_edits
        execution = settings.execution
        self.sweep_seconds = sweep_seconds or sweep_interval(execution.approval_expiry_seconds)
        self.secrets = execution.secrets
        bot_ids = tuple(settings.user_id(account) for account in settings.accounts)
        self.bot_ids = frozenset(bot_ids)
        self.rules = ApprovalRules(
            approvers=settings.approvers,
            expiry_seconds=execution.approval_expiry_seconds,
            excluded=bot_ids,
        )
        self._live: dict[RequestID, _Live] = {}
        self._work = BackgroundTasks("executor")
        self._startup = _Startup()
        self._bot: BotContext | None = None
        self._closing = False

    # ---- lifecycle ---------------------------------------------------------------------

    def attach(self, bot: BotContext) -> None:
        self._bot = bot

    async def prepare(self) -> None:
        """Before the bot syncs: whatever a crash left running is interrupted, never rerun;
        approved requests that never started are dropped (their asker is told)."""
        self._startup.interrupted = await self.audit.interrupted_on_startup()
        for record in await self.audit.in_state("approved"):
            if await self.audit.transition(
                record.request_id,
                "cancelled",
                detail={"reason": "the executor restarted before the command started"},
            ):
                self._startup.abandoned.append(record)

    async def run_background(self, synced: asyncio.Event, stop: asyncio.Event) -> None:
        """Once online: say what the restart left, then expire overdue requests until `stop`."""
        await synced.wait()
        await self._report_startup()
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:
                log.exception("the expiry sweep failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.sweep_seconds)

    async def aclose(self) -> None:
        """Stops running commands (their results are still recorded) and waits for them;
        approved requests that have not started yet never start."""
        self._closing = True
        for live in list(self._live.values()):
            if live.handle is not None:
                live.handle.cancel()
        await self._work.drain(timeout=20)

    # ---- the Dispatcher's view ---------------------------------------------------------

    def registry(self) -> Registry:
        registry = Registry(
            [
                CommandSpec("ping", "check that this bot answers", ping),
                CommandSpec(
                    "run",
                    "run a command on a host (policy and approval apply)",
                    self._cmd_run,
                    usage="<host> -- <command>",
                ),
                CommandSpec(
                    "approve",
                    "approve a waiting request (or react ✅ to its prompt)",
                    self._cmd_approve,
                    usage="<id>",
                ),
                CommandSpec(
                    "deny", "refuse a waiting request", self._cmd_deny, usage="<id> [reason]"
                ),
                CommandSpec(
                    "cancel", "stop a running or waiting request", self._cmd_cancel, usage="<id>"
                ),
                CommandSpec("hosts", "configured hosts, reachability and load", self._cmd_hosts),
                CommandSpec("audit", "the last audit log entries", self._cmd_audit, usage="[n]"),
            ]
        )
        registry.add(make_help(registry))
        return registry

    async def on_event(self, event: RoomEvent, bot: BotContext) -> list[Reply]:
        self._bot = bot
        if event.type == "m.reaction":
            return await self._reaction(event)
        if event.type == REQUEST_EVENT:
            return await self._request_event(event)
        return []

    # ---- commands ----------------------------------------------------------------------

    async def _cmd_run(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        host, command = parse_run_args(request.args)
        built = new_request(
            host,
            command,
            message.sender,
            request_id_for_event(message.event_id),
            secrets=self.secrets,
        )
        if isinstance(built, EventError):
            raise CommandError(f"Cannot run that: {built.field} {built.problem}.")
        await self._submit(built, Origin(message.room_id, message.event_id, message.thread_root))
        return []

    async def _cmd_approve(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        rid = parse_request_ref(request.args, "approve")
        text = await self._approve(rid, message.sender, message.event_id)
        return [Reply.answering(message, text)]

    async def _cmd_deny(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        rid, reason = parse_deny_args(request.args)
        record = await self._record(rid)
        before = record.as_state()
        after, outcome = apply(before, Deny(message.sender, reason), self.rules)
        if not outcome.accepted:
            await self._audit_refusal(rid, "denial", message.sender, message.event_id, outcome.text)
            raise CommandError(outcome.text)
        if not await self.audit.save(
            before,
            after,
            actor=message.sender,
            event_id=message.event_id,
            detail={"reason": reason},
        ):
            raise CommandError(f"{rid} changed meanwhile; it was not denied.")
        live = self._live.pop(rid, None)
        request_value = live.request if live else _request_of(record)
        formatted = outcome_message(
            request_value,
            "denied",
            f"by {message.sender}" + (f": {reason}" if reason else ""),
            secrets=self.secrets,
        )
        await self._result_event(
            message.room_id,
            outcome_result(request_value, "denied", reason or "denied", secrets=self.secrets),
        )
        return [Reply.answering(message, formatted.body, html=formatted.html)]

    async def _cmd_cancel(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        rid = parse_request_ref(request.args, "cancel")
        record = await self._record(rid)
        before = record.as_state()
        after, outcome = apply(before, Cancel(message.sender), self.rules)
        if not outcome.accepted:
            raise CommandError(outcome.text)
        live = self._live.get(rid)
        if record.state == "running":
            if live is None or live.handle is None:
                raise CommandError(f"{rid} is not running in this executor; nothing to stop.")
            await self.audit.append(
                rid,
                "cancel",
                actor=message.sender,
                event_id=message.event_id,
                host=record.host,
                command_digest=record.digest,
                detail={"state": "running", "reason": "cancel requested"},
            )
            live.handle.cancel()
            return [Reply.answering(message, outcome.text)]
        if not await self.audit.save(
            before, after, actor=message.sender, event_id=message.event_id
        ):
            raise CommandError(f"{rid} changed meanwhile; nothing was cancelled.")
        self._live.pop(rid, None)
        request_value = live.request if live else _request_of(record)
        formatted = outcome_message(
            request_value, "cancelled", f"by {message.sender}", secrets=self.secrets
        )
        cancelled = ExecResult(
            rid, record.digest, "cancelled", f"Execution {rid} on {record.host} cancelled"
        )
        await self._result_event(message.room_id, cancelled)
        return [Reply.answering(message, formatted.body, html=formatted.html)]

    async def _cmd_hosts(self, request: CommandRequest) -> list[Reply]:
        hosts = list(self.engine.hosts.values())
        probes = await asyncio.gather(*(self._probe(host.name) for host in hosts))
        formatted = hosts_listing(hosts, dict(zip((h.name for h in hosts), probes, strict=True)))
        return [Reply.answering(request.message, formatted.body, html=formatted.html)]

    async def _cmd_audit(self, request: CommandRequest) -> list[Reply]:
        count = parse_audit_args(request.args)
        try:
            tz = ZoneInfo(self.settings.timezone)
        except Exception:
            tz = ZoneInfo("UTC")
        formatted = audit_listing(await self.audit.recent(count), tz=tz)
        return [Reply.answering(request.message, formatted.body, html=formatted.html)]

    async def _probe(self, host: str) -> str:
        timeout = self.engine.hosts[host].connect_timeout + 5
        try:
            run = await asyncio.wait_for(self.engine.run(host, PROBE_COMMAND, timeout=5), timeout)
        except (ExecutorError, TimeoutError) as exc:
            return f"unreachable: {mask_text(str(exc), self.secrets) or 'timed out'}"
        if run.exit_status != 0:
            return "reachable (load unknown)"
        return "reachable, load " + " ".join(run.stdout.split()[:3])

    # ---- events ------------------------------------------------------------------------

    async def _request_event(self, event: RoomEvent) -> list[Reply]:
        senders = self.settings.exec_senders
        if event.sender not in senders:
            log.info("ignored %s from %s: not an allowed sender", event.event_id, event.sender)
            return []
        people = [s for s in senders if s not in self.bot_ids]
        relays = [s for s in senders if s in self.bot_ids]
        request = accept_request(event.content, event.sender, senders=people, relays=relays)
        if isinstance(request, EventError):
            raw = event.content.get("request_id")
            rid = RequestID(raw) if isinstance(raw, str) else request_id_for_event(event.event_id)
            await self._audit_refusal(
                RequestID(rid[:128]), "decision", event.sender, event.event_id, request.message
            )
            return [
                Reply(
                    event.room_id,
                    f"Refused execution request: {request.message}.",
                    reply_to=event.event_id,
                    key=f"{event.event_id}/0",
                )
            ]
        await self._submit(request, Origin(event.room_id, event.event_id))
        return []

    async def _reaction(self, event: RoomEvent) -> list[Reply]:
        target, key = event.reacts_to, event.reaction_key
        if target is None or key is None:
            return []
        record = await self.audit.find_by_prompt(target)
        if record is None:  # a ✅ counts only on an approval prompt, not on the asking message
            return []
        approval = approval_from_reaction(
            key, event.sender, event.event_id, self.clock(), record.as_state()
        )
        if approval is None:
            return []
        text = await self._approve(record.request_id, event.sender, event.event_id)
        return [Reply(event.room_id, text, reply_to=target, key=f"{event.event_id}/0")]

    # ---- the life of a request ---------------------------------------------------------

    async def _submit(self, request: ExecRequest, origin: Origin) -> None:
        """Judges the request, then opens it (the idempotency key) together with that
        decision and the state it leads to, in one transaction; then runs, asks or refuses.

        Deciding first leaves no moment in which the request is pending before its decision
        is known: an approval can only ever meet a request that needs one."""
        rid = request.request_id
        decision = self._decide(request)
        live = _Live(request, origin)
        # Known here before the store has it: an approval handled as soon as the request is
        # committed then finds the unmasked command.
        claimed = self._live.setdefault(rid, live) is live
        try:
            opened = await self.audit.open_request(
                request, room_id=origin.room_id, event_id=origin.event_id, decision=decision
            )
        except BaseException:
            if claimed:
                self._live.pop(rid, None)
            raise
        if not opened:
            if claimed:
                self._live.pop(rid, None)
            known = await self.audit.get(rid)
            state = known.state if known else "known"
            await self._say(
                origin,
                f"Request {rid} is already {state}; a request is never run twice.",
                key=f"{rid}/duplicate/{origin.event_id}",
            )
            return
        if decision.verdict is Verdict.FORBID:
            self._live.pop(rid, None)
            reason = decision.reason.removeprefix("forbidden: ")
            formatted = outcome_message(request, "forbidden", reason, secrets=self.secrets)
            await self._guarded(
                f"saying that {rid} is forbidden",
                self._say(origin, formatted.body, formatted.html, key=f"{rid}/forbidden"),
            )
            await self._guarded(
                f"the result event of {rid}",
                self._result_event(
                    origin.room_id,
                    outcome_result(request, "forbidden", reason, secrets=self.secrets),
                ),
            )
            return
        if decision.verdict is Verdict.ALLOW:
            self._work.spawn(self._run(rid), f"run {rid}")
            return
        prompt = approval_prompt(
            request,
            reason=decision.reason,
            expires_in=self.rules.expiry_seconds,
            secrets=self.secrets,
        )
        mention = tuple(UserID(a) for a in self.rules.approvers if "*" not in a and "?" not in a)
        prompt_id = await self._say(
            origin, prompt.body, prompt.html, key=f"{rid}/prompt", notice=False, mention=mention
        )
        if not await self.audit.set_message(rid, origin.room_id, prompt_id):
            log.error("the approval prompt of %s was not recorded; ✅ on it will not count", rid)

    def _decide(self, request: ExecRequest) -> Decision:
        if request.host not in self.engine.hosts:
            known = ", ".join(sorted(self.engine.hosts)) or "none"
            return Decision(
                Verdict.FORBID,
                f"forbidden: unknown host {request.host!r} (configured: {known}; see !hosts)",
                "unknown-host",
            )
        level = self._level(request.requester)
        if level is None:
            return Decision(
                Verdict.FORBID,
                f"forbidden: {request.requester} has no permission level for the executor",
                "no-level",
            )
        return decide(
            request.command,
            request.host,
            Requester(request.requester, level),
            self.settings.execution.policy,
        )

    def _level(self, user: UserID) -> str | None:
        for glob, level in self.settings.requester_levels:
            if fnmatch.fnmatchcase(user, glob):
                return level
        return None

    async def _approve(self, rid: RequestID, by: UserID, event_id: EventID) -> str:
        """An approval from `by`, checked here against the executor's own rules, and only for
        a request whose recorded policy decision is "needs approval"."""
        record = await self._record(rid)
        before = record.as_state()
        approval = Approve(by=by, digest=record.digest, event_id=event_id, at=self.clock())
        approved, outcome = apply(before, approval, self.rules)
        if not outcome.accepted:
            await self._audit_refusal(rid, "approval", by, event_id, outcome.text)
            return outcome.text
        live = self._live.get(rid) or self._revive(record)
        if live is None:
            # The approver may cancel what they may approve: the machine takes it.
            cancelled, _ = apply(before, Cancel(by), self.rules)
            if not await self.audit.save(
                before,
                cancelled,
                actor=by,
                event_id=event_id,
                detail={"reason": "the executor restarted and holds no unmasked command"},
            ):
                return f"{rid} was handled meanwhile; this approval changed nothing."
            return (
                f"{rid} cannot run: the executor restarted since it was asked and keeps no "
                "unmasked copy of the command. Please ask again."
            )
        now = self._decide(live.request)  # the policy may have changed since (a restart)
        if now.verdict is Verdict.FORBID:
            return await self._forbid_late(live, before, now, by, event_id)
        if not await self.audit.save(
            before, approved, actor=by, event_id=event_id, detail={"digest": record.digest}
        ):
            current = await self.audit.get(rid)
            if current is None or current.state != "pending":
                return f"{rid} was handled meanwhile; this approval changed nothing."
            refusal = f"{rid} cannot be approved: the executor's policy did not ask for approval."
            await self._audit_refusal(rid, "approval", by, event_id, refusal)
            return refusal
        self._live[rid] = live
        self._work.spawn(self._run(rid), f"run {rid}")
        return outcome.text

    async def _forbid_late(
        self, live: _Live, before: RequestState, decision: Decision, by: UserID, event_id: EventID
    ) -> str:
        """A waiting request that the executor's policy forbids now: it is never run."""
        request = live.request
        rid = request.request_id
        reason = decision.reason.removeprefix("forbidden: ")
        forbidden, _ = apply(before, Forbid(reason), self.rules)
        if not await self.audit.save(
            before,
            forbidden,
            actor=by,
            event_id=event_id,
            detail={"verdict": decision.verdict.value, "rule": decision.rule, "reason": reason},
        ):
            return f"{rid} was handled meanwhile; this approval changed nothing."
        self._live.pop(rid, None)
        await self._guarded(
            f"the result event of {rid}",
            self._result_event(
                live.origin.room_id,
                outcome_result(request, "forbidden", reason, secrets=self.secrets),
            ),
        )
        return f"{rid} will not run: the executor's policy now forbids it ({reason})."

    def _revive(self, record: RequestRecord) -> _Live | None:
        """A request from before a restart can still run if its stored (masked) command is
        the command itself, which the digest proves; otherwise it cannot."""
        if command_digest(record.host, record.command) != record.digest:
            return None
        origin = Origin(record.room_id or self.council_room, record.event_id)
        return _Live(_request_of(record), origin)

    async def _run(self, rid: RequestID) -> None:
        live = self._live.get(rid)
        if live is None:
            return
        try:
            await self._run_live(live)
        finally:
            self._live.pop(rid, None)

    async def _run_live(self, live: _Live) -> None:
        """Intent row, start, then messages. The command starts before anything is sent, and
        each send is on its own: a failing homeserver costs a message, never the run, its
        recorded end or the result event."""
        request, origin = live.request, live.origin
        rid = request.request_id
        refusal = await self._start_refusal(rid)
        if refusal is not None:
            await self._not_started(live, refusal)
            return
        if not await self.audit.mark_started(rid):
            log.warning("%s was not started: it is no longer approved", rid)
            await self._guarded(
                f"saying that {rid} was not started",
                self._say(
                    origin,
                    f"{rid} was not started: it is no longer approved.",
                    key=f"{rid}/not-started",
                ),
            )
            return
        tail = LiveTail()
        began = self.clock()

        async def on_output(stream: str, text: str) -> None:
            tail.feed(stream, text)

        run: RunResult | None = None
        if self._closing:  # stopping: nothing new starts (it is recorded as cancelled)
            run = self._failed_run(request, "the executor is stopping", 0.0, cancelled=True)
        else:
            try:
                live.handle = self.engine.start(request.host, request.command, on_output=on_output)
            except (ExecutorError, ValueError) as exc:
                run = self._failed_run(request, str(exc), self.clock() - began)
        progress_id: EventID | None = None
        lost: str | None = None
        if live.handle is not None:
            first = progress_message(request, 0.0, [], secrets=self.secrets)
            progress_id = await self._guarded(
                f"the progress message of {rid}",
                self._say(origin, first.body, first.html, key=f"{rid}/progress"),
            )
            run, lost = await self._wait(live.handle, request, origin, progress_id, tail, began)
        assert run is not None
        await self._conclude(request, origin, run, progress_id, lost=lost)

    async def _wait(
        self,
        handle: RunHandle,
        request: ExecRequest,
        origin: Origin,
        progress_id: EventID | None,
        tail: LiveTail,
        began: float,
    ) -> tuple[RunResult, str | None]:
        """The run's result, with the progress message edited meanwhile (when there is one),
        and why its end is unknown when the connection broke after the command was sent."""
        ticker: asyncio.Task[None] | None = None
        if progress_id is not None:
            ticker = asyncio.create_task(self._tick(request, origin, progress_id, tail, began))
        try:
            return await handle.wait(), None
        except ConnectionLost as exc:
            reason = mask_text(str(exc), self.secrets)
            if isinstance(exc, RunInterrupted):
                partial = exc.partial
            else:
                partial = self._failed_run(request, None, self.clock() - began)
            note = f"chavion: {reason}; state unknown, check the host"
            stderr = f"{partial.stderr.rstrip()}\n{note}" if partial.stderr.strip() else note
            return replace(partial, stderr=stderr), reason
        except (ExecutorError, ValueError) as exc:
            return self._failed_run(request, str(exc), self.clock() - began), None
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker

    async def _conclude(
        self,
        request: ExecRequest,
        origin: Origin,
        run: RunResult,
        progress_id: EventID | None,
        *,
        lost: str | None = None,
    ) -> None:
        """Records the end, then tells: the result event first (the coordinator acts on it),
        then the people. Each send may fail alone. A run whose connection broke (`lost`) ends
        `interrupted`: it may have done anything, and it is not run again."""
        rid = request.request_id
        result = result_from_run(request, run)
        if lost is not None:
            body = f"Execution {rid} on {request.host} interrupted, state unknown: {lost}"
            result = replace(result, status="interrupted", body=body)
        if not await self.audit.finish(rid, result):
            log.error("the end of %s (%s) was not recorded: it was not running", rid, result.status)
        await self._guarded(
            f"the result event of {rid}", self._result_event(origin.room_id, result)
        )
        final = result_message(request, run, secrets=self.secrets)
        if progress_id is not None:
            await self._guarded(
                f"the last progress edit of {rid}",
                self._send(
                    Reply(
                        origin.room_id,
                        f"{final.body.splitlines()[0]} — see the result below.",
                        replaces=progress_id,
                        key=f"{rid}/progress/final",
                    )
                ),
            )
        mention = () if request.requester in self.bot_ids else (request.requester,)
        await self._guarded(
            f"the result message of {rid}",
            self._say(
                origin, final.body, final.html, key=f"{rid}/result", notice=False, mention=mention
            ),
        )
        if final.attachment is not None:
            await self._guarded(
                f"the output file of {rid}",
                self._attached().matrix.send_file(
                    Reply(
                        origin.room_id,
                        final.attachment.filename,
                        thread_root=origin.thread_root,
                        reply_to=origin.event_id,
                        key=f"{rid}/file",
                    ),
                    final.attachment.filename,
                    final.attachment.text.encode("utf-8", "replace"),
                    final.attachment.mimetype,
                ),
            )

    async def _start_refusal(self, rid: RequestID) -> str | None:
        """Why an approved request must not start after all; None when it may."""
        if self._closing:
            return "the executor is stopping"
        verdict = await self.audit.verdict(rid)
        if verdict not in (Verdict.ALLOW, Verdict.NEEDS_APPROVAL):
            log.error("%s is approved but its policy decision is %s; not starting it", rid, verdict)
            return "its recorded policy decision does not allow it to run"
        return None

    async def _not_started(self, live: _Live, reason: str) -> None:
        """An approved request that will not start: cancelled, and its asker told."""
        request, origin = live.request, live.origin
        rid = request.request_id
        if not await self.audit.transition(rid, "cancelled", detail={"reason": reason}):
            log.warning("%s was not started (%s) and had already moved on", rid, reason)
            return
        formatted = outcome_message(request, "cancelled", reason, secrets=self.secrets)
        await self._guarded(
            f"saying that {rid} was not started",
            self._say(origin, formatted.body, formatted.html, key=f"{rid}/not-started"),
        )
        cancelled = ExecResult(
            rid, request.digest, "cancelled", f"Execution {rid} on {request.host} cancelled"
        )
        await self._guarded(
            f"the result event of {rid}", self._result_event(origin.room_id, cancelled)
        )

    async def _tick(
        self,
        request: ExecRequest,
        origin: Origin,
        progress_id: EventID,
        tail: LiveTail,
        began: float,
    ) -> None:
        """Edits the progress message (output tail, elapsed time) within the throttle."""
        throttle = progress_throttle(began, interval=self.edit_interval, edits=self.progress_edits)
        while True:
            await self._sleep(self.edit_interval)
            now = self.clock()
            if not throttle.should_edit(now):
                if throttle.exhausted:
                    return
                continue
            shown = progress_message(request, now - began, tail.lines(), secrets=self.secrets)
            edits = throttle.edits
            try:
                await self._send(
                    Reply(
                        origin.room_id,
                        shown.body,
                        html=shown.html,
                        replaces=progress_id,
                        key=f"{request.request_id}/progress/{edits}",
                    )
                )
            except Exception:
                log.warning("progress edit of %s failed", request.request_id, exc_info=True)

    def _failed_run(
        self, request: ExecRequest, error: str | None, duration: float, *, cancelled: bool = False
    ) -> RunResult:
        """A result without output for a command that did not run (or ran unseen)."""
        said = "" if error is None else f"could not run the command: {error}"
        return RunResult(
            host=request.host,
            command=mask_text(request.command, self.secrets),
            exit_status=None,
            exit_signal=None,
            stdout="",
            stderr=mask_text(said, self.secrets),
            duration=max(duration, 0.0),
            truncated=False,
            timed_out=False,
            cancelled=cancelled,
        )

    async def sweep(self) -> None:
        """Expires every pending request past its window, and says so where it was asked."""
        now = self.clock()
        for record in await self.audit.in_state("pending"):
            before = record.as_state()
            after, outcome = apply(before, Expire(now), self.rules)
            if not outcome.accepted:
                continue
            if not await self.audit.save(before, after, detail={"reason": outcome.text}):
                continue
            live = self._live.pop(record.request_id, None)
            request = live.request if live else _request_of(record)
            origin = live.origin if live else self._origin_of(record)
            minutes = self.rules.expiry_seconds / 60
            formatted = outcome_message(
                request,
                "expired",
                f"nobody approved it within {minutes:g} min",
                secrets=self.secrets,
            )
            await self._say(
                origin, formatted.body, formatted.html, key=f"{record.request_id}/expired"
            )
            await self._result_event(
                origin.room_id,
                outcome_result(request, "expired", outcome.text, secrets=self.secrets),
            )

    async def _report_startup(self) -> None:
        startup, self._startup = self._startup, _Startup()
        for record in startup.interrupted:
            request, origin = _request_of(record), self._origin_of(record)
            reason = "the executor restarted while it ran"
            formatted = outcome_message(request, "interrupted", reason, secrets=self.secrets)
            with _logged(f"reporting {record.request_id} as interrupted"):
                await self._say(
                    origin,
                    formatted.body,
                    formatted.html,
                    notice=False,
                    key=f"{record.request_id}/interrupted",
                )
                await self._result_event(
                    origin.room_id,
                    outcome_result(request, "interrupted", reason, secrets=self.secrets),
                )
        for record in startup.abandoned:
            request, origin = _request_of(record), self._origin_of(record)
            formatted = outcome_message(
                request,
                "cancelled",
                "the executor restarted before it started; ask again",
                secrets=self.secrets,
            )
            with _logged(f"reporting {record.request_id} as abandoned"):
                await self._say(
                    origin, formatted.body, formatted.html, key=f"{record.request_id}/abandoned"
                )

    # ---- helpers -----------------------------------------------------------------------

    async def _record(self, rid: RequestID) -> RequestRecord:
        record = await self.audit.get(rid)
        if record is None:
            raise CommandError(f"No request {rid}. The id is in the request's message.")
        return record

    async def _audit_refusal(
        self, rid: RequestID, kind: str, by: UserID, event_id: EventID, text: str
    ) -> None:
        await self.audit.append(
            rid,
            "approval" if kind == "approval" else ("denial" if kind == "denial" else "decision"),
            actor=by,
            event_id=event_id,
            detail={"verdict": "refused", "reason": text},
        )

    def _attached(self) -> BotContext:
        if self._bot is None:
            raise RuntimeError("the executor service is not attached to its bot")
        return self._bot

    def _origin_of(self, record: RequestRecord) -> Origin:
        return Origin(record.room_id or self.council_room, record.event_id)

    async def _guarded(self, what: str, sending: Awaitable[T]) -> T | None:
        """Awaits one send; a failure is logged with its traceback and the flow goes on."""
        try:
            return await sending
        except Exception:
            log.exception("%s could not be sent; carrying on", what)
            return None

    async def _send(self, reply: Reply) -> EventID:
        return await self._attached().matrix.send(reply)

    async def _say(
        self,
        origin: Origin,
        body: str,
        html: str | None = None,
        *,
        key: str,
        notice: bool = True,
        mention: tuple[UserID, ...] = (),
    ) -> EventID:
        return await self._send(
            Reply(
                origin.room_id,
                body,
                html=html,
                notice=notice,
                thread_root=origin.thread_root,
                reply_to=origin.event_id,
                mention=mention,
                key=key,
            )
        )

    async def _result_event(self, room_id: RoomID, result: ExecResult) -> None:
        await self._attached().matrix.send_event(
            room_id, RESULT_EVENT, result_content(result), key=f"{result.request_id}/result-event"
        )


def _request_of(record: RequestRecord) -> ExecRequest:
    """A request value rebuilt from its record, for messages (the command is masked)."""
    return ExecRequest(
        request_id=record.request_id,
        host=record.host,
        command=record.command,
        digest=record.digest,
        requester=record.requester,
        body="",
    )


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    """Startup reports are best effort: one failing must not hide the others."""
    try:
        yield
    except Exception:
        log.exception("%s failed", what)
