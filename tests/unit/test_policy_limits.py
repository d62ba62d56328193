"""Bounded judging, read as a spec: a command built to make the judge explode (a variable
doubled 40 times, a brace bomb, nesting 500 deep, 10,000 commands in a row) comes back fast,
small, and never ALLOWED: it needs approval because it "is too complex to check", with the
limit named. Under the limits every command is judged as it always was.

`decide()` runs in the bots' process (off the event loop, but sharing its CPU and memory), so
these bounds are what an attacker who can make an agent propose commands can cost it.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bots.errors import ConfigError
from bots.settings.loading import load_settings
from executor.policy import (
    Decision,
    HostPolicy,
    PolicyConfig,
    PolicyConfigError,
    Requester,
    Verdict,
    decide,
)
from executor.policy.limits import DEFAULT_CHECK_SECONDS
from tests.unit import test_policy

F = Verdict.FORBID
A = Verdict.NEEDS_APPROVAL
OK = Verdict.ALLOW
OPERATOR = Requester("@ops:example.org", "operator")
AUTO = PolicyConfig(auto_approve_readonly=True)
TOO_COMPLEX = "too-complex"
SECONDS = 2.0
"""Generous: the time budget is 0.5 s. CPU time of this thread, so a busy machine (the
suite shares its cores) does not fail the test; no timing here is tight."""
PEAK_BYTES = 64 * 1024 * 1024
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "chavion.example.yaml"


# ============================================================================================
# The generators: each makes the input bigger or deeper with n.


def doubling(n: int) -> str:
    """`a=x; a=$a$a; …`: the value doubles n times (the issue's 27 took 5 s and 300 MB)."""
    return "a=x; " + "a=$a$a; " * n + "echo $a"


def brace_bomb(n: int) -> str:
    """`{a,b}` n times: 2^n words."""
    return "echo " + "{a,b}" * n


def brace_range(n: int) -> str:
    return f"echo {{1..{n}}}"


def nested_substitutions(n: int) -> str:
    return "echo " + "$(" * n + "uptime" + ")" * n


def nested_subshells(n: int) -> str:
    return "( " * n + "uptime" + " )" * n


def nested_groups(n: int) -> str:
    return "{ " * n + "uptime; " + "}; " * (n - 1) + "}"


def nested_defaults(n: int) -> str:
    return "echo " + "${a:-" * n + "x" + "}" * n


def nested_eval(n: int) -> str:
    """Code in code: `a2='eval "$a1"'`, n levels deep."""
    levels = ["a0=uptime", *(f"a{k}='eval \"$a{k - 1}\"'" for k in range(1, n + 1))]
    return "; ".join(levels) + f'; eval "$a{n}"'


def eval_fan_out(n: int) -> str:
    """Code that runs itself n times at each of 8 levels: n^8 commands."""
    return "a='" + 'eval "$a"; ' * n + '\'; eval "$a"'


def eval_generated(n: int) -> str:
    return "a='eval echo'; " + 'a="$a $a"; ' * n + "$a"


def chain(n: int) -> str:
    return ":;" * n


def echo_chain(n: int) -> str:
    return "; ".join(f"echo {k}" for k in range(n))


def pipes(n: int) -> str:
    return "|".join([":"] * n)


def case_arms(n: int) -> str:
    return "case x in " + "".join(f"{k}):;;" for k in range(n)) + " esac"


def for_items(n: int) -> str:
    return "for i in " + " ".join(str(k) for k in range(n)) + "; do echo $i; done"


def words(n: int) -> str:
    return "echo " + "x " * n


def unknown_words(n: int) -> str:
    """Each unset `$a` may be empty or anything: 2^n argument lists."""
    return "echo " + "$a " * n


def heredoc(kib: int) -> str:
    return "cat <<EOF\n" + ("x" * 1023 + "\n") * kib + "EOF"


def list_with(last: str, n: int = 300, prefix: str = "") -> str:
    """A brace list of n harmless names, then `last`: past the parser's old cut at 256."""
    return prefix + "{" + ",".join(f"x{k}" for k in range(n)) + f",{last}}}"


Generator = Callable[[int], str]
PATHOLOGICAL: list[tuple[str, Generator, list[int]]] = [
    ("doubling", doubling, [17, 20, 27, 33, 40]),
    ("brace-bomb", brace_bomb, [10, 20, 30, 40]),
    ("brace-range", brace_range, [1001, 100_000_000, 10**30]),
    ("nested-substitutions", nested_substitutions, [40, 100, 500]),
    ("nested-subshells", nested_subshells, [100, 500]),
    ("nested-groups", nested_groups, [50, 500]),
    ("nested-defaults", nested_defaults, [500]),
    ("nested-eval", nested_eval, [8, 20, 100]),
    ("eval-fan-out", eval_fan_out, [10, 50]),
    ("eval-generated", eval_generated, [14, 20, 30]),
    ("chain", chain, [10_001]),
    ("pipes", pipes, [10_001]),
    ("case-arms", case_arms, [10_001]),
    ("words", words, [4096, 10_000]),
    ("unknown-words", unknown_words, [10, 100, 5000]),
    ("heredoc-kib", heredoc, [65, 90]),
]
"""Past a limit: each needs approval as too complex to check (or is forbidden)."""

UNDER_THE_LIMITS: list[tuple[str, Generator, list[int], Verdict]] = [
    ("doubling", doubling, [10, 16], OK),
    ("brace-bomb", brace_bomb, [5, 9], OK),
    ("brace-range", brace_range, [10, 1000], OK),
    ("nested-subshells", nested_subshells, [10, 30], OK),
    ("nested-defaults", nested_defaults, [10], OK),
    ("nested-eval", nested_eval, [1, 7], OK),
    ("echo-chain", echo_chain, [100, 2000], OK),
    ("pipes", pipes, [100, 2000], OK),
    ("case-arms", case_arms, [100, 2000], OK),
    ("for-items", for_items, [100, 15_000], OK),
    ("words", words, [100, 4095], OK),
    ("heredoc-kib", heredoc, [1, 60], OK),
]
"""Big but within every limit: judged as if the limits did not exist."""


def pathological_commands() -> Iterator[tuple[str, str]]:
    """(id, command) of every generated input past a limit (the benchmark reads these too)."""
    for name, make, sizes in PATHOLOGICAL:
        for n in sizes:
            yield f"{name}-{n}", make(n)


def bounded(command: str, config: PolicyConfig = AUTO) -> Decision:
    """Judge `command`, asserting the time and memory bounds on the way."""
    started = time.thread_time()
    decision = decide(command, "web1", OPERATOR, config)
    spent = time.thread_time() - started
    assert spent < SECONDS, f"{spent:.2f} s of CPU for {command[:60]!r}"
    tracemalloc.start()
    try:
        decide(command, "web1", OPERATOR, config)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB for {command[:60]!r}"
    return decision


def assert_too_complex(decision: Decision) -> None:
    assert decision.verdict in (A, F), decision
    if decision.verdict is A:
        assert decision.rule == TOO_COMPLEX, decision
        assert "is too complex to check (limit: " in decision.reason, decision


# ============================================================================================
# Past a limit: needs approval, too complex; within bounds; never a stall.


@pytest.mark.parametrize("command", [pytest.param(c, id=i) for i, c in pathological_commands()])
def test_a_command_past_a_limit_is_too_complex_to_check(command: str) -> None:
    assert_too_complex(bounded(command))


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        pytest.param(make(n), verdict, id=f"{name}-{n}")
        for name, make, sizes, verdict in UNDER_THE_LIMITS
        for n in sizes
    ],
)
def test_a_big_command_within_the_limits_is_judged_normally(command: str, verdict: Verdict) -> None:
    decision = bounded(command)
    assert decision.verdict is verdict, decision
    assert decision.rule != TOO_COMPLEX


@pytest.mark.parametrize(
    ("command", "verdict", "rule", "fragment"),
    [
        # Brace lists were cut at 256 words without a word: the rest was never checked.
        pytest.param(list_with("shadow", prefix="cat /etc/"), A, "change", "/etc/shadow", id="cat"),
        pytest.param(list_with("", prefix="rm -rf /"), F, "recursive-delete", "root", id="rm"),
        # Past the limit it is not cut, it is too complex.
        pytest.param(
            list_with("shadow", n=1200, prefix="cat /etc/"), A, TOO_COMPLEX, "1000 words", id="big"
        ),
    ],
)
def test_a_brace_expansion_is_checked_whole_or_not_at_all(
    command: str, verdict: Verdict, rule: str, fragment: str
) -> None:
    decision = bounded(command)
    assert (decision.verdict, decision.rule) == (verdict, rule), decision
    assert fragment in decision.reason


@pytest.mark.parametrize(
    ("command", "verdict"),
    [
        # What was found before the limit stands: a FORBID still wins.
        pytest.param("rm -rf /; " + doubling(40), F, id="forbidden-first"),
        # After the limit nothing more is read: the rest needs a person, never ALLOW.
        pytest.param(doubling(40) + "; rm -rf /tmp/x", A, id="change-after"),
        pytest.param(doubling(40) + "; uptime", A, id="read-only-after"),
    ],
)
def test_a_limit_never_hides_a_forbid_and_never_allows(command: str, verdict: Verdict) -> None:
    assert bounded(command).verdict is verdict


@pytest.mark.parametrize(
    ("command", "verdict", "rule"),
    [
        # The walk reads a loop's body once; bash runs it until the host's memory runs out.
        pytest.param("a=x; while :; do a=$a$a; done", A, TOO_COMPLEX, id="while"),
        pytest.param('for i in 1 2 3; do a="$a$a"; done', A, TOO_COMPLEX, id="for"),
        pytest.param("until false; do a+=$a; done", A, TOO_COMPLEX, id="append-itself"),
        pytest.param("while :; do rm -rf /; a=$a$a; done", F, "recursive-delete", id="forbid"),
        # Outside a loop the text itself bounds the doubling; growing by a part is linear.
        pytest.param("a=x; a=$a$a; echo $a", OK, "readonly", id="once"),
        pytest.param("for i in 1 2; do a=$a,$i; done; echo $a", OK, "readonly", id="linear"),
    ],
)
def test_a_value_that_doubles_in_a_loop_is_too_complex(
    command: str, verdict: Verdict, rule: str
) -> None:
    decision = bounded(command)
    assert (decision.verdict, decision.rule) == (verdict, rule), decision


# ============================================================================================
# The time budget: CPU time, configurable, and running out is a finding.


def test_running_out_of_time_needs_approval_and_names_the_budget() -> None:
    decision = decide("uptime", "web1", OPERATOR, replace(AUTO, check_seconds=1e-9))
    assert (decision.verdict, decision.rule) == (A, TOO_COMPLEX)
    assert decision.reason.endswith("is too complex to check (limit: 1e-09 s of checking)")


@pytest.mark.parametrize(
    ("config", "requester", "verdict"),
    [
        pytest.param(AUTO, OPERATOR, A, id="operator"),
        pytest.param(AUTO, Requester("@v:example.org", "readonly"), F, id="read-only-level"),
        pytest.param(replace(AUTO, mode="allowlist"), OPERATOR, F, id="allowlist-mode"),
    ],
)
def test_too_complex_is_judged_like_any_approval(
    config: PolicyConfig, requester: Requester, verdict: Verdict
) -> None:
    assert decide(doubling(40), "web1", requester, config).verdict is verdict


def test_the_budget_is_what_cuts_a_long_but_harmless_command() -> None:
    """2,000 commands take about 0.15 s of CPU: within the default budget, not within 1 ms."""
    command = echo_chain(2000)
    assert decide(command, "web1", OPERATOR, AUTO).verdict is OK
    hurried = decide(command, "web1", OPERATOR, replace(AUTO, check_seconds=0.001))
    assert (hurried.verdict, hurried.rule) == (A, TOO_COMPLEX)
    assert "limit: 0.001 s of checking" in hurried.reason


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_the_budget_must_be_a_positive_number_of_seconds(seconds: float) -> None:
    with pytest.raises(PolicyConfigError, match="check_seconds"):
        PolicyConfig(check_seconds=seconds)


def test_the_budget_has_a_default_and_survives_host_overrides() -> None:
    assert PolicyConfig().check_seconds == DEFAULT_CHECK_SECONDS == 0.5
    config = PolicyConfig(check_seconds=2.0, hosts={"web*": HostPolicy(mode="allowlist")})
    assert config.for_host("web1").check_seconds == 2.0
    assert config.for_host("db1").check_seconds == 2.0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param("", DEFAULT_CHECK_SECONDS, id="left-out"),
        pytest.param("    check_seconds: 2\n", 2.0, id="whole-seconds"),
        pytest.param("    check_seconds: 0.25\n", 0.25, id="fraction"),
        pytest.param("    check_seconds: 0\n", "execution.policy: check_seconds", id="zero"),
        pytest.param("    check_seconds: soon\n", "check_seconds", id="not-a-number"),
    ],
)
def test_the_budget_is_read_from_the_config_file(
    tmp_path: Path, line: str, expected: float | str
) -> None:
    text = EXAMPLE_CONFIG.read_text()
    anchor = "    check_seconds: 0.5\n"  # the example's own line, replaced (or left out)
    assert text.count(anchor) == 1
    path = tmp_path / "chavion.yaml"
    path.write_text(text.replace(anchor, line))
    if isinstance(expected, float):
        assert load_settings(path).execution.policy.check_seconds == expected
    else:
        with pytest.raises(ConfigError, match=expected):
            load_settings(path)


# ============================================================================================
# Under the limits, nothing changes: the whole everyday and dangerous corpus of test_policy.


def policy_table_commands() -> list[str]:
    """Every command string test_policy.py's parametrized tests hand to `decide`."""
    commands: list[str] = []
    for test in vars(test_policy).values():
        for mark in getattr(test, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            names = mark.args[0]
            names = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
            if "command" not in names:
                continue
            index = list(names).index("command")
            for value in mark.args[1]:
                values = getattr(value, "values", value)
                command = values[index] if len(names) > 1 else values
                if isinstance(command, str) and command not in commands:
                    commands.append(command)
    return commands


def test_the_corpus_is_read_whole() -> None:
    assert len(policy_table_commands()) > 900


def test_no_command_of_the_existing_corpus_is_too_complex() -> None:
    """Each is judged the same with the default budget as with an hour: the limits and the
    budget never decide an everyday or a dangerous command of the corpus."""
    unhurried = replace(AUTO, check_seconds=3600)
    for command in policy_table_commands():
        decision = decide(command, "web1", OPERATOR, AUTO)
        assert decision.rule != TOO_COMPLEX, (command, decision)
        assert decision == decide(command, "web1", OPERATOR, unhurried), command
