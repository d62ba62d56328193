"""`ExecutorDesk`: an external agent asks the executor exactly as a Matrix user would, with
an `org.chavion.exec.request` event from its own account, so the executor's policy,
approval and audit are the only judges. Reading a request's state reads the executor's
audit (the same store file), and its result as the executor posted it."""

from __future__ import annotations

import fnmatch
import hashlib
import shlex
from collections.abc import Mapping
from typing import Any

from bots.bridge.voices import Voice
from bots.execution.ledger import RequestLedger
from bots.execution.requests import REQUEST_EVENT, EventError, new_request, request_content
from bots.ids import RequestID, UserID
from bots.settings.model import Settings
from bridge.http.ports import AgentIdentity, ApiError

KINDS = ("shell", "file_write")


def request_id_for(agent: str, key: str) -> RequestID:
    """The same agent and idempotency key give the same request id: a retried POST is one
    request (the executor refuses to open an id twice)."""
    return RequestID("b" + hashlib.sha256(f"{agent}\0{key}".encode()).hexdigest()[:12])


def command_of(kind: str, payload: Mapping[str, Any]) -> str:
    """The command line a request runs. A `file_write` is carried as the shell command that
    writes the file, so the policy judges exactly that write (path, mode) like any other."""
    if kind == "shell":
        command = payload.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ApiError(400, "payload.command is the command line to run", "payload.command")
        return command
    if kind == "file_write":
        path, content = payload.get("path"), payload.get("content")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApiError(400, "payload.path is the file's absolute path", "payload.path")
        if not isinstance(content, str):
            raise ApiError(400, "payload.content is the file's text", "payload.content")
        command = f"printf %s {shlex.quote(content)} > {shlex.quote(path)}"
        mode = payload.get("mode")
        if isinstance(mode, str) and mode.strip():
            command += f" && chmod {shlex.quote(mode.strip())} {shlex.quote(path)}"
        return command
    raise ApiError(400, f"type is one of {', '.join(KINDS)}, not {kind!r}", "type")


class RoomExecutor:
    def __init__(self, settings: Settings, voices: dict[str, Voice], ledger: RequestLedger):
        self._settings = settings
        self._voices = voices
        self._ledger = ledger

    async def submit(
        self, agent: AgentIdentity, kind: str, payload: Mapping[str, Any], key: str
    ) -> str:
        voice = self._voices.get(agent.name)
        if voice is None:
            raise ApiError(403, f"{agent.name} is not an agent of the bridge")
        if not any(fnmatch.fnmatchcase(agent.user_id, g) for g in self._settings.exec_senders):
            raise ApiError(
                403,
                f"the executor does not take requests from {agent.user_id}: the master lists "
                "it in execution.allowed_senders (and gives it a level in execution.requesters)",
            )
        command = command_of(kind, payload)
        host = payload.get("host", self._default_host())
        if not isinstance(host, str) or host not in self._settings.execution.hosts:
            known = ", ".join(self._settings.execution.hosts) or "none"
            raise ApiError(400, f"unknown host {host!r}; hosts: {known}", "payload.host")
        rid = request_id_for(agent.name, key)
        built = new_request(
            host,
            command,
            UserID(agent.user_id),
            rid,
            secrets=self._settings.execution.secrets,
        )
        if isinstance(built, EventError):
            raise ApiError(400, built.message, f"payload.{built.field}")
        voice.requests.add(rid)
        await voice.send_event(REQUEST_EVENT, request_content(built), key=f"exec/{rid}")
        return rid

    async def get(self, agent: AgentIdentity, request_id: str) -> dict[str, Any] | None:
        record = await self._ledger.get(RequestID(request_id))
        voice = self._voices.get(agent.name)
        if record is None:
            if voice is not None and request_id in voice.requests:
                return {"request_id": request_id, "state": "sent", "result": None}
            return None
        if record.requester != agent.user_id:
            return None  # another's request: as if there were none
        result = voice.results.get(request_id) if voice is not None else None
        found: dict[str, Any] = {
            "request_id": request_id,
            "state": record.state,
            "host": record.host,
            "command": record.command,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "result": None,
        }
        if result is not None:
            output = result.get("output") if isinstance(result.get("output"), dict) else {}
            found["result"] = {
                "status": result.get("status"),
                "exit_status": result.get("exit_status"),
                "duration_ms": result.get("duration"),
                "stdout": (output or {}).get("stdout", ""),
                "stderr": (output or {}).get("stderr", ""),
                "body": result.get("body"),
            }
        return found

    def _default_host(self) -> str:
        hosts = self._settings.execution.hosts
        return "local" if "local" in hosts or not hosts else next(iter(hosts))
