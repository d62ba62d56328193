"""What the executor says: live progress, results, approval prompts, `!audit` and `!hosts`.

Pure formatting: every function returns a plain body and its HTML. Element X renders no
tables (nor details/summary), so listings are lists and output is a code block. Output is
masked by the engine already; commands are masked here once more, as they come from people.
Long output stays short in the room (its tail) and goes whole into an attached file, which
also keeps each event far below Matrix's 64 KiB limit.
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Literal

from bots.execution.requests import ExecRequest, short_digest
from bots.text.durations import stopwatch
from bots.text.throttle import EditThrottle
from executor.errors import ExecutorError
from executor.hosts import HostConfig
from executor.masking import mask_text
from executor.results import RunResult
from executor.shell import iter_simple_commands, parse

if TYPE_CHECKING:  # a type only: the store pulls in aiosqlite; this module is pure text
    from bots.store.audit import AuditEntry

PROGRESS_LINES = 10
"""Output lines a progress message shows."""
LINE_CHARS = 300
"""A longer line is cut in progress messages (progress bars can be very long)."""
INLINE_CHARS = 3_000
INLINE_LINES = 40
"""Output beyond either limit is shown by its tail, and attached whole as a file."""

_LINE_BREAK = re.compile(r"(\r|\n)")
_BACKTICKS = re.compile(r"`+")

Status = Literal["denied", "expired", "forbidden", "cancelled", "interrupted"]

MASKED_NOTE = "Parts of this command are masked as secrets."
MISREAD_NOTE = (
    "⚠️ Parts of this command are masked as secrets, and masked it reads as other commands "
    "than the ones that run. Deny it and ask for the command without the secret in it."
)


@dataclass(frozen=True)
class Formatted:
    """A message in both forms Matrix carries: `body` (plain) and `formatted_body` (HTML)."""

    body: str
    html: str


@dataclass(frozen=True)
class Attachment:
    """A text file to upload and send as `m.file`."""

    filename: str
    text: str
    mimetype: str = "text/plain"


@dataclass(frozen=True)
class ResultMessage:
    body: str
    html: str
    attachment: Attachment | None = None


PROGRESS_EDIT_INTERVAL_S = 3.0
PROGRESS_EDITS = 40
"""Edits of the progress message while a command runs; the closing edit comes on top (the
result itself is a message of its own)."""


def progress_throttle(
    started_at: float,
    *,
    interval: float = PROGRESS_EDIT_INTERVAL_S,
    edits: int = PROGRESS_EDITS,
) -> EditThrottle:
    """The pacing of one progress message: every `interval` seconds at most, `edits` times,
    and the closing edit always. The throttle counts that closing edit, hence the + 1."""
    return EditThrottle(started_at, min_interval_s=interval, max_edits=edits + 1)


class LiveTail:
    """The last lines of running output, as a terminal would show them.

    A carriage return starts its line over (progress bars), CRLF is one line end, and each
    stream keeps its own unfinished line so stdout and stderr never splice mid-line.
    """

    def __init__(self, lines: int = PROGRESS_LINES, line_chars: int = LINE_CHARS) -> None:
        self._lines: deque[str] = deque(maxlen=max(lines, 1))
        self._line_chars = line_chars
        self._current: dict[str, str] = {}
        self._after_cr: dict[str, bool] = {}

    def feed(self, stream: str, text: str) -> None:
        current = self._current.get(stream, "")
        after_cr = self._after_cr.get(stream, False)
        for token in _LINE_BREAK.split(text):
            if token == "\n":
                self._lines.append(_cut_line(current, self._line_chars))
                current, after_cr = "", False
            elif token == "\r":
                after_cr = True
            elif token:
                if after_cr:
                    current, after_cr = "", False
                current = (current + token)[: self._line_chars + 1]
        self._current[stream], self._after_cr[stream] = current, after_cr

    def lines(self) -> list[str]:
        partial = [_cut_line(text, self._line_chars) for text in self._current.values() if text]
        shown = [*self._lines, *partial]
        return shown[-(self._lines.maxlen or 1) :]


def describe_duration(seconds: float) -> str:
    """`0.4 s`, `12 s`, `2m 05s`, `1h 02m`: short, and exact where it matters."""
    return stopwatch(seconds)


def progress_message(
    request: ExecRequest, elapsed: float, tail: Sequence[str], *, secrets: Iterable[str] = ()
) -> Formatted:
    """The live message, edited while the command runs: where, what, how long, last lines."""
    command = mask_text(request.command, tuple(secrets))
    head = f"⏳ Running on {request.host} for {describe_duration(elapsed)} ({request.request_id})"
    output = "\n".join(tail) if tail else "(no output yet)"
    body = "\n".join([head, _inline_body(command), _fenced(output)])
    markup = (
        f"<p>{_esc(head)}<br><code>{_esc(command)}</code></p><pre><code>{_esc(output)}</code></pre>"
    )
    return Formatted(body, markup)


def result_message(
    request: ExecRequest,
    run: RunResult,
    *,
    inline_chars: int = INLINE_CHARS,
    inline_lines: int = INLINE_LINES,
    secrets: Iterable[str] = (),
) -> ResultMessage:
    """The result: exit status, duration, output in code blocks (its tail when long, with the
    whole attached as a file)."""
    command = mask_text(request.command, tuple(secrets))
    head = f"{_result_head(run)} ({request.request_id})"
    meta = f"digest {request.short_digest}" + (
        "; the engine cut the middle of long output" if run.truncated else ""
    )
    shown = [
        (name, _display(text))
        for name, text in (("stdout", run.stdout), ("stderr", run.stderr))
        if text.strip()
    ]
    tails = _share(shown, inline_chars, inline_lines)
    long = any(cut for _, _, cut in tails)
    attachment: Attachment | None = None
    body_parts = [head, _inline_body(command)]
    html_parts = [f"<p>{_esc(head)}<br><code>{_esc(command)}</code></p>"]
    if not tails:
        body_parts.append("(no output)")
        html_parts.append("<p><em>(no output)</em></p>")
    for name, part, cut in tails:
        label = name if len(tails) > 1 or name == "stderr" else ""
        if cut:
            label = (label + ", " if label else "") + "last lines"
        if label:
            body_parts.append(f"{label}:")
            html_parts.append(f"<p>{_esc(label)}:</p>")
        body_parts.append(_fenced(part))
        html_parts.append(f"<pre><code>{_esc(part)}</code></pre>")
    if long:
        attachment = Attachment(
            filename=_filename(request), text=_file_text(request, command, run, head)
        )
        note = f"The full output is attached as {attachment.filename}."
        body_parts.append(note)
        html_parts.append(f"<p>{_esc(note)}</p>")
    for note in run.notes:  # how it ran: the sandbox refused a write, or there was none
        body_parts.append(f"⚠️ {note}")
        html_parts.append(f"<p>⚠️ {_esc(note)}</p>")
    body_parts.append(meta)
    html_parts.append(f"<p><small>{_esc(meta)}</small></p>")
    return ResultMessage("\n".join(body_parts), "".join(html_parts), attachment)


def outcome_message(
    request: ExecRequest, status: Status, reason: str = "", *, secrets: Iterable[str] = ()
) -> Formatted:
    """The end of a request that did not run to a result: denied, expired, forbidden,
    cancelled before it started, or interrupted by a restart (state unknown)."""
    secrets = tuple(secrets)
    command = mask_text(request.command, secrets)
    rid, host = request.request_id, request.host
    heads = {
        "denied": f"🚫 Denied: {rid} on {host} will not run",
        "expired": f"⌛ Expired: {rid} on {host} was not approved in time and will not run",
        "forbidden": f"⛔ Forbidden: {rid} on {host} is not allowed by the executor's policy",
        "cancelled": f"⏹️ Cancelled: {rid} on {host} did not run",
        "interrupted": (
            f"⚠️ Interrupted, state unknown: {rid} on {host} was running when the executor "
            "stopped. It is not run again; check the host"
        ),
    }
    head = heads[status] + (f" — {mask_text(reason, secrets)}" if reason.strip() else "") + "."
    body = "\n".join([head, _inline_body(command)])
    return Formatted(body, f"<p>{_esc(head)}<br><code>{_esc(command)}</code></p>")


def approval_prompt(
    request: ExecRequest,
    *,
    reason: str,
    expires_in: float,
    secrets: Iterable[str] = (),
    warnings: Iterable[str] = (),
) -> Formatted:
    """Asks the approvers; a ✅ reaction on this message approves this exact command.

    When masking hid part of the command, the prompt says so; when the masked command does
    not parse into the same commands as the real one (a hidden line of key material can be a
    command of its own), it warns not to approve."""
    secrets = tuple(secrets)
    command = mask_text(request.command, secrets)
    notes = [] if command == request.command else [_masking_note(request.command, command, secrets)]
    # The policy's warnings ("the target of this `rm -r` is computed at run time") stand out
    # whatever its reason says.
    notes += [f"⚠️ {mask_text(line, secrets)}" for line in warnings]
    rid = request.request_id
    head = f"🔐 Approval needed: {rid} on {request.host}"
    about = f"digest {request.short_digest} · asked by {request.requester}" + (
        f" · {mask_text(reason, secrets)}" if reason.strip() else ""
    )
    how = f"Approve: react ✅ to this message, or !approve {rid}. Deny: !deny {rid} [reason]."
    expiry = f"Expires in {describe_duration(expires_in)} if nobody approves."
    body = "\n".join([head, _fenced(command), *notes, about, how, expiry])
    markup = (
        f"<p><strong>{_esc(head)}</strong></p><pre><code>{_esc(command)}</code></pre>"
        + "".join(f"<p><strong>{_esc(note)}</strong></p>" for note in notes)
        + f"<p>{_esc(about)}</p>"
        f"<ul><li>Approve: react ✅ to this message, or <code>!approve {_esc(rid)}</code></li>"
        f"<li>Deny: <code>!deny {_esc(rid)} [reason]</code></li></ul>"
        f"<p>{_esc(expiry)}</p>"
    )
    return Formatted(body, markup)


def _masking_note(command: str, masked: str, secrets: tuple[str, ...]) -> str:
    """What to tell approvers about a command masking changed: that it did, or, when the
    masked text parses into other simple commands than the real one (a hidden line of key
    material may be a command), not to approve it."""
    real = _simple_commands(command)
    shown = _simple_commands(masked)
    if real is None or shown is None:
        return MISREAD_NOTE
    expected = [
        (mask_text(name, secrets), words, assigned, redirects)
        for name, words, assigned, redirects in real
    ]
    return MASKED_NOTE if expected == shown else MISREAD_NOTE


def _simple_commands(command: str) -> list[tuple[str, int, int, int]] | None:
    """Each simple command's name and numbers of words, assignments and redirects."""
    try:
        script = parse(command)
    except ExecutorError:
        return None
    return [
        (c.words[0].raw if c.words else "", len(c.words), len(c.assignments), len(c.redirects))
        for c in iter_simple_commands(script)
    ]


def audit_listing(entries: Sequence[AuditEntry], *, tz: tzinfo = UTC) -> Formatted:
    """`!audit [n]`: one list item per audit row, oldest first."""
    if not entries:
        return Formatted("The audit log is empty.", "<p>The audit log is empty.</p>")
    intro = f"Last {len(entries)} audit entries:"
    lines = [_audit_line(entry, tz) for entry in entries]
    body = "\n".join([intro, *(f"• {line}" for line in lines)])
    items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
    return Formatted(body, f"<p>{_esc(intro)}</p><ul>{items}</ul>")


def hosts_listing(
    hosts: Iterable[HostConfig], status: Mapping[str, str] | None = None
) -> Formatted:
    """`!hosts`: the configured hosts and how each is reached (never key paths), with each
    host's reachability and load when `status` has it."""
    ordered = sorted(hosts, key=lambda host: host.name)
    if not ordered:
        text = "No hosts are configured."
        return Formatted(text, f"<p>{text}</p>")
    intro = f"Hosts ({len(ordered)}):"
    known = status or {}
    lines = [
        (host.name, _describe_host(host) + (f" — {known[host.name]}" if host.name in known else ""))
        for host in ordered
    ]
    body = "\n".join([intro, *(f"• {name} — {where}" for name, where in lines)])
    items = "".join(f"<li><code>{_esc(name)}</code> — {_esc(where)}</li>" for name, where in lines)
    return Formatted(body, f"<p>{_esc(intro)}</p><ul>{items}</ul>")


def _describe_host(host: HostConfig) -> str:
    if host.embedded:
        where = "this machine (built-in SSH server)"
    else:
        user = f"{host.user}@" if host.user else ""
        port = f":{host.port}" if host.port != 22 else ""
        where = f"{user}{host.address}{port}"
    extras = [f"in {host.workdir}"] if host.workdir else []
    extras.append(f"up to {host.max_concurrent} at once")
    return f"{where} ({', '.join(extras)})"


_DETAIL_KEYS = ("verdict", "rule", "status", "exit_status", "duration_ms", "reason")


def _audit_line(entry: AuditEntry, tz: tzinfo) -> str:
    when = datetime.fromtimestamp(entry.at, tz).strftime("%Y-%m-%d %H:%M:%S")
    parts = [when, entry.request_id, entry.kind]
    if entry.actor:
        parts.append(f"by {entry.actor}")
    if entry.host:
        parts.append(f"on {entry.host}")
    if entry.command_digest:
        parts.append(f"digest {short_digest(entry.command_digest)}")
    details = _describe_detail(entry.detail)
    return " ".join(parts) + (f" — {details}" if details else "")


def _describe_detail(detail: Mapping[str, object]) -> str:
    out: list[str] = []
    for key in _DETAIL_KEYS:
        value = detail.get(key)
        if value is None or value == "":
            continue
        if key == "duration_ms" and isinstance(value, int | float):
            out.append(describe_duration(value / 1000))
        elif key == "exit_status":
            out.append(f"exit {value}")
        else:
            out.append(str(value)[:200])
    return ", ".join(out)


def _result_head(run: RunResult) -> str:
    took = describe_duration(run.duration)
    if run.cancelled:
        return f"⏹️ {run.host}: cancelled after {took}"
    if run.timed_out:
        return f"⏱️ {run.host}: timed out after {took} and was stopped"
    if run.exit_status == 0:
        return f"✅ {run.host}: exit 0 after {took}"
    if run.exit_status is not None:
        return f"❌ {run.host}: exit {run.exit_status} after {took}"
    if run.exit_signal is not None:
        return f"❌ {run.host}: killed by SIG{run.exit_signal} after {took}"
    return f"❌ {run.host}: ended without an exit status after {took}"


def _file_text(request: ExecRequest, command: str, run: RunResult, head: str) -> str:
    parts = [
        head,
        f"host: {request.host}",
        f"command: {command}",
        f"digest: {request.digest}",
        "",
        "=== stdout ===",
        run.stdout,
    ]
    if run.stderr:
        parts += ["", "=== stderr ===", run.stderr]
    return "\n".join(parts).rstrip("\n") + "\n"


def _filename(request: ExecRequest) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{request.request_id}-{request.host}")
    return f"{safe}.log"


def _display(text: str) -> str:
    """Output as a terminal leaves it: each line as after its last carriage return."""
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines)


def _share(streams: list[tuple[str, str]], chars: int, lines: int) -> list[tuple[str, str, bool]]:
    """Each stream's tail within a shared budget: the shorter goes first and what it leaves
    over goes to the other, so a one-line stderr does not halve a long stdout."""
    tails: dict[str, tuple[str, bool]] = {}
    left = len(streams)
    for name, text in sorted(streams, key=lambda stream: len(stream[1])):
        part, cut = _tail(text, max(chars // left, 1), max(lines // left, 1))
        tails[name] = (part, cut)
        chars -= len(part)
        lines -= part.count("\n") + 1
        left -= 1
    return [(name, *tails[name]) for name, _ in streams]


def _tail(text: str, chars: int, lines: int) -> tuple[str, bool]:
    """The end of `text` within both limits, starting at a line where it can; True if cut."""
    kept = text.split("\n")[-lines:]
    tail = "\n".join(kept)
    if len(tail) > chars:
        tail = tail[-chars:]
        newline = tail.find("\n")
        if 0 <= newline < len(tail) - 1:
            tail = tail[newline + 1 :]
    return tail, tail != text


def _cut_line(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[:limit] + "…"


def _fenced(text: str) -> str:
    """A markdown code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _inline_body(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)
