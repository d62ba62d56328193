"""The store: migrations in order, newer schemas refused, events claimed once."""

from __future__ import annotations

import time
from pathlib import Path

import aiosqlite
import pytest

from bots.errors import StoreError
from bots.store import HANDLED_EVENTS_KEPT_SECONDS, Store
from bots.store.migrations import STEPS


async def test_a_new_store_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.schema_version() == STEPS[-1][0]


async def test_reopening_keeps_data(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await store.save_sync_token("claude", "s1")
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.sync_token("claude") == "s1"
        assert await store.sync_token("gpt") is None


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "s.db") as db:
        await db.execute("PRAGMA user_version=999")
        await db.commit()
    with pytest.raises(StoreError, match="newer than this Chavion knows"):
        await Store.open(tmp_path / "s.db")


async def test_an_event_is_claimed_once_per_bot(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        assert await store.claim_event("claude", "$e", "!r") is True
        assert await store.claim_event("claude", "$e", "!r") is False
        assert await store.claim_event("gpt", "$e", "!r") is True


async def test_old_claims_are_forgotten(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await store.claim_event("claude", "$e", "!r")
        assert await store.forget_old_events(now=time.time() + HANDLED_EVENTS_KEPT_SECONDS + 1) == 1
