"""The life of one request in the executor bot: request → decision → approval → run → result.

The executor judges each request itself: its own policy, its own list of approvers, the
exact command digest. Every step is decided by the approval machine and written to the
ledger before it is acted on: the intent row (`running`) is committed before the command
starts, so a request id runs at most once, and a run cut short by a restart is reported as
"interrupted, state unknown", never retried.

Commands run in the service's background tasks, so a handler returns at once; progress is
one message edited (throttled), the result a new message (plus an `m.file` when the output
is long) and an `org.chavion.exec.result` event for the coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from bots.background import BackgroundTasks
from bots.context import MetricsSink
from bots.errors import CommandError
from bots.execution.approvals import (
    ApprovalRules,
    Approve,
    Cancel,
    Deny,
    Forbid,
    RequestState,
    apply,
)
from bots.execution.ledger import RequestLedger, RequestRecord
from bots.execution.outbox import Origin, Outbox, guarded
from bots.execution.plan_approvals import PlanApprovals, PlanRefusal
from bots.execution.progress import (
    LiveTail,
    approval_prompt,
    outcome_message,
    progress_message,
    progress_throttle,
    result_message,
)
from bots.execution.requests import (
    ExecRequest,
    ExecResult,
    command_digest,
    outcome_result,
    result_from_run,
)
from bots.ids import EventID, RequestID, RoomID, UserID
from bots.message import Message, Reply
from bots.settings import Settings
from executor.errors import ConnectionLost, ExecutorError, RunInterrupted
from executor.masking import mask_text
from executor.policy import Decision, Requester, Verdict, decide
from executor.results import RunResult
from executor.runner import CommandRunner, RunHandle

log = logging.getLogger(__name__)
RACE_RETRIES = 3
"""How often a person's deny or cancel is read again and re-applied when another move got
in between (one is the norm; three bound a pathological storm)."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Pacing:
    """How the progress message of a running command is edited."""

    edit_interval: float
    progress_edits: int


@dataclass
class _Live:
    """What only this process knows of a request: the unmasked command and the run."""

    request: ExecRequest
    origin: Origin
    handle: RunHandle | None = None


class RequestLifecycle:
    """Takes requests from asking to their end; the commands and the sweeper call in here."""

    def __init__(
        self,
        settings: Settings,
        engine: CommandRunner,
        audit: RequestLedger,
        council_room: RoomID,
        *,
        rules: ApprovalRules,
        outbox: Outbox,
        work: BackgroundTasks,
        clock: Clock,
        sleep: Sleep,
        pacing: Pacing,
        plans: PlanApprovals | None = None,
    ) -> None:
        self.settings = settings
        self.plans = plans
        self.engine = engine
        self.audit = audit
        self.council_room = council_room
        self.rules = rules
        self.outbox = outbox
        self.clock = clock
        self.secrets = settings.execution.secrets
        self.bot_ids = frozenset(settings.user_id(account) for account in settings.accounts)
        self.closing = False
        self._work = work
        self._sleep = sleep
        self._pacing = pacing
        self._live: dict[RequestID, _Live] = {}
        self._gates: dict[RequestID, tuple[asyncio.Lock, int]] = {}
        self.metrics: MetricsSink | None = None
        """Where runs are counted for `/metrics` (the service sets it; None: nowhere)."""
        self.starts_open = asyncio.Event()
        """Set once what came while the executor was away has been read (`hold_starts`):
        until then an approved command waits, so a cancel later in the same catch-up is
        seen before it starts. Open unless held."""
        self.starts_open.set()

    # ---- what only this process knows --------------------------------------------------

    def forget(self, rid: RequestID) -> tuple[ExecRequest, Origin] | None:
        """Drops a request that has ended; its unmasked request and origin, if known here."""
        live = self._live.pop(rid, None)
        return (live.request, live.origin) if live else None

    def stop_runs(self) -> None:
        """Stops running commands (their results are still recorded); nothing new starts."""
        self.closing = True
        self.starts_open.set()  # a run still held ends now, recorded as not started
        for live in list(self._live.values()):
            if live.handle is not None:
                live.handle.cancel()

    async def origin_of(self, record: RequestRecord) -> Origin:
        """Where replies about a stored request go: its room, the event showing it, and the
        thread it was asked in (kept in its `request` audit row), so a task's commands are
        read in the task's thread even after a restart."""
        asked = await self.audit.asked(record.request_id) or {}
        root, task = asked.get("thread_root"), asked.get("task_id")
        thread = EventID(root) if isinstance(root, str) and root else None
        task = task if isinstance(task, str) and task else None
        return Origin(record.room_id or self.council_room, record.event_id, thread, task)

    @contextlib.asynccontextmanager
    async def gate(self, rid: RequestID) -> AsyncIterator[None]:
        """One request's opening, the handling of a cancel of it and its start, one at a
        time: a cancel read in the same sync as its request (handled concurrently), or in
        any order, is never missed between a look and a write."""
        lock, users = self._gates.get(rid, (asyncio.Lock(), 0))
        self._gates[rid] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._gates[rid]
            if users > 1:
                self._gates[rid] = (lock, users - 1)
            else:
                del self._gates[rid]

    async def record(self, rid: RequestID) -> RequestRecord:
        record = await self.audit.get(rid)
        if record is None:
            raise CommandError(f"No request {rid}. The id is in the request's message.")
        return record

    async def audit_refusal(
        self, rid: RequestID, kind: str, by: UserID, event_id: EventID, text: str
    ) -> None:
        await self.audit.append(
            rid,
            "approval" if kind == "approval" else ("denial" if kind == "denial" else "decision"),
            actor=by,
            event_id=event_id,
            detail={"verdict": "refused", "reason": text},
        )

    # ---- asking ------------------------------------------------------------------------

    async def submit(self, request: ExecRequest, origin: Origin) -> None:
        """Judges the request, then opens it (the idempotency key) together with that
        decision and the state it leads to, in one transaction; then runs, asks or refuses.

        Deciding first leaves no moment in which the request is pending before its decision
        is known: an approval can only ever meet a request that needs one."""
        rid = request.request_id
        decision = await self.judge(request)
        live = _Live(request, origin)
        # Known here before the store has it: an approval handled as soon as the request is
        # committed then finds the unmasked command.
        claimed = self._live.setdefault(rid, live) is live
        try:
            opened = await self.audit.open_request(
                request,
                room_id=origin.room_id,
                event_id=origin.event_id,
                decision=decision,
                thread_root=origin.thread_root,
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
            await self.outbox.say(
                origin,
                f"Request {rid} is already {state}; a request is never run twice.",
                key=f"{rid}/duplicate/{origin.event_id}",
            )
            return
        if decision.verdict is Verdict.FORBID:
            self._live.pop(rid, None)
            reason = decision.reason.removeprefix("forbidden: ")
            formatted = outcome_message(request, "forbidden", reason, secrets=self.secrets)
            await guarded(
                f"saying that {rid} is forbidden",
                self.outbox.say(origin, formatted.body, formatted.html, key=f"{rid}/forbidden"),
            )
            await guarded(
                f"the result event of {rid}",
                self.outbox.result_event(
                    origin.room_id,
                    outcome_result(request, "forbidden", reason, secrets=self.secrets),
                ),
            )
            return
        if await self._cancelled_early(live):
            return
        if decision.verdict is Verdict.ALLOW:
            self._work.spawn(self._run(rid), f"run {rid}")
            return
        if await self._approved_by_plan(request):
            return
        prompt = approval_prompt(
            request,
            reason=decision.reason,
            expires_in=self.rules.expiry_seconds,
            secrets=self.secrets,
            warnings=decision.warnings,
        )
        mention = tuple(UserID(a) for a in self.rules.approvers if "*" not in a and "?" not in a)
        prompt_id = await self.outbox.say(
            origin, prompt.body, prompt.html, key=f"{rid}/prompt", notice=False, mention=mention
        )
        if not await self.audit.set_message(rid, origin.room_id, prompt_id):
            log.error("the approval prompt of %s was not recorded; ✅ on it will not count", rid)

    async def _cancelled_early(self, live: _Live) -> bool:
        """A request whose cancel came first (the coordinator gave the step up while the
        executor was away) ends cancelled here, said once in its thread: it never runs. The
        service opens a request and handles a cancel of it one at a time (`gate`), so a
        cancel that found no request has been kept by now."""
        reason = await self._early_cancel(live.request)
        if reason is None:
            return False
        self._live.pop(live.request.request_id, None)
        await self._not_started(live, reason)
        return True

    async def _early_cancel(self, request: ExecRequest) -> str | None:
        """Why the request was cancelled before it arrived; None when it was not."""
        early = await self.audit.cancelled_early(request.request_id, request.task_id)
        if early is None:
            return None
        by = f" by {early.actor}" if early.actor else ""
        return f"cancelled{by} before it arrived"

    async def _approved_by_plan(self, request: ExecRequest) -> bool:
        """A step of a plan an approver approved (see plan_approvals.py) is approved by that
        approval, without a prompt; otherwise (said in the log) the prompt asks as usual."""
        rid = request.request_id
        if request.plan_approval is None or self.plans is None:
            return False
        grant = await self.plans.grant(request)
        if isinstance(grant, PlanRefusal):
            log.info("%s: its plan approval does not count (%s); prompting", rid, grant.reason)
            detail = {"verdict": "refused", "reason": f"plan approval: {grant.reason}"}
            await self.audit.append(rid, "approval", detail=detail)
            return False
        await self.approve(rid, grant.by, grant.event_id, detail=grant.detail)
        record = await self.audit.get(rid)
        return record is not None and record.state != "pending"

    async def judge(self, request: ExecRequest) -> Decision:
        """`decide`, in a worker thread: judging a hostile command may take up to the policy's
        time budget, and the event loop every bot shares must not wait for it."""
        return await asyncio.to_thread(self.decide, request)

    def decide(self, request: ExecRequest) -> Decision:
        """The executor's own policy on this request: unknown hosts and requesters without
        a permission level are forbidden before the command is even read."""
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

    # ---- deciding ----------------------------------------------------------------------

    async def approve(
        self,
        rid: RequestID,
        by: UserID,
        event_id: EventID,
        *,
        detail: dict[str, object] | None = None,
    ) -> str:
        """An approval from `by`, checked here against the executor's own rules, and only for
        a request whose recorded policy decision is "needs approval"; `detail` is audited."""
        record = await self.record(rid)
        before = record.as_state()
        approval = Approve(by=by, digest=record.digest, event_id=event_id, at=self.clock())
        approved, outcome = apply(before, approval, self.rules)
        if not outcome.accepted:
            await self.audit_refusal(rid, "approval", by, event_id, outcome.text)
            return outcome.text
        live = self._live.get(rid) or await self._revive(record)
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
        now = await self.judge(live.request)  # the policy may have changed since (a restart)
        if now.verdict is Verdict.FORBID:
            return await self._forbid_late(live, before, now, by, event_id)
        detail = {"digest": record.digest, **(detail or {})}
        if not await self.audit.save(before, approved, actor=by, event_id=event_id, detail=detail):
            current = await self.audit.get(rid)
            if current is None or current.state != "pending":
                return f"{rid} was handled meanwhile; this approval changed nothing."
            refusal = f"{rid} cannot be approved: the executor's policy did not ask for approval."
            await self.audit_refusal(rid, "approval", by, event_id, refusal)
            return refusal
        self._live[rid] = live
        self._work.spawn(self._run(rid), f"run {rid}")
        return outcome.text

    async def deny(self, message: Message, rid: RequestID, reason: str) -> list[Reply]:
        """`!deny`: an approver's no; the asker and the coordinator are told."""
        for _ in range(RACE_RETRIES):
            # Read, apply, save (compare and set); a move that got in between (an approval
            # landing at the same moment) is read back and the deny applied to it, as the
            # machine allows a deny of an approved request that has not started.
            record = await self.record(rid)
            before = record.as_state()
            after, outcome = apply(before, Deny(message.sender, reason), self.rules)
            if not outcome.accepted:
                await self.audit_refusal(
                    rid, "denial", message.sender, message.event_id, outcome.text
                )
                raise CommandError(outcome.text)
            if await self.audit.save(
                before,
                after,
                actor=message.sender,
                event_id=message.event_id,
                detail={"reason": reason},
            ):
                break
        else:
            raise CommandError(f"{rid} changed meanwhile; it was not denied.")
        live = self._live.pop(rid, None)
        request_value = live.request if live else request_of(record)
        formatted = outcome_message(
            request_value,
            "denied",
            f"by {message.sender}" + (f": {reason}" if reason else ""),
            secrets=self.secrets,
        )
        await self.outbox.result_event(
            message.room_id,
            outcome_result(request_value, "denied", reason or "denied", secrets=self.secrets),
        )
        return [Reply.answering(message, formatted.body, html=formatted.html)]

    async def cancel(
        self, message: Message, rid: RequestID, *, relayed: bool = False, reason: str = ""
    ) -> list[Reply]:
        """`!cancel` (or an `org.chavion.exec.cancel`, `relayed` from the coordinator): a
        running command is stopped (its end is recorded when it comes); a waiting one ends
        here, having never run."""
        for _ in range(RACE_RETRIES):
            # As for a deny: a move in between (the command starting) is read back, and the
            # cancel then stops the running command instead.
            record = await self.record(rid)
            before = record.as_state()
            after, outcome = apply(before, Cancel(message.sender, relayed), self.rules)
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
                    detail={"state": "running", "reason": reason or "cancel requested"},
                )
                live.handle.cancel()
                return [Reply.answering(message, outcome.text)]
            said = {"reason": reason} if reason else None
            if await self.audit.save(
                before, after, actor=message.sender, event_id=message.event_id, detail=said
            ):
                break
        else:
            raise CommandError(f"{rid} changed meanwhile; nothing was cancelled.")
        self._live.pop(rid, None)
        request_value = live.request if live else request_of(record)
        formatted = outcome_message(
            request_value, "cancelled", f"by {message.sender}", secrets=self.secrets
        )
        cancelled = ExecResult(
            rid, record.digest, "cancelled", f"Execution {rid} on {record.host} cancelled"
        )
        await self.outbox.result_event(message.room_id, cancelled)
        return [Reply.answering(message, formatted.body, html=formatted.html)]

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
        await guarded(
            f"the result event of {rid}",
            self.outbox.result_event(
                live.origin.room_id,
                outcome_result(request, "forbidden", reason, secrets=self.secrets),
            ),
        )
        return f"{rid} will not run: the executor's policy now forbids it ({reason})."

    async def _revive(self, record: RequestRecord) -> _Live | None:
        """A request from before a restart can still run if its stored (masked) command is
        the command itself, which the digest proves; otherwise it cannot."""
        if command_digest(record.host, record.command) != record.digest:
            return None
        return _Live(request_of(record), await self.origin_of(record))

    # ---- running -----------------------------------------------------------------------

    async def _run(self, rid: RequestID) -> None:
        await self.starts_open.wait()  # after a restart: until the catch-up is read
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
        async with self.gate(rid):  # a cancel handled meanwhile is seen here, or sees this
            refusal = await self._start_refusal(live.request)
            started = refusal is None and await self.audit.mark_started(rid)
        if refusal is not None:
            await self._not_started(live, refusal)
            return
        if not started:
            log.warning("%s was not started: it is no longer approved", rid)
            await guarded(
                f"saying that {rid} was not started",
                self.outbox.say(
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
        if self.closing:  # stopping: nothing new starts (it is recorded as cancelled)
            run = self._failed_run(request, "the executor is stopping", 0.0, cancelled=True)
        else:
            # Nobody approved an auto-approved command (the policy's ALLOW): it runs in the
            # read-only sandbox, so a misjudged write fails instead of happening.
            sandboxed = await self.audit.verdict(rid) is Verdict.ALLOW
            try:
                live.handle = self.engine.start(
                    request.host, request.command, on_output=on_output, sandboxed=sandboxed
                )
            except (ExecutorError, ValueError) as exc:
                run = self._failed_run(request, str(exc), self.clock() - began)
        progress_id: EventID | None = None
        lost: str | None = None
        if live.handle is not None:
            first = progress_message(request, 0.0, [], secrets=self.secrets)
            progress_id = await guarded(
                f"the progress message of {rid}",
                self.outbox.say(origin, first.body, first.html, key=f"{rid}/progress"),
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
        if self.metrics is not None:
            known = run.exit_status is not None and lost is None
            ended = run.exit_status if known else result.status  # e.g. "interrupted"
            self.metrics.exec_run(request.host, ended, run.duration)
        await guarded(
            f"the result event of {rid}", self.outbox.result_event(origin.room_id, result)
        )
        final = result_message(request, run, secrets=self.secrets)
        if progress_id is not None:
            await guarded(
                f"the last progress edit of {rid}",
                self.outbox.send(
                    Reply(
                        origin.room_id,
                        origin.tag(f"{final.body.splitlines()[0]} — see the result below."),
                        replaces=progress_id,
                        key=f"{rid}/progress/final",
                    )
                ),
            )
        # A task's step is reported to the master by the coordinator's report, which buzzes
        # once: the step's own result is a quiet notice in the task's thread.
        quiet = request.task_id is not None or request.requester in self.bot_ids
        mention = () if quiet else (request.requester,)
        await guarded(
            f"the result message of {rid}",
            self.outbox.say(
                origin, final.body, final.html, key=f"{rid}/result", notice=quiet, mention=mention
            ),
        )
        if final.attachment is not None:
            await guarded(
                f"the output file of {rid}",
                self.outbox.send_file(
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

    async def _start_refusal(self, request: ExecRequest) -> str | None:
        """Why an approved request must not start after all; None when it may."""
        rid = request.request_id
        if self.closing:
            return "the executor is stopping"
        early = await self._early_cancel(request)
        if early is not None:
            return early
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
        await guarded(
            f"saying that {rid} was not started",
            self.outbox.say(origin, formatted.body, formatted.html, key=f"{rid}/not-started"),
        )
        cancelled = ExecResult(
            rid, request.digest, "cancelled", f"Execution {rid} on {request.host} cancelled"
        )
        await guarded(
            f"the result event of {rid}", self.outbox.result_event(origin.room_id, cancelled)
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
        pacing = self._pacing
        throttle = progress_throttle(
            began, interval=pacing.edit_interval, edits=pacing.progress_edits
        )
        while True:
            await self._sleep(pacing.edit_interval)
            now = self.clock()
            if not throttle.should_edit(now):
                if throttle.exhausted:
                    return
                continue
            shown = progress_message(request, now - began, tail.lines(), secrets=self.secrets)
            edits = throttle.edits
            try:
                await self.outbox.send(
                    Reply(
                        origin.room_id,
                        origin.tag(shown.body),
                        html=origin.tag(shown.html),
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


def request_of(record: RequestRecord) -> ExecRequest:
    """A request value rebuilt from its record, for messages (the command is masked)."""
    return ExecRequest(
        request_id=record.request_id,
        host=record.host,
        command=record.command,
        digest=record.digest,
        requester=record.requester,
        body="",
    )
