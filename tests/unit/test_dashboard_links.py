"""The dashboard's logins in the store: a one-time link lets in once, before it expires,
and only its hash is kept; the master's token is not an agent's and an agent's is not his."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import aiosqlite
import pytest

from bots.store import Store
from bots.store.dashboard_links import MASTER

VALID = 600.0


@pytest.mark.parametrize(
    ("used_at", "expected"),
    [
        (0.0, True),
        (VALID - 1, True),
        (VALID, False),
        (VALID + 1, False),
    ],
    ids=["at once", "just before expiry", "at expiry", "after expiry"],
)
async def test_a_link_lets_in_only_before_it_expires(
    tmp_path: Path, used_at: float, expected: bool
) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        secret = await store.dashboard_links.issue(1000.0, VALID)
        assert await store.dashboard_links.use(secret, 1000.0 + used_at) is expected


async def test_a_link_lets_in_once_even_when_two_logins_race(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        secret = await store.dashboard_links.issue(1.0, VALID)
        got = await asyncio.gather(*(store.dashboard_links.use(secret, 2.0) for _ in range(5)))
        assert sorted(got) == [False] * 4 + [True]
        assert not await store.dashboard_links.use(secret, 3.0)


@pytest.mark.parametrize("sent", ["", "nothing", "{secret} ", "{secret}x", "{token}"], ids=str)
async def test_anything_but_an_issued_link_is_refused(tmp_path: Path, sent: str) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        secret = await store.dashboard_links.issue(1.0, VALID)
        token = await store.dashboard_links.issue_master_token(1.0)
        assert not await store.dashboard_links.use(sent.format(secret=secret, token=token), 2.0)


async def test_only_the_links_hash_is_kept(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        secret = await store.dashboard_links.issue(1.0, VALID)
    async with aiosqlite.connect(tmp_path / "s.db") as db:
        rows = list(await db.execute_fetchall("SELECT hash, expires_at FROM dashboard_links"))
    assert rows == [(hashlib.sha256(secret.encode()).hexdigest(), 1.0 + VALID)]


async def test_old_links_are_forgotten_when_a_new_one_is_issued(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        await store.dashboard_links.issue(1.0, VALID)
        await store.dashboard_links.issue(2 * 24 * 3600.0, VALID)
    async with aiosqlite.connect(tmp_path / "s.db") as db:
        rows = list(await db.execute_fetchall("SELECT created_at FROM dashboard_links"))
    assert rows == [(2 * 24 * 3600.0,)]


async def test_the_master_token_is_his_alone_and_a_new_one_replaces_it(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        old = await store.dashboard_links.issue_master_token(1.0)
        token = await store.dashboard_links.issue_master_token(2.0)
        agent = await store.bridge_tokens.issue("manus", 1.0)
        assert await store.dashboard_links.is_master_token(token)
        assert not await store.dashboard_links.is_master_token(old)
        assert not await store.dashboard_links.is_master_token(agent)
        assert not await store.dashboard_links.is_master_token("")
        assert await store.bridge_tokens.agent_for(token) == MASTER
