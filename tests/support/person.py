"""A person in Element, played by a plain nio client: logs in, talks, and watches replies.

Encryption is on, as in Element: it uploads keys, shares room keys with the bots' devices
and decrypts what they send back.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment

VOICE_BODY = "Voice message"
"""What Element Web writes as a voice message's body (and MSC1767 text)."""


@dataclass(frozen=True)
class Seen:
    room_id: str
    event_id: str
    sender: str
    content: dict[str, Any]
    received_at: float

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def relates_to(self) -> dict[str, Any]:
        """`m.relates_to`, or {} when there is none (or a client sent some other shape)."""
        relates = self.content.get("m.relates_to")
        return relates if isinstance(relates, dict) else {}

    @property
    def in_reply_to(self) -> str | None:
        relates = self.content.get("m.relates_to")
        reply = relates.get("m.in_reply_to") if isinstance(relates, dict) else None
        return reply.get("event_id") if isinstance(reply, dict) else None


class Person:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.seen: list[Seen] = []
        self.events: list[tuple[str, Seen]] = []
        """Other room events (reactions, Chavion's own types), with their type."""
        self.undecryptable = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @classmethod
    async def login(cls, url: str, user_id: str, password: str, store: Path) -> Person:
        await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
        client = AsyncClient(
            url,
            user_id,
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, max_timeout_retry_wait_time=1),
        )
        response = await client.login(password, device_name="test person")
        assert isinstance(response, LoginResponse), response
        person = cls(client)
        first = await client.sync(timeout=0, full_state=True)
        assert isinstance(first, SyncResponse), first
        await person._housekeeping()
        person._task = asyncio.create_task(person._sync_forever())
        return person

    async def _housekeeping(self) -> None:
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _sync_forever(self) -> None:
        while True:
            response = await self.client.sync(timeout=5000)
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            await self._housekeeping()
            now = time.monotonic()
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    if isinstance(event, MegolmEvent):
                        self.undecryptable += 1
                        continue
                    source = getattr(event, "source", {})
                    if source.get("type") != "m.room.message":
                        if "event_id" in source and "state_key" not in source:
                            self.events.append(
                                (
                                    str(source.get("type")),
                                    Seen(
                                        room_id,
                                        source["event_id"],
                                        source.get("sender", ""),
                                        source.get("content", {}),
                                        now,
                                    ),
                                )
                            )
                        continue
                    self.seen.append(
                        Seen(
                            room_id,
                            source["event_id"],
                            source["sender"],
                            source.get("content", {}),
                            now,
                        )
                    )
            async with self._changed:
                self._changed.notify_all()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # nio's sync can swallow a cancellation that lands inside its own retry loop, and
            # the task then syncs on forever (the suite hung in teardown): ask again until it
            # is really over.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1)
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()

    # ---- acting ------------------------------------------------------------------------

    async def say(self, room_id: str, body: str, **extra: Any) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body, **extra}
        await self.knows(room_id)
        await self._track_devices(room_id)
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Any event type (a reaction, a Chavion event), encrypted where the room is."""
        await self.knows(room_id)
        await self._track_devices(room_id)
        response = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def send_voice(
        self,
        room_id: str,
        ogg: bytes,
        *,
        duration_ms: int,
        waveform: tuple[int, ...] | list[int],
        reply_to: str | None = None,
        thread_root: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A voice message exactly as Element Web records one (shared element facts, "Voice"):
        uploaded encrypted (the `file` object) in an encrypted room, plain (`url`) otherwise.
        `extra` adds or overrides content keys (an odd shape, a stated size that lies)."""
        await self.knows(room_id)
        media = await self.upload(room_id, ogg, "Voice message.ogg", "audio/ogg")
        content = element_voice_content(
            media, size=len(ogg), duration_ms=duration_ms, waveform=waveform
        )
        if thread_root is not None:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread_root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": reply_to or thread_root},
            }
        elif reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        content.update(extra or {})
        return await self.send_event(room_id, "m.room.message", content)

    async def upload(
        self, room_id: str, data: bytes, filename: str, mimetype: str
    ) -> dict[str, Any]:
        """Uploads `data`; the content keys that point at it: `file` (with its keys) in an
        encrypted room, `url` in the clear."""
        encrypt = bool(self.client.rooms[room_id].encrypted)
        uploaded, keys = await self.client.upload(
            io.BytesIO(data),
            content_type=mimetype,
            filename=filename,
            encrypt=encrypt,
            filesize=len(data),
        )
        assert isinstance(uploaded, UploadResponse), uploaded
        if encrypt:
            assert keys is not None
            return {"file": {**keys, "url": uploaded.content_uri}}
        return {"url": uploaded.content_uri}

    async def download_audio(self, seen: Seen) -> bytes:
        """The plain bytes of an audio message someone sent: fetched, and decrypted with the
        event's `file` keys when it has them (checking the hash, as Element does)."""
        encrypted = seen.content.get("file")
        url = encrypted["url"] if isinstance(encrypted, dict) else seen.content["url"]
        response = await self.client.download(mxc=url)
        assert isinstance(response, DownloadResponse), response
        assert isinstance(response.body, bytes)
        if not isinstance(encrypted, dict):
            return response.body
        return bytes(
            decrypt_attachment(
                response.body,
                encrypted["key"]["k"],
                encrypted["hashes"]["sha256"],
                encrypted["iv"],
            )
        )

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self.send_event(room_id, "m.reaction", {"m.relates_to": relates})

    async def create_room(self, invite: list[str], *, encrypted: bool, direct: bool = False) -> str:
        initial_state = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        response = await self.client.room_create(
            invite=invite,
            is_direct=direct,
            initial_state=initial_state,
            preset=None,
        )
        assert isinstance(response, RoomCreateResponse), response
        return str(response.room_id)

    async def join(self, room_id: str) -> None:
        await self.client.join(room_id)
        await self.knows(room_id)

    async def _track_devices(self, room_id: str) -> None:
        """Know every member's devices before encrypting, as Element does."""
        room = self.client.rooms[room_id]
        if not room.encrypted or self.client.olm is None:
            return
        if not room.members_synced:
            await self.client.joined_members(room_id)
        self.client.olm.update_tracked_users(room)
        if self.client.should_query_keys:
            await self.client.keys_query()

    async def knows(self, room_id: str, timeout: float = 30) -> None:
        """Wait until our own sync has seen the room: nio can only encrypt for known rooms."""
        deadline = time.monotonic() + timeout
        while room_id not in self.client.rooms:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user_id} never synced {room_id}")
            await asyncio.sleep(0.05)

    # ---- watching ----------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[Seen], bool], *, count: int = 1, timeout: float = 30
    ) -> list[Seen]:
        async def enough() -> list[Seen]:
            async with self._changed:
                while True:
                    found = [s for s in self.seen if predicate(s)]
                    if len(found) >= count:
                        return found
                    await self._changed.wait()

        return await asyncio.wait_for(enough(), timeout)

    async def wait_for_event(
        self, event_type: str, predicate: Callable[[Seen], bool], *, timeout: float = 30
    ) -> Seen:
        async def found() -> Seen:
            async with self._changed:
                while True:
                    for kind, seen in self.events:
                        if kind == event_type and predicate(seen):
                            return seen
                    await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)

    def matching(self, predicate: Callable[[Seen], bool]) -> list[Seen]:
        return [s for s in self.seen if predicate(s)]

    async def wait_member(self, room_id: str, user_id: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = await self.client.joined_members(room_id)
            members = getattr(response, "members", [])
            if any(m.user_id == user_id for m in members):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{user_id} did not join {room_id}")

    async def sees_devices_of(
        self, *user_ids: str, device: tuple[str, str] | None = None, timeout: float = 30
    ) -> None:
        """Wait until our client knows the users' devices (or one given device), as Element
        does before it encrypts for a bot that has just come online for the first time."""
        deadline = time.monotonic() + timeout
        while True:
            if self.client.should_query_keys:
                await self.client.keys_query()
            known = all(list(self.client.device_store.active_user_devices(u)) for u in user_ids)
            if device is not None:
                devices = self.client.device_store.active_user_devices(device[0])
                known = known and any(d.id == device[1] for d in devices)
            if known:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.user_id} never saw devices of {user_ids}")
            await asyncio.sleep(0.1)

    async def settle(self, seconds: float) -> None:
        """Wait out a quiet period, for tests that must show nothing more arrives."""
        await asyncio.sleep(seconds)


def element_voice_content(
    media: dict[str, Any], *, size: int, duration_ms: int, waveform: tuple[int, ...] | list[int]
) -> dict[str, Any]:
    """Element Web's voice message content around uploaded `media` (`url` or `file`)."""
    return {
        "body": VOICE_BODY,
        "msgtype": "m.audio",
        "info": {"mimetype": "audio/ogg", "size": size, "duration": duration_ms},
        "org.matrix.msc1767.text": VOICE_BODY,
        "org.matrix.msc1767.file": {
            **media,
            "name": "Voice message.ogg",
            "mimetype": "audio/ogg",
            "size": size,
        },
        "org.matrix.msc1767.audio": {"duration": duration_ms, "waveform": list(waveform)},
        "org.matrix.msc3245.voice": {},
        "m.mentions": {},
        **media,
    }


def replies_to(event_id: str, sender: str | None = None) -> Callable[[Seen], bool]:
    return lambda s: s.in_reply_to == event_id and (sender is None or s.sender == sender)
