"""A task's minutes on the engine's bench (real store, recording homeserver, injected clock):
asked of the scribe once the report is out, posted in the thread with the decision and the
status report computed from the records, stored once; a silent or failed scribe still gives
minutes (the facts and why); a restart finishes what was asked; `!minutes N` asks when
`tasks.minutes` is off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.task_engine import Bench, open_bench, use


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    bench = await open_bench(tmp_path)
    yield bench
    await bench.store.close()


async def voted_and_done(bench: Bench) -> None:
    """Three proposals, GPT's (B) wins the vote, its plan needs no command: completed."""
    await bench.order()
    await bench.propose_all()
    await bench.vote(bench.user("claude"), "B")
    await bench.vote(bench.user("gpt"), "A")
    await bench.vote(bench.user("gemini"), "B")
    await bench.answer("gpt", "t1-plan-1", '{"summary": "Disks are fine.", "steps": []}')
    await bench.answer("gpt", "t1-refine-1", "Disks are fine: 40% used.")
    assert (await bench.task()).state == "completed"


async def test_the_scribe_is_asked_with_the_facts_once_the_report_is_out(bench: Bench) -> None:
    await voted_and_done(bench)
    keys = bench.matrix.sent_keys()
    assert keys.index("minutes-ask") == keys.index("report-line") + 1
    ask = bench.matrix.by_key("minutes-ask")
    assert ask.body == "#1 🗒️ Asking GPT for the minutes (3 min)."
    assert (ask.content["stage"], ask.content["ask"], ask.content["agents"]) == (
        "minutes",
        "t1-minutes-1",
        ["gpt"],
    )
    facts = ask.content["context"]["facts"]
    assert "- Claude (A): Run df -h on local." in facts
    assert "- GPT (B): Use du on /var." in facts
    assert "Votes: Claude → B; GPT → A; Gemini → B" in facts
    assert "Decision: GPT's proposal (B) won the vote" in facts
    assert (await bench.task()).waiting_for == "GPT's minutes"


async def test_the_minutes_are_posted_with_the_decision_and_status_and_stored(
    bench: Bench,
) -> None:
    await voted_and_done(bench)
    await bench.answer("gpt", "t1-minutes-1", "GPT's plan won 2 to 1; nothing had to run.")
    # The scribe's answer in the thread is the minutes' text: the post follows it with only
    # the decision and the status (not the same text again); the stored minutes are whole.
    decision_and_status = (
        "Proposals: Claude (A), GPT (B), Gemini (C). Decision: GPT's proposal (B) won the "
        "vote.\n\n**Status**\n- Done: answered without commands: Disks are fine: 40% used.\n"
        "- Errors: —\n- Fixed: —\n- On hold: —"
    )
    head = "#1 🗒️ Minutes of task #1: report disk usage of local\n\n"
    posted = bench.matrix.by_key("minutes")
    assert posted.body == head + decision_and_status
    assert posted.reply is not None
    assert posted.reply.thread_root == "$intake"
    stored = await bench.store.minutes.for_task(1)
    assert stored is not None
    whole = head + "GPT's plan won 2 to 1; nothing had to run.\n\n" + decision_and_status
    assert (stored.text, stored.author, stored.event_id) == (whole, "gpt", posted.event_id)
    assert stored.status.startswith("Done: answered without commands")
    assert [m.task_id for m in await bench.store.minutes.search("Gemini")] == [1]
    assert [m.task_id for m in await bench.store.minutes.search("nothing had to run")] == [1]
    assert (await bench.task()).waiting_for == ""
    bench.restart()
    before = len(bench.matrix.sent)
    await bench.service.resume()
    await bench.later(600)
    assert len(bench.matrix.sent) == before, "nothing sent twice"


@pytest.mark.parametrize(
    ("scribe", "says"),
    [
        (None, "GPT did not answer within 3 min"),
        ("quota exhausted", "GPT could not write them: quota exhausted"),
    ],
    ids=["silent", "failed"],
)
async def test_a_scribe_that_gives_nothing_leaves_the_facts_and_why(
    bench: Bench, scribe: str | None, says: str
) -> None:
    await bench.order()
    await bench.later(180)  # nobody proposed: failed
    assert (await bench.task()).state == "failed"
    if scribe is not None:
        await bench.answer("gpt", "t1-minutes-1", "", status="failed", reason=scribe)
    else:
        await bench.later(179)
        assert "minutes" not in bench.matrix.sent_keys()
        await bench.later(1)
    body = bench.matrix.by_key("minutes").body
    assert f"(No minutes from the scribe: {says}. The facts as recorded:)" in body
    assert "Outcome: failed — no proposal came" in body
    assert "- Errors: no proposal came: Claude: no answer within 3 min" in body


async def test_a_restart_while_the_scribe_writes_finishes_the_minutes(bench: Bench) -> None:
    await bench.order()
    await bench.later(180)
    bench.restart()
    await bench.service.resume()
    assert bench.matrix.sent_keys().count("minutes-ask") == 1
    await bench.answer("gpt", "t1-minutes-1", "Nobody proposed anything.")
    assert "Decision: none." in bench.matrix.by_key("minutes").body
    stored = await bench.store.minutes.for_task(1)
    assert stored is not None
    assert "Nobody proposed anything." in stored.text


async def test_without_automatic_minutes_they_are_written_on_request(bench: Bench) -> None:
    use(bench, minutes=False)
    await bench.order()
    await bench.later(180)
    assert "minutes-ask" not in bench.matrix.sent_keys()
    said, record = await bench.service.minutes.for_task(1)
    assert record is None
    assert said == "#1 🗒️ GPT is writing the minutes; they come in the task's thread within 3 min."
    assert bench.matrix.sent_keys().count("minutes-ask") == 1
    await bench.answer("gpt", "t1-minutes-1", "Nothing happened.")
    said, record = await bench.service.minutes.for_task(1)
    assert record is not None
    assert said == record.text
    assert said.startswith("#1 🗒️ Minutes of task #1:")


async def test_an_active_task_shows_its_status_so_far(bench: Bench) -> None:
    await bench.order()
    said, record = await bench.service.minutes.for_task(1)
    assert record is None
    assert said == (
        "#1 is discussing: its minutes are written when it ends. Status so far:\n"
        "Done: —\nErrors: —\nFixed: —\n"
        "On hold: the task is discussing; waiting for proposals from Claude, GPT, Gemini"
    )
    assert "minutes-ask" not in bench.matrix.sent_keys()


@pytest.mark.parametrize(
    ("down_for", "asked"),
    [(60, True), (3601, False)],
    ids=["ended-a-minute-ago", "ended-over-an-hour-ago"],
)
async def test_a_restart_between_the_report_and_the_ask(
    bench: Bench, down_for: float, asked: bool
) -> None:
    use(bench, minutes=False)  # the report goes out, the ask does not: as if killed between
    await bench.order()
    await bench.later(180)
    assert "report-line" in bench.matrix.sent_keys()
    use(bench, minutes=True)
    bench.clock.now += down_for
    bench.restart()
    await bench.service.resume()
    assert ("minutes-ask" in bench.matrix.sent_keys()) is asked


async def test_minutes_posted_but_not_stored_are_stored_at_the_next_start(bench: Bench) -> None:
    await bench.order()
    await bench.later(180)
    await bench.answer("gpt", "t1-minutes-1", "Nobody proposed.")
    stored = await bench.store.minutes.for_task(1)
    assert stored is not None
    await bench.store.minutes._db.execute("DELETE FROM minutes")  # lost in a crash
    bench.restart()
    await bench.service.resume()
    again = await bench.store.minutes.for_task(1)
    assert again is not None
    assert again.text == stored.text
    assert bench.matrix.sent_keys().count("minutes") == 1
