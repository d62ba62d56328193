"""A bot's connection to Matrix through nio: the sync loop, invites, sending, presence.

What events mean is read in `bots.matrix.convert` (pure), the rooms' recent conversation is
kept in `bots.matrix.history`; this module does the talking and holds the state they need.

Design points, each from something measured or learned the hard way:
- The sync position is saved in Chavion's store (every few seconds and at a clean stop),
  and every event a bot acts on is claimed there before it acts, so a restart neither
  loses nor repeats an action.
- The first sync of a new bot only sets the position: history from before it joined is
  never answered. The first sync of every run asks for full state, because nio keeps no
  room state (members, power levels) between runs.
- Handlers run as tasks: a slow LLM or SSH call never stalls this bot's sync.
- nio retries a down homeserver forever; its backoff is capped at
  `runtime.max_backoff_seconds` so a bot is never deaf for a minute after a restart.
- Replies carry a transaction id derived from the event they answer: a retried send, or
  a re-run after a crash, never posts twice.
- Nothing is skipped silently: a `limited` sync page is filled back from /messages down to
  the saved position (`catch_up`), and an event whose room key is late is held, its key
  requested, and handled when the key comes or reported when it never does (`late_keys`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadError,
    EncryptionError,
    GroupEncryptionError,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    MatrixRoom,
    MegolmEvent,
    RoomCreateEvent,
    RoomGetStateError,
    RoomMessagesError,
    RoomPutStateError,
    RoomRedactError,
    RoomSendError,
    SyncError,
    SyncResponse,
    UploadError,
    UploadFilterResponse,
    WhoamiError,
)
from nio.store import DefaultStore

from bots import __version__
from bots.background import BackgroundTasks
from bots.context import BotPresence, MetricsSink
from bots.errors import MatrixError
from bots.events import BOT_STATE_EVENT
from bots.homeserver.credentials import Credentials
from bots.ids import EventID, RoomID, UserID, localpart
from bots.matrix.catch_up import joined, missed_events
from bots.matrix.convert import (
    EventMemory,
    RoomFacts,
    entry_index,
    event_source,
    raw_event_content,
    read_event,
    reply_content,
    voice_content,
)
from bots.matrix.cross_signing_client import CrossSigningOutcome, ensure_cross_signed
from bots.matrix.event_size import ContentTooLarge, fit_content, fit_voice_content
from bots.matrix.history import BACKFILL, NameOf, RoomHistory
from bots.matrix.late_keys import Held, LateKeys, unreadable_event
from bots.matrix.lost_device import renew_if_lost
from bots.matrix.media import media_keys, plain_bytes, refuse_stated_size
from bots.matrix.presence import presence_content, presences_from_state
from bots.matrix.room_versions import effective_power
from bots.message import AudioAttachment, HistoryEntry, Incoming, Reply, transaction_id
from bots.store import Store
from bridge.speech import VoiceClip

log = logging.getLogger(__name__)

T = TypeVar("T")
TOKEN_SAVE_SECONDS = 2.0
SEND_ATTEMPTS = 3
CATCH_UP_SECONDS = 30.0
"""How long `caught_up` waits for the handlers of the first sync's events."""
SYNC_FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": 100}},
    "presence": {"not_types": ["*"]},
}

MessageHandler = Callable[[Incoming], Awaitable[list[Reply]]]


class CryptoStore(DefaultStore):  # type: ignore[misc]
    """nio's crypto store, minus one waste: nio saves the set of newly encrypted rooms after
    every sync even when it is empty, a SQLite transaction per bot per sync for nothing
    (about a tenth of a busy council's CPU, measured with py-spy)."""

    def save_encrypted_rooms(self, rooms: Any) -> None:
        if rooms:
            super().save_encrypted_rooms(rooms)


InvitePolicy = Callable[[str], bool]


class Outgoing(Protocol):
    """Rewrites what a bot sends on its way out (the night quiet rule), for every bot alike."""

    async def reply(self, reply: Reply) -> Reply: ...

    async def event(self, event_type: str, content: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class BotConnection:
    name: str
    homeserver_url: str
    credentials: Credentials
    crypto_store: Path
    council_room: RoomID
    max_backoff_seconds: float = 3.0
    sync_timeout_ms: int = 30_000
    heartbeat_seconds: int = 600
    account_file: Path | None = None
    """The account file, rewritten when a lost device is replaced; None: never replaced."""
    cross_signing_keys: Path | None = None
    """Where the account's private cross-signing keys live; None: the device is not
    cross-signed (a bot Element will not trust)."""
    key_wait_seconds: float = 60.0
    transcribers: frozenset[UserID] = frozenset()
    """The configured transcriber (`voice.transcriber`): the only account whose voice
    transcripts are read as the speaker's words; any other bot's marker is its own text."""


class MatrixBot:
    """One bot account's life on Matrix. Also the `CouncilView` its handlers see."""

    def __init__(
        self,
        connection: BotConnection,
        store: Store,
        on_message: MessageHandler,
        accept_invite_from: InvitePolicy,
        metrics: MetricsSink | None = None,
        outgoing: Outgoing | None = None,
    ) -> None:
        """`outgoing`: what every reply passes through before it is sent (the night
        envelope's quiet rule, issue 19)."""
        self.connection = connection
        self.metrics = metrics
        self._outgoing = outgoing
        self.user_id = connection.credentials.user_id
        self._store = store
        self._on_message = on_message
        self._accept_invite_from = accept_invite_from
        self._memory = EventMemory()
        self._late: LateKeys[RoomFacts] = LateKeys(connection.key_wait_seconds)
        self._history = RoomHistory(transcribers=connection.transcribers)
        self._creators: dict[str, set[str]] = {}
        self._position: str | None = None
        self._filter_id: str | None = None
        self._position_saved_at = 0.0
        self._work = BackgroundTasks(connection.name)
        self.synced = asyncio.Event()
        self.started_at = time.time()
        self.handled = 0
        self.last_sync_at: float | None = None
        """When the last sync batch was taken (time.time()); None before the first."""
        self.cross_signing: CrossSigningOutcome | None = None
        connection.crypto_store.mkdir(parents=True, exist_ok=True)
        self._client = AsyncClient(
            connection.homeserver_url,
            connection.credentials.user_id,
            device_id=connection.credentials.device_id,
            store_path=str(connection.crypto_store),
            config=AsyncClientConfig(
                encryption_enabled=True,
                store=CryptoStore,
                store_sync_tokens=False,
                max_timeout_retry_wait_time=connection.max_backoff_seconds,
                backoff_factor=0.25,
            ),
        )

    # ---- lifecycle -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until `stop` is set, then let replies in flight finish and mark offline."""
        heartbeat: asyncio.Task[None] | None = None
        try:
            token = await _until(stop, self._start(stop))
            if token is None:
                return
            self.synced.set()
            try:
                await self._mark_presence(online=True)
            except MatrixError as exc:
                log.warning("%s: %s", self.connection.name, exc)
            heartbeat = asyncio.create_task(self._heartbeat(stop))
            while not stop.is_set():
                next_token = await self._sync_once(token, stop)
                if next_token is None:
                    break
                token = next_token
        finally:
            if heartbeat:
                heartbeat.cancel()
            await self._work.drain(timeout=20)
            if self._position is not None:
                await self._save_position(self._position, force=True)
            if self.synced.is_set():
                try:
                    await asyncio.wait_for(self._mark_presence(online=False), 5)
                except (TimeoutError, MatrixError) as exc:
                    log.warning("%s could not mark itself offline: %s", self.connection.name, exc)
            await self._client.close()

    async def caught_up(self, timeout: float = CATCH_UP_SECONDS) -> bool:
        """Once synced, waits for the handlers of what the first sync brought (after a
        restart: what came while the bot was down), at most `timeout`: a deadline judged
        after this has seen the answers and votes that arrived in time. True when all were
        handled."""
        await self.synced.wait()
        done = await self._work.settle(timeout)
        if not done:
            log.warning(
                "%s: the catch-up was not handled within %.0f s; going on",
                self.connection.name,
                timeout,
            )
        return done

    async def _start(self, stop: asyncio.Event) -> str | None:
        """Keys, filter, then a first full sync, retried until the homeserver answers: a
        bot that gave up here would sit silent while `chavion up` waits for it."""
        if not await self._log_in(stop):
            return None
        await self._crypto_housekeeping()
        await self._cross_sign()
        await self._upload_filter()
        saved = await self._store.sync_token(self.connection.name)
        while not stop.is_set():
            response = await self._client.sync(
                timeout=0,
                since=saved,
                full_state=True,
                sync_filter=self._filter_id or SYNC_FILTER,
            )
            if isinstance(response, SyncResponse):
                # The first sync ever only learns the rooms: what was said before is history.
                await self._take(response, dispatch=saved is not None, force_save=True, since=saved)
                return str(response.next_batch)
            self._note_failure(response)
            await asyncio.sleep(self.connection.max_backoff_seconds)
        return None

    async def _sync_once(self, token: str, stop: asyncio.Event) -> str | None:
        """One long-polling /sync; the next position, or None when asked to stop."""
        response = await _until(
            stop,
            self._client.sync(
                timeout=self.connection.sync_timeout_ms,
                since=token,
                full_state=False,
                sync_filter=self._filter_id or SYNC_FILTER,
            ),
        )
        if response is None:
            return None
        if not isinstance(response, SyncResponse):
            self._note_failure(response)
            await _until(stop, asyncio.sleep(self.connection.max_backoff_seconds))
            return token
        await self._take(response, dispatch=True, force_save=False, since=token)
        return str(response.next_batch)

    def _note_failure(self, response: Any) -> None:
        if isinstance(response, SyncError) and response.status_code == "M_UNKNOWN_TOKEN":
            raise MatrixError(
                f"{self.user_id}: the homeserver rejected the access token; "
                "run `chavion up` again to renew it"
            )
        message = getattr(response, "message", response)
        log.warning("%s sync failed: %s; retrying", self.connection.name, message)

    async def _take(
        self, response: SyncResponse, *, dispatch: bool, force_save: bool, since: str | None
    ) -> None:
        await self._crypto_housekeeping()
        await self._handle_invites(response)
        self._note_creators(response)
        for notice in response.to_device_events:
            source = getattr(notice, "source", None)
            if isinstance(source, dict) and source.get("type") == "m.room_key.withheld":
                self._late.note_withheld(source.get("content"))
        self._retry_held()
        await self._process_timelines(response, dispatch=dispatch, since=since)
        await self._save_position(str(response.next_batch), force=force_save)
        self.last_sync_at = time.time()
        if self.metrics is not None:
            self.metrics.sync_lag(self.connection.name, 0.0)

    async def _log_in(self, stop: asyncio.Event) -> bool:
        """Open the crypto store of the saved device, or of a new one when that device's
        keys were lost (`bots.matrix.lost_device`); False when asked to stop first."""
        connection = self.connection
        creds = connection.credentials
        while connection.account_file is not None:
            try:
                creds = await renew_if_lost(
                    self._client,
                    creds,
                    connection.crypto_store,
                    connection.account_file,
                    connection.name,
                )
                break
            except Exception as exc:
                log.warning("%s cannot check its device yet (%s); retrying", connection.name, exc)
            await _until(stop, asyncio.sleep(connection.max_backoff_seconds))
            if stop.is_set():
                return False
        self.connection = replace(connection, credentials=creds)
        self._client.restore_login(creds.user_id, creds.device_id, creds.access_token)
        return True

    async def _cross_sign(self) -> None:
        """After nio uploaded the device's keys: the device signed by the account's own
        self-signing key, so Element trusts it (see `bots.matrix.cross_signing_client`)."""
        keys = self.connection.cross_signing_keys
        if keys is not None and self._client.olm is not None:
            self.cross_signing = await ensure_cross_signed(
                self._client, self.connection.credentials.password, keys, self.connection.name
            )

    async def _upload_filter(self) -> None:
        """Uploaded once, then named by id: an inline filter is parsed by Synapse on every
        /sync of every bot."""
        response = await self._client.upload_filter(
            room=SYNC_FILTER["room"], presence=SYNC_FILTER["presence"]
        )
        if isinstance(response, UploadFilterResponse):
            self._filter_id = str(response.filter_id)
        else:
            log.warning(
                "%s: filter upload failed (%s); sending it inline",
                self.connection.name,
                getattr(response, "message", response),
            )

    async def _save_position(self, token: str, *, force: bool = False) -> None:
        """Written at most every TOKEN_SAVE_SECONDS (and at a clean stop): after a crash the
        bot reads those seconds again, and every event it acts on is claimed in the store
        before it acts, so nothing is done twice."""
        self._position = token
        now = time.monotonic()
        if force or now - self._position_saved_at >= TOKEN_SAVE_SECONDS:
            await self._store.save_sync_token(self.connection.name, token)
            self._position_saved_at = now

    async def _crypto_housekeeping(self) -> None:
        """What nio's sync_forever would do: keys up, keys queried, sessions claimed."""
        client = self._client
        if client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    # ---- incoming ----------------------------------------------------------------------

    async def _handle_invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            # The homeserver puts the invite itself last; earlier stripped state could
            # come from anyone.
            inviter = next(
                (
                    e.sender
                    for e in reversed(info.invite_state)
                    if isinstance(e, InviteMemberEvent)
                    and e.state_key == self.user_id
                    and e.membership == "invite"
                ),
                None,
            )
            if inviter and self._accept_invite_from(inviter):
                result = await self._client.join(room_id)
                if isinstance(result, JoinError):
                    log.warning("%s could not join %s: %s", self.user_id, room_id, result.message)
                else:
                    log.info("%s joined %s on %s's invite", self.user_id, room_id, inviter)
            else:
                log.info("%s refuses an invite to %s from %s", self.user_id, room_id, inviter)
                await self._client.room_leave(room_id)

    def _note_creators(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                if isinstance(event, RoomCreateEvent):
                    content = event.source.get("content", {})
                    extra = content.get("additional_creators", [])
                    self._creators[room_id] = {event.sender, *extra}

    async def _process_timelines(
        self, response: SyncResponse, *, dispatch: bool, since: str | None
    ) -> None:
        for room_id, info in response.rooms.join.items():
            room = self._client.rooms.get(room_id)
            if room is None:
                continue
            events = list(info.timeline.events)
            if dispatch and since is not None:
                events = await self._fill_gap(room_id, info.timeline, events, since)
            for event in events:
                with self._unreadable(event):
                    self._record(room, event)
            if not dispatch:
                continue
            facts = RoomFacts(
                room_id=RoomID(room.room_id),
                is_direct=room.room_id != self.connection.council_room and room.member_count <= 2,
                encrypted=room.encrypted,
                transcribers=self.connection.transcribers,
            )
            start = entry_index(events, self.user_id)
            for event in events[start:]:
                if isinstance(event, MegolmEvent):
                    await self._wait_for_key(room_id, event, facts)
                    continue
                self._dispatch(event, facts)

    def _dispatch(self, event: Any, facts: RoomFacts) -> None:
        message: Incoming | None = None
        with self._unreadable(event):
            message = read_event(event, facts, self._memory, self._authority)
        if message is not None:
            self._work.spawn(self._handle(message), f"handle {message.event_id}")

    async def _wait_for_key(self, room_id: str, event: MegolmEvent, facts: RoomFacts) -> None:
        """Held until its key comes (see `late_keys`); the key is asked for at once."""
        log.info(
            "%s holds %s from %s until its key arrives",
            self.connection.name,
            event.event_id,
            event.sender,
        )
        for dropped in self._late.hold(event, room_id, facts, time.monotonic()):
            self._give_up(dropped)
        with contextlib.suppress(LocalProtocolError):  # already asked for this session
            await self._client.request_room_key(event)

    def _retry_held(self) -> None:
        """After each sync's keys: handle what became readable, give up what waited too long."""
        if not len(self._late):
            return
        readable, expired = self._late.sweep(self._decrypt_held, time.monotonic())
        for held, event in readable:
            room = self._client.rooms.get(held.room_id)
            if room is not None:
                with self._unreadable(event):
                    self._record(room, event)
            log.info("%s read %s once its key arrived", self.connection.name, event.event_id)
            self._dispatch(event, held.facts)
        for held in expired:
            self._give_up(held)

    def _decrypt_held(self, held: Held[RoomFacts]) -> Any | None:
        event = held.event
        if not getattr(event, "room_id", None):
            event.room_id = held.room_id
        try:
            return self._client.decrypt_event(event)
        except (EncryptionError, LocalProtocolError):
            return None

    def _give_up(self, held: Held[RoomFacts]) -> None:
        """Logged, and handed to the handlers as a `RoomEvent`: the coordinator tells the
        sender, so an unreadable message is never silently lost."""
        log.warning(
            "%s could not read %s from %s: its key did not arrive within %.0f s (%s)",
            self.connection.name,
            held.event.event_id,
            held.event.sender,
            self._late.wait_seconds,
            self._late.withheld(str(getattr(held.event, "session_id", ""))) or "not withheld",
        )
        with self._unreadable(held.event):
            power = self._authority(held.event.sender)
            withheld = self._late.withheld(str(getattr(held.event, "session_id", "")))
            unreadable = unreadable_event(held, power, self._late.wait_seconds, withheld)
            self._work.spawn(self._handle(unreadable), f"unreadable {held.event.event_id}")

    async def _fill_gap(
        self, room_id: str, timeline: Any, page: list[Any], since: str
    ) -> list[Any]:
        """A `limited` page hides what came between `since` and it: read that back first."""
        if not timeline.limited or not timeline.prev_batch:
            return page
        missed = await missed_events(self._client, room_id, timeline.prev_batch, since)
        if missed:
            log.info(
                "%s caught up %d events in %s that came while it was away",
                self.connection.name,
                len(missed),
                room_id,
            )
        return joined(missed, page)

    @contextmanager
    def _unreadable(self, event: Any) -> Iterator[None]:
        """One event a client filled with the wrong shapes is skipped, not the sync loop's
        end: a bot that died on it would meet it again after every restart."""
        try:
            yield
        except Exception:
            log.exception(
                "%s skips event %s it cannot read",
                self.connection.name,
                getattr(event, "event_id", "?"),
            )

    def _record(self, room: MatrixRoom, event: Any) -> None:
        """Remember senders (to resolve replies) and recent text (agents' context)."""
        source = event_source(event)
        if source is None:
            return
        self._memory.remember(event)
        self._history.record(room.room_id, source, _names_in(room))

    async def history(
        self, room_id: RoomID, thread_root: EventID | None, limit: int
    ) -> list[HistoryEntry]:
        """The thread (root included), or the room's main timeline, oldest first."""
        if self._history.first_look(room_id):
            await self._read_back(room_id)
        return self._history.entries(room_id, thread_root, limit)

    async def _read_back(self, room_id: RoomID) -> None:
        """After a restart the history holds only what came since: read back once."""
        room = self._client.rooms.get(room_id)
        if room is None:
            return
        response = await self._client.room_messages(room_id, limit=BACKFILL)
        if isinstance(response, RoomMessagesError):
            log.warning(
                "%s could not read back %s: %s", self.connection.name, room_id, response.message
            )
            return
        sources: list[dict[str, Any]] = []
        for event in reversed(response.chunk):
            if (source := event_source(event)) is not None:
                self._memory.remember(event)
                sources.append(source)
        self._history.read_back(room_id, sources, _names_in(room))

    async def typing(self, room_id: RoomID, on: bool) -> None:
        await self._client.room_typing(room_id, on, timeout=30_000)

    def _authority(self, user_id: str) -> int:
        """A sender's power level in the council room, wherever they write: in a room someone
        else created, that someone has power 100 there, but no say over the council."""
        council = self._client.rooms.get(self.connection.council_room)
        if council is None:
            return 0
        return effective_power(
            council.room_version,
            self._creators.get(council.room_id, set()),
            user_id,
            int(council.power_levels.get_user_level(user_id)),
        )

    async def _handle(self, message: Incoming) -> None:
        try:
            replies = await self._on_message(message)
        except Exception:
            log.exception("%s failed to handle %s", self.connection.name, message.event_id)
            return
        for reply in replies:  # one part that cannot be sent does not lose the others
            try:
                await self.send(reply)
            except Exception:
                log.exception(
                    "%s could not send a reply to %s", self.connection.name, message.event_id
                )
        self.handled += 1

    # ---- outgoing ----------------------------------------------------------------------

    async def send(self, reply: Reply) -> EventID:
        if self._outgoing is not None:
            reply = await self._outgoing.reply(reply)
        try:
            content = fit_content(reply_content(reply))
        except ContentTooLarge as exc:
            raise MatrixError(f"{self.user_id} cannot send to {reply.room_id}: {exc}") from None
        event_id = await self._room_send(
            reply.room_id, "m.room.message", content, reply.key, f"to {reply.room_id}"
        )
        self._memory.note_sender(event_id, self.user_id)
        return event_id

    async def send_event(
        self, room_id: RoomID, event_type: str, content: dict[str, Any], key: str
    ) -> EventID:
        """A machine-readable event (e.g. an execution result) for other bots to act on."""
        if self._outgoing is not None:
            content = await self._outgoing.event(event_type, content)
        sent = raw_event_content(event_type, content)
        return await self._room_send(room_id, event_type, sent, key, event_type)

    async def send_file(
        self, reply: Reply, filename: str, data: bytes, mimetype: str = "text/plain"
    ) -> EventID:
        """Upload `data` (encrypted in an encrypted room) and post it as an `m.file`."""
        if self._outgoing is not None:
            reply = await self._outgoing.reply(reply)
        media = await self._upload(reply.room_id, filename, data, mimetype)
        content = reply_content(reply)
        content.update(
            {
                "msgtype": "m.file",
                "body": filename,
                "filename": filename,
                "info": {"mimetype": mimetype, "size": len(data)},
            }
        )
        content.pop("format", None)
        content.pop("formatted_body", None)
        content.update(media)
        return await self._room_send(reply.room_id, "m.room.message", content, reply.key, filename)

    async def send_voice(self, reply: Reply, clip: VoiceClip) -> EventID:
        """`clip` as a voice message (Element's keys, `reply.body` as its text fallback)."""
        if self._outgoing is not None:
            reply = await self._outgoing.reply(reply)
        try:  # refused before the upload, not after
            content = fit_voice_content(voice_content(reply, clip))
        except ContentTooLarge as exc:
            raise MatrixError(f"{self.user_id} cannot send to {reply.room_id}: {exc}") from None
        content = {
            **content,
            **await self._upload(reply.room_id, "voice.ogg", clip.data, clip.mimetype),
        }
        return await self._room_send(reply.room_id, "m.room.message", content, reply.key, "voice")

    async def _upload(
        self, room_id: RoomID, filename: str, data: bytes, mimetype: str
    ) -> dict[str, Any]:
        """The content keys that point at `data` once uploaded: `file` (with its keys) in an
        encrypted room, `url` in the clear."""
        room = self._client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)
        uploaded, keys = await self._client.upload(
            io.BytesIO(data),
            content_type=mimetype,
            filename=filename,
            encrypt=encrypt,
            filesize=len(data),
        )
        if isinstance(uploaded, UploadError):
            raise MatrixError(f"{self.user_id} could not upload {filename}: {uploaded.message}")
        return media_keys(uploaded.content_uri, keys if encrypt else None)

    async def download(self, audio: AudioAttachment, max_bytes: int) -> bytes:
        """The attachment's plain bytes (see `bots.matrix.media`): refused before fetching
        when its stated size is over `max_bytes`, after when the body is, and when its hash
        does not match."""
        refuse_stated_size(audio, max_bytes)
        response = await self._client.download(mxc=audio.url)
        if isinstance(response, DownloadError):
            raise MatrixError(f"the audio file could not be downloaded: {response.message}")
        if not isinstance(response.body, bytes):  # only with `save_to`, never used here
            raise MatrixError(f"{self.user_id} got {audio.url} on disk, not in memory")
        return plain_bytes(audio, response.body, max_bytes)

    async def redact(self, room_id: RoomID, event_id: EventID, reason: str, key: str) -> EventID:
        """A redaction: never encrypted (the homeserver must read which event it removes),
        with a transaction id stable per `key`, so a retry redacts once."""
        response = await self._client.room_redact(
            room_id, event_id, reason=reason, tx_id=transaction_id(self.user_id, key)
        )
        if isinstance(response, RoomRedactError):
            raise MatrixError(f"{self.user_id} could not redact {event_id}: {response.message}")
        self._history.forget(room_id, event_id)
        return EventID(str(response.event_id))

    async def _room_send(
        self, room_id: str, event_type: str, content: dict[str, Any], key: str, what: str
    ) -> EventID:
        """One send, encrypted where the room is, with a transaction id stable per `key`
        (none without a key): a retried handler never posts twice."""
        began = time.monotonic()
        for attempt in range(SEND_ATTEMPTS):
            try:
                response = await self._client.room_send(
                    room_id,
                    event_type,
                    content,
                    tx_id=transaction_id(self.user_id, key) if key else None,
                    ignore_unverified_devices=True,
                )
                break
            except GroupEncryptionError:
                # nio starts a new session every 100 messages; a send racing that rotation
                # finds it not shared yet (seen in a burst of 300 replies). Sending again
                # shares it, or waits for the share in progress.
                if attempt == SEND_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0)
            except LocalProtocolError as exc:  # e.g. a room its sync has not brought yet
                raise MatrixError(f"{self.user_id} could not send {what}: {exc}") from None
        if self.metrics is not None:
            self.metrics.matrix_send(self.connection.name, time.monotonic() - began)
        if isinstance(response, RoomSendError):
            raise MatrixError(f"{self.user_id} could not send {what}: {response.message}")
        return EventID(str(response.event_id))

    # ---- CouncilView --------------------------------------------------------------------

    async def homeserver_reachable(self) -> bool:
        try:
            response = await asyncio.wait_for(self._client.whoami(), 3)
        except TimeoutError:
            return False
        return not isinstance(response, WhoamiError)

    async def presences(self) -> dict[UserID, BotPresence]:
        response = await self._client.room_get_state(self.connection.council_room)
        if isinstance(response, RoomGetStateError):
            raise MatrixError(f"cannot read the council's state: {response.message}")
        return presences_from_state(response.events)

    async def _mark_presence(self, *, online: bool) -> None:
        content = presence_content(
            online=online,
            version=__version__,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=self.started_at,
            now=time.time(),
            cross_signing=self.cross_signing.state.value if self.cross_signing else "",
        )
        response = await self._client.room_put_state(
            self.connection.council_room, BOT_STATE_EVENT, content, state_key=self.user_id
        )
        if isinstance(response, RoomPutStateError):
            raise MatrixError(f"cannot mark {self.user_id} in the council: {response.message}")

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.connection.heartbeat_seconds)
            except TimeoutError:
                try:
                    await self._mark_presence(online=True)
                except MatrixError as exc:
                    log.warning("heartbeat of %s failed: %s", self.connection.name, exc)


async def _until(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """`work`'s result, or None as soon as `stop` is set (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if not task.done():
        task.cancel()
        return None
    return task.result()


def _names_in(room: MatrixRoom) -> NameOf:
    """Senders as the room displays them, by their localpart when it has no name for one."""
    return lambda user_id: room.user_name(user_id) or localpart(user_id)
