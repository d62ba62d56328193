"""An alert to the master: one top-level message in the council room that mentions him,
keyed so a repeat is the same event, and marked urgent only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.alerts import alert_reply, master_alert
from tests.support.task_engine import ROOM, open_bench


@pytest.mark.parametrize("urgent", [False, True])
async def test_an_alert_mentions_the_master_in_the_council_room(
    tmp_path: Path, urgent: bool
) -> None:
    bench = await open_bench(tmp_path)
    try:
        reply = alert_reply(bench.bot, "host web is down", key="host/web/down", urgent=urgent)
        assert (reply.room_id, reply.thread_root, reply.reply_to) == (ROOM, None, None)
        assert reply.mention == (bench.settings.master_user_id,)
        assert not reply.notice
        assert reply.urgent is urgent
        assert reply.key == "alert/host/web/down"
        event_id = await master_alert(bench.bot, "host web is down", key="host/web/down")
        assert [s.event_id for s in bench.matrix.sent if s.key == reply.key] == [event_id]
    finally:
        await bench.store.close()
