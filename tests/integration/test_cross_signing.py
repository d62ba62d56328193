"""Every bot device is cross-signed by its own account, as Element needs to trust it.

Checked the way another client would: the master asks the real Synapse for the bots' keys
(`/keys/query`) and verifies each signature with signedjson: the device by the account's
self-signing key, that key by the account's master key.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from typing import Any

import aiohttp
import pytest

from bots.app.data_dir import read_json
from bots.homeserver.credentials import load_credentials
from bots.matrix.cross_signing import XSignState, is_signed_by, server_public
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, replies_to

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)
BOTS = ["claude", "gpt", "gemini", "executor"]


async def keys_query(council: ThrowawayCouncil, token: str, users: list[str]) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{council.url}/_matrix/client/v3/keys/query",
            json={"device_keys": {u: [] for u in users}},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


def current_device(council: ThrowawayCouncil, name: str) -> str:
    creds = load_credentials(council.data, council.settings.account(name).localpart)
    assert creds is not None
    return creds.device_id


async def assert_signed(council: ThrowawayCouncil, master: Person, names: list[str]) -> None:
    """Each bot's current device signed by its self-signing key, signed by its master key,
    as the master's client sees it."""
    users = [council.user_id(n) for n in names]
    answer = await keys_query(council, master.client.access_token, users)
    for name, user in zip(names, users, strict=True):
        master_key = server_public(answer, "master_keys", user)
        ssk = server_public(answer, "self_signing_keys", user)
        assert master_key, f"{name} has no master key"
        assert ssk, f"{name} has no self-signing key"
        assert is_signed_by(answer["self_signing_keys"][user], user, master_key), name
        device = answer["device_keys"][user][current_device(council, name)]
        assert is_signed_by(device, user, ssk), f"{name}'s device is not signed"


async def test_every_bot_device_is_signed_by_its_own_account(
    council: ThrowawayCouncil, coordinator: InProcessBots, master: Person
) -> None:
    bots = await InProcessBots.start(council.settings, BOTS)
    try:
        await assert_signed(council, master, [*BOTS, "coordinator"])
        everyone = [*coordinator.runner.bots, *bots.runner.bots]
        for bot in everyone:
            outcome = bot.matrix.cross_signing
            assert outcome is not None
            assert outcome.state is XSignState.SIGNED, bot.account.name
        timings = {b.account.name: b.matrix.cross_signing.seconds for b in everyone}  # type: ignore[union-attr]
        log.warning(
            "cross-signing at start, ms: %s", {n: round(s * 1000) for n, s in timings.items()}
        )
        # Each bot writes its mark right after its first sync: wait for all of them.
        wanted = {council.user_id(n): "signed" for n in [*BOTS, "coordinator"]}
        for _ in range(100):
            presences = await coordinator.runner.bots[0].matrix.presences()
            marks = {u: p.cross_signing for u, p in presences.items() if u in wanted}
            if marks == wanted:
                break
            await asyncio.sleep(0.1)
        assert marks == wanted
    finally:
        await bots.stop()


async def test_a_restart_with_everything_intact_uploads_nothing(
    council: ThrowawayCouncil, master: Person
) -> None:
    first = await InProcessBots.start(council.settings, ["gemini"])
    await first.stop()
    again = await InProcessBots.start(council.settings, ["gemini"])
    try:
        outcome = again.runner.bots[0].matrix.cross_signing
        assert outcome is not None
        assert (outcome.state, outcome.uploaded_keys, outcome.signed_device) == (
            XSignState.SIGNED,
            False,
            False,
        )
    finally:
        await again.stop()


async def test_a_bot_whose_crypto_store_is_wiped_comes_back_signed_and_answers(
    council: ThrowawayCouncil, master: Person
) -> None:
    first = await InProcessBots.start(council.settings, ["claude"])
    await first.stop()
    before = current_device(council, "claude")
    shutil.rmtree(council.data.crypto_store(council.settings.account("claude").localpart))
    again = await InProcessBots.start(council.settings, ["claude"])
    try:
        outcome = again.runner.bots[0].matrix.cross_signing
        assert outcome is not None
        assert outcome.state is XSignState.SIGNED
        assert current_device(council, "claude") != before, "a lost device is replaced"
        await assert_signed(council, master, ["claude"])
        claude = council.user_id("claude")
        devices = (await keys_query(council, master.client.access_token, [claude]))["device_keys"]
        assert before not in devices[claude], "the lost device is deleted"
        account = read_json(council.data.account_file("claude"))
        assert account is not None
        assert "stale_devices" not in account, account.keys()
        await master.sees_devices_of(claude)
        event = await master.say(council.council_room, "claude !ping")
        [reply] = await master.wait_for(replies_to(event, claude))
        assert reply.body.startswith("pong")
    finally:
        await again.stop()
