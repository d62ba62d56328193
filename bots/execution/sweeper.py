"""The executor bot's background work: what a restart left, and requests that expire.

A restart never reruns anything: a request the crash left running is reported as
"interrupted, state unknown", an approved one that never started is dropped and its asker
told. Once online, pending requests past their approval window are expired, each by the
approval machine, and said so where they were asked.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bots.background import came_first, every
from bots.execution.approvals import Expire, apply
from bots.execution.ledger import RequestRecord
from bots.execution.lifecycle import RequestLifecycle, request_of
from bots.execution.outbox import logged
from bots.execution.progress import outcome_message
from bots.execution.requests import outcome_result

log = logging.getLogger(__name__)


def sweep_interval(expiry_seconds: float) -> float:
    """How often pending requests are checked for expiry: a tenth of the window, 0.2–5 s."""
    return min(5.0, max(0.2, expiry_seconds / 10))


@dataclass
class _Startup:
    interrupted: list[RequestRecord] = field(default_factory=list)
    abandoned: list[RequestRecord] = field(default_factory=list)


class Sweeper:
    """Startup clean-up (`prepare` before the bot syncs) and the expiry loop (`run`)."""

    def __init__(self, lifecycle: RequestLifecycle, interval: float) -> None:
        self.lifecycle = lifecycle
        self.interval = interval
        self._startup = _Startup()

    async def prepare(self) -> None:
        """Before the bot syncs: whatever a crash left running is interrupted, never rerun;
        approved requests that never started are dropped (their asker is told)."""
        audit = self.lifecycle.audit
        self._startup.interrupted = await audit.interrupted_on_startup()
        for record in await audit.in_state("approved"):
            if await audit.transition(
                record.request_id,
                "cancelled",
                detail={"reason": "the executor restarted before the command started"},
            ):
                self._startup.abandoned.append(record)

    async def run(self, synced: asyncio.Event, stop: asyncio.Event) -> None:
        """Once online: say what the restart left, then expire overdue requests until `stop`."""
        if not await came_first(synced, stop):
            return
        await self._report_startup()
        await every(self.interval, self.sweep, "the expiry sweep", synced, stop, None)

    async def sweep(self) -> None:
        """Expires every pending request past its window, and says so where it was asked."""
        lifecycle = self.lifecycle
        rules, secrets = lifecycle.rules, lifecycle.secrets
        now = lifecycle.clock()
        for record in await lifecycle.audit.in_state("pending"):
            before = record.as_state()
            after, outcome = apply(before, Expire(now), rules)
            if not outcome.accepted:
                continue
            if not await lifecycle.audit.save(before, after, detail={"reason": outcome.text}):
                continue
            known = lifecycle.forget(record.request_id)
            request, origin = known or (request_of(record), await lifecycle.origin_of(record))
            minutes = rules.expiry_seconds / 60
            formatted = outcome_message(
                request,
                "expired",
                f"nobody approved it within {minutes:g} min",
                secrets=secrets,
            )
            await lifecycle.outbox.say(
                origin, formatted.body, formatted.html, key=f"{record.request_id}/expired"
            )
            await lifecycle.outbox.result_event(
                origin.room_id,
                outcome_result(request, "expired", outcome.text, secrets=secrets),
            )

    async def _report_startup(self) -> None:
        startup, self._startup = self._startup, _Startup()
        lifecycle = self.lifecycle
        outbox, secrets = lifecycle.outbox, lifecycle.secrets
        for record in startup.interrupted:
            request, origin = request_of(record), await lifecycle.origin_of(record)
            reason = "the executor restarted while it ran"
            formatted = outcome_message(request, "interrupted", reason, secrets=secrets)
            with logged(f"reporting {record.request_id} as interrupted"):
                await outbox.say(
                    origin,
                    formatted.body,
                    formatted.html,
                    notice=False,
                    key=f"{record.request_id}/interrupted",
                )
                await outbox.result_event(
                    origin.room_id,
                    outcome_result(request, "interrupted", reason, secrets=secrets),
                )
        for record in startup.abandoned:
            request, origin = request_of(record), await lifecycle.origin_of(record)
            formatted = outcome_message(
                request,
                "cancelled",
                "the executor restarted before it started; ask again",
                secrets=secrets,
            )
            with logged(f"reporting {record.request_id} as abandoned"):
                await outbox.say(
                    origin, formatted.body, formatted.html, key=f"{record.request_id}/abandoned"
                )
