"""The master's account is not throttled by Synapse's message rate limit, on a real Synapse
with its default limits (a burst of 10, then one message every 5 s).

The homeserver's data directory has `"`, `\\`, `#` and `: ` in its path: the config Chavion
writes for it must still be read back by Synapse as written.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
import yaml

from bots.homeserver.admin_api import ApiError, HomeserverApi
from bots.homeserver.process import SynapseProcess, free_port
from bots.homeserver.provision import Provisioned, Provisioner
from bots.homeserver.synapse_config import write_synapse_config
from bots.settings.data_dir import DataDir
from bots.settings.loading import load_settings
from bots.settings.model import Settings
from tests.support.council import council_config

pytestmark = pytest.mark.integration

QUICK_MESSAGES = 15
"""More than Synapse's default burst of 10: the eleventh would wait ~5 s, or get a 429."""


@dataclass
class LimitedServer:
    settings: Settings
    secret: str
    synapse: SynapseProcess

    async def provision(self, *, lift_master: bool) -> Provisioned:
        settings = dataclasses.replace(
            self.settings,
            master=dataclasses.replace(self.settings.master, lift_rate_limit=lift_master),
        )
        async with aiohttp.ClientSession() as session:
            api = HomeserverApi(session, settings.homeserver.client_url)
            data = DataDir(settings.data_dir)
            return await Provisioner(settings, api, self.secret, data).run()


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LimitedServer]:
    root = tmp_path_factory.mktemp("limits") / 'a "hostile\\ #dir: here'
    root.mkdir()
    port = free_port()
    config = council_config(root / "data", port, encrypted=False)
    config["homeserver"]["relaxed_rate_limits"] = False  # Synapse's own defaults
    config["agents"] = config["agents"][:1]
    path = root / "chavion.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    settings = load_settings(path)
    data = DataDir(settings.data_dir)
    files = write_synapse_config(settings.homeserver, data)
    synapse = SynapseProcess(
        files.config, settings.homeserver.client_url, "127.0.0.1", port, root / "stdout.log"
    )
    await synapse.start()
    try:
        yield LimitedServer(settings, files.registration_secret, synapse)
    finally:
        await synapse.stop()


async def send_quickly(api: HomeserverApi, token: str, room_id: str) -> list[int]:
    """Send messages back to back; the HTTP status of each (429 when throttled)."""
    statuses: list[int] = []
    for n in range(QUICK_MESSAGES):
        try:
            await api.call(
                "PUT",
                f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{secrets.token_hex(8)}",
                token=token,
                body={"msgtype": "m.text", "body": f"quick message {n + 1}"},
            )
            statuses.append(200)
        except ApiError as exc:
            statuses.append(exc.status)
    return statuses


async def test_the_master_sends_fast_and_a_plain_user_is_throttled(server: LimitedServer) -> None:
    provisioned = await server.provision(lift_master=True)
    url = server.settings.homeserver.client_url
    room = provisioned.council.room_id
    async with aiohttp.ClientSession() as session:
        api = HomeserverApi(session, url)
        master = await api.login(provisioned.master.user_id, provisioned.master.password)
        # The same server throttles an account nobody lifted: the limit is really there.
        await api.register(server.secret, "plain", "plain-password")
        plain = await api.login("@plain:localhost", "plain-password")
        own_room = await api.create_room(plain["access_token"], {"preset": "private_chat"})
        try:
            assert await send_quickly(api, master["access_token"], room) == [200] * 15
            assert 429 in await send_quickly(api, plain["access_token"], own_room)
        finally:
            for token in (master["access_token"], plain["access_token"]):
                await api.call("POST", "/_matrix/client/v3/logout", token=token, body={})
    again = await server.provision(lift_master=True)
    assert again.changes == ()


async def test_switching_it_off_restores_the_limit_and_on_lifts_it_again(
    server: LimitedServer,
) -> None:
    off = await server.provision(lift_master=False)
    master_id = off.master.user_id
    assert off.changes == (f"restored the message rate limit of {master_id}",)
    async with aiohttp.ClientSession() as session:
        api = HomeserverApi(session, server.settings.homeserver.client_url)
        master = await api.login(master_id, off.master.password)
        token, room = master["access_token"], off.council.room_id
        try:
            assert 429 in await send_quickly(api, token, room)
            on = await server.provision(lift_master=True)
            assert on.changes == (f"lifted the message rate limit of {master_id}",)
            # At once, with the bucket still empty from the throttled burst above.
            assert await send_quickly(api, token, room) == [200] * 15
        finally:
            await api.call("POST", "/_matrix/client/v3/logout", token=token, body={})


def test_synapse_read_the_hostile_paths_as_written(server: LimitedServer) -> None:
    data = DataDir(server.settings.data_dir)
    assert '"hostile\\ #dir: here' in str(data.root)
    # The database, log and media store Synapse made are where the config put them.
    assert (data.synapse / "homeserver.db").stat().st_size > 0
    assert data.synapse_log.stat().st_size > 0
    assert (data.synapse / "media_store").is_dir()
