"""The night envelope's pure rules: the `!night` parser, the coverage rule (judge or morning
queue) and the quiet rule (what may notify inside a window)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bots.errors import CommandError
from bots.ids import RoomID, UserID
from bots.message import Reply
from bots.night.coverage import NightStep, coverage
from bots.night.grant import NightOrder, read_night
from bots.night.quiet import quieted, quieted_event
from bots.store.night import Envelope
from executor.policy.model import Verdict

HOSTS = ("local", "web-1", "db-1")
PRESETS = {"readonly": ("*",), "maintenance": ("systemctl status *", "df *", "uptime")}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", "show"),
        ("  ", "show"),
        ("stop", "stop"),
        ("STOP", "stop"),
        ("off", "stop"),
        (
            "8h budget $2 hosts local allow readonly",
            NightOrder(8 * 3600, 2.0, ("local",), "readonly", ("*",)),
        ),
        (
            "8 budget 2usd hosts local,web-1 allow maintenance",
            NightOrder(8 * 3600, 2.0, ("local", "web-1"), "maintenance", PRESETS["maintenance"]),
        ),
        (
            "7.5 hours budget 2.50 hosts local, web-1 allow readonly",
            NightOrder(7.5 * 3600, 2.5, ("local", "web-1"), "readonly", ("*",)),
        ),
        (
            "90m budget 1 usd hosts all allow readonly",
            NightOrder(90 * 60, 1.0, HOSTS, "readonly", ("*",)),
        ),
        (
            "6시간 hosts db-1 budget 3$ allow df *, uptime",
            NightOrder(6 * 3600, 3.0, ("db-1",), None, ("df *", "uptime")),
        ),
        (
            '8h Budget $2 Hosts local allow "df -h, uptime"',
            NightOrder(8 * 3600, 2.0, ("local",), None, ("df -h", "uptime")),
        ),
        (
            "8h budget $0 hosts local allow ls *",
            NightOrder(8 * 3600, 0.0, ("local",), None, ("ls *",)),
        ),
    ],
    ids=[
        "nothing shows",
        "blanks show",
        "stop",
        "STOP",
        "off stops",
        "the example",
        "bare hours, 2usd, two hosts, a preset",
        "fractions and spaces",
        "minutes and all hosts",
        "korean hours, keywords in any order, a glob list",
        "capitals and a quoted list",
        "a zero budget",
    ],
)
def test_night_commands_read(args: str, expected: object) -> None:
    assert read_night(args, hosts=HOSTS, presets=PRESETS) == expected


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ("8h budget $2 hosts local", "allow <preset>"),
        ("budget $2 hosts local allow readonly", "start with how long"),
        ("tonight budget $2 hosts local allow readonly", "'tonight'"),
        ("2m budget $2 hosts local allow readonly", "from 5 minutes to 24 hours"),
        ("30h budget $2 hosts local allow readonly", "from 5 minutes to 24 hours"),
        ("8h hosts local allow readonly", "spend cap"),
        ("8h budget two hosts local allow readonly", "amount in USD"),
        ("8h budget $5000 hosts local allow readonly", "at most $1000"),
        ("8h budget $2 allow readonly", "name the hosts"),
        ("8h budget $2 hosts mail allow readonly", "unknown host 'mail'"),
        ("8h budget $2 hosts local allow", "after allow"),
        ("8h budget $2 hosts local allow nightly", "unknown preset 'nightly'"),
    ],
    ids=[
        "no allow",
        "no hours",
        "hours in words",
        "too short",
        "too long",
        "no budget",
        "budget in words",
        "budget too high",
        "no hosts",
        "unknown host",
        "allow nothing",
        "unknown preset",
    ],
)
def test_bad_night_commands_say_what_is_wrong_with_a_valid_example(args: str, says: str) -> None:
    with pytest.raises(CommandError) as caught:
        read_night(args, hosts=HOSTS, presets=PRESETS)
    text = str(caught.value)
    assert says.lower() in text.lower()
    assert "For example: !night 8h budget $2 hosts local allow readonly" in text


def envelope(**changes: object) -> Envelope:
    base = Envelope(
        id=1,
        starts_at=1000.0,
        ends_at=1000.0 + 8 * 3600,
        budget_usd=2.0,
        hosts=("local", "web-1"),
        allow_preset="maintenance",
        allow_globs=PRESETS["maintenance"],
        granted_by="@master:test",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def step(
    host: str = "local", command: str = "df -h", verdict: Verdict = Verdict.ALLOW
) -> NightStep:
    return NightStep("step 1", host, command, verdict)


@pytest.mark.parametrize(
    ("steps", "spent", "judge", "changes", "covered", "reason"),
    [
        ([step()], 0.0, True, {}, True, "covered"),
        ([step(), step("web-1", "uptime")], 1.99, True, {}, True, "covered"),
        ([step("local", "rm -rf /tmp/x")], 0.0, True, {"allow_globs": ("*",)}, True, "covered"),
        ([step("db-1", "df -h")], 0.0, True, {}, False, "outside tonight's hosts"),
        ([step("local", "ls /")], 0.0, True, {}, False, "not in tonight's allowlist"),
        ([step(verdict=Verdict.NEEDS_APPROVAL)], 0.0, True, {}, False, "needs an approval"),
        ([step(verdict=Verdict.FORBID)], 0.0, True, {}, False, "forbidden by the policy"),
        (
            [step("db-1", "rm -rf /", Verdict.FORBID)],
            0.0,
            True,
            {"allow_globs": ("*",)},
            False,
            "forbidden",
        ),
        ([step()], 2.0, True, {}, False, "budget is spent ($2.00 of $2.00)"),
        ([step()], 0.0, True, {"budget_usd": 0.0}, False, "budget is spent"),
        ([step()], 0.0, False, {}, False, "review did not approve"),
        ([], 0.0, True, {}, False, "no commands"),
        ([step(), step("local", "reboot")], 0.0, True, {}, False, "`reboot`"),
    ],
    ids=[
        "allowed, on a host, in the list: judge",
        "under the budget, two hosts: judge",
        "a glob * covers whatever the policy allows: judge",
        "another host: morning",
        "not in the list: morning",
        "the policy asks: morning",
        "forbidden: morning, never runs",
        "forbidden even under allow *: morning",
        "budget reached: morning",
        "zero budget: morning",
        "the judge did not approve: morning",
        "no commands: morning",
        "one bad step of two: morning",
    ],
)
def test_the_envelope_covers_a_plan_or_sends_it_to_the_morning_queue(
    steps: list[NightStep],
    spent: float,
    judge: bool,
    changes: dict[str, object],
    covered: bool,
    reason: str,
) -> None:
    found = coverage(envelope(**changes), steps, spent_usd=spent, judge_approved=judge)
    assert found.covered is covered
    assert reason in found.reason


MASTER = UserID("@master:test")
AGENT = UserID("@claude:test")


def reply(**changes: object) -> Reply:
    return replace(Reply(RoomID("!room:test"), "hello"), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sent", "night", "out"),
    [
        (reply(notice=False, mention=(MASTER,)), False, reply(notice=False, mention=(MASTER,))),
        (reply(notice=False), False, reply(notice=False)),
        (reply(notice=False, mention=(MASTER,)), True, reply(notice=True)),
        (reply(notice=False), True, reply(notice=True)),
        (reply(notice=True, mention=(MASTER,)), True, reply(notice=True)),
        (
            reply(notice=False, mention=(MASTER, AGENT)),
            True,
            reply(notice=True, mention=(AGENT,)),
        ),
        (reply(notice=True, mention=(AGENT,)), True, reply(notice=True, mention=(AGENT,))),
        (
            reply(notice=False, mention=(MASTER,), urgent=True),
            True,
            reply(notice=False, mention=(MASTER,), urgent=True),
        ),
        (
            reply(notice=False, mention=(MASTER,), replaces="$e", stream="done"),
            True,
            reply(notice=True, replaces="$e", stream="done"),
        ),
    ],
    ids=[
        "by day an alert notifies",
        "by day a message notifies",
        "at night an alert is a notice without the mention",
        "at night a plain message is a notice",
        "at night a notice naming the master loses the mention",
        "at night other mentions stay",
        "at night a notice stays as it is",
        "at night an urgent alert still notifies",
        "at night the notifying last edit of an answer is silent",
    ],
)
def test_inside_a_window_only_urgent_messages_notify(sent: Reply, night: bool, out: Reply) -> None:
    assert quieted(sent, MASTER, night) == out


@pytest.mark.parametrize(
    ("event_type", "night", "marked"),
    [
        ("org.matrix.msc3381.poll.start", True, True),
        ("org.matrix.msc3381.poll.end", True, True),
        ("m.poll.start", True, True),
        ("m.poll.end", True, True),
        ("org.matrix.msc3381.poll.start", False, False),
        ("org.chavion.exec.request", True, False),
        ("m.reaction", True, False),
    ],
    ids=[
        "a poll at night is a notice",
        "a poll's end at night is a notice",
        "a stable poll at night",
        "a stable poll's end at night",
        "a poll by day notifies as ever",
        "an exec request is left alone",
        "a reaction is left alone",
    ],
)
def test_inside_a_window_polls_are_marked_as_notices(
    event_type: str, night: bool, marked: bool
) -> None:
    content = {"body": "#3 🗳️ Vote closed", "m.relates_to": {"rel_type": "m.reference"}}
    out = quieted_event(event_type, content, night)
    assert (out.get("msgtype") == "m.notice") is marked
    assert {k: v for k, v in out.items() if k != "msgtype"} == content
