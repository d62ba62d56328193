"""Routines: how missions compare and routines are named and ordered (tables), then the
engine offering one after the third success and running one from its stored plan through
review to the master's approval (the real engine, store and a recording homeserver)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.coordinator.commands import coordinator_commands
from bots.coordinator.tasks import routines
from bots.ids import EventID, RequestID, UserID
from bots.message import Message
from bots.routing.dispatch import Dispatcher
from bots.store.routines import Routine
from bots.store.tasks import StepRun, Task, TaskFields
from bots.tasks.plans import Plan, parse_plan, plan_digest, plan_json
from bots.tasks.routines import (
    ListRoutines,
    RemoveRoutine,
    RoutineRefusal,
    RunRoutine,
    SaveRoutine,
    check_name,
    normalise_mission,
    offer_due,
    parse_routine_args,
)
from tests.support.task_engine import MASTER, READ_ONLY_PLAN, ROOM, Bench, open_bench, use

USAGE = (
    "Usage: !routine save <task> <name> | run <name> | list | rm <name> "
    "(e.g. !routine save 12 disk-check)"
)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Report disk usage of web-1", "report disk usage of web-1", True),
        ("report disk usage of web-1!", "report  disk usage   of web-1", True),
        ("high: report disk usage of web-1", "report disk usage of web-1.", True),
        ("[low] report disk usage of web-1", "Report disk usage of web-1?", True),
        ("긴급: 웹1 디스크 사용량 보고", "웹1 디스크 사용량 보고!", True),
        ("Ｒｅｐｏｒｔ disk usage", "report disk usage", True),  # full-width letters
        ("report disk usage of web-1", "report disk usage of web-2", False),
        ("report disk usage of web-1", "report disk usage of web-1 and web-2", False),
        ("restart nginx", "restart apache", False),
        ("high report disk usage", "report disk usage", False),  # no colon: not a priority
    ],
)
def test_missions_compare_without_case_spaces_punctuation_or_a_priority(
    a: str, b: str, same: bool
) -> None:
    assert (normalise_mission(a) == normalise_mission(b)) is same


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("disk-check", None),
        ("disk_check_2", None),
        ("디스크점검", None),
        ("x" * 40, None),
        ("", "A routine needs a name, e.g. !routine save 12 disk-check."),
        ("x" * 41, f"A routine's name is at most 40 characters; {'x' * 41!r} is longer."),
        (
            "disk/check",
            "'disk/check' cannot name a routine: use letters, digits, '_' or '-' (no spaces), "
            "e.g. disk-check.",
        ),
        (
            "disk.check",
            "'disk.check' cannot name a routine: use letters, digits, '_' or '-' (no spaces), "
            "e.g. disk-check.",
        ),
    ],
)
def test_routine_names(name: str, problem: str | None) -> None:
    assert check_name(name) == problem


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", ListRoutines()),
        ("list", ListRoutines()),
        ("LIST", ListRoutines()),
        ("save 12 disk-check", SaveRoutine(12, "disk-check")),
        ("save #12 disk-check", SaveRoutine(12, "disk-check")),
        ("run disk-check", RunRoutine("disk-check")),
        ("rm disk-check", RemoveRoutine("disk-check")),
        ("remove disk-check", RemoveRoutine("disk-check")),
        ("delete disk-check", RemoveRoutine("disk-check")),
        ("list all", RoutineRefusal(f"!routine list takes nothing. {USAGE}")),
        ("save 12", RoutineRefusal(f"!routine save takes a task number and a name. {USAGE}")),
        (
            "save 12 disk check",
            RoutineRefusal(f"!routine save takes a task number and a name. {USAGE}"),
        ),
        (
            "save twelve disk-check",
            RoutineRefusal(f"'twelve' is not a task number (e.g. 12 or #12). {USAGE}"),
        ),
        ("save 12 a/b", RoutineRefusal(check_name("a/b") or "")),
        ("run", RoutineRefusal(f"!routine run takes one routine name. {USAGE}")),
        ("run a b", RoutineRefusal(f"!routine run takes one routine name. {USAGE}")),
        ("rm", RoutineRefusal(f"!routine rm takes one routine name. {USAGE}")),
        ("play disk-check", RoutineRefusal(f"Unknown !routine action 'play'. {USAGE}")),
    ],
)
def test_routine_arguments(args: str, expected: object) -> None:
    assert parse_routine_args(args) == expected


# ---- the engine -----------------------------------------------------------------------------

EVENTS = itertools.count()
GUEST = UserID("@guest:localhost")


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[tuple[Bench, Dispatcher]]:
    engine = await open_bench(tmp_path)
    use(engine, routine_after=3, max_active=4)
    yield engine, Dispatcher(engine.bot, coordinator_commands(engine.service, clock=engine.clock))
    await engine.store.close()


async def say(
    dispatcher: Dispatcher, body: str, *, sender: UserID = MASTER, power: int = 100
) -> list[str]:
    message = Message(ROOM, EventID(f"$m{next(EVENTS)}"), sender, body, sender_power=power)
    return [r.body for r in await dispatcher.handle(message)]


async def finished(
    bench: Bench, mission: str, *, state: str = "completed", ran: bool = True
) -> Task:
    """A task that went through planning and ran `READ_ONLY_PLAN` to `state`, written
    straight into the store (nothing sent)."""
    tasks = bench.store.tasks
    now = bench.clock()
    n = next(EVENTS)
    task, _ = await tasks.create(
        intake_key=f"$order{n}",
        room_id=ROOM,
        thread_root=EventID(f"$order{n}"),
        mission=mission,
        priority="medium",
        requester=MASTER,
        source="matrix",
        now=now,
    )
    plan = parse_plan(READ_ONLY_PLAN, hosts=["local"], max_steps=20)
    assert isinstance(plan, Plan)
    moves: list[tuple[str, str, TaskFields]] = [
        ("pending", "planning", {"winner": "claude", "attempt": 1}),
        (
            "planning",
            "reviewing",
            {"plan": plan_json(plan), "plan_digest": plan_digest(plan), "plan_author": "claude"},
        ),
        ("reviewing", "awaiting_approval", {}),
        ("awaiting_approval", "running", {}),
    ]
    for before, to, extra in moves:
        assert await tasks.move(task.id, before, to, actor="t", reason="t", now=now, **extra)
    if ran:
        rid = RequestID(f"t{task.id}-a1-s1")
        status = "succeeded" if state == "completed" else "failed"
        await tasks.add_step(StepRun(rid, task.id, 1, 1, "main", "local", "df -h", now))
        await tasks.finish_step(rid, status, 0, "", None, now)
    done = await tasks.move(task.id, "running", state, actor="t", reason="t", now=now)
    assert done is not None
    return done


async def offered(bench: Bench, task: Task) -> bool:
    await routines.offer(bench.service.ctx, task)
    return await bench.store.tasks.action_done(task.id, routines.OFFER_KEY) is not None


async def test_a_routine_is_offered_once_when_a_mission_succeeded_three_times(
    bench: tuple[Bench, Dispatcher],
) -> None:
    engine, _ = bench
    other = await finished(engine, "restart nginx")
    failed = await finished(engine, "report disk usage of local", state="failed")
    first = await finished(engine, "Report disk usage of local")
    second = await finished(engine, "high: report disk usage of local!")
    assert [await offered(engine, t) for t in (other, failed, first, second)] == [False] * 4
    third = await finished(engine, "report  disk usage of local.")
    assert await offered(engine, third)
    [sent] = [s for s in engine.matrix.sent if s.key.endswith("/routine-offer")]
    assert sent.reply is not None
    assert sent.reply.body == (
        f"#{third.id} 🔁 This succeeded 3 times — save it as a routine: !routine save "
        f"{third.id} <name>, then !routine run <name> replays this plan (through review and "
        "your approval, without proposals or a vote)."
    )
    assert sent.reply.thread_root == third.thread_root
    await routines.offer(engine.service.ctx, third)  # driven again: said once
    fourth = await finished(engine, "report disk usage of local")
    assert not await offered(engine, fourth)  # said once per mission, at the third success
    assert len([s for s in engine.matrix.sent if s.key.endswith("/routine-offer")]) == 1


@pytest.mark.parametrize(
    ("successes", "after", "counted", "offered_before", "due"),
    [
        (2, 3, True, False, False),  # not yet
        (3, 3, True, False, True),  # the Nth success
        (4, 3, True, False, True),  # the Nth was missed: the next success offers
        (7, 3, True, False, True),  # routine_after lowered below the count
        (4, 3, True, True, False),  # offered before: once per mission
        (3, 3, False, False, False),  # this task ran no command: not one of them
        (3, 0, True, False, False),  # offers off
    ],
)
def test_when_a_mission_is_offered_as_a_routine(
    successes: int, after: int, counted: bool, offered_before: bool, due: bool
) -> None:
    assert offer_due(successes, after, counted=counted, offered_before=offered_before) is due


MISSED_OFFERS = {
    # (routine_after while each earlier success was reported, then for the last one)
    "offers were off at the third": ([0, 0, 0], 3),
    "routine_after was 5 then lowered to 3": ([5, 5, 5, 5], 3),
    "routine_after raised to 4 after the third was not offered": ([0, 0, 0], 4),
}


@pytest.mark.parametrize("case", list(MISSED_OFFERS))
async def test_a_missed_offer_comes_at_the_next_success_once(
    bench: tuple[Bench, Dispatcher], case: str
) -> None:
    engine, _ = bench
    earlier, after = MISSED_OFFERS[case]
    for setting in earlier:
        use(engine, routine_after=setting)
        assert not await offered(engine, await finished(engine, "report disk usage of local"))
    use(engine, routine_after=after)
    last = await finished(engine, "Report disk usage of local!")
    assert await offered(engine, last)
    [sent] = [s for s in engine.matrix.sent if s.key.endswith("/routine-offer")]
    assert sent.reply is not None
    assert sent.reply.body.startswith(f"#{last.id} 🔁 This succeeded {len(earlier) + 1} times")
    again = await finished(engine, "report disk usage of local")
    assert not await offered(engine, again)  # once per mission
    other = [await finished(engine, "restart nginx") for _ in range(after)]
    assert await offered(engine, other[-1])  # another mission has its own offer


@pytest.mark.parametrize("why", ["routine_after 0", "a routine holds it", "no command ran"])
async def test_no_offer(bench: tuple[Bench, Dispatcher], why: str) -> None:
    engine, dispatcher = bench
    ran = why != "no command ran"
    if why == "routine_after 0":
        use(engine, routine_after=0)
    tasks = [await finished(engine, "report disk usage of local", ran=ran) for _ in range(3)]
    if why == "a routine holds it":
        use(engine, routine_after=0)
        await say(dispatcher, f"!routine save {tasks[0].id} disks")
        use(engine, routine_after=3)
    assert not await offered(engine, tasks[2])


async def test_save_list_run_and_remove(bench: tuple[Bench, Dispatcher]) -> None:
    engine, dispatcher = bench
    assert await say(dispatcher, "!routine") == [
        "No routines yet. When a mission succeeds 3 times I offer to save it; or "
        "!routine save <task> <name>."
    ]
    done = await finished(engine, "report disk usage of local")
    assert await say(dispatcher, f"!routine save {done.id} disks") == [
        f"🔁 Saved routine disks: report disk usage of local — the plan of #{done.id}, 1 "
        "step(s). !routine run disks replays it (review and your approval as usual)."
    ]
    assert await say(dispatcher, "!routine list") == [
        f"Routines (1):\n• disks — report disk usage of local (from #{done.id}, never run)"
    ]
    # The run: a new task straight to review with the stored plan, then to the master.
    assert await say(dispatcher, "!routine run Disks") == []
    run = max((await engine.store.tasks.list()), key=lambda t: t.id)
    assert (run.source, run.mission, run.state) == (
        "routine",
        "report disk usage of local",
        "reviewing",
    )
    assert (run.plan, run.plan_digest, run.plan_author) == (
        done.plan,
        done.plan_digest,
        "claude",
    )
    ack = engine.matrix.by_key("routine-ack").reply
    assert ack is not None
    assert ack.body == (
        f"#{run.id} 🔁 Routine disks (saved from #{done.id}): report disk usage of local. "
        "Its plan of 1 step(s) goes to review and then to you, without proposals or a vote."
    )
    moves = [(m.from_state, m.to_state) for m in await engine.store.tasks.moves(run.id)]
    assert moves == [(None, "pending"), ("pending", "reviewing")]
    assert [a for a in engine.matrix.sent_keys() if "propose" in a or "poll" in a] == []
    await engine.answer("gpt", f"t{run.id}-review-1", "APPROVE — read-only.", task=run.id)
    assert (await engine.task(run.id)).state == "awaiting_approval"
    assert engine.matrix.by_key("plan-msg-1").reply is not None
    [listing] = await say(dispatcher, "!routine list")
    assert "run 1 time(s)" in listing
    assert await say(dispatcher, "!routine rm disks") == [
        "Removed routine disks; the tasks it ran stay as they are."
    ]
    assert await say(dispatcher, "!routine run disks") == [
        "There is no routine disks. There are no routines yet."
    ]


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("unknown task", "There is no task #99."),
        (
            "failed task",
            "#{n} is failed: only a task that completed after running its commands can "
            "become a routine.",
        ),
        (
            "taken name",
            "There is already a routine disks (report disk usage of local); "
            "!routine rm disks first, or choose another name.",
        ),
        ("guest", "Not allowed: !routine needs power level 100 (you have 0)."),
    ],
)
async def test_save_refusals(bench: tuple[Bench, Dispatcher], case: str, said: str) -> None:
    engine, dispatcher = bench
    done = await finished(engine, "report disk usage of local")
    bad = await finished(engine, "restart nginx", state="failed")
    n = {"unknown task": 99, "failed task": bad.id}.get(case, done.id)
    if case == "taken name":
        await say(dispatcher, f"!routine save {done.id} disks")
    kw = {"sender": GUEST, "power": 0} if case == "guest" else {}
    [answer] = await say(dispatcher, f"!routine save {n} disks", **kw)  # type: ignore[arg-type]
    assert answer == said.format(n=bad.id)


async def test_a_run_whose_routine_is_removed_while_it_waits_fails_saying_so(
    bench: tuple[Bench, Dispatcher],
) -> None:
    engine, dispatcher = bench
    use(engine, max_active=1, routine_after=3)
    done = await finished(engine, "report disk usage of local")
    await say(dispatcher, f"!routine save {done.id} disks")
    busy = await engine.order("something else", key="$busy")
    assert busy.state == "discussing"
    await say(dispatcher, "!routine run disks")
    run = max((await engine.store.tasks.list()), key=lambda t: t.id)
    assert run.state == "pending"
    await say(dispatcher, "!routine rm disks")
    await engine.service.cancel(busy.id, MASTER)
    await engine.service.drive(run.id)
    failed = await engine.task(run.id)
    assert (failed.state, failed.note) == (
        "failed",
        "the routine 'disks' was removed before its run started",
    )


async def test_a_run_whose_plan_no_longer_fits_the_hosts_fails_saying_why(
    bench: tuple[Bench, Dispatcher],
) -> None:
    engine, dispatcher = bench
    gone = '{"steps": [{"host": "web-9", "command": "df -h"}]}'
    saved = Routine("old", "df on web-9", "df on web 9", gone, "d", "claude", 1, MASTER, 0.0)
    assert await engine.store.routines.save(saved, "old")
    assert await say(dispatcher, "!routine run old") == []
    run = max((await engine.store.tasks.list()), key=lambda t: t.id)
    assert run.state == "failed"
    assert run.note.startswith("the routine old's plan cannot run any more: ")
    assert "web-9" in run.note
