"""The master in a real Element-stack client: matrix-js-sdk with its Rust crypto, in Node.

`tests/element/master.mjs` runs as a subprocess on the Node 22 that npm installed next to it
(`scripts/element-client` installs it; `scripts/test` calls that). This side speaks its JSON
lines: requests with an id and one answer each, plus every live room event the client sees,
decrypted where it can be and with the shield Element would draw on it. Unlike the nio
`Person`, this client judges devices as Element does, including cross-signing and
`OnlySignedDevicesIsolationMode`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[2]
CLIENT_DIR = REPO / "tests" / "element"
NODE = CLIENT_DIR / "node_modules" / ".bin" / "node"
SCRIPT = CLIENT_DIR / "master.mjs"
INSTALL_HINT = "run scripts/element-client (scripts/test does) to install it from npm"

IsolationMode = Literal["all", "only_signed"]


class ElementClientError(RuntimeError):
    """The Node client answered a request with an error, or died."""


@dataclass(frozen=True)
class Shield:
    colour: str
    """NONE, GREY or RED, as matrix-js-sdk's `EventShieldColour`."""
    reason: str | None
    """`EventShieldReason` by name, e.g. UNSIGNED_DEVICE; None when there is no shield."""

    @property
    def warns(self) -> bool:
        return self.colour != "NONE"


@dataclass(frozen=True)
class ElementEvent:
    event_id: str
    room_id: str
    sender: str
    type: str
    content: dict[str, Any]
    state_key: str | None
    """Set on state events (never encrypted in Matrix); None on timeline messages."""
    encrypted: bool
    failure: str | None
    """matrix-js-sdk's `DecryptionFailureCode` when the event could not be decrypted."""
    shield: Shield | None
    received_at: float
    push: dict[str, Any] | None = None
    """What Element's notifier does with it (matrix-js-sdk's push processor on the decrypted
    event): {notify, sound, highlight, rule}; None for its own events and failures."""

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))

    @property
    def relates_to(self) -> dict[str, Any]:
        relates = self.content.get("m.relates_to")
        return relates if isinstance(relates, dict) else {}

    @property
    def in_reply_to(self) -> str | None:
        reply = self.relates_to.get("m.in_reply_to")
        return reply.get("event_id") if isinstance(reply, dict) else None

    @classmethod
    def parse(cls, raw: dict[str, Any], received_at: float) -> ElementEvent:
        shield = raw.get("shield")
        return cls(
            event_id=str(raw["event_id"]),
            room_id=str(raw["room_id"]),
            sender=str(raw["sender"]),
            type=str(raw["type"]),
            content=raw.get("content") or {},
            state_key=raw.get("state_key"),
            encrypted=bool(raw.get("encrypted")),
            failure=raw.get("failure"),
            shield=Shield(shield["colour"], shield.get("reason")) if shield else None,
            received_at=received_at,
            push=raw.get("push"),
        )


class ElementClient:
    """One Node process playing the master's Element session."""

    def __init__(self, process: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.process = process
        self.stderr_path = stderr_path
        self.user_id = ""
        self.device_id = ""
        self._events: dict[str, ElementEvent] = {}
        """By event id, latest version wins: a late room key decrypts an event again."""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, log_dir: Path) -> ElementClient:
        if not NODE.exists():
            raise ElementClientError(f"the Element test client is not installed: {INSTALL_HINT}")
        await asyncio.to_thread(log_dir.mkdir, parents=True, exist_ok=True)
        stderr_path = log_dir / "element-client.log"
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                str(NODE),
                str(SCRIPT),
                cwd=CLIENT_DIR,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "NODE_NO_WARNINGS": "1"},
                limit=16 * 1024 * 1024,
            )
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), 30)
        if not first.startswith(b'{"ready":true'):
            raise ElementClientError(
                f"the Element client did not start ({first!r}); see {stderr_path}"
            )
        return cls(process, stderr_path)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue  # not ours: the protocol is JSON lines only, the SDK logs to stderr
            if "event" in message:
                event = ElementEvent.parse(message["event"], time.monotonic())
                self._events[event.event_id] = event
                async with self._changed:
                    self._changed.notify_all()
                continue
            future = self._pending.pop(message.get("id"), None)
            if future is None or future.done():
                continue
            if message.get("ok"):
                future.set_result(message.get("result"))
            else:
                future.set_exception(ElementClientError(str(message.get("error"))))
        died = ElementClientError(f"the Element client exited; see {self.stderr_path}")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(died)
        async with self._changed:
            self._changed.notify_all()

    async def request(self, cmd: str, timeout: float = 60, **args: Any) -> Any:
        """Send one command and wait for its answer."""
        assert self.process.stdin is not None
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.process.stdin.write(
            json.dumps({"id": request_id, "cmd": cmd, **args}).encode() + b"\n"
        )
        await self.process.stdin.drain()
        return await asyncio.wait_for(future, timeout)

    # ---- acting ------------------------------------------------------------------------

    async def login(
        self, url: str, user: str, password: str, *, cross_signing: bool = True
    ) -> bool:
        """Log in, sync, and bootstrap cross-signing; True when cross-signing is ready.
        `cross_signing=False` leaves the account's cross-signing as it is (a test that only
        reads must not set up keys another test's first login expects to create)."""
        result = await self.request(
            "login",
            timeout=120,
            url=url,
            user=user,
            password=password,
            cross_signing=cross_signing,
        )
        self.user_id, self.device_id = result["user_id"], result["device_id"]
        return bool(result["cross_signing_ready"])

    async def isolation(self, mode: IsolationMode) -> None:
        await self.request("isolation", mode=mode)

    async def say(self, room_id: str, body: str, **extra: Any) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body, **extra}
        result = await self.request("send", room_id=room_id, content=content)
        return str(result["event_id"])

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Any room event, sent as Element's own code sends it (`client.sendEvent`)."""
        result = await self.request("send_event", room_id=room_id, type=event_type, content=content)
        return str(result["event_id"])

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """A tap on a reaction (Element sends reactions unencrypted, even in an encrypted room)."""
        result = await self.request("react", room_id=room_id, event_id=event_id, key=key)
        return str(result["event_id"])

    async def vote(self, room_id: str, poll_event: str, answer: str) -> str:
        """A vote in an MSC3381 poll, as Element's poll body sends it."""
        result = await self.request("poll_vote", room_id=room_id, poll=poll_event, answers=[answer])
        return str(result["event_id"])

    async def send_voice(
        self, room_id: str, ogg: bytes, *, duration_ms: int, waveform: tuple[int, ...]
    ) -> str:
        """A recorded voice message as Element Web sends one (uploaded encrypted in an
        encrypted room)."""
        result = await self.request(
            "send_voice",
            room_id=room_id,
            ogg=base64.b64encode(ogg).decode(),
            duration=duration_ms,
            waveform=list(waveform),
        )
        return str(result["event_id"])

    async def download(self, event: ElementEvent) -> bytes:
        """An audio or file message's bytes as Element plays them: decrypted with its `file`
        keys after checking their hash."""
        result = await self.request("download", content=event.content)
        return base64.b64decode(result["data"])

    async def devices(self, user_id: str) -> list[dict[str, Any]]:
        """The user's devices as Element judges them (signed_by_owner, ...)."""
        return list(await self.request("devices", user_id=user_id))

    async def shields(self, event_ids: list[str]) -> dict[str, Shield | None]:
        """Each event's shield asked again now, as Element redraws it."""
        raw = await self.request("shields", event_ids=event_ids)
        return {k: Shield(v["colour"], v.get("reason")) if v else None for k, v in raw.items()}

    async def thread(self, room_id: str, root: str) -> list[str] | None:
        """The event ids in the thread's timeline as Element's thread panel has them."""
        found = await self.request("thread", room_id=room_id, root=root)
        return None if found is None else [str(e) for e in found]

    async def wait_until_in_thread(
        self, room_id: str, root: str, event_id: str, timeout: float = 30
    ) -> None:
        """Wait until Element's thread panel for `root` holds `event_id`."""
        deadline = time.monotonic() + timeout
        while event_id not in (await self.thread(room_id, root) or []):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{event_id} never showed in the thread of {root}")
            await asyncio.sleep(0.1)

    async def settle(self, seconds: float) -> None:
        """Wait out a quiet period, for tests that must show nothing more arrives."""
        await asyncio.sleep(seconds)

    async def close(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ElementClientError, TimeoutError, ConnectionError):
                await self.request("stop", timeout=10)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    # ---- watching ----------------------------------------------------------------------

    @property
    def events(self) -> list[ElementEvent]:
        return list(self._events.values())

    def matching(self, predicate: Callable[[ElementEvent], bool]) -> list[ElementEvent]:
        return [e for e in self._events.values() if predicate(e)]

    async def wait_for(
        self, predicate: Callable[[ElementEvent], bool], *, count: int = 1, timeout: float = 30
    ) -> list[ElementEvent]:
        async def enough() -> list[ElementEvent]:
            async with self._changed:
                while True:
                    found = self.matching(predicate)
                    if len(found) >= count:
                        return found
                    if self._reader.done():
                        raise ElementClientError(f"the client exited; see {self.stderr_path}")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            found = len(self.matching(predicate))
            raise TimeoutError(
                f"{found} of {count} awaited events arrived in {timeout} s"
                f" (client log: {self.stderr_path})"
            ) from None


def typed_in_element_web(text: str) -> str:
    """The body Element Web's composer sends for what the master typed: a message starting
    with `//` loses one slash (`//chavion_task: x` arrives as `/chavion_task: x`)."""
    return text[1:] if text.startswith("//") else text


def replies_to(event_id: str, sender: str | None = None) -> Callable[[ElementEvent], bool]:
    """A message answering `event_id` (not an edit of one), from `sender` if given."""
    return lambda e: (
        e.type == "m.room.message"
        and e.in_reply_to == event_id
        and "m.new_content" not in e.content
        and (sender is None or e.sender == sender)
    )
