"""The executor's custom events: what a request to run a command, and its result, carry.

`org.chavion.exec.request` asks the executor to run one command on one host; it names the
command digest, so an approval can be bound to exactly that command, and may name the plan
approval it is a step of (`plan_approval`, checked by the executor itself: see
plan_approvals.py). `org.chavion.exec.result` reports the outcome, with the tails of the
(masked) output, for the coordinator to react to; `org.chavion.exec.cancel` stops a request.
All are parsed here into frozen values; a bad event becomes an `EventError` value, never an
exception.

Event content must be canonical JSON (room versions from 6 reject floats), so the duration
travels as whole milliseconds, like every `duration` in the Matrix spec.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from bots.errors import CommandError
from bots.ids import Digest, EventID, RequestID, TaskID, UserID
from bots.text.durations import tenths
from executor.masking import mask_text
from executor.results import RunResult

REQUEST_EVENT = "org.chavion.exec.request"
RESULT_EVENT = "org.chavion.exec.result"
CANCEL_EVENT = "org.chavion.exec.cancel"

ResultStatus = Literal[
    "succeeded", "failed", "timed_out", "cancelled", "interrupted", "denied", "expired", "forbidden"
]
RESULT_STATUSES: tuple[ResultStatus, ...] = (
    "succeeded",
    "failed",
    "timed_out",
    "cancelled",
    "interrupted",
    "denied",
    "expired",
    "forbidden",
)

SHORT_DIGEST_LENGTH = 12
MAX_COMMAND_CHARS = 8_000
"""Room for the command in the request, the prompt and the result within one event (64 KiB)."""
MAX_BODY_CHARS = 16_000
MAX_OUTPUT_TAIL = 4_000
"""Characters of stdout and of stderr a result event carries (the tail: where errors are)."""
MAX_REASON_CHARS = 1_000
MAX_JSON_INT = 2**53 - 1
"""Canonical JSON's integer range; Synapse refuses events with larger numbers."""

_DIGEST_VERSION = "chavion-exec-v1"
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_TASK_ID = re.compile(r"\S{1,128}")
_USER_ID = re.compile(r"@[^\s:]+:\S+")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_EVENT_ID = re.compile(r"\$[^\s]{1,254}")
# iOS "smart punctuation" turns a typed -- into an em or en dash: accept those as --.
_SEPARATORS = ("--", "—", "–")
_RUN_ARGS = re.compile(r"(?P<host>\S+)(?:\s+(?P<sep>\S+)(?:\s+(?P<command>.*))?)?", re.DOTALL)
RUN_USAGE = "!run <host> -- <command>, e.g. !run web1 -- systemctl restart nginx"


@dataclass(frozen=True)
class EventError:
    """Why an event (or a request being built) is not acceptable; said to people as is."""

    event_type: str
    field: str
    problem: str

    @property
    def message(self) -> str:
        return f"{self.event_type}: {self.field} {self.problem}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class PlanApprovalRef:
    """A request's claim to be a step of an approved plan: the plan message and the event
    that approved it. Only a claim: the executor approves by it only when its own memory of
    both events bears it out."""

    plan_event: EventID
    approval_event: EventID


@dataclass(frozen=True)
class ExecRequest:
    """One command to run on one host; `digest` always matches host and command."""

    request_id: RequestID
    host: str
    command: str
    digest: Digest
    requester: UserID
    body: str
    task_id: TaskID | None = None
    step: int | None = None
    plan_approval: PlanApprovalRef | None = None

    @property
    def short_digest(self) -> str:
        return short_digest(self.digest)


@dataclass(frozen=True)
class ExecOutput:
    """The tails of a run's masked output, each at most `MAX_OUTPUT_TAIL` characters, so the
    coordinator can report and heal without reading the executor's messages."""

    stdout: str
    stderr: str

    @classmethod
    def tails(cls, stdout: str, stderr: str) -> ExecOutput:
        return cls(_tail(stdout), _tail(stderr))


@dataclass(frozen=True)
class ExecResult:
    """What became of a request; run results carry exit status, duration and output digest."""

    request_id: RequestID
    digest: Digest
    status: ResultStatus
    body: str
    exit_status: int | None = None
    duration_ms: int | None = None
    output_digest: str | None = None
    output: ExecOutput | None = None

    @property
    def ran(self) -> bool:
        """True when the command was started (whatever became of it)."""
        return self.status in ("succeeded", "failed", "timed_out", "cancelled", "interrupted")


@dataclass(frozen=True)
class ExecCancel:
    """`org.chavion.exec.cancel`: stop this request (waiting, approved or running)."""

    request_id: RequestID
    task_id: TaskID | None = None
    reason: str = ""


def command_digest(host: str, command: str) -> Digest:
    """The identity of "this command on this host", which an approval must name exactly.

    No normalisation: the digest covers the exact text that runs (a trailing space or a
    changed quote is a different command). The fields are joined with NUL, which neither
    may contain, so the form is unambiguous; the version tag lets the form change later.
    """
    canonical = "\0".join((_DIGEST_VERSION, host, command))
    return Digest(hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest())


def short_digest(digest: str) -> str:
    """The prefix shown to people; approvals still compare the full digest."""
    return digest[:SHORT_DIGEST_LENGTH]


def output_digest(stdout: str, stderr: str) -> str:
    """sha256 of the (masked) output, so the audit can prove what was shown without storing it.

    Taken over masked text on purpose: a digest of a secret-bearing output could be used to
    confirm a guessed secret.
    """
    canonical = "\0".join(("stdout", stdout, "stderr", stderr))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def request_id_for_event(event_id: EventID) -> RequestID:
    """A request id derived from the event that asked for it: a replayed `!run` gets the
    same id, so the store refuses to open (and run) it a second time. Short enough to type."""
    return RequestID(
        "r" + hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    )


def request_body(
    host: str,
    command: str,
    digest: str,
    requester: str,
    request_id: str,
    *,
    secrets: Iterable[str] = (),
) -> str:
    """The readable line of a request event, for clients that show unknown events."""
    return (
        f"Execution request {request_id}: run on {host}: {mask_text(command, secrets)} "
        f"(digest {short_digest(digest)}, requested by {requester})"
    )


def new_request(
    host: str,
    command: str,
    requester: UserID,
    request_id: RequestID,
    *,
    task_id: TaskID | None = None,
    step: int | None = None,
    plan_approval: PlanApprovalRef | None = None,
    secrets: Iterable[str] = (),
) -> ExecRequest | EventError:
    """A request with its digest and body filled in, validated like a received one; the
    body masks `secrets` (the executor's configured ones) as well as obvious credentials."""
    digest = command_digest(host, command)
    content: dict[str, object] = {
        "request_id": request_id,
        "task_id": task_id,
        "step": step,
        "host": host,
        "command": command,
        "digest": digest,
        "requester": requester,
        "body": request_body(host, command, digest, requester, request_id, secrets=secrets),
    }
    if plan_approval is not None:
        content["plan_approval"] = _plan_approval_content(plan_approval)
    return parse_request(content)


def request_content(request: ExecRequest) -> dict[str, object]:
    """The content of an `org.chavion.exec.request` event (`plan_approval` only when set)."""
    content: dict[str, object] = {
        "request_id": request.request_id,
        "task_id": request.task_id,
        "step": request.step,
        "host": request.host,
        "command": request.command,
        "digest": request.digest,
        "requester": request.requester,
        "body": request.body,
    }
    if request.plan_approval is not None:
        content["plan_approval"] = _plan_approval_content(request.plan_approval)
    return content


def _plan_approval_content(ref: PlanApprovalRef) -> dict[str, str]:
    return {"plan_event": ref.plan_event, "approval_event": ref.approval_event}


def parse_request(content: object) -> ExecRequest | EventError:
    """An `org.chavion.exec.request` content as a value, or what is wrong with it.

    The digest is recomputed and must match: a request whose digest names another command
    is refused, so no approval for one command can be carried over to another.
    """
    try:
        return _parse_request(_Fields(REQUEST_EVENT, content))
    except _Invalid as invalid:
        return invalid.error
    except Exception:  # fail closed: a malformed event must never get further
        return EventError(REQUEST_EVENT, "content", "could not be read")


def thread_root_of(content: Mapping[str, object]) -> EventID | None:
    """The thread an event was sent in (its `m.relates_to` m.thread), if any: the executor
    says everything about a request in the thread it was asked in."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, Mapping) or relates.get("rel_type") != "m.thread":
        return None
    root = relates.get("event_id")
    if not isinstance(root, str) or not root.startswith("$") or len(root) > 255:
        return None
    return EventID(root)


def accept_request(
    content: object,
    sender: UserID,
    *,
    senders: Collection[str],
    relays: Collection[str] = (),
) -> ExecRequest | EventError:
    """A request the executor may consider: from an allowed sender, naming an honest requester.

    `senders` (exact user ids, e.g. the master) may only ask for themselves; `relays` (the
    coordinator) may name whoever asked them. Everyone else is refused.
    """
    if sender not in senders and sender not in relays:
        return EventError(REQUEST_EVENT, "sender", f"{sender} may not ask for executions")
    request = parse_request(content)
    if isinstance(request, EventError):
        return request
    if sender not in relays and request.requester != sender:
        return EventError(
            REQUEST_EVENT, "requester", f"must be the sender {sender}, not {request.requester}"
        )
    return request


def result_from_run(request: ExecRequest, run: RunResult) -> ExecResult:
    """The result event of a command that ran, from the engine's (masked) result."""
    status: ResultStatus
    if run.cancelled:
        status = "cancelled"
    elif run.timed_out:
        status = "timed_out"
    elif run.exit_status == 0:
        status = "succeeded"
    else:
        status = "failed"
    duration_ms = min(max(round(run.duration * 1000), 0), MAX_JSON_INT)
    if run.exit_status is not None:
        ended = f"exit status {run.exit_status}"
    elif run.exit_signal is not None:
        ended = f"killed by SIG{run.exit_signal}"
    else:
        ended = "no exit status"
    body = (
        f"Execution {request.request_id} on {request.host} {status.replace('_', ' ')}: "
        f"{ended}, {tenths(duration_ms / 1000)} (digest {request.short_digest})"
    )
    return ExecResult(
        request_id=request.request_id,
        digest=request.digest,
        status=status,
        body=body,
        exit_status=run.exit_status,
        duration_ms=duration_ms,
        output_digest=output_digest(run.stdout, run.stderr),
        output=ExecOutput.tails(run.stdout, run.stderr),
    )


def outcome_result(
    request: ExecRequest,
    status: Literal["denied", "expired", "forbidden", "interrupted"],
    reason: str,
    *,
    secrets: Iterable[str] = (),
) -> ExecResult:
    """The result event of a request that did not run (or whose end is unknown); the reason
    (a policy reason quotes the command) is masked with the configured `secrets` too."""
    reason = mask_text(reason, secrets)
    body = f"Execution {request.request_id} on {request.host} {status}: {reason}"
    return ExecResult(request.request_id, request.digest, status, body)


def result_content(result: ExecResult) -> dict[str, object]:
    """The content of an `org.chavion.exec.result` event (`output` only for a run)."""
    content: dict[str, object] = {
        "request_id": result.request_id,
        "digest": result.digest,
        "status": result.status,
        "exit_status": result.exit_status,
        "duration": result.duration_ms,
        "output_digest": result.output_digest,
        "body": result.body,
    }
    if result.output is not None:
        content["output"] = {"stdout": result.output.stdout, "stderr": result.output.stderr}
    return content


def parse_result(content: object) -> ExecResult | EventError:
    """An `org.chavion.exec.result` content as a value, or what is wrong with it."""
    try:
        return _parse_result(_Fields(RESULT_EVENT, content))
    except _Invalid as invalid:
        return invalid.error
    except Exception:  # fail closed, as for requests
        return EventError(RESULT_EVENT, "content", "could not be read")


def cancel_content(cancel: ExecCancel) -> dict[str, object]:
    """The content of an `org.chavion.exec.cancel` event."""
    content: dict[str, object] = {"request_id": cancel.request_id}
    if cancel.task_id is not None:
        content["task_id"] = cancel.task_id
    if cancel.reason:
        content["reason"] = cancel.reason
    return content


def parse_cancel(content: object) -> ExecCancel | EventError:
    """An `org.chavion.exec.cancel` content as a value, or what is wrong with it."""
    try:
        fields = _Fields(CANCEL_EVENT, content)
        task_id = fields.optional_text("task_id", _TASK_ID)
        reason = fields.content.get("reason")
        return ExecCancel(
            request_id=RequestID(fields.text("request_id", _REQUEST_ID)),
            task_id=None if task_id is None else TaskID(task_id),
            reason="" if reason is None else fields.text("reason", limit=MAX_REASON_CHARS).strip(),
        )
    except _Invalid as invalid:
        return invalid.error
    except Exception:  # fail closed, as for requests
        return EventError(CANCEL_EVENT, "content", "could not be read")


def parse_run_args(args: str) -> tuple[str, str]:
    """`web1 -- systemctl restart nginx` → ("web1", "systemctl restart nginx").

    The host is one word, then `--` (or the dash a phone's smart punctuation makes of it),
    then the command exactly as typed, up to surrounding white space.
    """
    text = args.strip()
    match = _RUN_ARGS.fullmatch(text)
    if not text or match is None:
        raise CommandError(f"Usage: {RUN_USAGE}")
    host, separator, command = match.group("host", "sep", "command")
    if host in _SEPARATORS:
        raise CommandError(f"Name the host before --. Usage: {RUN_USAGE}")
    if separator not in _SEPARATORS:
        if any(f" {sep} " in f" {text} " for sep in _SEPARATORS):
            raise CommandError(f"Give exactly one host before --. Usage: {RUN_USAGE}")
        raise CommandError(f"Put -- between the host and the command. Usage: {RUN_USAGE}")
    if not _HOST.fullmatch(host):
        raise CommandError(
            f"{host!r} is not a host name (letters, digits, '.', '_' and '-'); see !hosts."
        )
    command = (command or "").strip()
    if not command:
        raise CommandError(f"Give the command after --. Usage: {RUN_USAGE}")
    problem = _command_problem(command)
    if problem is not None:
        raise CommandError(f"The command {problem}.")
    return host, command


def parse_request_ref(args: str, command: str) -> RequestID:
    """The request id of `!approve <id>` or `!cancel <id>`."""
    words = args.split()
    if len(words) != 1:
        raise CommandError(f"Usage: !{command} <id> (the id is in the request message)")
    if not _REQUEST_ID.fullmatch(words[0]):
        raise CommandError(f"{words[0]!r} is not a request id.")
    return RequestID(words[0])


def parse_deny_args(args: str) -> tuple[RequestID, str]:
    """`!deny <id> [reason]` → (id, reason); the reason may be empty."""
    words = args.strip().split(maxsplit=1)
    if not words:
        raise CommandError("Usage: !deny <id> [reason]")
    request_id = parse_request_ref(words[0], "deny")
    return request_id, (words[1].strip() if len(words) > 1 else "")


def parse_audit_args(args: str, *, default: int = 10, maximum: int = 50) -> int:
    """`!audit [n]` → how many entries to show."""
    text = args.strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise CommandError(f"Usage: !audit [n], with n from 1 to {maximum}")
    return int(text)


class _Invalid(Exception):
    """Internal only: carries an EventError out of the field readers; never leaves here."""

    def __init__(self, error: EventError) -> None:
        super().__init__(error.message)
        self.error = error


class _Fields:
    """Typed reads of one event's content, each failing with the field's name."""

    def __init__(self, event_type: str, content: object) -> None:
        self.event_type = event_type
        if not isinstance(content, Mapping):
            raise _Invalid(EventError(event_type, "content", "must be a JSON object"))
        self.content: Mapping[object, object] = content
        self.prefix = ""

    def fail(self, name: str, problem: str) -> _Invalid:
        return _Invalid(EventError(self.event_type, self.prefix + name, problem))

    def text(self, name: str, pattern: re.Pattern[str] | None = None, *, limit: int = 0) -> str:
        value = self.content.get(name)
        if value is None:
            raise self.fail(name, "is missing")
        if not isinstance(value, str):
            raise self.fail(name, "must be text")
        if limit and len(value) > limit:
            raise self.fail(name, f"is longer than {limit} characters")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(name, f"is not valid: {value[:80]!r}")
        return value

    def optional_text(self, name: str, pattern: re.Pattern[str]) -> str | None:
        return None if self.content.get(name) is None else self.text(name, pattern)

    def optional_object(self, name: str) -> _Fields | None:
        """A nested object (None when absent), whose fields are named `name.field`."""
        value = self.content.get(name)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(name, "must be a JSON object")
        nested = _Fields(self.event_type, value)
        nested.prefix = f"{self.prefix}{name}."
        return nested

    def integer(self, name: str, *, minimum: int = -MAX_JSON_INT) -> int | None:
        value = self.content.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, "must be a whole number")
        if not minimum <= value <= MAX_JSON_INT:
            raise self.fail(name, f"is out of range: {value}")
        return value


def _command_problem(command: str) -> str | None:
    if not command.strip():
        return "is empty"
    if "\0" in command:
        return "contains a NUL character"
    if len(command) > MAX_COMMAND_CHARS:
        return f"is longer than {MAX_COMMAND_CHARS} characters"
    try:
        command.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid text"
    return None


def _parse_request(fields: _Fields) -> ExecRequest:
    request_id = fields.text("request_id", _REQUEST_ID)
    host = fields.text("host", _HOST)
    command = fields.text("command")
    problem = _command_problem(command)
    if problem is not None:
        raise fields.fail("command", problem)
    digest = fields.text("digest", _HEX64)
    if digest != command_digest(host, command):
        raise fields.fail("digest", "does not match the host and command")
    task_id = fields.optional_text("task_id", _TASK_ID)
    plan = fields.optional_object("plan_approval")
    plan_approval = None
    if plan is not None:
        plan_approval = PlanApprovalRef(
            EventID(plan.text("plan_event", _EVENT_ID)),
            EventID(plan.text("approval_event", _EVENT_ID)),
        )
    return ExecRequest(
        request_id=RequestID(request_id),
        host=host,
        command=command,
        digest=Digest(digest),
        requester=UserID(fields.text("requester", _USER_ID)),
        body=fields.text("body", limit=MAX_BODY_CHARS),
        task_id=None if task_id is None else TaskID(task_id),
        step=fields.integer("step", minimum=0),
        plan_approval=plan_approval,
    )


def _parse_result(fields: _Fields) -> ExecResult:
    status = fields.text("status")
    if status not in RESULT_STATUSES:
        raise fields.fail("status", f"is not one of {', '.join(RESULT_STATUSES)}: {status[:40]!r}")
    return ExecResult(
        request_id=RequestID(fields.text("request_id", _REQUEST_ID)),
        digest=Digest(fields.text("digest", _HEX64)),
        status=next(s for s in RESULT_STATUSES if s == status),
        body=fields.text("body", limit=MAX_BODY_CHARS),
        exit_status=fields.integer("exit_status"),
        duration_ms=fields.integer("duration", minimum=0),
        output_digest=fields.optional_text("output_digest", _HEX64),
        output=_parse_output(fields.optional_object("output")),
    )


def _parse_output(fields: _Fields | None) -> ExecOutput | None:
    if fields is None:
        return None
    return ExecOutput(
        fields.text("stdout", limit=MAX_OUTPUT_TAIL), fields.text("stderr", limit=MAX_OUTPUT_TAIL)
    )


def _tail(text: str) -> str:
    return text[-MAX_OUTPUT_TAIL:] if len(text) > MAX_OUTPUT_TAIL else text
