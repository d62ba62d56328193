"""A task's steps approved by the master's ✅ on the plan, without a prompt per step.

The executor trusts no bot's word: a request that names a plan approval (`plan_approval` in
`org.chavion.exec.request`) is approved only by what the executor saw itself. It remembers
plan messages from the configured coordinator whose every step digest is the digest of the
command shown, and whose every command (and verify, rollback) is shown verbatim in the body;
and an approver's ✅ / ❌ on such a message, or `!approve N` / `!deny N` (N = the plan's task,
sent after the plan). The HTML, which Element shows instead of the body, must show them too.
`check_grant` then approves a request only when its digest is one of
that plan's, its task is the plan's, the plan is the newest of its task, the named event is
an approver's approval of it, nobody who may approve denied it, and the approval is younger
than `approval_expiry_seconds`. Anything else falls back to the prompt, with the reason
logged. The rules are pure (`read_plan`, `check_grant`, table-tested); `PlanApprovals` is
the memory around them.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bots.execution.approvals import ApprovalRules, is_approver
from bots.execution.requests import ExecRequest, command_digest, short_digest
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
) -> PlanGrant | PlanRefusal:
    """Whether `request` is approved by the plan approval it names. `plan` is the remembered
    plan it names (None: not remembered), `task_plans` every remembered plan of that plan's
    task, `verdicts` the reactions on the plan and the commands naming its task."""
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
    age = now - approval.at
    if not (math.isfinite(age) and age <= rules.expiry_seconds):
        return PlanRefusal(
            f"the approval expired: given {max(age, 0) / 60:.0f} min ago, approvals last "
            f"{rules.expiry_seconds / 60:g} min"
        )
    return PlanGrant(approval.actor, approval.event_id, plan.plan_event, plan.digest)


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
    """What the executor saw of plans and verdicts, and the grants it makes from them."""

    def __init__(
        self,
        store: PlanApprovalStore,
        *,
        coordinator: UserID,
        rules: ApprovalRules,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.store = store
        self.coordinator = coordinator
        self.rules = rules
        self._clock = clock
        self._sleep = sleep
        self._settle = settle_seconds

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
            return
        if message.replaces is not None or not is_approver(message.sender, self.rules):
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
        await self.store.add_verdict(
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
        await self.store.add_verdict(verdict)
        return True

    async def grant(self, request: ExecRequest) -> PlanGrant | PlanRefusal:
        """The approval `request` has from the plan it names, or why none. A plan or approval
        not seen yet is waited for a moment (see `SETTLE_SECONDS`)."""
        waited = 0.0
        while True:
            outcome = await self._check(request)
            if not (isinstance(outcome, PlanRefusal) and outcome.unseen) or waited >= self._settle:
                return outcome
            await self._sleep(0.2)
            waited += 0.2

    async def _check(self, request: ExecRequest) -> PlanGrant | PlanRefusal:
        ref = request.plan_approval
        plan = None if ref is None else await self.store.plan(ref.plan_event)
        task_plans = [] if plan is None else await self.store.plans_of_task(plan.task_id)
        verdicts = [] if plan is None else await self.store.verdicts(plan.plan_event, plan.task_id)
        return check_grant(
            request,
            plan,
            task_plans,
            verdicts,
            coordinator=self.coordinator,
            rules=self.rules,
            now=self._clock(),
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
