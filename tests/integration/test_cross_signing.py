"""Every bot device is cross-signed by its own account, as Element needs to trust it.

Checked the way another client would: the master asks the real Synapse for the bots' keys
(`/keys/query`) and verifies each signature with signedjson: the device by the account's
self-signing key, that key by the account's master key.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.homeserver.credentials import load_credentials
from bots.matrix.cross_signing import CrossSigningKeys, XSignState, is_signed_by, server_public
from bots.matrix.cross_signing_client import CrossSigningOutcome
from bots.settings.data_dir import read_json, write_private_json
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


@pytest.mark.backend
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
        event = await master.say(council.council_room, "!status")
        [reply] = await master.wait_for(replies_to(event, council.user_id("coordinator")))
        for name in [*BOTS, "coordinator"]:
            shown = council.settings.account(name).display_name
            line = next(x for x in reply.body.splitlines() if f"{shown} (" in x)
            assert line.endswith(", cross-signed"), line
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


@pytest.mark.backend
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


def key_file(council: ThrowawayCouncil, name: str) -> Path:
    return council.data.cross_signing_file(council.settings.account(name).localpart)


async def restart(council: ThrowawayCouncil, name: str) -> CrossSigningOutcome:
    """Start `name` in this process, note what its cross-signing step did, stop it."""
    bots = await InProcessBots.start(council.settings, [name])
    try:
        outcome = bots.runner.bots[0].matrix.cross_signing
        assert outcome is not None
        return outcome
    finally:
        await bots.stop()


async def test_lost_private_keys_are_replaced_with_the_bots_password(
    council: ThrowawayCouncil, master: Person
) -> None:
    await restart(council, "gemini")
    old = CrossSigningKeys.from_json(read_json(key_file(council, "gemini")) or {})
    key_file(council, "gemini").unlink()
    # The server still holds the old keys: replacing them needs user-interactive auth.
    outcome = await restart(council, "gemini")
    assert (outcome.state, outcome.uploaded_keys, outcome.signed_device) == (
        XSignState.SIGNED,
        True,
        True,
    )
    new = CrossSigningKeys.from_json(read_json(key_file(council, "gemini")) or {})
    assert new.public("master") != old.public("master")
    assert key_file(council, "gemini").stat().st_mode & 0o777 == 0o600
    await assert_signed(council, master, ["gemini"])
    gemini = council.user_id("gemini")
    answer = await keys_query(council, master.client.access_token, [gemini])
    assert server_public(answer, "master_keys", gemini) == new.public("master")


@pytest.mark.backend
async def test_keys_uploaded_but_device_unsigned_is_finished_on_the_next_start(
    council: ThrowawayCouncil, master: Person
) -> None:
    """As after a crash between the two calls: the keys on the server are ours, the device
    carries no signature by them."""
    await restart(council, "gemini")
    creds = load_credentials(council.data, council.settings.account("gemini").localpart)
    assert creds is not None
    keys = CrossSigningKeys.generate(creds.user_id)
    write_private_json(key_file(council, "gemini"), keys.to_json())
    url = f"{council.url}/_matrix/client/v3/keys/device_signing/upload"
    headers = {"Authorization": f"Bearer {creds.access_token}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=keys.upload_body(), headers=headers) as first:
            assert first.status == 401
            uia = await first.json()
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": creds.user_id},
            "password": creds.password,
            "session": uia["session"],
        }
        body = {**keys.upload_body(), "auth": auth}
        async with session.post(url, json=body, headers=headers) as second:
            assert second.status == 200, await second.text()
    outcome = await restart(council, "gemini")
    assert (outcome.state, outcome.uploaded_keys, outcome.signed_device) == (
        XSignState.SIGNED,
        False,
        True,
    )
    await assert_signed(council, master, ["gemini"])


async def test_a_damaged_key_file_is_logged_and_the_bot_still_runs(
    council: ThrowawayCouncil, master: Person, caplog: pytest.LogCaptureFixture
) -> None:
    await restart(council, "gemini")
    path = key_file(council, "gemini")
    kept = path.read_bytes()
    path.write_text("{not json", encoding="utf-8")
    try:
        bots = await InProcessBots.start(council.settings, ["gemini"])
        try:
            outcome = bots.runner.bots[0].matrix.cross_signing
            assert outcome is not None
            assert outcome.state is XSignState.FAILED
            gemini = council.user_id("gemini")
            event = await master.say(council.council_room, "gemini !ping")
            await master.wait_for(replies_to(event, gemini))
        finally:
            await bots.stop()
        assert any(
            "move that file away" in r.getMessage() and r.levelno == logging.ERROR
            for r in caplog.records
        )
        assert path.read_text(encoding="utf-8") == "{not json", "the file is left for the user"
    finally:
        path.write_bytes(kept)
