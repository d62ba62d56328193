"""The executor bot's declared commands: `!run`, `!approve`, `!deny`, `!cancel`, `!hosts`,
`!audit` (and `!ping`, `!help`).

Each handler only reads its arguments and hands the request to the lifecycle, except the
read-only ones (`!hosts`, `!audit`), which answer here.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from bots.errors import CommandError
from bots.execution.lifecycle import RequestLifecycle
from bots.execution.outbox import Origin
from bots.execution.progress import audit_listing, hosts_listing
from bots.execution.requests import (
    EventError,
    new_request,
    parse_audit_args,
    parse_deny_args,
    parse_request_ref,
    parse_run_args,
    request_id_for_event,
)
from bots.ids import RequestID
from bots.message import Message, Reply
from bots.routing.addressing import typed_suffix
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from bots.routing.router import replies_with_verdict
from bots.routing.shared_commands import make_help, ping
from executor.errors import ExecutorError
from executor.masking import mask_text

EXECUTOR_COMMANDS = frozenset({"run", "approve", "deny", "cancel", "hosts", "audit"})
"""Answered by the executor even when no bot is named; the other bots leave them alone."""
PROBE_COMMAND = "cat /proc/loadavg"
"""`!hosts` runs this fixed read-only probe itself; it is not a request and not audited."""


class ExecutionCommands:
    """The handlers behind the executor's registry."""

    def __init__(self, lifecycle: RequestLifecycle) -> None:
        self.lifecycle = lifecycle

    def registry(self) -> Registry:
        registry = Registry(
            [
                CommandSpec("ping", "check that this bot answers", ping),
                CommandSpec(
                    "run",
                    "run a command on a host (policy and approval apply)",
                    self._run,
                    usage="<host> -- <command>",
                ),
                CommandSpec(
                    "approve",
                    "approve a waiting request (or react ✅ to its prompt)",
                    self._approve,
                    usage="<id>",
                ),
                CommandSpec("deny", "refuse a waiting request", self._deny, usage="<id> [reason]"),
                CommandSpec(
                    "cancel", "stop a running or waiting request", self._cancel, usage="<id>"
                ),
                CommandSpec("hosts", "configured hosts, reachability and load", self._hosts),
                CommandSpec("audit", "the last audit log entries", self._audit, usage="[n]"),
            ]
        )
        registry.add(make_help(registry))
        return registry

    async def _run(self, request: CommandRequest) -> list[Reply]:
        """Runs what the master typed: the arguments as the body holds them, not as routing
        reads them (with pills reduced to their labels), so the approver sees, and the host
        runs, the very text that was sent."""
        message = request.message
        typed = typed_suffix(message, request.args)
        if typed is None:
            raise CommandError("Cannot read the command as typed: start it outside a link.")
        host, command = parse_run_args(typed)
        built = new_request(
            host,
            command,
            message.sender,
            request_id_for_event(message.event_id),
            secrets=self.lifecycle.secrets,
        )
        if isinstance(built, EventError):
            raise CommandError(f"Cannot run that: {built.field} {built.problem}.")
        origin = Origin(message.room_id, message.event_id, message.thread_root)
        await self.lifecycle.submit(built, origin)
        return []

    async def _approve(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        if replies_with_verdict("approve", request.args, message):
            prompt = await self._prompt(message)
            if prompt is None:
                return []  # a reply to a task's plan (the coordinator's) or to anything else
            rid = prompt
        else:
            rid = parse_request_ref(request.args, "approve")
        text = await self.lifecycle.approve(rid, message.sender, message.event_id)
        return [Reply.answering(message, text)]

    async def _deny(self, request: CommandRequest) -> list[Reply]:
        message = request.message
        args = request.args.strip()
        if replies_with_verdict("deny", args, message):
            prompt = await self._prompt(message)
            first = args.split(maxsplit=1)[0] if args else ""
            if prompt is not None and first != prompt:
                # `!deny [reason]` replying to the prompt: all it says is the reason.
                return await self.lifecycle.deny(message, prompt, args)
            named = bool(first) and await self.lifecycle.audit.get(RequestID(first)) is not None
            if prompt is None and not named:
                return []  # a reply to a task's plan (the coordinator's) or to anything else
        rid, reason = parse_deny_args(args)
        return await self.lifecycle.deny(message, rid, reason)

    async def _prompt(self, message: Message) -> RequestID | None:
        """The request whose approval prompt `message` replies to, if it does."""
        if message.reply_to is None:
            return None
        record = await self.lifecycle.audit.find_by_prompt(message.reply_to)
        return None if record is None else record.request_id

    async def _cancel(self, request: CommandRequest) -> list[Reply]:
        rid = parse_request_ref(request.args, "cancel")
        return await self.lifecycle.cancel(request.message, rid)

    async def _hosts(self, request: CommandRequest) -> list[Reply]:
        hosts = list(self.lifecycle.engine.hosts.values())
        probes = await asyncio.gather(*(self._probe(host.name) for host in hosts))
        formatted = hosts_listing(hosts, dict(zip((h.name for h in hosts), probes, strict=True)))
        return [Reply.answering(request.message, formatted.body, html=formatted.html)]

    async def _audit(self, request: CommandRequest) -> list[Reply]:
        count = parse_audit_args(request.args)
        try:
            tz = ZoneInfo(self.lifecycle.settings.timezone)
        except Exception:
            tz = ZoneInfo("UTC")
        formatted = audit_listing(await self.lifecycle.audit.recent(count), tz=tz)
        return [Reply.answering(request.message, formatted.body, html=formatted.html)]

    async def _probe(self, host: str) -> str:
        engine = self.lifecycle.engine
        timeout = engine.hosts[host].connect_timeout + 5
        try:
            run = await asyncio.wait_for(engine.run(host, PROBE_COMMAND, timeout=5), timeout)
        except (ExecutorError, TimeoutError) as exc:
            return f"unreachable: {mask_text(str(exc), self.lifecycle.secrets) or 'timed out'}"
        if run.exit_status != 0:
            return "reachable (load unknown)"
        return "reachable, load " + " ".join(run.stdout.split()[:3])
