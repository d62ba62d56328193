"""Plans as models really write them: the first JSON object with a `steps` list anywhere in
the answer, fenced or not, with exact errors for what cannot be used.

Each case is a model answer and the plan read from it (or the error's telling words).
"""

from __future__ import annotations

import json

import pytest

from bots.execution.requests import command_digest
from bots.tasks.plans import (
    MAX_ANSWER_CHARS,
    Plan,
    PlanError,
    Step,
    parse_plan,
    plan_digest,
    plan_json,
    steps_digest,
    wire_steps,
)

HOSTS = ("local", "web-1", "web-2")
DF = Step("local", "df -h", "check disk usage")
ONE = Plan((DF,), "Disk usage")


def plan_of(*steps: Step, summary: str = "") -> Plan:
    return Plan(tuple(steps), summary)


CLAUDE = """I'll check the disk usage first, since it is read-only and safe.

```json
{
  "summary": "Disk usage",
  "steps": [
    {"host": "local", "command": "df -h", "purpose": "check disk usage", "verify": null,
     "rollback": null, "parallel": false}
  ]
}
```

This plan has one read-only step. Let me know if you want more detail."""

GPT = """```json
{"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h",
"purpose": "check disk usage"}]}
```"""

GEMINI = """Here is the plan:

```JSON
{
  "summary": "Disk usage",
  "steps": [
    {
      "host": "local",
      "command": "df -h",
      "purpose": "check disk usage",
    },
  ],
}
```
"""

LOCAL_TRAILING = """{"summary": "Disk usage", "steps": [
  {"host": "local", "command": "df -h", "purpose": "check disk usage",},
]}"""

TWO_OBJECTS = """First my assumptions: {"hosts_checked": ["local"], "risk": "low"}

And the plan: {"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h",
"purpose": "check disk usage"}]}"""

NESTED_BRACES = r"""```json
{"steps": [{"host": "local",
  "command": "find /var/log -name '*.gz' -exec du -ch {} + | awk '{s+=$1} END {print s}'",
  "purpose": "sum of rotated logs"}]}
```"""

UNICODE = """```json
{"summary": "디스크 사용량 확인", "steps": [{"host": "local", "command": "echo '✓ 완료' && df -h",
"purpose": "디스크 확인 — 읽기 전용"}]}
```"""

HEREDOC = """{"steps": [{"host": "web-1", "command": "cat > /tmp/x.conf <<'EOF'
a = 1
EOF", "purpose": "write the config"}]}"""


@pytest.mark.parametrize(
    ("answer", "plan"),
    [
        pytest.param(CLAUDE, ONE, id="claude: prose, fenced json, prose"),
        pytest.param(GPT, ONE, id="gpt: fenced json alone"),
        pytest.param(GEMINI, ONE, id="gemini: ```JSON with trailing commas"),
        pytest.param(LOCAL_TRAILING, ONE, id="local model: bare json, trailing commas"),
        pytest.param(TWO_OBJECTS, ONE, id="two objects, the first has no steps"),
        pytest.param(
            '{"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h", '
            '"purpose": "check disk usage"}]}',
            ONE,
            id="bare json",
        ),
        pytest.param(
            'Plan: {"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h", '
            '"purpose": "check disk usage"}]} — done.',
            ONE,
            id="inline in a sentence",
        ),
        pytest.param(
            '```\n{"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h", '
            '"purpose": "check disk usage"}]}\n```',
            ONE,
            id="fence without a language",
        ),
        pytest.param(
            '~~~json\n{"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h", '
            '"purpose": "check disk usage"}]}\n~~~',
            ONE,
            id="tilde fence",
        ),
        pytest.param(
            '{"plan": {"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h",'
            ' "purpose": "check disk usage"}]}}',
            ONE,
            id="wrapped in a plan object",
        ),
        pytest.param(
            '{"Summary": "Disk usage", "Steps": [{"Host": "local", "Command": "df -h", '
            '"Purpose": "check disk usage"}]}',
            ONE,
            id="capitalised keys",
        ),
        pytest.param(
            '{"steps": [{"server": "local", "cmd": "df -h", "description": "check disk usage"}],'
            ' "summary": "Disk usage"}',
            ONE,
            id="server, cmd, description",
        ),
        pytest.param(
            '{"steps": [{"target": "local", "run": "df -h", "why": "check disk usage"}], '
            '"title": "Disk usage"}',
            ONE,
            id="target, run, why, title",
        ),
        pytest.param(
            '{"steps": [{"host": "web-1", "command": "systemctl restart nginx", '
            '"purpose": "restart", "check": "systemctl is-active nginx", '
            '"undo": "systemctl stop nginx"}]}',
            plan_of(
                Step(
                    "web-1",
                    "systemctl restart nginx",
                    "restart",
                    "systemctl is-active nginx",
                    "systemctl stop nginx",
                )
            ),
            id="check and undo",
        ),
        pytest.param(
            '{"steps": [{"host": "web-1", "command": "a", "verify_command": "b", '
            '"rollback-command": "c"}]}',
            plan_of(Step("web-1", "a", "", "b", "c")),
            id="verify_command and rollback-command",
        ),
        pytest.param(
            '{"steps": [{"host": "web-1", "command": "uptime", "parallel": "yes"}, '
            '{"host": "web-2", "command": "uptime", "parallel": "true"}, '
            '{"host": "local", "command": "uptime", "parallel": "no"}, '
            '{"host": "local", "command": "w", "concurrent": 1}]}',
            plan_of(
                Step("web-1", "uptime", parallel=True),
                Step("web-2", "uptime", parallel=True),
                Step("local", "uptime"),
                Step("local", "w", parallel=True),
            ),
            id="parallel as words and numbers",
        ),
        pytest.param(
            '{"steps": [{"host": "WEB-1", "command": "uptime"}]}',
            plan_of(Step("web-1", "uptime")),
            id="host in another case",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "  df -h\\n", "purpose": " disk "}]}',
            plan_of(Step("local", "df -h", "disk")),
            id="spaces around the command",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "df -h", "verify": "", "rollback": null}]}',
            plan_of(Step("local", "df -h")),
            id="empty verify is none",
        ),
        pytest.param(
            '{"summary": "Nothing to run", "steps": []}',
            plan_of(summary="Nothing to run"),
            id="no steps",
        ),
        pytest.param(
            'No command is needed: {"steps": []}. Here is my answer instead.',
            plan_of(),
            id="no steps, in prose",
        ),
        pytest.param(
            NESTED_BRACES,
            plan_of(
                Step(
                    "local",
                    "find /var/log -name '*.gz' -exec du -ch {} + | awk '{s+=$1} END {print s}'",
                    "sum of rotated logs",
                )
            ),
            id="braces inside commands",
        ),
        pytest.param(
            UNICODE,
            plan_of(
                Step("local", "echo '✓ 완료' && df -h", "디스크 확인 — 읽기 전용"),
                summary="디스크 사용량 확인",
            ),
            id="unicode",
        ),
        pytest.param(
            HEREDOC,
            plan_of(Step("web-1", "cat > /tmp/x.conf <<'EOF'\na = 1\nEOF", "write the config")),
            id="raw line breaks inside a string",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "echo \\"hi\\" | tr a-z A-Z", "step": 1, '
            '"risk": "low", "notes": ["x"]}]}',
            plan_of(Step("local", 'echo "hi" | tr a-z A-Z')),
            id="unknown keys are ignored",
        ),
        pytest.param(
            'Thinking: {placeholder} and {"not": "json"\n'
            '{"steps": [{"host": "local", "command": "df -h", "purpose": "check disk usage"}], '
            '"summary": "Disk usage"}',
            ONE,
            id="broken braces before the plan",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "ls", "purpose": "a", "description": "b"}]}',
            plan_of(Step("local", "ls", "a")),
            id="the field's own name beats an alias",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "ls", "purpose": 3}]}',
            plan_of(Step("local", "ls", "3")),
            id="a number as purpose",
        ),
        pytest.param(
            '<think>the user wants {"steps"} maybe</think>\n{"steps": [{"host": "local", '
            '"command": "df -h", "purpose": "check disk usage"}], "summary": "Disk usage"}',
            ONE,
            id="reasoning model's think block",
        ),
        pytest.param(
            '{"summary": "Disk usage", "steps": [{"host": "local", "command": "df -h", '
            '"purpose": "check disk usage"}]}\n\nAlternative: {"steps": [{"host": "web-1", '
            '"command": "reboot"}]}',
            ONE,
            id="the first plan wins",
        ),
    ],
)
def test_a_plan_is_read(answer: str, plan: Plan) -> None:
    assert parse_plan(answer, hosts=HOSTS, max_steps=20) == plan


@pytest.mark.parametrize(
    ("answer", "hosts", "plan"),
    [
        pytest.param(
            '{"steps": [{"command": "df -h"}]}',
            ("local",),
            plan_of(Step("local", "df -h")),
            id="no host with one host configured",
        ),
        pytest.param(
            '{"steps": ["df -h", "uptime"]}',
            ("local",),
            plan_of(Step("local", "df -h"), Step("local", "uptime")),
            id="bare string steps with one host",
        ),
    ],
)
def test_one_host_needs_no_name(answer: str, hosts: tuple[str, ...], plan: Plan) -> None:
    assert parse_plan(answer, hosts=hosts, max_steps=20) == plan


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        pytest.param(
            "I'm sorry, but I can't help with that.", ["No plan found", '"steps"'], id="refusal"
        ),
        pytest.param(
            "As an AI language model I cannot run commands on servers.",
            ["No plan found", '"steps": []'],
            id="refusal: cannot run commands",
        ),
        pytest.param("", ["No plan found"], id="empty answer"),
        pytest.param('```json\n{"summary": "x"}\n```', ["No plan found"], id="json without steps"),
        pytest.param(
            '{"steps": "run df -h"}', ['"steps" must be a list', "not text"], id="steps as text"
        ),
        pytest.param(
            "{'steps': [{'host': 'local', 'command': 'df -h'}]}",
            ["not valid JSON", "double quotes"],
            id="single quotes",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "df -h"}',
            ["not valid JSON", "line 1"],
            id="cut off",
        ),
        pytest.param(
            '{"steps": [{"host": "db-9", "command": "df -h"}]}',
            ['step 1: unknown host "db-9"', "known hosts: local, web-1, web-2"],
            id="unknown host",
        ),
        pytest.param(
            '{"steps": [{"command": "df -h"}]}',
            ["step 1: host is missing", "known hosts: local, web-1, web-2"],
            id="missing host with several hosts",
        ),
        pytest.param(
            '{"steps": ["df -h"]}', ["step 1: host is missing"], id="bare string with several hosts"
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "  "}]}',
            ["step 1: command is empty"],
            id="empty command",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "purpose": "x"}]}',
            ["step 1: command is empty"],
            id="no command",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": ["apt update", "apt upgrade"]}]}',
            ["step 1: command must be one command string, not a list"],
            id="list of commands",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": 42}]}',
            ["step 1: command must be a command string, not a number"],
            id="number as command",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "echo \\u0000"}]}',
            ["step 1: command contains a NUL"],
            id="NUL in a command",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "' + "x" * 8001 + '"}]}',
            ["step 1: command is 8,001 characters long", "8,000"],
            id="command too long",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "ls", "verify": {"cmd": "x"}}]}',
            ["step 1: verify must be a command string, not an object"],
            id="verify as an object",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "ls", "parallel": "maybe"}]}',
            ['step 1: parallel must be true or false, not "maybe"'],
            id="parallel as a strange word",
        ),
        pytest.param(
            '{"steps": [{"host": "local", "command": "ls"}, 7]}',
            ["step 2 is a number"],
            id="a step that is a number",
        ),
        pytest.param(
            '{"steps": [{"host": "nope", "command": ""}, {"host": "local", "command": "ls"}, '
            '{"host": 5, "command": "ls"}]}',
            ['step 1: unknown host "nope"', "step 1: command is empty", "step 3: host must be"],
            id="every problem is listed",
        ),
        pytest.param(
            '{"steps": [' + ",".join(['{"host": "local", "command": "ls"}'] * 21) + "]}",
            ["21 steps", "at most 20"],
            id="too many steps",
        ),
        pytest.param("x" * (MAX_ANSWER_CHARS + 1), ["characters long"], id="answer too long"),
    ],
)
def test_an_unusable_answer_says_exactly_what_is_wrong(answer: str, says: list[str]) -> None:
    error = parse_plan(answer, hosts=HOSTS, max_steps=20)
    assert isinstance(error, PlanError), error
    for part in says:
        assert part in error.text


def test_a_long_list_of_problems_is_counted_not_listed() -> None:
    answer = json.dumps({"steps": [{"host": "nope", "command": "ls"}] * 10})
    error = parse_plan(answer, hosts=HOSTS, max_steps=20)
    assert isinstance(error, PlanError)
    assert error.text.count("unknown host") == 6
    assert "and 4 more" in error.text


def test_many_braces_stay_cheap() -> None:
    answer = "{" * 50_000 + '{"steps": []}' + "}" * 50_000
    assert parse_plan(answer, hosts=HOSTS, max_steps=20) == plan_of()


def test_deep_nesting_is_not_a_crash() -> None:
    """Nested past what the JSON reader takes: no plan (and no crash), found in bounded time."""
    answer = '{"a":' * 5_000 + "1" + "}" * 5_000 + ' {"steps": []}'
    error = parse_plan(answer, hosts=HOSTS, max_steps=20)
    assert isinstance(error, PlanError)
    assert "No plan found" in error.text


# --- digests --------------------------------------------------------------------------------

BASE = plan_of(Step("web-1", "systemctl restart nginx", "restart", "curl -fsS localhost", "true"))


@pytest.mark.parametrize(
    ("changed", "same"),
    [
        pytest.param(BASE, True, id="same plan"),
        pytest.param(plan_of(*BASE.steps, summary="other words"), True, id="summary is prose"),
        pytest.param(
            plan_of(
                Step(
                    "web-1",
                    "systemctl restart nginx",
                    "other purpose",
                    "curl -fsS localhost",
                    "true",
                )
            ),
            True,
            id="purpose is prose",
        ),
        pytest.param(
            plan_of(
                Step("web-2", "systemctl restart nginx", "restart", "curl -fsS localhost", "true")
            ),
            False,
            id="host",
        ),
        pytest.param(
            plan_of(
                Step("web-1", "systemctl restart nginx ", "restart", "curl -fsS localhost", "true")
            ),
            False,
            id="one space in the command",
        ),
        pytest.param(
            plan_of(Step("web-1", "systemctl restart nginx", "restart", None, "true")),
            False,
            id="verify",
        ),
        pytest.param(
            plan_of(
                Step("web-1", "systemctl restart nginx", "restart", "curl -fsS localhost", None)
            ),
            False,
            id="rollback",
        ),
        pytest.param(
            plan_of(
                Step(
                    "web-1",
                    "systemctl restart nginx",
                    "restart",
                    "curl -fsS localhost",
                    "true",
                    True,
                )
            ),
            False,
            id="parallel",
        ),
        pytest.param(plan_of(*BASE.steps, *BASE.steps), False, id="a step more"),
    ],
)
def test_the_plan_digest_covers_what_runs(changed: Plan, same: bool) -> None:
    assert (plan_digest(changed) == plan_digest(BASE)) is same


def test_the_plan_digest_is_stable_and_version_tagged() -> None:
    digest = plan_digest(BASE)
    assert len(digest) == 64
    assert digest == plan_digest(BASE)
    assert plan_digest(plan_of()) != plan_digest(plan_of(Step("local", "ls")))


def test_wire_steps_carry_command_digests_and_give_the_same_plan_digest() -> None:
    plan = plan_of(Step("web-1", "a", "p", "b", None, True), Step("local", "c"))
    steps = wire_steps(plan)
    assert steps == [
        {
            "step": 1,
            "host": "web-1",
            "command": "a",
            "digest": command_digest("web-1", "a"),
            "verify": "b",
            "verify_digest": command_digest("web-1", "b"),
            "rollback": None,
            "rollback_digest": None,
            "parallel": True,
        },
        {
            "step": 2,
            "host": "local",
            "command": "c",
            "digest": command_digest("local", "c"),
            "verify": None,
            "verify_digest": None,
            "rollback": None,
            "rollback_digest": None,
            "parallel": False,
        },
    ]
    assert steps_digest(steps) == plan_digest(plan)
    assert json.loads(json.dumps(steps)) == steps  # event content: plain JSON


def test_plan_json_is_what_a_reviewer_reads() -> None:
    text = plan_json(plan_of(Step("local", "df -h", "disk"), summary="s"))
    assert json.loads(text) == {
        "summary": "s",
        "steps": [
            {
                "step": 1,
                "host": "local",
                "command": "df -h",
                "purpose": "disk",
                "verify": None,
                "rollback": None,
                "parallel": False,
            }
        ],
    }
    assert parse_plan(text, hosts=HOSTS, max_steps=20) == plan_of(
        Step("local", "df -h", "disk"), summary="s"
    )
