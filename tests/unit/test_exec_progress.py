"""What the executor shows: progress, results, prompts and listings, in plain text and HTML."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bots.execution.progress import (
    MASKED_NOTE,
    MISREAD_NOTE,
    LiveTail,
    approval_prompt,
    audit_listing,
    describe_duration,
    hosts_listing,
    outcome_message,
    progress_message,
    progress_throttle,
    result_message,
)
from bots.execution.requests import ExecRequest, new_request
from bots.ids import Digest, EventID, RequestID, UserID
from bots.store.audit import AuditEntry
from bots.text.throttle import EditThrottle
from executor.hosts import HostConfig
from executor.results import RunResult

MASTER = UserID("@master:hs")


def make_request(command: str = "systemctl restart nginx", host: str = "web1") -> ExecRequest:
    request = new_request(host, command, MASTER, RequestID("r1"))
    assert isinstance(request, ExecRequest)
    return request


def run(**changes: Any) -> RunResult:
    values: dict[str, Any] = {
        "host": "web1",
        "command": "systemctl restart nginx",
        "exit_status": 0,
        "exit_signal": None,
        "stdout": "done\n",
        "stderr": "",
        "duration": 2.25,
        "truncated": False,
        "timed_out": False,
        "cancelled": False,
    }
    values.update(changes)
    return RunResult(**values)


class _Checker(HTMLParser):
    """Fails on unbalanced tags and on tags Element X does not render."""

    VOID = frozenset({"br"})
    ALLOWED = frozenset({"p", "br", "code", "pre", "ul", "li", "strong", "em", "small"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.ALLOWED, tag
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, tag
        assert self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def html_text(markup: str) -> str:
    """The text a client shows for `markup`, after checking the markup is sound."""
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert not checker.stack, checker.stack
    return "".join(checker.text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0.0 s"),
        (0.44, "0.4 s"),
        (9.96, "10.0 s"),
        (12.7, "12 s"),
        (125, "2m 05s"),
        (3_725, "1h 02m"),
        (-3, "0.0 s"),
        (float("nan"), "0.0 s"),
    ],
)
def test_durations(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text


# Live tail and throttle ---------------------------------------------------------------


def test_the_tail_keeps_the_last_lines() -> None:
    tail = LiveTail(lines=3)
    tail.feed("stdout", "".join(f"line {n}\n" for n in range(10)))
    assert tail.lines() == ["line 7", "line 8", "line 9"]


def test_a_carriage_return_starts_the_line_over() -> None:
    tail = LiveTail()
    tail.feed("stdout", "downloading 10%\r")
    tail.feed("stdout", "downloading 50%\rdownloading 100%")
    assert tail.lines() == ["downloading 100%"]
    tail.feed("stdout", "\r\nnext\r\n")  # CRLF, even split across chunks, ends the line
    assert tail.lines() == ["downloading 100%", "next"]


def test_streams_do_not_splice_half_lines() -> None:
    tail = LiveTail()
    tail.feed("stdout", "out-")
    tail.feed("stderr", "err line\n")
    tail.feed("stdout", "done\n")
    assert tail.lines() == ["err line", "out-done"]


def test_long_lines_are_cut() -> None:
    tail = LiveTail(line_chars=10)
    tail.feed("stdout", "x" * 50 + "\n" + "y" * 50)
    assert tail.lines() == ["x" * 10 + "…", "y" * 10 + "…"]


def test_the_throttle_spaces_and_caps_edits() -> None:
    throttle = progress_throttle(0, interval=3, edits=2)
    assert throttle.should_edit(10)
    assert not throttle.should_edit(12)
    assert throttle.should_edit(13)
    assert not throttle.should_edit(100)
    assert throttle.exhausted
    assert throttle.should_edit(100, final=True)  # the closing edit always goes


def test_progress_is_paced_every_3_s_for_40_edits() -> None:
    throttle = progress_throttle(0)
    sent = [now for now in range(1, 1_000) if throttle.should_edit(now)]
    assert sent == list(range(3, 121, 3))
    assert isinstance(throttle, EditThrottle)


# Progress -----------------------------------------------------------------------------


def test_progress_shows_host_command_time_and_tail() -> None:
    message = progress_message(make_request(), 12.3, ["a <b>", "c & d"])
    assert message.body.splitlines()[0] == "⏳ Running on web1 for 12 s (r1)"
    assert "`systemctl restart nginx`" in message.body
    assert "```\na <b>\nc & d\n```" in message.body
    assert "<pre><code>a &lt;b&gt;\nc &amp; d</code></pre>" in message.html
    assert "a <b>\nc & d" in html_text(message.html)


def test_progress_before_any_output() -> None:
    assert "(no output yet)" in progress_message(make_request(), 0.2, []).body


def test_commands_shown_are_masked() -> None:
    request = make_request("curl -H 'Authorization: Bearer abcdefghijkl' https://x")
    for text in (
        progress_message(request, 1, []).html,
        approval_prompt(request, reason="", expires_in=60).body,
        outcome_message(request, "denied").body,
        result_message(request, run()).body,
    ):
        assert "abcdefghijkl" not in text
    secret = make_request("deploy --key-file /k s3cr3t-value")
    shown = progress_message(secret, 1, [], secrets=["s3cr3t-value"]).body
    assert "s3cr3t-value" not in shown


# Results ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "head"),
    [
        ({}, "✅ web1: exit 0 after 2.2 s (r1)"),
        ({"exit_status": 2}, "❌ web1: exit 2 after 2.2 s (r1)"),
        ({"exit_status": None, "exit_signal": "KILL"}, "❌ web1: killed by SIGKILL after"),
        ({"exit_status": None}, "❌ web1: ended without an exit status"),
        ({"timed_out": True, "duration": 600.0}, "⏱️ web1: timed out after 10m 00s"),
        ({"cancelled": True}, "⏹️ web1: cancelled after 2.2 s"),
    ],
)
def test_result_heads(changes: dict[str, Any], head: str) -> None:
    message = result_message(make_request(), run(**changes))
    assert message.body.startswith(head)
    assert html_text(message.html).startswith(head)


def test_a_short_result_is_shown_whole_without_a_file() -> None:
    message = result_message(make_request(), run(stdout="ok 1\nok 2\n"))
    assert message.attachment is None
    assert "```\nok 1\nok 2\n```" in message.body
    assert "<pre><code>ok 1\nok 2</code></pre>" in message.html
    assert "digest " + make_request().short_digest in message.body


def test_no_output_is_said() -> None:
    message = result_message(make_request(), run(stdout="", stderr="  \n"))
    assert "(no output)" in message.body
    assert "(no output)" in html_text(message.html)


def test_stderr_is_labelled() -> None:
    message = result_message(make_request(), run(stdout="out\n", stderr="bad <thing>\n"))
    assert "stdout:\n```\nout\n```" in message.body
    assert "stderr:\n```\nbad <thing>\n```" in message.body
    assert "bad &lt;thing&gt;" in message.html


def test_long_output_shows_its_tail_and_attaches_the_whole() -> None:
    stdout = "".join(f"line {n}\n" for n in range(500))
    message = result_message(make_request(), run(stdout=stdout), inline_lines=20)
    assert message.attachment is not None
    assert message.attachment.filename == "r1-web1.log"
    assert message.attachment.mimetype == "text/plain"
    assert stdout in message.attachment.text
    assert "line 499" in message.body
    assert "line 480" in message.body
    assert "line 479\n" not in message.body
    assert "last lines:" in message.body
    assert "The full output is attached as r1-web1.log." in message.body
    assert len(message.body) < 3_000


def test_a_short_stderr_leaves_its_share_to_stdout() -> None:
    stdout = "".join(f"line {n}\n" for n in range(50))
    message = result_message(make_request(), run(stdout=stdout, stderr="warn\n"), inline_lines=10)
    assert "line 41\n" in message.body
    assert "line 40\n" not in message.body
    assert "stderr:\n```\nwarn\n```" in message.body


def test_inline_output_respects_the_character_budget() -> None:
    stdout = ("한국어 출력 " * 40 + "\n") * 200
    message = result_message(make_request(), run(stdout=stdout), inline_chars=2_000)
    assert message.attachment is not None
    shown = re.search(r"```\n(.*)\n```", message.body, re.DOTALL)
    assert shown is not None
    assert len(shown.group(1)) <= 2_000
    assert len(message.body.encode()) + len(message.html.encode()) < 30_000


def test_progress_bars_collapse_in_the_result_but_not_in_the_file() -> None:
    stdout = "10%\r50%\r100%\n" + "x\n" * 100
    message = result_message(make_request(), run(stdout=stdout), inline_lines=200)
    assert "10%" not in message.body
    assert "100%" in message.body
    message = result_message(make_request(), run(stdout=stdout), inline_lines=10)
    assert message.attachment is not None
    assert "10%\r50%" in message.attachment.text


def test_backticks_in_output_do_not_break_the_code_block() -> None:
    message = result_message(make_request("echo '```'"), run(stdout="```\nstill code\n"))
    assert "````\n```\nstill code\n````" in message.body
    assert "`` echo '```' ``" not in message.body
    assert "````echo '```'````" in message.body


def test_engine_truncation_is_mentioned() -> None:
    message = result_message(make_request(), run(truncated=True))
    assert "cut the middle" in message.body


# Other outcomes and the prompt --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("denied", "🚫 Denied: r1 on web1 will not run — not now."),
        ("expired", "⌛ Expired: r1 on web1 was not approved in time"),
        ("forbidden", "⛔ Forbidden: r1 on web1"),
        ("cancelled", "⏹️ Cancelled: r1 on web1 did not run"),
        ("interrupted", "⚠️ Interrupted, state unknown: r1 on web1"),
    ],
)
def test_outcomes(status: Any, words: str) -> None:
    message = outcome_message(make_request(), status, "not now" if status == "denied" else "")
    assert message.body.startswith(words)
    assert "systemctl restart nginx" in html_text(message.html)


def test_the_prompt_names_digest_requester_and_how_to_answer() -> None:
    request = make_request("rm -rf /tmp/<cache>")
    message = approval_prompt(request, reason="rule: deletes files", expires_in=900)
    assert message.body.startswith("🔐 Approval needed: r1 on web1")
    for words in (
        request.short_digest,
        "@master:hs",
        "rule: deletes files",
        "react ✅",
        "!approve r1",
        "!deny r1",
        "Expires in 15m 00s",
    ):
        assert words in message.body
        assert words in html_text(message.html)
    assert "rm -rf /tmp/&lt;cache&gt;" in message.html


SECRET = "Zq8hunter2SECRETvalue"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAAAA==\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("command", "note"),
    [
        pytest.param("systemctl restart nginx", None, id="nothing masked: no note"),
        pytest.param(f"deploy --to web1 {SECRET}", MASKED_NOTE, id="configured secret"),
        pytest.param("export API_TOKEN=abc123def; deploy", MASKED_NOTE, id="token setting"),
        pytest.param(f"cat > /k <<'EOF'\n{KEY}\nEOF\nchmod 600 /k", MASKED_NOTE, id="key"),
        pytest.param(f"printf '%s\\n' '{KEY}' > /k", MASKED_NOTE, id="quoted key"),
        pytest.param(
            "echo -----BEGIN PRIVATE KEY-----\nreboot\n-----END PRIVATE KEY-----",
            MISREAD_NOTE,
            id="a command hidden as a line of key",
        ),
        pytest.param(
            "cat <<EOF -----BEGIN PRIVATE KEY----- AAAA -----END PRIVATE KEY-----; rm -rf /\nEOF",
            MISREAD_NOTE,
            id="masked, a command reads as here-document text",
        ),
        pytest.param("mysql -uroot -pS3cret -e 'select 1'", MASKED_NOTE, id="mysql -pSECRET"),
        pytest.param("psql 'postgres://app:p#$;@/x@db/app'", MASKED_NOTE, id="quoted URL password"),
        pytest.param(
            "git clone https://u:a;reboot;@h/x", MISREAD_NOTE, id="a URL password hides a ;"
        ),
    ],
)
def test_the_prompt_says_when_masking_changed_the_command(command: str, note: str | None) -> None:
    message = approval_prompt(make_request(command), reason="", expires_in=60, secrets=[SECRET])
    notes = {MASKED_NOTE, MISREAD_NOTE} & {*message.body.splitlines()}
    assert notes == ({note} if note else set())
    if note:
        assert note in html_text(message.html)
        assert SECRET not in message.body + message.html


def test_reasons_are_masked_with_the_configured_secrets() -> None:
    """A policy reason quotes the command, so it carries the command's secrets."""
    request = make_request(f"echo {SECRET} > /etc/shadow")
    reason = f"`echo {SECRET} > /etc/shadow` overwrites /etc/shadow"
    for message in (
        approval_prompt(request, reason=reason, expires_in=60, secrets=iter([SECRET])),
        outcome_message(request, "forbidden", reason, secrets=iter([SECRET])),
    ):
        assert SECRET not in message.body + message.html
        assert "overwrites /etc/shadow" in message.body


# Listings -----------------------------------------------------------------------------


def entry(seq: int, kind: str, **changes: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "seq": seq,
        "at": 1_700_000_000.0 + seq,
        "request_id": RequestID("r1"),
        "kind": kind,
        "actor": None,
        "event_id": None,
        "host": "web1",
        "command_digest": Digest("ab" * 32),
        "detail": {},
    }
    values.update(changes)
    return AuditEntry(**values)


def test_the_audit_listing_is_a_list() -> None:
    entries = [
        entry(1, "request", actor=MASTER, event_id=EventID("$e")),
        entry(2, "decision", detail={"verdict": "NEEDS_APPROVAL", "reason": "restarts <svc>"}),
        entry(3, "approval", actor=MASTER),
        entry(4, "end", detail={"status": "failed", "exit_status": 1, "duration_ms": 2500}),
    ]
    message = audit_listing(entries, tz=timezone(timedelta(hours=9)))
    lines = message.body.splitlines()
    assert lines[0] == "Last 4 audit entries:"
    assert lines[1] == (
        "• 2023-11-15 07:13:21 r1 request by @master:hs on web1 digest abababababab"
    )
    assert lines[2].endswith("— NEEDS_APPROVAL, restarts <svc>")
    assert lines[4].endswith("— failed, exit 1, 2.5 s")
    assert message.html.count("<li>") == 4
    assert "<table" not in message.html
    assert "restarts &lt;svc&gt;" in message.html
    html_text(message.html)


def test_an_empty_audit_log() -> None:
    assert audit_listing([], tz=UTC).body == "The audit log is empty."


def test_hosts_are_listed_by_name_without_key_paths() -> None:
    hosts = [
        HostConfig("web1", address="10.0.0.5", user="deploy", key_path=Path("/secret/key")),
        HostConfig("local"),
        HostConfig("db", address="db.internal", port=2222, workdir="/srv"),
    ]
    message = hosts_listing(hosts)
    assert message.body.splitlines() == [
        "Hosts (3):",
        "• db — db.internal:2222 (in /srv, up to 8 at once)",
        "• local — this machine (built-in SSH server) (up to 8 at once)",
        "• web1 — deploy@10.0.0.5 (up to 8 at once)",
    ]
    assert "/secret/key" not in message.body + message.html
    assert html_text(message.html).startswith("Hosts (3):")


def test_no_hosts() -> None:
    assert hosts_listing([]).body == "No hosts are configured."
