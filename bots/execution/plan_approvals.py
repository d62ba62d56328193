"""A task's steps approved by the master's ✅ on the plan, without a prompt per step.

The executor trusts no bot's word: a request that names a plan approval (`plan_approval` in
`org.chavion.exec.request`) is approved only by what the executor saw itself. It remembers
plan messages from the configured coordinator whose every step digest is the digest of the
command shown, whose stated plan digest is the one `bots.tasks.plans.steps_digest` computes
from its steps, and whose every command (and verify, rollback) is shown verbatim in the body;
and an approver's ✅ / ❌ on such a message, or `!approve N` / `!deny N` (N = the plan's task,
sent after the plan). The HTML, which Element shows instead of the body, must show them too.
`check_grant` then approves a request only when its digest is one of
that plan's, its task is the plan's, the plan is the newest of its task, the named event is
an approver's approval of it, nobody who may approve denied it, and the approval is still
open. Anything else falls back to the prompt, with the reason logged.

The approval window covers the plan's run: the FIRST request under an approval must come
within `approval_expiry_seconds` of the approval; each further request under the same
approval of the same plan must come within `approval_expiry_seconds` of the END of the
previous request run under it (or while one still runs). So a plan whose steps take longer
than the window keeps running on its one ✅, and an approval nobody uses still lapses; a ❌
or `!deny N` voids it at once. The rules are pure (`read_plan`, `check_grant`,
table-tested); `PlanApprovals` is the memory around them.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bots.execution.approvals import FINAL_STATES, ApprovalRules, is_approver
from bots.execution.ledger import RequestLedger
from bots.execution.requests import ExecRequest, command_digest, short_digest
from bots.execution.spoken_verdicts import (
    SPOKEN_VERDICT_KIND,
    HeardVoice,
    HeardVoices,
    SpokenRefusal,
    check_spoken,
    read_claim,
)
from bots.ids import Digest, EventID, TaskID, UserID
from bots.message import Message, RoomEvent
from bots.routing.addressing import Roster
from bots.routing.router import (
    Command,
    RouterContext,
    parse,
    replies_with_verdict,
    task_reference,
)
from bots.store.plan_approvals import PlanApprovalStore, StoredPlan, StoredVerdict, VerdictKind
from bots.tasks.plans import steps_digest

log = logging.getLogger(__name__)

PLAN_KIND = "plan"
MAX_PLAN_STEPS = 200
"""More steps than any configured `tasks.max_steps`: reading a plan stays cheap."""
REACTIONS: Mapping[str, VerdictKind] = {"✅": "approve", "❌": "deny"}
SETTLE_SECONDS = 3.0
"""How long a request waits for a plan or approval it names that has not been seen yet:
events of one sync batch are handled concurrently, so the ✅ may land a moment later."""
_VARIATION_SELECTOR = "\ufe0f"


@dataclass(frozen=True)
class PlanRefusal:
    """Why a plan message is not remembered, or a request not approved by its plan.

    `unseen`: the plan or the approval is not (yet) remembered at all."""

    reason: str
    unseen: bool = False


@dataclass(frozen=True)
class PlanRun:
    """A request an approval already approved as a step of its plan; `ended_at` is when its
    run ended (None: approved or running still)."""

    request_id: str
    ended_at: float | None


@dataclass(frozen=True)
class PlanGrant:
    """The approval a request gets from its plan: given by `by` in event `event_id`."""

    by: UserID
    event_id: EventID
    plan_event: EventID
    plan_digest: str

    @property
    def detail(self) -> dict[str, object]:
        """What the audit row of the approval adds."""
        return {"plan_event": self.plan_event, "plan_digest": self.plan_digest}


# ---- the rules (pure) ---------------------------------------------------------------------


def read_plan(message: Message, coordinator: UserID) -> StoredPlan | PlanRefusal | None:
    """The plan a message shows, or why it is not remembered; None for any other message."""
    council = message.council
    if council is None or council.get("kind") != PLAN_KIND:
        return None
    if message.sender != coordinator:
        return PlanRefusal(f"a plan from {message.sender}, not from the coordinator {coordinator}")
    if message.replaces is not None:
        return PlanRefusal("an edit of a plan message is not a plan")
    try:
        return _read_plan(message, council)
    except _Bad as bad:
        return PlanRefusal(str(bad))
    except Exception:  # fail closed: an unreadable plan approves nothing
        log.exception("reading the plan message %s failed", message.event_id)
        return PlanRefusal("the plan could not be read")


def reaction_verdict(key: str) -> VerdictKind | None:
    """✅ approves, ❌ denies (compared with U+FE0F stripped); other keys say nothing."""
    return REACTIONS.get(key.replace(_VARIATION_SELECTOR, "").strip())


def command_verdict(name: str, args: str) -> tuple[VerdictKind, TaskID] | None:
    """`!approve 12` / `!deny #12: reason` → (verdict, "12"); a request id is not a task."""
    found = task_reference(args)
    if name not in ("approve", "deny") or found is None:
        return None
    return ("approve" if name == "approve" else "deny"), TaskID(str(found[0]))


def check_grant(
    request: ExecRequest,
    plan: StoredPlan | None,
    task_plans: Sequence[StoredPlan],
    verdicts: Sequence[StoredVerdict],
    *,
    coordinator: UserID,
    rules: ApprovalRules,
    now: float,
    runs: Sequence[PlanRun] = (),
) -> PlanGrant | PlanRefusal:
    """Whether `request` is approved by the plan approval it names. `plan` is the remembered
    plan it names (None: not remembered), `task_plans` every remembered plan of that plan's
    task, `verdicts` the reactions on the plan and the commands naming its task, `runs` the
    requests this approval already approved as steps of this plan (the sliding window)."""
    ref = request.plan_approval
    if ref is None:
        return PlanRefusal("the request names no plan approval")
    if plan is None:
        return PlanRefusal(
            f"{ref.plan_event} is not a plan the executor saw from the coordinator", unseen=True
        )
    if plan.sender != coordinator:
        return PlanRefusal(f"the plan was sent by {plan.sender}, not the coordinator")
    if request.task_id != plan.task_id:
        return PlanRefusal(
            f"the request is for task {request.task_id or '(none)'}, the plan for task "
            f"{plan.task_id}"
        )
    if request.digest not in plan.step_digests:
        return PlanRefusal(f"digest {short_digest(request.digest)} is not one of the plan's steps")
    newer = [p for p in task_plans if p.plan_event != plan.plan_event and _newer(p, plan)]
    if newer:
        return PlanRefusal(
            f"a newer plan of task {plan.task_id} ({newer[-1].plan_event}) replaced it"
        )
    applying = [v for v in verdicts if _applies(v, plan)]
    approval = next((v for v in applying if v.event_id == ref.approval_event), None)
    if approval is None:
        return PlanRefusal(
            f"{ref.approval_event} is not an approval of this plan the executor saw", unseen=True
        )
    if approval.verdict != "approve":
        return PlanRefusal(f"{ref.approval_event} denies the plan; it does not approve it")
    if not is_approver(approval.actor, rules):
        return PlanRefusal(f"{approval.actor} is not an approver for the executor")
    denials = [v for v in applying if v.verdict == "deny" and is_approver(v.actor, rules)]
    if denials:
        return PlanRefusal(f"the plan was denied by {denials[-1].actor} ({denials[-1].event_id})")
    expired = _window_refusal(approval.at, runs, now, rules.expiry_seconds)
    if expired is not None:
        return expired
    return PlanGrant(approval.actor, approval.event_id, plan.plan_event, plan.digest)


def _window_refusal(
    approved_at: float, runs: Sequence[PlanRun], now: float, expiry: float
) -> PlanRefusal | None:
    """The sliding window (see the module docstring): open from the approval until the first
    request, then while a request under it runs and up to `expiry` after the last one ended."""
    if any(run.ended_at is None for run in runs):
        return None  # the plan is running under this approval
    ends = [run.ended_at for run in runs if run.ended_at is not None]
    since = max(ends) if ends else approved_at
    age = now - since
    if math.isfinite(age) and age <= expiry:
        return None
    ago, lasts = f"{max(age, 0) / 60:.0f} min ago", f"{expiry / 60:g} min"
    if not ends:
        return PlanRefusal(f"the approval expired: given {ago}, approvals last {lasts}")
    return PlanRefusal(
        f"the approval expired: the last step run under it ended {ago}; between steps of a "
        f"plan an approval lasts {lasts}"
    )


def plan_runs(records: Sequence[tuple[str, str, float]]) -> list[PlanRun]:
    """(request id, state, updated at) of the requests an approval approved → their runs:
    a request in a final state ended when it last moved."""
    return [
        PlanRun(rid, updated_at if state in FINAL_STATES else None)
        for rid, state, updated_at in records
    ]


def _newer(other: StoredPlan, plan: StoredPlan) -> bool:
    """Sent after `plan` (or at the same moment: fail closed), or for a later attempt."""
    return other.at >= plan.at or other.attempt > plan.attempt


def _applies(verdict: StoredVerdict, plan: StoredPlan) -> bool:
    """A reaction on the plan itself, or a command naming its task sent after it there."""
    if verdict.plan_event is not None:
        return verdict.plan_event == plan.plan_event
    return (
        verdict.task_id == plan.task_id and verdict.room_id == plan.room_id and verdict.at > plan.at
    )


class _Bad(Exception):
    """Internal only: what is wrong with a plan message."""


def _read_plan(message: Message, council: Mapping[str, Any]) -> StoredPlan:
    task = council.get("task")
    if isinstance(task, str) and task.strip().isdigit():
        task = int(task)
    if isinstance(task, bool) or not isinstance(task, int) or task < 0:
        raise _Bad("the plan's task is not a task number")
    attempt = council.get("attempt", 0)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise _Bad("the plan's attempt is not a whole number")
    digest = council.get("digest")
    if not isinstance(digest, str) or not 0 < len(digest) <= 200:
        raise _Bad("the plan has no digest")
    steps = council.get("steps")
    if not isinstance(steps, list):
        raise _Bad("the plan has no list of steps")
    if len(steps) > MAX_PLAN_STEPS:
        raise _Bad(f"the plan has more than {MAX_PLAN_STEPS} steps")
    # What the master reads: the body, and the HTML when there is one (Element shows that).
    shown = [("the message", message.body)]
    if message.formatted_body is not None:
        shown.append(("its HTML", html.unescape(message.formatted_body)))
    digests: set[Digest] = set()
    for number, step in enumerate(steps, start=1):
        digests.update(_step_digests(number, step, shown))
    if steps_digest(steps) != digest:
        raise _Bad("the plan's digest is not the digest of its steps")
    at = message.timestamp_ms / 1000 if message.timestamp_ms > 0 else 0.0
    return StoredPlan(
        plan_event=message.event_id,
        room_id=message.room_id,
        sender=message.sender,
        task_id=TaskID(str(task)),
        attempt=attempt,
        digest=digest,
        step_digests=frozenset(digests),
        at=at,
    )


def _step_digests(number: int, step: object, shown: list[tuple[str, str]]) -> list[Digest]:
    """The digests of a step's command, verify and rollback, each checked against the text
    it names and that text shown verbatim in the body (and in the HTML, unescaped)."""
    if not isinstance(step, Mapping):
        raise _Bad(f"step {number} is not an object")
    host = step.get("host")
    if not isinstance(host, str) or not host:
        raise _Bad(f"step {number} has no host")
    found: list[Digest] = []
    for text_key, digest_key, required in (
        ("command", "digest", True),
        ("verify", "verify_digest", False),
        ("rollback", "rollback_digest", False),
    ):
        text = step.get(text_key)
        if text is None and not required:
            continue
        if not isinstance(text, str) or not text.strip():
            raise _Bad(f"step {number} has no {text_key}")
        if step.get(digest_key) != command_digest(host, text):
            raise _Bad(f"step {number}: {digest_key} does not match its host and {text_key}")
        for where, seen in shown:
            if text not in seen:
                raise _Bad(f"step {number}: the {text_key} is not shown verbatim in {where}")
        found.append(command_digest(host, text))
    return found


# ---- the memory ---------------------------------------------------------------------------


class PlanApprovals:
    """What the executor saw of plans and verdicts, and the grants it makes from them.

    `ledger` (the executor's requests) tells which requests an approval already approved,
    for the sliding window; without it only the first window (from the approval) applies."""

    def __init__(
        self,
        store: PlanApprovalStore,
        *,
        coordinator: UserID,
        rules: ApprovalRules,
        clock: Callable[[], float],
        ledger: RequestLedger | None = None,
        settle_seconds: float = SETTLE_SECONDS,
        transcriber: UserID | None = None,
    ) -> None:
        """`transcriber`: the bot that hears voice messages (`voice.transcriber`); a spoken
        verdict counts only when it is the coordinator (`spoken_verdicts`)."""
        self.store = store
        self.coordinator = coordinator
        self.transcriber = transcriber
        self.heard = HeardVoices()
        self.rules = rules
        self.ledger = ledger
        self._clock = clock
        self._settle = settle_seconds
        self._seen = asyncio.Event()
        """Set (and replaced by a fresh one) each time a plan or verdict is remembered."""

    async def observe(self, message: Message, roster: Roster) -> None:
        """Remembers a plan message from the coordinator, or an approver's `!approve N` /
        `!deny N` (read as the coordinator reads it: the router hands it the command)."""
        plan = read_plan(message, self.coordinator)
        if isinstance(plan, PlanRefusal):
            log.warning("plan message %s not remembered: %s", message.event_id, plan.reason)
            return
        if plan is not None:
            plan = plan if plan.at else replace(plan, at=self._clock())
            if await self.store.add_plan(plan):
                log.info("remembered plan %s of task %s", plan.plan_event, plan.task_id)
                self._saw_something()
            return
        if message.council is not None and message.council.get("kind") == SPOKEN_VERDICT_KIND:
            await self._spoken(message)
            return
        if message.replaces is not None or not is_approver(message.sender, self.rules):
            return
        if message.spoken_in is not None:
            return  # a transcript is a bot's word for what was said: never a typed command
        if message.audio is not None and message.audio.voice:
            at = self._at(message.timestamp_ms)
            self.heard.note(HeardVoice(message.event_id, message.room_id, message.sender, at))
            return
        route = self._command(message, roster)
        if route is None:
            return
        # A bare `!approve` / `!deny` replying to a message is a verdict on that message, as
        # a ✅ / ❌ on it would be (it approves nothing unless that message is a plan).
        reply = replies_with_verdict(route.name, route.args, message)
        verdict = command_verdict(route.name, route.args)
        if not reply and verdict is None:
            return
        kind: VerdictKind = "approve" if route.name == "approve" else "deny"
        added = await self.store.add_verdict(
            StoredVerdict(
                message.event_id,
                message.room_id,
                message.reply_to if reply else None,
                None if verdict is None else verdict[1],
                message.sender,
                kind,
                self._at(message.timestamp_ms),
            )
        )
        if added:
            self._saw_something()

    async def _spoken(self, message: Message) -> None:
        """The coordinator's message carrying an approver's spoken ✅ / ❌ (issue 20):
        remembered as his verdict on the plan only when every check holds."""
        claim = read_claim(message.council or {})
        verdict: StoredVerdict | SpokenRefusal = (
            claim
            if isinstance(claim, SpokenRefusal)
            else (
                check_spoken(
                    message,
                    claim,
                    coordinator=self.coordinator,
                    transcriber=self.transcriber,
                    plan=await self.store.plan(claim.plan_event),
                    heard=self.heard.get(claim.audio_event),
                    at=self._at(message.timestamp_ms),
                )
            )
        )
        if isinstance(verdict, SpokenRefusal):
            log.warning("spoken verdict %s not remembered: %s", message.event_id, verdict.reason)
            return
        if await self.store.add_verdict(verdict):
            log.info("remembered a spoken %s of %s", verdict.verdict, verdict.plan_event)
            self._saw_something()

    async def observe_reaction(self, event: RoomEvent) -> bool:
        """Remembers an approver's ✅ or ❌ (on any event but an approval prompt: it may be
        a plan whose message is still being handled); whether it was one."""
        target, key = event.reacts_to, event.reaction_key
        kind = None if key is None else reaction_verdict(key)
        if target is None or kind is None or not is_approver(event.sender, self.rules):
            return False
        verdict = StoredVerdict(
            event.event_id,
            event.room_id,
            target,
            None,
            event.sender,
            kind,
            self._at(event.timestamp_ms),
        )
        if await self.store.add_verdict(verdict):
            self._saw_something()
        return True

    async def grant(self, request: ExecRequest) -> PlanGrant | PlanRefusal:
        """The approval `request` has from the plan it names, or why none. A plan or approval
        not seen yet is waited for, up to `SETTLE_SECONDS`, and checked again as soon as
        one is remembered (no polling).

        Race-free: the signal a remembered fact sets is taken BEFORE the store is read, so a
        fact remembered between the read and the wait still wakes this wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settle
        while True:
            seen = self._seen
            outcome = await self._check(request)
            left = deadline - loop.time()
            if not (isinstance(outcome, PlanRefusal) and outcome.unseen) or left <= 0:
                return outcome
            try:
                await asyncio.wait_for(seen.wait(), timeout=left)
            except TimeoutError:
                return await self._check(request)

    def _saw_something(self) -> None:
        """Wakes every grant waiting for a plan or verdict; later waits take a fresh signal."""
        seen, self._seen = self._seen, asyncio.Event()
        seen.set()

    async def _check(self, request: ExecRequest) -> PlanGrant | PlanRefusal:
        ref = request.plan_approval
        plan = None if ref is None else await self.store.plan(ref.plan_event)
        task_plans = [] if plan is None else await self.store.plans_of_task(plan.task_id)
        verdicts = [] if plan is None else await self.store.verdicts(plan.plan_event, plan.task_id)
        runs: list[PlanRun] = []
        if ref is not None and plan is not None and self.ledger is not None:
            approved = await self.ledger.approved_under(ref.approval_event, ref.plan_event)
            runs = plan_runs(
                [
                    (r.request_id, r.state, r.updated_at)
                    for r in approved
                    if r.request_id != request.request_id
                ]
            )
        return check_grant(
            request,
            plan,
            task_plans,
            verdicts,
            coordinator=self.coordinator,
            rules=self.rules,
            now=self._clock(),
            runs=runs,
        )

    def _command(self, message: Message, roster: Roster) -> Command | None:
        """The command as the coordinator reads it (None: not one, or not the coordinator's)."""
        me = roster.get(self.coordinator)
        if me is None:
            return None
        context = RouterContext(me=me, roster=roster, is_coordinator=True, is_agent=False)
        route = parse(message, context)
        return route if isinstance(route, Command) else None

    def _at(self, timestamp_ms: int) -> float:
        return timestamp_ms / 1000 if timestamp_ms > 0 else self._clock()
