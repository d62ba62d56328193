"""`DashboardDesk`: the master's dashboard on the coordinator's own state.

What it shows is read where the council keeps it: tasks and their rates from the task
store (`!stats`' figures), agents as `/api/status` judges them plus what each spent today
(`agent_usage`, the budget's day), hosts by the fixed probe (`bots.bridge.hosts`), and the
room's conversation as the coordinator hears it (`hear`, called for every message it gets).
A task from the form is the master's own order: the coordinator posts its thread root,
saying it came from the dashboard, and takes it in through the one intake, keyed by the
form's idempotency key so a resent form is one task.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

from bots.agents.budget import local_day
from bots.bridge.hosts import HostWatch
from bots.bridge.scans import MessageScans, Scanned
from bots.bridge.tasks import read_order
from bots.bridge.views import task_view
from bots.coordinator.tasks.service import TaskService
from bots.ids import EventID, RoomID
from bots.message import Incoming, Message, Reply
from bots.routing.addressing import Roster
from bots.settings.model import Settings
from bots.store import Store
from bridge.http.ports import (
    ActivityItem,
    AgentCard,
    Overview,
    Rate,
    TaskView,
)

log = logging.getLogger(__name__)

ACTIVITY = 50
TASKS = 50
BODY_CHARS = 500
QUEUE_SIZE = 500
"""Events kept for a page that reads slowly; the oldest go first (it reloads the overview)."""
RATE_DAYS = (7, 30)
DAY = 86_400.0
WATCH_SECONDS = 60.0
"""How often open pages are told of hosts and agents that changed."""


class Status(Protocol):
    async def status(self) -> dict[str, Any]: ...


def activity_item(
    message: Message, roster: Roster, task_id: int | None, scanned: Scanned | None = None
) -> ActivityItem:
    """A room message as a line of the feed: who said it by name, its text trimmed, a
    credential in it (a pasted key, a `!dashboard` link) shown as its kind only; `scanned`
    is the message's credential scan when the bridge made it already."""
    who = roster.get(message.sender)
    if scanned is None:
        scanned = MessageScans().of(message)
    text = scanned.shown_body(message)
    if task_id is not None:  # the row shows the task's number already
        text = text.removeprefix(f"#{task_id} ")
    body = text if len(text) <= BODY_CHARS else text[: BODY_CHARS - 1] + "…"
    return ActivityItem(
        at=message.timestamp_ms / 1000 if message.timestamp_ms else time.time(),
        sender=who.display_name if who is not None else message.sender,
        body=body,
        task_id=task_id,
    )


def rate_of(days: int, completed: int, failed: int, cancelled: int, mean: float | None) -> Rate:
    """Success is completed out of completed or failed, as `!stats` counts it: a task the
    master cancelled is neither."""
    decided = completed + failed
    return Rate(
        days=days,
        finished=completed + failed + cancelled,
        succeeded=completed,
        failed=failed,
        success_rate=completed / decided if decided else None,
        avg_seconds=mean,
    )


def room_link(room_id: str) -> str:
    return f"https://matrix.to/#/{quote(room_id, safe='!:')}"


class MasterDashboard:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        tasks: TaskService,
        council: Status,
        room: RoomID,
        roster: Roster,
        hosts: HostWatch,
        clock: Callable[[], float] = time.time,
        *,
        scans: MessageScans | None = None,
    ) -> None:
        """`scans`: the bridge's credential scans, shared with the voices (one per message)."""
        self._settings = settings
        self._store = store
        self._service = tasks
        self._council = council
        self._room = room
        self._roster = roster
        self._hosts = hosts
        self._clock = clock
        self._scans = scans if scans is not None else MessageScans()
        self._activity: deque[tuple[str, ActivityItem]] = deque(maxlen=ACTIVITY)
        self._threads: dict[str, int] = {}
        """A task's thread root to its number, learned from the task messages heard."""
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._primed = False
        """Whether the activity was filled from the room's history once (after a start)."""
        self._cards: dict[str, AgentCard] = {}
        """The agents as open pages were last told of them."""

    # --- the port ------------------------------------------------------------------------

    async def overview(self) -> Overview:
        found = await self._store.tasks.list(None, TASKS)
        for task in found:
            if task.thread_root:
                self._threads[task.thread_root] = task.id
        hosts, fresh = await self._hosts.cards()
        if fresh:
            for card in hosts:
                self._publish({"kind": "host", **asdict(card)})
        await self._prime()
        return Overview(
            tasks=[task_view(t) for t in found],
            agents=await self.agents(),
            hosts=hosts,
            activity=[item for _, item in self._activity],
            rates=[await self._rate(days) for days in RATE_DAYS],
            zone=self._settings.timezone,
            room_url=room_link(self._room),
        )

    async def login(self, secret: str) -> bool:
        if not secret or len(secret) > 200:
            return False
        links = self._store.dashboard_links
        return await links.is_master_token(secret) or await links.use(secret, self._clock())

    async def create_task(self, title: str, description: str, priority: str, key: str) -> TaskView:
        order = read_order(title, description, priority, self._settings.tasks.max_mission_chars)
        master = self._settings.master.display_name
        lead = "" if priority == "medium" else f" ({priority} priority)"
        root = await self._service.ctx.bot.matrix.send(
            Reply(
                self._room,
                f"📋 {master}'s order from the dashboard{lead}: {order.mission}",
                key=f"dashboard/task/{key}",
            )
        )
        task = await self._service.intake(
            order,
            requester=self._settings.master_user_id,
            source="dashboard",
            room_id=self._room,
            thread_root=root,
            intake_key=f"dashboard/{key}",
        )
        self._threads[root] = task.id
        view = task_view(task)
        self._publish({"kind": "task", "task": asdict(view)})
        return view

    async def feed(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._listeners.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)

    async def watch(self, stop: asyncio.Event, every: float = WATCH_SECONDS) -> None:
        """Until `stop`: while a page listens, tells it every `every` seconds of the hosts
        (when probed anew) and of each agent whose card changed (online, working, spent)."""
        while not stop.is_set():
            if self._listeners:
                try:
                    await self.refresh()
                except Exception as exc:  # the store or a probe away: the next round retries
                    log.warning("dashboard: could not refresh the live cards: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def refresh(self) -> None:
        hosts, fresh = await self._hosts.cards()
        if fresh:
            for host in hosts:
                self._publish({"kind": "host", **asdict(host)})
        for card in await self.agents():
            if self._cards.get(card.name) != card:
                self._cards[card.name] = card
                self._publish({"kind": "agent", **asdict(card)})

    # --- what the page is built from ----------------------------------------------------

    async def agents(self) -> list[AgentCard]:
        """Every agent as `/api/status` judges it, with what it spent today."""
        day = local_day(datetime.fromtimestamp(self._clock(), UTC), self._settings.timezone)
        spent = await self._store.usage.all_totals(day)
        chosen = await self._store.agent_models.all()
        cards = []
        for agent in (await self._council.status())["agents"]:
            name = str(agent["name"])
            model = chosen.get(name) or agent.get("model")
            cards.append(
                AgentCard(
                    name=name,
                    role=str(agent["role"]),
                    model=str(model) if model else None,
                    status=str(agent["status"]),
                    last_seen=agent.get("last_seen"),
                    spent_today=spent[name].cost_usd if name in spent else 0.0,
                    current_task=agent.get("current_task"),
                    external=agent.get("kind") == "bridge",
                )
            )
        return cards

    async def _rate(self, days: int) -> Rate:
        stats = await self._store.tasks.stats(self._clock() - days * DAY)
        return rate_of(days, stats.completed, stats.failed, stats.cancelled, stats.mean_seconds)

    async def _prime(self) -> None:
        """The room's last messages as the coordinator reads them back, once: the feed
        shows the conversation so far after a restart, not an empty page."""
        if self._primed:
            return
        self._primed = True
        try:
            entries = await self._service.ctx.bot.matrix.history(self._room, None, ACTIVITY)
        except Exception as exc:  # the homeserver away: the feed fills as the room talks
            log.warning("dashboard: the room's history is unreadable: %s", exc)
            return
        known = {key for key, _ in self._activity}
        earlier = []
        for entry in entries:
            if entry.event_id in known:
                continue
            who = self._roster.get(entry.sender)
            message = Message(
                self._room,
                entry.event_id,
                entry.sender,
                entry.body,
                timestamp_ms=entry.timestamp_ms,
            )
            item = activity_item(
                message,
                self._roster,
                self._threads.get(entry.event_id),
                self._scans.of(message),
            )
            if who is None and entry.sender_name:
                item = dataclasses.replace(item, sender=entry.sender_name)
            earlier.append((entry.event_id, item))
        merged = sorted([*earlier, *self._activity], key=lambda pair: pair[1].at)
        self._activity = deque(merged, maxlen=ACTIVITY)

    # --- what the coordinator hears -----------------------------------------------------

    async def hear(self, incoming: Incoming) -> None:
        """Every event the coordinator receives: the council room's messages go to the
        feed, and a task message tells the pages of that task's change."""
        if not isinstance(incoming, Message) or incoming.room_id != self._room:
            return
        if incoming.stream == "partial" or incoming.replaces is not None:
            return  # an answer still being written: its whole text comes at the end
        task_id = self._task_of(incoming)
        item = activity_item(incoming, self._roster, task_id, self._scans.of(incoming))
        self._activity = deque(
            [(k, i) for k, i in self._activity if k != incoming.event_id], maxlen=ACTIVITY
        )
        self._activity.append((incoming.event_id, item))
        self._publish({"kind": "message", **asdict(item)})
        sender = self._roster.get(incoming.sender)
        if task_id is not None and sender is not None and sender.kind == "coordinator":
            task = await self._store.tasks.get(task_id)
            if task is not None:
                self._publish({"kind": "task", "task": asdict(task_view(task))})

    def _task_of(self, message: Message) -> int | None:
        council = message.council or {}
        task = council.get("task")
        if isinstance(task, int) and not isinstance(task, bool):
            if message.thread_root:
                self._threads.setdefault(message.thread_root, task)
            return task
        root = message.thread_root or EventID(message.event_id)
        return self._threads.get(root)

    def _publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._listeners):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)
