"""Execution request and result events: digests, validation as values, `!run` arguments."""

from __future__ import annotations

from typing import Any

import pytest

from bots.errors import CommandError
from bots.execution.requests import (
    CANCEL_EVENT,
    MAX_COMMAND_CHARS,
    MAX_OUTPUT_TAIL,
    REQUEST_EVENT,
    RESULT_EVENT,
    EventError,
    ExecCancel,
    ExecOutput,
    ExecRequest,
    ExecResult,
    PlanApprovalRef,
    accept_request,
    cancel_content,
    command_digest,
    new_request,
    outcome_result,
    output_digest,
    parse_audit_args,
    parse_cancel,
    parse_deny_args,
    parse_request,
    parse_request_ref,
    parse_result,
    parse_run_args,
    request_content,
    request_id_for_event,
    result_content,
    result_from_run,
    short_digest,
)
from bots.ids import EventID, RequestID, TaskID, UserID
from executor.results import RunResult

MASTER = UserID("@master:hs")
COORD = UserID("@chavion:hs")


def make_request(host: str = "web1", command: str = "systemctl restart nginx") -> ExecRequest:
    request = new_request(host, command, MASTER, RequestID("r1"), task_id=TaskID("t-7"), step=2)
    assert isinstance(request, ExecRequest), request
    return request


def good_content(**changes: Any) -> dict[str, Any]:
    content = request_content(make_request())
    content.update(changes)
    return content


def run(**changes: Any) -> RunResult:
    values: dict[str, Any] = {
        "host": "web1",
        "command": "systemctl restart nginx",
        "exit_status": 0,
        "exit_signal": None,
        "stdout": "ok\n",
        "stderr": "",
        "duration": 1.2346,
        "truncated": False,
        "timed_out": False,
        "cancelled": False,
    }
    values.update(changes)
    return RunResult(**values)


# Digests ------------------------------------------------------------------------------


def test_a_digest_is_sha256_hex_and_stable() -> None:
    digest = command_digest("web1", "uptime")
    assert digest == command_digest("web1", "uptime")
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")
    assert short_digest(digest) == digest[:12]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("web1", "uptime"), ("web2", "uptime")),
        (("web1", "uptime"), ("web1", "uptime ")),
        (("web1", "rm -rf /tmp/x"), ("web1", "rm -rf /tmp/y")),
        (("web1", "ls"), ("web", "1ls")),
        (("a", "b c"), ("a b", "c")),
    ],
)
def test_every_change_of_host_or_command_changes_the_digest(
    a: tuple[str, str], b: tuple[str, str]
) -> None:
    assert command_digest(*a) != command_digest(*b)


def test_the_output_digest_separates_the_streams() -> None:
    assert output_digest("ab", "") != output_digest("a", "b")
    assert len(output_digest("", "")) == 64


def test_a_request_id_from_an_event_is_stable_short_and_valid() -> None:
    first = request_id_for_event(EventID("$abc:hs"))
    assert first == request_id_for_event(EventID("$abc:hs"))
    assert first != request_id_for_event(EventID("$abd:hs"))
    assert len(first) == 11
    assert parse_request_ref(first, "approve") == first


# Requests -----------------------------------------------------------------------------


def test_a_built_request_survives_the_round_trip() -> None:
    request = make_request()
    assert request.digest == command_digest("web1", "systemctl restart nginx")
    assert "r1" in request.body
    assert request.short_digest in request.body
    assert parse_request(request_content(request)) == request


def test_task_and_step_may_be_absent() -> None:
    content = good_content()
    del content["task_id"], content["step"]
    parsed = parse_request(content)
    assert isinstance(parsed, ExecRequest)
    assert parsed.task_id is None
    assert parsed.step is None


def test_a_request_body_masks_credentials() -> None:
    request = make_request(command="mysql --password hunter2 -e 'select 1'")
    assert "hunter2" not in request.body
    assert "hunter2" in request.command  # what runs is unchanged


def test_a_request_body_masks_configured_secrets() -> None:
    request = new_request(
        "web1", "deploy Zq8hunter2SECRET", MASTER, RequestID("r1"), secrets=["Zq8hunter2SECRET"]
    )
    assert isinstance(request, ExecRequest)
    assert "Zq8hunter2SECRET" not in request.body
    assert parse_request(request_content(request)) == request


BAD_REQUESTS: list[tuple[str, object, str, str]] = [
    ("not an object", ["host"], "content", "must be a JSON object"),
    ("no host", {k: v for k, v in good_content().items() if k != "host"}, "host", "missing"),
    ("host not text", good_content(host=5), "host", "must be text"),
    ("host with a space", good_content(host="web 1"), "host", "not valid"),
    ("host with a slash", good_content(host="../etc"), "host", "not valid"),
    ("no command", good_content(command=None), "command", "missing"),
    ("blank command", good_content(command="  "), "command", "is empty"),
    ("NUL in command", good_content(command="ls\0rm"), "command", "NUL"),
    ("huge command", good_content(command="x" * (MAX_COMMAND_CHARS + 1)), "command", "longer"),
    ("digest of another command", good_content(command="reboot"), "digest", "does not match"),
    ("short digest", good_content(digest=make_request().short_digest), "digest", "not valid"),
    (
        "upper-case digest",
        good_content(digest=make_request().digest.upper()),
        "digest",
        "not valid",
    ),
    ("requester not a user id", good_content(requester="master"), "requester", "not valid"),
    ("request id with a space", good_content(request_id="r 1"), "request_id", "not valid"),
    ("empty request id", good_content(request_id=""), "request_id", "not valid"),
    ("step as bool", good_content(step=True), "step", "whole number"),
    ("step as float", good_content(step=1.0), "step", "whole number"),
    ("negative step", good_content(step=-1), "step", "out of range"),
    ("step beyond JSON", good_content(step=2**60), "step", "out of range"),
    ("empty task id", good_content(task_id=""), "task_id", "not valid"),
    ("body missing", good_content(body=None), "body", "missing"),
    ("body not text", good_content(body={"x": 1}), "body", "must be text"),
]


@pytest.mark.parametrize(
    ("content", "field", "problem"),
    [row[1:] for row in BAD_REQUESTS],
    ids=[row[0] for row in BAD_REQUESTS],
)
def test_a_bad_request_is_an_error_value(content: object, field: str, problem: str) -> None:
    error = parse_request(content)
    assert isinstance(error, EventError)
    assert error.event_type == REQUEST_EVENT
    assert error.field == field
    assert problem in error.problem
    assert str(error).startswith(f"{REQUEST_EVENT}: {field} ")


@pytest.mark.parametrize(
    "content", [None, 3, "text", {1: 2}, {"host": object()}, {"command": ["ls"]}]
)
def test_parsing_never_raises(content: object) -> None:
    assert isinstance(parse_request(content), EventError)
    assert isinstance(parse_result(content), EventError)


def test_new_request_validates_like_a_received_one() -> None:
    error = new_request("web 1", "ls", MASTER, RequestID("r1"))
    assert isinstance(error, EventError)
    assert error.field == "host"


ACCEPT: list[tuple[str, UserID, dict[str, Any], str | None]] = [
    ("the master for themselves", MASTER, good_content(), None),
    ("the coordinator relays the master", COORD, good_content(), None),
    ("the coordinator relays someone else", COORD, good_content(requester="@bob:hs"), None),
    ("the master for someone else", MASTER, good_content(requester="@bob:hs"), "requester"),
    ("a stranger", UserID("@eve:hs"), good_content(requester="@eve:hs"), "sender"),
    ("an agent", UserID("@claude:hs"), good_content(), "sender"),
    ("an allowed sender, bad content", MASTER, good_content(host=""), "host"),
]


@pytest.mark.parametrize(
    ("sender", "content", "refused_field"),
    [row[1:] for row in ACCEPT],
    ids=[row[0] for row in ACCEPT],
)
def test_only_allowed_senders_may_ask_and_only_relays_name_others(
    sender: UserID, content: dict[str, Any], refused_field: str | None
) -> None:
    outcome = accept_request(content, sender, senders={MASTER}, relays={COORD})
    if refused_field is None:
        assert isinstance(outcome, ExecRequest)
    else:
        assert isinstance(outcome, EventError)
        assert outcome.field == refused_field


# Results ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({}, "succeeded", "exit status 0"),
        ({"exit_status": 3}, "failed", "exit status 3"),
        ({"exit_status": None, "exit_signal": "KILL"}, "failed", "killed by SIGKILL"),
        ({"exit_status": None, "timed_out": True}, "timed_out", "timed out"),
        ({"exit_status": None, "cancelled": True}, "cancelled", "cancelled"),
        ({"exit_status": None}, "failed", "no exit status"),
    ],
)
def test_a_run_becomes_a_result(changes: dict[str, Any], status: str, words: str) -> None:
    request = make_request()
    result = result_from_run(request, run(**changes))
    assert result.status == status
    assert result.request_id == request.request_id
    assert result.digest == request.digest
    assert result.duration_ms == 1235
    assert result.ran
    assert words in result.body


def test_result_content_is_canonical_json_and_round_trips() -> None:
    result = result_from_run(make_request(), run(stdout="hello\n", stderr="warn\n"))
    content = result_content(result)
    assert set(content) == {
        "request_id",
        "digest",
        "status",
        "exit_status",
        "duration",
        "output_digest",
        "body",
        "output",
    }
    assert not any(isinstance(value, float) for value in content.values())  # Synapse refuses
    assert content["output_digest"] == output_digest("hello\n", "warn\n")
    assert content["output"] == {"stdout": "hello\n", "stderr": "warn\n"}
    assert parse_result(content) == result


def test_an_outcome_without_a_run_has_no_exit_or_output() -> None:
    result = outcome_result(make_request(), "denied", "not today")
    assert result == ExecResult(
        RequestID("r1"), make_request().digest, "denied", result.body, None, None, None
    )
    assert not result.ran
    assert "not today" in result.body
    assert parse_result(result_content(result)) == result


def test_an_outcome_reason_is_masked_with_the_configured_secrets() -> None:
    """A policy reason quotes the command, so it carries the command's secrets."""
    reason = "`echo Zq8hunter2SECRET > /etc/shadow` overwrites /etc/shadow"
    result = outcome_result(make_request(), "forbidden", reason, secrets=["Zq8hunter2SECRET"])
    assert "Zq8hunter2SECRET" not in result.body
    assert "overwrites /etc/shadow" in result.body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": None}, "status"),
        ({"duration": 1.5}, "duration"),
        ({"duration": -1}, "duration"),
        ({"exit_status": False}, "exit_status"),
        ({"output_digest": "abc"}, "output_digest"),
        ({"digest": None}, "digest"),
        ({"request_id": "r 1"}, "request_id"),
    ],
)
def test_a_bad_result_is_an_error_value(changes: dict[str, Any], field: str) -> None:
    content = result_content(result_from_run(make_request(), run()))
    content.update(changes)
    error = parse_result(content)
    assert isinstance(error, EventError)
    assert error.event_type == RESULT_EVENT
    assert error.field == field


# !run and friends ---------------------------------------------------------------------

RUN_ARGS: list[tuple[str, tuple[str, str]]] = [
    ("web1 -- systemctl restart nginx", ("web1", "systemctl restart nginx")),
    ("  web1   --   uptime  ", ("web1", "uptime")),
    ("web1 — uptime", ("web1", "uptime")),  # iOS smart punctuation: -- becomes an em dash
    ("web1 – uptime", ("web1", "uptime")),
    ("local -- ls -- -weird-file", ("local", "ls -- -weird-file")),
    ("db.prod-2 --\nset -e\npg_dump x > /tmp/x", ("db.prod-2", "set -e\npg_dump x > /tmp/x")),
    ("web1 -- echo 'a  b'", ("web1", "echo 'a  b'")),
]


@pytest.mark.parametrize(("args", "expected"), RUN_ARGS)
def test_run_arguments(args: str, expected: tuple[str, str]) -> None:
    assert parse_run_args(args) == expected


RUN_ERRORS: list[tuple[str, str]] = [
    ("", "Usage: !run <host> -- <command>"),
    ("   ", "Usage"),
    ("web1", "Put -- between the host and the command"),
    ("web1 uptime", "Put -- between the host and the command"),
    ("web1 --uptime", "Put -- between the host and the command"),
    ("-- uptime", "Name the host before --"),
    ("web1 web2 -- uptime", "exactly one host"),
    ("web1 --", "Give the command after --"),
    ("web1 --   ", "Give the command after --"),
    ("we$b -- uptime", "is not a host name"),
    ("web1 -- ls\0", "NUL"),
    ("web1 -- " + "x" * (MAX_COMMAND_CHARS + 1), "longer than"),
]


@pytest.mark.parametrize(("args", "message"), RUN_ERRORS)
def test_bad_run_arguments_say_what_to_do(args: str, message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("$", r"\$")):
        parse_run_args(args)


def test_request_references() -> None:
    assert parse_request_ref(" r1a2b ", "approve") == "r1a2b"
    with pytest.raises(CommandError, match="Usage: !approve <id>"):
        parse_request_ref("", "approve")
    with pytest.raises(CommandError, match="Usage: !cancel <id>"):
        parse_request_ref("r1 r2", "cancel")
    with pytest.raises(CommandError, match="not a request id"):
        parse_request_ref("<id>", "approve")


def test_deny_arguments() -> None:
    assert parse_deny_args("r1") == ("r1", "")
    assert parse_deny_args("r1  not during the sale ") == ("r1", "not during the sale")
    with pytest.raises(CommandError, match="Usage: !deny"):
        parse_deny_args("  ")


@pytest.mark.parametrize(("args", "n"), [("", 10), ("5", 5), (" 50 ", 50)])
def test_audit_arguments(args: str, n: int) -> None:
    assert parse_audit_args(args) == n


@pytest.mark.parametrize("args", ["0", "51", "-3", "ten", "1.5"])
def test_bad_audit_arguments(args: str) -> None:
    with pytest.raises(CommandError, match="Usage: !audit"):
        parse_audit_args(args)


# Result output: the masked tails, for the coordinator ----------------------------------


@pytest.mark.parametrize(
    ("stdout", "stderr", "shown_out", "shown_err"),
    [
        ("ok\n", "", "ok\n", ""),
        ("x" * MAX_OUTPUT_TAIL, "", "x" * MAX_OUTPUT_TAIL, ""),
        ("head " + "y" * MAX_OUTPUT_TAIL, "e" * 5000 + "END", "y" * MAX_OUTPUT_TAIL, None),
        ("", "", "", ""),
    ],
    ids=["short", "exactly the limit", "the tail is kept", "no output"],
)
def test_a_result_carries_the_tails_of_its_output(
    stdout: str, stderr: str, shown_out: str, shown_err: str | None
) -> None:
    result = result_from_run(make_request(), run(stdout=stdout, stderr=stderr))
    assert result.output is not None
    assert result.output.stdout == shown_out
    if shown_err is None:
        assert len(result.output.stderr) == MAX_OUTPUT_TAIL
        assert result.output.stderr.endswith("END")
    else:
        assert result.output.stderr == shown_err
    assert parse_result(result_content(result)) == result


def test_a_result_without_output_still_parses() -> None:
    """Results from before the output field (and outcomes that never ran) have none."""
    content = result_content(result_from_run(make_request(), run()))
    del content["output"]
    parsed = parse_result(content)
    assert isinstance(parsed, ExecResult)
    assert parsed.output is None
    assert "output" not in result_content(outcome_result(make_request(), "denied", "no"))


@pytest.mark.parametrize(
    ("output", "field", "problem"),
    [
        ("ok", "output", "must be a JSON object"),
        ({"stdout": "ok"}, "output.stderr", "is missing"),
        ({"stdout": 3, "stderr": ""}, "output.stdout", "must be text"),
        ({"stdout": "", "stderr": "e" * (MAX_OUTPUT_TAIL + 1)}, "output.stderr", "longer than"),
    ],
)
def test_a_bad_output_is_an_error_value(output: object, field: str, problem: str) -> None:
    content = result_content(result_from_run(make_request(), run()))
    content["output"] = output
    error = parse_result(content)
    assert isinstance(error, EventError), error
    assert (error.event_type, error.field) == (RESULT_EVENT, field)
    assert problem in error.problem


def test_output_is_masked_like_the_run() -> None:
    """The engine masks output before the result is built; the tails are cut from that."""
    masked = run(stdout="password=[masked]\n")
    result = result_from_run(make_request(), masked)
    assert result.output == ExecOutput("password=[masked]\n", "")


# Plan approvals on requests: a claim the executor checks itself ------------------------


def test_a_plan_approval_survives_the_round_trip() -> None:
    ref = PlanApprovalRef(EventID("$plan"), EventID("$tick"))
    request = new_request(
        "web1", "df -h", COORD, RequestID("t12-a1-s1"), task_id=TaskID("12"), plan_approval=ref
    )
    assert isinstance(request, ExecRequest), request
    content = request_content(request)
    assert content["plan_approval"] == {"plan_event": "$plan", "approval_event": "$tick"}
    assert parse_request(content) == request
    assert "plan_approval" not in request_content(make_request())


@pytest.mark.parametrize(
    ("plan_approval", "field", "problem"),
    [
        ("$plan", "plan_approval", "must be a JSON object"),
        ({"plan_event": "$plan"}, "plan_approval.approval_event", "is missing"),
        ({"plan_event": "plan", "approval_event": "$a"}, "plan_approval.plan_event", "not valid"),
        ({"plan_event": "$p", "approval_event": 5}, "plan_approval.approval_event", "text"),
        ({"plan_event": "$p q", "approval_event": "$a"}, "plan_approval.plan_event", "not valid"),
    ],
)
def test_a_bad_plan_approval_is_an_error_value(
    plan_approval: object, field: str, problem: str
) -> None:
    error = parse_request(good_content(plan_approval=plan_approval))
    assert isinstance(error, EventError), error
    assert (error.event_type, error.field) == (REQUEST_EVENT, field)
    assert problem in error.problem


# Cancel events -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"request_id": "t12-a1-s3"}, ExecCancel(RequestID("t12-a1-s3"))),
        (
            {"request_id": "t12-a1-s3", "task_id": "12", "reason": " master cancelled #12 "},
            ExecCancel(RequestID("t12-a1-s3"), TaskID("12"), "master cancelled #12"),
        ),
        ({"request_id": "r1", "task_id": None, "reason": None}, ExecCancel(RequestID("r1"))),
    ],
)
def test_a_cancel_event_is_read(content: dict[str, Any], expected: ExecCancel) -> None:
    assert parse_cancel(content) == expected
    assert parse_cancel(cancel_content(expected)) == expected


@pytest.mark.parametrize(
    ("content", "field", "problem"),
    [
        ([], "content", "must be a JSON object"),
        ({}, "request_id", "is missing"),
        ({"request_id": "t12 a1"}, "request_id", "not valid"),
        ({"request_id": 12}, "request_id", "must be text"),
        ({"request_id": "r1", "task_id": 12}, "task_id", "must be text"),
        ({"request_id": "r1", "reason": "x" * 1001}, "reason", "longer than 1000"),
        ({"request_id": "r1", "reason": ["no"]}, "reason", "must be text"),
    ],
)
def test_a_bad_cancel_is_an_error_value(content: object, field: str, problem: str) -> None:
    error = parse_cancel(content)
    assert isinstance(error, EventError), error
    assert (error.event_type, error.field) == (CANCEL_EVENT, field)
    assert problem in error.problem
