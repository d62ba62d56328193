"""The task commands: each one's arguments as a table (good and bad, exact texts), then what
each handler does with the real store and the task engine's API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.coordinator.task_commands import (
    NO_REASON,
    Listing,
    TaskOps,
    read_assign,
    read_deny,
    read_listing,
    read_number,
    read_priority,
    read_task,
)
from bots.coordinator.task_stats import read_period
from bots.coordinator.task_views import LIST_LIMIT
from bots.coordinator.tasks.service import TaskService
from bots.errors import CommandError
from bots.ids import EventID, RequestID, RoomID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.settings.loading import load_settings
from bots.settings.paths import EXAMPLE_CONFIG
from bots.store import Store
from bots.store.tasks import Answer, StepRun, Task
from bots.tasks.intake import TaskOrder
from bots.tasks.states import STATES
from tests.support.task_engine import READ_ONLY_PLAN, open_bench
from tests.support.task_engine import Bench as EngineBench

SETTINGS = load_settings(EXAMPLE_CONFIG)
AGENTS = SETTINGS.agents
SEOUL = ZoneInfo("Asia/Seoul")
T0 = datetime(2026, 12, 3, 14, 0, tzinfo=SEOUL).timestamp()
ROOM = RoomID("!council:localhost")
MASTER = SETTINGS.master_user_id
GUEST = UserID("@guest:localhost")
EMPTY = (
    "There is no mission to work on. Send the mission after the colon, e.g. "
    "//chavion_task: report disk usage of web-1 (a priority may lead it: high:, medium:, low:)."
)
ALL_STATES = ", ".join(STATES)


def raises(text: str) -> CommandError:
    return CommandError(text)


def check(read: Callable[[], object], expected: object) -> None:
    """`expected` is the value read, or the CommandError it must raise (its exact text)."""
    if isinstance(expected, CommandError):
        with pytest.raises(CommandError) as caught:
            read()
        assert str(caught.value) == str(expected)
    else:
        assert read() == expected


# --- arguments ------------------------------------------------------------------------

TASK_ARGS: list[tuple[str, object]] = [
    ("12", 12),
    ("#12", 12),
    (" #7 ", 7),
    ("fix nginx", TaskOrder("fix nginx", "medium")),
    ("high: fix nginx", TaskOrder("fix nginx", "high")),
    ("[low] tidy /tmp on web-1", TaskOrder("tidy /tmp on web-1", "low")),
    ("긴급: 디스크 확인", TaskOrder("디스크 확인", "high")),
    ("12 servers need a reboot", TaskOrder("12 servers need a reboot", "medium")),
    ("#12 again", TaskOrder("#12 again", "medium")),
    ("", raises(EMPTY)),
    ("high:", raises(EMPTY)),
    (
        "x" * 4001,
        raises(
            "The mission is 4,001 characters long; the limit is 4,000 (tasks.max_mission_chars). "
            "Send a short summary of what to do, and put the details in a file on a host the "
            "agents can read (name its path in the mission)."
        ),
    ),
]


@pytest.mark.parametrize(("args", "expected"), TASK_ARGS, ids=[a[:20] for a, _ in TASK_ARGS])
def test_task_takes_a_number_to_show_or_a_mission(args: str, expected: object) -> None:
    check(lambda: read_task(args, max_chars=4000), expected)


NUMBER_ARGS: list[tuple[str, str, object]] = [
    ("approve", "12", 12),
    ("approve", "#12", 12),
    ("cancel", "  3 ", 3),
    ("pause", "007", 7),
    ("retry", "", raises("Which task? Send its number, e.g. !retry 12.")),
    ("resume", "abc", raises('"abc" is not a task number. Send it like this: !resume 12.')),
    ("cancel", "0", raises('"0" is not a task number. Send it like this: !cancel 12.')),
    ("cancel", "#", raises('"#" is not a task number. Send it like this: !cancel 12.')),
    ("approve", "12 now", raises("!approve takes only a task number, e.g. !approve 12.")),
    ("pause", "-1", raises('"-1" is not a task number. Send it like this: !pause 12.')),
    # What follows the number may be punctuation as people type it.
    ("approve", "12.", 12),
    ("approve", "#12:", 12),
    ("cancel", "12,", 12),
    ("approve", "12: now", raises("!approve takes only a task number, e.g. !approve 12.")),
    ("approve", "12:ab", raises('"12:ab" is not a task number. Send it like this: !approve 12.')),
    ("approve", "#0.", raises('"#0." is not a task number. Send it like this: !approve 12.')),
]


@pytest.mark.parametrize(("command", "args", "expected"), NUMBER_ARGS)
def test_one_task_number(command: str, args: str, expected: object) -> None:
    check(lambda: read_number(command, args), expected)


DENY_ARGS: list[tuple[str, object]] = [
    ("12", (12, NO_REASON)),
    ("#12 too risky", (12, "too risky")),
    ("12   restart only nginx,\nnot the box", (12, "restart only nginx,\nnot the box")),
    ("12: too risky", (12, "too risky")),
    ("#12 — too risky", (12, "too risky")),
    ("#12—too risky", (12, "too risky")),
    ("12, too risky", (12, "too risky")),
    ("12 - too risky", (12, "too risky")),
    ("12:", (12, NO_REASON)),
    ("12.", (12, NO_REASON)),
    ("", raises("Which task? Send its number and why, e.g. !deny 12 too risky.")),
    (
        "r1a2b3 no",
        raises('"r1a2b3" is not a task number. Send it like this: !deny 12 too risky.'),
    ),
]


@pytest.mark.parametrize(("args", "expected"), DENY_ARGS)
def test_deny_takes_a_number_and_maybe_a_reason(args: str, expected: object) -> None:
    check(lambda: read_deny(args), expected)


NAMES = "Claude, GPT, Gemini, Perplexity, Llama"
ASSIGN_ARGS: list[tuple[str, object]] = [
    ("12 claude", (12, "claude")),
    ("#12 Claude", (12, "claude")),
    ("12 @claude", (12, "claude")),
    ("12 @claude:localhost", (12, "claude")),
    ("12 클로드", (12, "claude")),
    ("12 클로드야", (12, "claude")),
    ("12 GPT", (12, "gpt")),
    ("12 Llama", (12, "local")),
    ("12 local", (12, "local")),
    ("12 ollama", (12, "local")),
    ("", raises("Which task, and which agent plans it? e.g. !assign 12 claude.")),
    ("12", raises(f"Which agent plans #12? e.g. !assign 12 claude. Agents: {NAMES}.")),
    (
        "12 bob",
        raises(f'No agent is called "bob". Agents: {NAMES}; e.g. !assign 12 claude.'),
    ),
    (
        "12 executor",
        raises(f'No agent is called "executor". Agents: {NAMES}; e.g. !assign 12 claude.'),
    ),
    ("claude 12", raises('"claude" is not a task number. Send it like this: !assign 12 claude.')),
]


@pytest.mark.parametrize(("args", "expected"), ASSIGN_ARGS)
def test_assign_names_an_agent_as_people_call_it(args: str, expected: object) -> None:
    check(lambda: read_assign(args, AGENTS, "localhost"), expected)


PRIORITY_ERROR = "A priority is high, medium or low, e.g. !priority 12 high."
PRIORITY_ARGS: list[tuple[str, object]] = [
    ("12 high", (12, "high")),
    ("#3 LOW", (3, "low")),
    ("12 medium", (12, "medium")),
    ("12 긴급", (12, "high")),
    ("", raises("Which task, and which priority? e.g. !priority 12 high.")),
    ("12", raises(PRIORITY_ERROR)),
    ("12 urgent", raises(PRIORITY_ERROR)),
    ("12 high now", raises(PRIORITY_ERROR)),
    ("high 12", raises('"high" is not a task number. Send it like this: !priority 12 high.')),
]


@pytest.mark.parametrize(("args", "expected"), PRIORITY_ARGS)
def test_priority_takes_a_number_and_a_level(args: str, expected: object) -> None:
    check(lambda: read_priority(args), expected)


ACTIVE = frozenset(STATES) - {"completed", "failed", "cancelled"}
LISTING_ARGS: list[tuple[str, object]] = [
    ("", Listing(ACTIVE, "active")),
    ("active", Listing(ACTIVE, "active")),
    ("ALL", Listing(None, "all")),
    ("failed", Listing(frozenset({"failed"}), "failed")),
    ("awaiting_approval", Listing(frozenset({"awaiting_approval"}), "awaiting_approval")),
    ("12", 12),
    ("#12", 12),
    ("#0", raises('"#0" is not a task number, e.g. !tasks 12.')),
    (
        "done",
        raises(
            'No task state is called "done". Use active (the default), all, or one of: '
            f"{ALL_STATES}; e.g. !tasks failed."
        ),
    ),
]


@pytest.mark.parametrize(("args", "expected"), LISTING_ARGS)
def test_tasks_takes_a_state_or_a_number(args: str, expected: object) -> None:
    check(lambda: read_listing(args), expected)


PERIOD_ERROR = "!stats takes 7d (the default) or 30d, e.g. !stats 30d."


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", 7),
        ("7d", 7),
        ("30D", 30),
        ("90d", raises(PERIOD_ERROR)),
        ("week", raises(PERIOD_ERROR)),
    ],
)
def test_stats_takes_a_period(args: str, expected: object) -> None:
    check(lambda: read_period(args), expected)


# --- handlers -------------------------------------------------------------------------


@dataclass
class Bench:
    """The coordinator's commands over the real task engine (`TaskService`), its real store
    and a recording homeserver (tests/support/task_engine.py)."""

    engine: EngineBench
    dispatcher: Dispatcher
    said: int = 0

    @property
    def store(self) -> Store:
        return self.engine.store

    async def say(
        self, body: str, *, sender: UserID = MASTER, power: int = 100, **kw: Any
    ) -> list[str]:
        """What the coordinator answers `body` from `sender`; its event id is `$m1`, `$m2`…"""
        self.said += 1
        message = Message(ROOM, EventID(f"$m{self.said}"), sender, body, sender_power=power, **kw)
        return [reply.body for reply in await self.dispatcher.handle(message)]

    async def task(self, mission: str, key: str, *, now: float = T0) -> Task:
        """A task as the store holds it, made without the engine (nothing is sent)."""
        task, _ = await self.store.tasks.create(
            intake_key=key,
            room_id=ROOM,
            thread_root=EventID(key),
            mission=mission,
            priority="medium",
            requester=MASTER,
            source="matrix",
            now=now,
        )
        return task

    async def state(self, n: int = 1) -> str:
        task = await self.store.tasks.get(n)
        assert task is not None
        return task.state

    def sent_to_threads(self) -> list[EventID | None]:
        return [s.reply.thread_root for s in self.engine.matrix.sent if s.reply is not None]


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    engine = await open_bench(tmp_path)
    engine.clock.now = T0 + 600  # ten minutes after the tasks made in the store
    registry = coordinator_commands(engine.service, clock=engine.clock)
    yield Bench(engine, Dispatcher(engine.bot, registry))
    await engine.store.close()


async def test_an_order_in_each_shape_becomes_a_task_in_a_thread_rooted_at_it(
    bench: Bench,
) -> None:
    for body in ("!task high: fix nginx", "//chavion_task:fix nginx", "/chavion_task: fix nginx"):
        assert await bench.say(body) == []  # the engine's acknowledgement opens the thread
    made = [await bench.store.tasks.get(n) for n in (1, 2, 3)]
    assert [
        (t.mission, t.priority, t.intake_key, t.thread_root, t.requester, t.source)
        for t in made
        if t is not None
    ] == [
        ("fix nginx", "high", "$m1", "$m1", MASTER, "matrix"),
        ("fix nginx", "medium", "$m2", "$m2", MASTER, "matrix"),
        ("fix nginx", "medium", "$m3", "$m3", MASTER, "matrix"),
    ]
    assert bench.sent_to_threads() == ["$m1", "$m2", "$m3"]
    assert [s.body.split(" ")[0] for s in bench.engine.matrix.sent] == ["#1", "#2", "#3"]


async def test_an_order_sent_inside_a_thread_runs_there_and_says_so(bench: Bench) -> None:
    said = await bench.say("!task check the backups", thread_root=EventID("$talk"))
    assert said == [
        "#1 runs in this thread: the order was sent inside one, so it does not get a thread "
        "of its own."
    ]
    task = await bench.store.tasks.get(1)
    assert task is not None
    assert (task.thread_root, task.intake_key) == ("$talk", "$m1")
    assert bench.sent_to_threads() == ["$talk"]


async def test_an_empty_order_is_refused_saying_what_to_send(bench: Bench) -> None:
    assert await bench.say("//chavion_task:") == [EMPTY]
    assert await bench.store.tasks.get(1) is None
    assert bench.engine.matrix.sent == []


async def test_giving_a_task_is_the_masters_but_showing_one_is_everyones(bench: Bench) -> None:
    await bench.task("report disk usage of local", "$t1")
    [refusal] = await bench.say("!task fix nginx", sender=GUEST, power=0)
    assert refusal == "Not allowed: !task needs power level 100 (you have 0)."
    [shown] = await bench.say("!task 1", sender=GUEST, power=0)
    assert shown.startswith("#1 📋 Task #1: pending · priority medium\n")
    [shown_too] = await bench.say("!tasks #1", sender=GUEST, power=0)
    assert shown_too == shown
    assert bench.engine.matrix.sent == []


async def test_show_says_state_wait_planner_step_and_history_with_times(bench: Bench) -> None:
    store = bench.store.tasks
    task = await bench.task("report disk usage of local", "$t1")
    await store.move(
        task.id, "pending", "discussing", actor="coordinator", reason="admitted", now=T0 + 5
    )
    await store.move(
        task.id,
        "discussing",
        "planning",
        actor="coordinator",
        reason="one proposal",
        now=T0 + 190,
        winner="claude",
    )
    await store.move(
        task.id,
        "planning",
        "reviewing",
        actor="claude",
        reason="plan of 2 steps",
        now=T0 + 250,
        attempt=1,
        plan_author="claude",
        plan='{"steps": [{}, {}]}',
    )
    await store.move(
        task.id,
        "reviewing",
        "awaiting_approval",
        actor="gpt",
        reason="no risk found",
        now=T0 + 300,
        waiting_for="the master's ✅ on the plan (or !approve 1)",
        deadline=T0 + 3900,
    )
    await store.move(
        task.id,
        "awaiting_approval",
        "running",
        actor=MASTER,
        reason="✅",
        now=T0 + 400,
        approved_by=MASTER,
        waiting_for="the executor: step 1",
        deadline=T0 + 1300,
    )
    await store.add_step(
        StepRun(RequestID("t1-a1-s1"), task.id, 1, 1, "main", "local", "df -h", T0 + 401)
    )
    [shown] = await bench.say("!task #1")
    assert shown == (
        "#1 📋 Task #1: running · priority medium\n"
        "Mission: report disk usage of local\n"
        "Asked by @master:localhost at 14:00:00\n"
        "Plans: Claude\n"
        "Now: step 1 of 2 on local: df -h\n"
        "Waiting for: the executor: step 1 (for 12m more)\n"
        "History:\n"
        "• 14:00:00 new → pending (@master:localhost) — from matrix\n"
        "• 14:00:05 pending → discussing (coordinator) — admitted\n"
        "• 14:03:10 discussing → planning (coordinator) — one proposal\n"
        "• 14:04:10 planning → reviewing (Claude) — plan of 2 steps\n"
        "• 14:05:00 reviewing → awaiting approval (GPT) — no risk found\n"
        "• 14:06:40 awaiting approval → running (@master:localhost) — ✅"
    )
    await store.finish_step(RequestID("t1-a1-s1"), "failed", 2, "no such disk", None, T0 + 500)
    await store.move(
        task.id,
        "running",
        "fixing",
        actor="executor",
        reason="step 1 failed",
        now=T0 + 501,
        waiting_for="a fix from Claude",
    )
    await store.update(task.id, expect_state="fixing", now=T0 + 502, attempt=2)
    [fixing] = await bench.say("!task 1")
    assert fixing.split("\n")[3:6] == [
        "Plans: Claude",
        "Attempt 2",
        "Now: step 1 of 2 on local: df -h — failed, exit 2",
    ]


async def test_a_paused_task_waits_for_the_master(bench: Bench) -> None:
    store = bench.store.tasks
    paused = await bench.task("tidy /tmp", "$t1", now=T0 - 86_400)
    await store.move(paused.id, "pending", "paused", actor=MASTER, reason="!pause", now=T0)
    [shown] = await bench.say("!task 1")
    assert shown == (
        "#1 📋 Task #1: paused (from pending) · priority medium\n"
        "Mission: tidy /tmp\n"
        "Asked by @master:localhost at 2026-12-02 14:00\n"
        "Waiting for: you: !resume 1 goes on, !cancel 1 stops it\n"
        "History:\n"
        "• 2026-12-02 14:00 new → pending (@master:localhost) — from matrix\n"
        "• 14:00:00 pending → paused (@master:localhost) — !pause"
    )


async def test_show_of_an_unknown_task(bench: Bench) -> None:
    assert await bench.say("!task 7") == ["There is no task #7. !tasks all lists them."]


async def test_tasks_lists_the_active_ones_most_urgent_first(bench: Bench) -> None:
    store = bench.store.tasks
    await bench.task("tidy /tmp", "$t1")
    urgent = await bench.task("nginx is down on web-1, " + "restart it " * 10, "$t2")
    await store.update(
        urgent.id, expect_state="pending", now=T0, priority="high", waiting_for="a free slot"
    )
    done = await bench.task("say hello", "$t3", now=T0 - 7200)
    await store.move(done.id, "pending", "failed", actor="coordinator", reason="x", now=T0)
    assert await bench.say("!tasks") == [
        "Tasks active (2):\n"
        "• #2 pending · high · nginx is down on web-1, restart it restart it restart it "
        "restart it restart it… — waiting for a free slot\n"
        "• #1 pending · medium · tidy /tmp"
    ]
    assert await bench.say("!tasks failed", sender=GUEST, power=0) == [
        "Tasks failed (1):\n• #3 failed · medium · say hello"
    ]
    assert await bench.say("!tasks all") == [
        "Tasks (3):\n"
        "• #3 failed · medium · say hello\n"
        "• #2 pending · high · nginx is down on web-1, restart it restart it restart it "
        "restart it restart it… — waiting for a free slot\n"
        "• #1 pending · medium · tidy /tmp"
    ]
    assert await bench.say("!tasks cancelled") == ["No tasks are cancelled."]


async def test_a_long_list_is_cut_and_says_how_many_more(bench: Bench) -> None:
    for n in range(LIST_LIMIT + 3):
        await bench.task(f"job {n}", f"$t{n}")
    [listed] = await bench.say("!tasks")
    lines = listed.split("\n")
    assert lines[0] == f"Tasks active ({LIST_LIMIT}):"
    assert len(lines) == LIST_LIMIT + 2
    assert lines[-1] == "… and 3 more"
    [everything] = await bench.say("!tasks all")
    assert everything.split("\n")[-2:] == ["• #4 pending · medium · job 3", "… and older ones"]


async def test_an_empty_list(bench: Bench) -> None:
    assert await bench.say("!tasks") == ["No tasks are active."]
    assert await bench.say("!tasks all") == ["No tasks yet."]


async def at_approval(bench: Bench) -> None:
    """Task #1 with its plan shown, waiting for the master (the engine's own way there)."""
    await bench.engine.to_approval()
    assert await bench.state() == "awaiting_approval"


async def test_approve_runs_the_plan(bench: Bench) -> None:
    await at_approval(bench)
    [said] = await bench.say("!approve #1")
    assert said.startswith("#1 ")
    assert await bench.state() == "running"
    task = await bench.store.tasks.get(1)
    assert task is not None
    assert (task.approved_by, task.approval_event) == (MASTER, "$m1")


async def test_deny_sends_the_plan_back_with_the_reason_or_none_given(bench: Bench) -> None:
    await at_approval(bench)
    [said] = await bench.say("!deny 1 use du instead")
    assert said.startswith("#1 ")
    assert "use du instead" in said
    assert await bench.state() == "planning"
    await bench.engine.answer("claude", "t1-plan-2", READ_ONLY_PLAN)
    await bench.engine.answer("gpt", "t1-review-2", "APPROVE")
    assert await bench.state() == "awaiting_approval"
    [again] = await bench.say("!deny 1")
    assert NO_REASON in again
    assert await bench.state() == "planning"


def to(event: EventID, sender: UserID | None) -> dict[str, Any]:
    """A reply to `event`, sent by `sender` (None: a sender the bot does not know)."""
    return {"reply_to": event, "reply_to_sender": sender}


async def test_a_bare_approve_replying_to_the_plan_approves_that_plan(bench: Bench) -> None:
    plan = (await bench.engine.to_approval()).event_id
    [said] = await bench.say("!approve", **to(plan, bench.engine.bot.identity.user_id))
    assert said.startswith("#1 ✅")
    task = await bench.store.tasks.get(1)
    assert task is not None
    assert (task.state, task.approved_by, task.approval_event) == ("running", MASTER, "$m1")


async def test_a_reply_whose_sender_is_not_known_is_looked_up(bench: Bench) -> None:
    plan = (await bench.engine.to_approval()).event_id
    [said] = await bench.say("/approve", **to(plan, None))
    assert said.startswith("#1 ✅")
    assert await bench.state() == "running"


async def test_a_bare_deny_replying_to_the_plan_sends_it_back_with_the_reason(
    bench: Bench,
) -> None:
    plan = (await bench.engine.to_approval()).event_id
    me = bench.engine.bot.identity.user_id
    [said] = await bench.say("!deny use du instead", **to(plan, me))
    assert "use du instead" in said
    assert await bench.state() == "planning"
    await bench.engine.answer("claude", "t1-plan-2", READ_ONLY_PLAN)
    await bench.engine.answer("gpt", "t1-review-2", "APPROVE")
    newer = bench.engine.matrix.by_key("plan-msg-2").event_id
    # The first plan was replaced: a reply to it approves nothing, the newest plan waits.
    assert await bench.say("!approve", **to(plan, me)) == [
        "#1: that plan was replaced by a newer one; reply to the newest plan, "
        "or send !approve 1 or !deny 1 <reason>"
    ]
    assert await bench.state() == "awaiting_approval"
    [again] = await bench.say("!deny", **to(newer, me))
    assert NO_REASON in again
    assert await bench.state() == "planning"


async def test_a_reply_to_something_else_is_said_only_when_it_was_the_coordinators(
    bench: Bench,
) -> None:
    await bench.engine.to_approval()
    ack = bench.engine.matrix.by_key("ack").event_id
    me = bench.engine.bot.identity.user_id
    assert await bench.say("!approve", **to(ack, me)) == [
        "That message is not a task's plan. Reply to the plan (or tap ✅ or ❌ on it), "
        "or name the task: !approve 12."
    ]
    # Not known (the executor's prompt, say): the executor answers it; the coordinator is silent.
    assert await bench.say("!approve", **to(EventID("$prompt"), None)) == []
    assert await bench.say("!deny too risky", **to(EventID("$prompt"), None)) == []
    assert await bench.state() == "awaiting_approval"


async def test_a_reply_to_the_plan_is_the_masters(bench: Bench) -> None:
    plan = (await bench.engine.to_approval()).event_id
    me = bench.engine.bot.identity.user_id
    assert await bench.say("!approve", sender=GUEST, power=0, **to(plan, me)) == [
        "Not allowed: !approve needs power level 100 (you have 0)."
    ]
    assert await bench.state() == "awaiting_approval"


async def test_pause_resume_cancel_and_retry(bench: Bench) -> None:
    await bench.engine.order()
    assert await bench.state() == "discussing"
    [paused] = await bench.say("!pause 1")
    assert paused.startswith("#1 ")
    assert await bench.state() == "paused"
    [shown] = await bench.say("!task 1")
    assert "Waiting for: you: !resume 1 goes on, !cancel 1 stops it" in shown.split("\n")
    [resumed] = await bench.say("//resume 1")
    assert resumed.startswith("#1 ")
    assert await bench.state() == "discussing"
    [cancelled] = await bench.say("!cancel 1")
    assert cancelled.startswith("#1 ")
    assert await bench.state() == "cancelled"
    [again] = await bench.say("!retry #1")
    assert again.startswith("#2 ")
    retried = await bench.store.tasks.get(2)
    assert retried is not None
    assert (retried.mission, retried.thread_root) == ("report disk usage of local", "$intake")


async def test_assign_skips_the_vote_for_the_agent_named(bench: Bench) -> None:
    await bench.engine.order()
    [said] = await bench.say("!assign 1 클로드")
    assert said.startswith("#1 ")
    task = await bench.store.tasks.get(1)
    assert task is not None
    assert (task.state, task.assigned) == ("planning", "claude")


async def test_priority_changes_the_order_tasks_are_taken_in(bench: Bench) -> None:
    await bench.engine.order()
    [said] = await bench.say("!priority 1 긴급")
    assert said.startswith("#1 ")
    task = await bench.store.tasks.get(1)
    assert task is not None
    assert task.priority == "high"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("!pause", "Which task? Send its number, e.g. !pause 12."),
        ("!assign 12 bob", f'No agent is called "bob". Agents: {NAMES}; e.g. !assign 12 claude.'),
        ("!priority 12 asap", PRIORITY_ERROR),
        ("!approve 12 now", "!approve takes only a task number, e.g. !approve 12."),
    ],
)
async def test_a_usage_error_is_said_with_an_example(bench: Bench, body: str, said: str) -> None:
    assert await bench.say(body) == [said]


REFUSED: list[tuple[str, Callable[[TaskService], Awaitable[str]]]] = [
    ("!approve 9", lambda engine: engine.approve(9, MASTER, None)),
    ("!deny 9 no", lambda engine: engine.deny(9, MASTER, "no", None)),
    ("!cancel 9", lambda engine: engine.cancel(9, MASTER)),
    ("!pause 9", lambda engine: engine.pause(9, MASTER)),
    ("!resume 9", lambda engine: engine.resume(9, MASTER)),
    ("!retry 9", lambda engine: engine.retry(9, MASTER)),
    ("!assign 9 gpt", lambda engine: engine.assign(9, "gpt", MASTER)),
    ("!priority 9 low", lambda engine: engine.set_priority(9, "low", MASTER)),
]


@pytest.mark.parametrize(("body", "call"), REFUSED, ids=[body for body, _ in REFUSED])
async def test_the_engines_refusal_is_said_as_it_is(
    bench: Bench, body: str, call: Callable[[TaskService], Awaitable[str]]
) -> None:
    with pytest.raises(CommandError) as refused:
        await call(bench.engine.service)
    assert await bench.say(body) == [str(refused.value)]


@pytest.mark.parametrize(
    "body",
    [
        "!approve 1",
        "!deny 1",
        "!cancel 1",
        "!pause 1",
        "!resume 1",
        "!retry 1",
        "!assign 1 claude",
        "!priority 1 high",
    ],
)
async def test_the_ops_are_the_masters(bench: Bench, body: str) -> None:
    await at_approval(bench)
    name = body[1:].split()[0]
    assert await bench.say(body, sender=GUEST, power=0) == [
        f"Not allowed: !{name} needs power level 100 (you have 0)."
    ]
    assert await bench.state() == "awaiting_approval"


async def test_stats_over_a_period(bench: Bench) -> None:
    store = bench.store.tasks
    assert await bench.say("!stats") == ["No tasks in the last 7 days. Start one: !task <mission>"]
    old = await bench.task("long ago", "$t0", now=T0 - 20 * 86_400)
    await store.move(old.id, "pending", "failed", actor="coordinator", reason="x", now=T0)
    won = await bench.task("report disk usage", "$t1")
    await store.move(
        won.id,
        "pending",
        "planning",
        actor="coordinator",
        reason="assigned",
        now=T0 + 1,
        winner="claude",
        attempt=1,
    )
    await store.move(won.id, "planning", "completed", actor="claude", reason="done", now=T0 + 150)
    lost = await bench.task("fix nginx", "$t2")
    await store.move(lost.id, "pending", "failed", actor="coordinator", reason="x", now=T0 + 9)
    await bench.task("still going", "$t3")
    for agent, status, cost in (("claude", "ok", 0.0123), ("gpt", "failed", 0.0)):
        await store.add_answer(
            Answer(
                won.id,
                "t2-propose-1",
                agent,
                "propose",
                status,
                "…",
                None,
                T0,
                tokens_in=1000,
                tokens_out=500,
                cost=cost,
            )
        )
    assert await bench.say("!stats", sender=GUEST, power=0) == [
        "Tasks, last 7 days: 3 — 1 done, 1 failed, 0 cancelled, 1 in work\n"
        "Success: 50% of finished tasks\n"
        "Average time to done: 2m 30s, 1.0 attempts\n"
        "Spend: $0.0123, 3,000 tokens\n"
        "Per agent:\n"
        "• Claude: 1 answers, won 1 (1 done), $0.0123, 1,500 tokens\n"
        "• GPT: 1 answers (1 failed), won 0, $0.0000, 1,500 tokens\n"
        "Records (votes won · plans that worked · cost a task):\n"
        "• Claude: $0.0123 a task\n"
        "  ◦ disk/storage: $0.0123 a task\n"
        "• GPT: $0.0000 a task\n"
        "  ◦ disk/storage: $0.0000 a task"
    ]
    [month] = await bench.say("!stats 30d")
    assert month.startswith("Tasks, last 30 days: 4 — 1 done, 2 failed, 0 cancelled, 1 in work\n")


async def test_help_lists_the_task_commands_by_who_may_run_them(bench: Bench) -> None:
    [guest] = await bench.say("!help", sender=GUEST, power=0)
    assert [line for line in guest.split("\n") if "task" in line] == [
        "• !budget [<task#> [+<usd>]] — spend today and this month per agent and task; "
        "raise a task's cap",
        "• !stats [7d|30d] — tasks done, time, spend; per agent",
        "• !tasks [state|all] — tasks in work; or all, or one state",
    ]
    [master] = await bench.say("!help")
    assert "• !task <mission> — give the council a task (or show one: !task 12)" in master
    assert "• !assign N <agent> — skip the vote: this agent plans task N" in master


def test_the_coordinator_declares_the_task_commands_only_with_an_engine() -> None:
    names = (
        "task",
        "tasks",
        "approve",
        "deny",
        "cancel",
        "pause",
        "resume",
        "retry",
        "assign",
        "priority",
        "stats",
    )
    without = coordinator_commands()
    assert [name for name in names if without.get(name) is not None] == []
    engine = cast(TaskOps, object())
    with_engine = coordinator_commands(engine)
    assert [name for name in names if with_engine.get(name) is None] == []
