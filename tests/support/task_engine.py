"""The task engine's test bench: the real store, a recording homeserver (our own Outbox
protocol, not nio), an injected clock, and the council's side (answers, poll votes,
reactions) as the Matrix edge hands them over. `open_bench` drives a `TaskService` with
three participants (Claude, GPT, Gemini) and GPT as the judge."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bots.context import BotContext, BotPresence
from bots.coordinator.tasks.context import TaskContext
from bots.coordinator.tasks.service import TaskService
from bots.events import POLL_RESPONSE
from bots.ids import EventID, RoomID, UserID
from bots.message import AudioAttachment, HistoryEntry, Message, Reply, RoomEvent
from bots.routing.addressing import Identity, Roster
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from bots.store import Store
from bots.store.tasks import Task
from bots.tasks.intake import TaskOrder
from bridge.speech import VoiceClip

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO / "config" / "chavion.example.yaml"
ROOM = RoomID("!council:localhost")
INTAKE = EventID("$intake")
MASTER = UserID("@master:localhost")
READ_ONLY_PLAN = '{"steps": [{"host": "local", "command": "df -h", "purpose": "disk usage"}]}'
WRITING_PLAN = '{"steps": [{"host": "local", "command": "touch /tmp/x", "purpose": "mark"}]}'
FORBIDDEN_PLAN = (
    '{"steps": [{"host": "local", "command": "df -h"},'
    ' {"host": "local", "command": "dd if=/dev/zero of=/dev/sda", "purpose": "wipe"}]}'
)


@dataclass
class Sent:
    key: str
    event_id: EventID
    kind: str  # "message", an event type, "file"
    body: str
    content: dict[str, Any]
    reply: Reply | None = None


@dataclass
class RecordingMatrix:
    """The coordinator's side of the room. Like a homeserver, a send whose transaction key
    was already used returns the first event and sends nothing (`repeats` counts them)."""

    sent: list[Sent] = field(default_factory=list)
    repeats: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def _deliver(self, sent: Sent) -> EventID:
        for earlier in self.sent:
            if earlier.key == sent.key:
                self.repeats += 1
                return earlier.event_id
        self.sent.append(sent)
        return sent.event_id

    def _new_id(self) -> EventID:
        return EventID(f"$c{next(self._ids)}")

    async def send(self, reply: Reply) -> EventID:
        content = dict(reply.council or {})
        return self._deliver(Sent(reply.key, self._new_id(), "message", reply.body, content, reply))

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID:
        body = str(content.get("body", ""))
        return self._deliver(Sent(key, self._new_id(), event_type, body, content))

    async def send_file(
        self, reply: Reply, filename: str, data: bytes, mimetype: str = "text/plain"
    ) -> EventID:
        return self._deliver(Sent(reply.key, self._new_id(), "file", filename, {}, reply))

    async def send_voice(self, reply: Reply, clip: VoiceClip) -> EventID:
        return self._deliver(Sent(reply.key, self._new_id(), "voice", reply.body, {}, reply))

    async def download(self, audio: AudioAttachment, max_bytes: int) -> bytes:
        raise AssertionError("the task engine downloads nothing")

    async def redact(self, room_id: RoomID, event_id: EventID, reason: str, key: str) -> EventID:
        return self._deliver(Sent(key, self._new_id(), "m.room.redaction", reason, {}))

    async def typing(self, room_id: RoomID, on: bool) -> None:
        return None

    async def presences(self) -> dict[UserID, BotPresence]:
        return {}

    async def homeserver_reachable(self) -> bool:
        return True

    async def history(
        self, room_id: RoomID, thread_root: EventID | None, limit: int
    ) -> list[HistoryEntry]:
        return []

    # --- reading what was sent ---

    def by_key(self, suffix: str) -> Sent:
        found = [s for s in self.sent if s.key.endswith("/" + suffix)]
        assert found, f"nothing sent under {suffix!r}: {[s.key for s in self.sent]}"
        return found[-1]

    def sent_keys(self) -> list[str]:
        return [s.key.split("/", 2)[-1] for s in self.sent]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Bench:
    settings: Settings
    store: Store
    matrix: RecordingMatrix
    clock: Clock
    service: TaskService
    bot: BotContext
    events: itertools.count[int] = field(default_factory=itertools.count)

    def restart(self) -> None:
        """A new engine on the same store and homeserver, as after a SIGKILL."""
        self.service = TaskService(TaskContext(self.bot, clock=self.clock))

    async def order(
        self, mission: str = "report disk usage of local", key: str = "$intake"
    ) -> Task:
        return await self.service.intake(
            TaskOrder(mission),
            requester=MASTER,
            source="matrix",
            room_id=ROOM,
            thread_root=EventID(key),
            intake_key=key,
        )

    async def task(self, n: int = 1) -> Task:
        task = await self.store.tasks.get(n)
        assert task is not None
        return task

    def user(self, agent: str) -> UserID:
        return self.settings.user_id(self.settings.account(agent))

    async def answer(
        self,
        agent: str,
        ask: str,
        text: str,
        *,
        status: str = "ok",
        reason: str | None = None,
        choice: str | None = None,
        task: int = 1,
        **extra: Any,
    ) -> None:
        """`agent` answers the ask `ask` with `text`; `extra` goes into the council object
        (`commands=False` on a proposal, `verdict="reject"` on a review)."""
        council: dict[str, Any] = {
            "v": 1,
            "kind": "answer",
            "task": task,
            "ask": ask,
            "stage": ask.split("-")[1],
            "status": status,
            "usage": {"input_tokens": 100, "output_tokens": 50, "cost_usd": 0.01},
        }
        if reason is not None:
            council["reason"] = reason
        if choice is not None:
            council["choice"] = choice
        council.update(extra)
        message = Message(
            ROOM,
            EventID(f"$a{next(self.events)}"),
            self.user(agent),
            f"#{task} 💡 {text}",
            thread_root=INTAKE,
            council=council,
        )
        assert await self.service.on_task_message(message, self.bot) == []

    async def vote(self, voter: UserID, key: str, *, poll: EventID | None = None) -> None:
        poll = poll or self.matrix.by_key("poll-1").event_id
        n = next(self.events)
        event = RoomEvent(
            ROOM,
            EventID(f"$v{n}"),
            voter,
            POLL_RESPONSE,
            {
                POLL_RESPONSE: {"answers": [key]},
                "m.relates_to": {"rel_type": "m.reference", "event_id": poll},
            },
            timestamp_ms=n,
        )
        await self.service.on_event(event, self.bot)

    async def react(self, target: EventID, key: str, sender: UserID = MASTER) -> list[Reply]:
        relates = {"rel_type": "m.annotation", "event_id": target, "key": key}
        event = RoomEvent(
            ROOM, EventID(f"$r{next(self.events)}"), sender, "m.reaction", {"m.relates_to": relates}
        )
        return await self.service.on_event(event, self.bot)

    async def later(self, seconds: float) -> None:
        self.clock.now += seconds
        await self.service.tick()

    async def propose_all(self, texts: dict[str, str] | None = None) -> None:
        texts = texts or {
            "claude": "Run df -h on local.",
            "gpt": "Use du on /var.",
            "gemini": "Check df -i too.",
        }
        for agent, text in texts.items():
            self.clock.now += 1
            await self.answer(agent, "t1-propose-1", text)

    async def to_planning_with_one_proposal(self) -> None:
        await self.order()
        await self.answer("claude", "t1-propose-1", "Run df -h on local.")
        await self.answer("gpt", "t1-propose-1", "", status="failed", reason="quota exhausted")
        await self.answer("gemini", "t1-propose-1", "", status="failed", reason="no credentials")

    async def to_approval(self, plan: str = READ_ONLY_PLAN) -> Sent:
        await self.to_planning_with_one_proposal()
        await self.answer("claude", "t1-plan-1", f"Here it is:\n```json\n{plan}\n```")
        await self.answer("gpt", "t1-review-1", "APPROVE — read-only, low risk.")
        return self.matrix.by_key("plan-msg-1")


def with_tasks(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, tasks=replace(settings.tasks, **changes))


async def open_bench(tmp_path: Path) -> Bench:
    """A bench on a new store under `tmp_path`; close `bench.store` when done."""
    settings = with_tasks(
        load_settings(EXAMPLE_CONFIG),
        participants=("claude", "gpt", "gemini"),
        judge="gpt",
        auto_approve_readonly=False,
    )
    store = await Store.open(tmp_path / "chavion.db")
    matrix = RecordingMatrix()
    roster = Roster(
        tuple(
            Identity(settings.user_id(a), a.display_name, a.aliases, a.kind)
            for a in settings.accounts
        )
    )
    me = roster.get(settings.user_id(settings.coordinator))
    assert me is not None
    bot = BotContext(settings, settings.coordinator, me, roster, matrix, store, council_room=ROOM)
    clock = Clock()
    return Bench(settings, store, matrix, clock, TaskService(TaskContext(bot, clock=clock)), bot)


def use(bench: Bench, **changes: Any) -> None:
    """Other task settings for this test (the engine reads them on every drive)."""
    bench.settings = with_tasks(bench.settings, **changes)
    bench.bot.settings = bench.settings
