"""The bridge's tokens in the store: only a hash kept, one token per agent, a new one
replacing the old at once, anything else refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiosqlite
import pytest

from bots.store import Store


async def test_a_token_finds_its_agent_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        token = await store.bridge_tokens.issue("manus", 1.0)
        assert len(token) >= 43  # 32 random bytes, urlsafe
        assert await store.bridge_tokens.agent_for(token) == "manus"
    async with aiosqlite.connect(tmp_path / "s.db") as db:
        rows = list(await db.execute_fetchall("SELECT agent, hash FROM bridge_tokens"))
    assert rows == [("manus", hashlib.sha256(token.encode()).hexdigest())]
    assert token not in (tmp_path / "s.db").read_bytes().decode("latin-1")


@pytest.mark.parametrize(
    "sent",
    ["", "not-a-token", "x" * 43, " {token}", "{token} ", "{token}x", "{other}"],
    ids=["empty", "word", "same length", "space before", "space after", "longer", "revoked"],
)
async def test_anything_but_the_current_token_is_refused(tmp_path: Path, sent: str) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        old = await store.bridge_tokens.issue("manus", 1.0)
        token = await store.bridge_tokens.issue("manus", 2.0)  # replaces the old one
        assert old != token
        assert await store.bridge_tokens.agent_for(sent.format(token=token, other=old)) is None


async def test_each_agent_has_its_own_token(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "s.db") as store:
        manus = await store.bridge_tokens.issue("manus", 1.0)
        wrtn = await store.bridge_tokens.issue("wrtn", 1.0)
        assert await store.bridge_tokens.agent_for(manus) == "manus"
        assert await store.bridge_tokens.agent_for(wrtn) == "wrtn"
        assert await store.bridge_tokens.revoke("wrtn")
        assert await store.bridge_tokens.agent_for(wrtn) is None
        assert not await store.bridge_tokens.revoke("wrtn")
