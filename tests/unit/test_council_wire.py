"""An agent's side of the task wire, pure: asks read, reasons and declarations found, answers
written, and every stage's prompt rendered."""

from __future__ import annotations

from typing import Any

import pytest

from bots.agents.conversation import KOREAN
from bots.agents.council_prompts import (
    TASK_LANGUAGE,
    Speaker,
    ballot,
    host_lines,
    language_of,
    stage_prompt,
    stage_variables,
)
from bots.agents.council_wire import (
    STAGES,
    CouncilAsk,
    Where,
    answer_object,
    answer_replies,
    declared_commands,
    declared_verdict,
    failure_reason,
    poll_thread_root,
    read_ask,
    vote_reason,
)
from bots.errors import ConfigError
from bots.ids import EventID, RoomID
from bridge.errors import ProviderError
from bridge.llm.base import FailureKind, MissingCredentials, ProviderRequestError, Usage
from executor.hosts import HostConfig

GOOD: dict[str, Any] = {
    "v": 1,
    "kind": "ask",
    "task": 12,
    "ask": "t12-propose-1",
    "stage": "propose",
    "agents": ["claude", "gpt"],
    "deadline_ms": 1_700_000_000_000,
    "mission": "report disk usage of local",
    "context": {},
}


# ---- reading an ask ------------------------------------------------------------------------


def test_a_good_ask_is_read_as_sent() -> None:
    assert read_ask(GOOD) == CouncilAsk(
        task=12,
        ask="t12-propose-1",
        stage="propose",
        agents=("claude", "gpt"),
        mission="report disk usage of local",
        deadline_ms=1_700_000_000_000,
        context={},
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param({"kind": "answer"}, "is no ask", id="an answer"),
        pytest.param({"kind": None}, "is no ask", id="no kind"),
        pytest.param({"v": 2}, "wire version 2", id="a later wire version"),
        pytest.param({"task": "12"}, "task is not a positive number", id="task as text"),
        pytest.param({"task": 0}, "task is not a positive number", id="task zero"),
        pytest.param({"task": True}, "task is not a positive number", id="task a boolean"),
        pytest.param(
            {"task": -1, "stage": "minutes"}, "task is not a positive number", id="minutes of -1"
        ),
        pytest.param({"ask": ""}, "ask is not a non-empty string", id="empty ask id"),
        pytest.param({"stage": "execute"}, "stage 'execute' is unknown", id="unknown stage"),
        pytest.param({"agents": "claude"}, "agents is not a list", id="agents a string"),
        pytest.param({"agents": [1]}, "agents is not a list", id="agents not names"),
        pytest.param({"mission": 5}, "mission is not a string", id="mission a number"),
        pytest.param({"deadline_ms": "soon"}, "deadline_ms is not a number", id="deadline text"),
        pytest.param({"context": []}, "context is not an object", id="context a list"),
    ],
)
def test_a_malformed_ask_says_what_is_wrong(change: dict[str, Any], why: str) -> None:
    refusal = read_ask({**GOOD, **change})
    assert isinstance(refusal, str)
    assert why in refusal


POLL_ASK = {
    **GOOD,
    "task": 0,
    "poll": 3,
    "ask": "p3-vote",
    "stage": "poll",
    "mission": "Which database?",
    "context": {"options": [{"key": "A", "text": "PostgreSQL"}]},
}


def test_the_masters_poll_is_an_ask_of_no_task() -> None:
    ask = read_ask(POLL_ASK)
    assert isinstance(ask, CouncilAsk)
    assert (ask.task, ask.poll, ask.stage, ask.ask) == (0, 3, "poll", "p3-vote")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param({"poll": None}, "poll is not a positive number", id="no poll number"),
        pytest.param({"poll": "3"}, "poll is not a positive number", id="poll as text"),
        pytest.param({"task": 12}, "task of a poll is not 0", id="a poll of a task"),
        pytest.param({"stage": "vote"}, "task is not a positive number", id="a vote of no task"),
    ],
)
def test_a_malformed_poll_ask_says_what_is_wrong(change: dict[str, Any], why: str) -> None:
    refusal = read_ask({**POLL_ASK, **change})
    assert isinstance(refusal, str)
    assert why in refusal


def test_a_poll_answer_names_its_poll() -> None:
    ask = read_ask(POLL_ASK)
    assert isinstance(ask, CouncilAsk)
    council = answer_object(ask, status="ok", model="m", extra={"choice": "A"})
    assert (council["stage"], council["poll"], council["task"], council["choice"]) == (
        "poll",
        3,
        0,
        "A",
    )
    assert "poll" not in answer_object(read_ask(GOOD), status="ok", model="m")  # type: ignore[arg-type]


def test_the_minutes_of_a_discussion_are_asked_without_a_task() -> None:
    ask = read_ask({**GOOD, "task": 0, "stage": "minutes", "ask": "d1-minutes"})
    assert isinstance(ask, CouncilAsk)
    assert (ask.task, ask.stage) == (0, "minutes")


def test_optional_fields_may_be_left_out() -> None:
    ask = read_ask({k: v for k, v in GOOD.items() if k not in ("v", "deadline_ms", "context")})
    assert isinstance(ask, CouncilAsk)
    assert (ask.deadline_ms, dict(ask.context)) == (None, {})


def test_no_council_object_is_no_ask() -> None:
    assert read_ask(None) == "no council object"


# ---- what went wrong -----------------------------------------------------------------------


def failed(kind: FailureKind, status: int | None = None) -> ProviderRequestError:
    return ProviderRequestError(f"GPT: a long sentence about {kind}", kind=kind, status=status)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(failed("quota", 429), "quota exhausted", id="quota"),
        pytest.param(failed("rate_limited", 429), "rate limited", id="rate limit"),
        pytest.param(failed("timeout"), "timed out after 60 s", id="timeout"),
        pytest.param(failed("other"), "request failed", id="anything else"),
        pytest.param(failed("server_error", 502), "server error (502)", id="server error"),
        pytest.param(failed("overloaded", 529), "overloaded", id="overloaded"),
        pytest.param(failed("auth", 401), "API key rejected", id="auth"),
        pytest.param(failed("connection"), "connection failed", id="connection"),
        pytest.param(failed("not_found", 404), "model not found", id="no such model"),
        pytest.param(failed("interrupted"), "answer broke off", id="broke off"),
        pytest.param(ProviderError("GPT: no model"), "GPT: no model", id="plain provider error"),
    ],
)
def test_a_provider_failure_is_a_short_real_reason(error: ProviderError, reason: str) -> None:
    assert failure_reason(error, timeout_s=60.0) == reason


def test_a_missing_key_names_itself() -> None:
    from bridge.llm.base import ProviderSettings

    error = MissingCredentials(ProviderSettings(kind="openai", model="gpt-4.1", display_name="GPT"))
    assert failure_reason(error, 60.0) == "GPT has no API key for OpenAI"


# ---- what the model declared ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ("Run df -h.\n\nCOMMANDS: yes", True),
        ("Just an essay.\nCOMMANDS: no", False),
        ("**COMMANDS:** yes", True),
        ("commands: No.", False),
        ("COMMANDS: no\n...on second thought\nCOMMANDS: yes", True),
        ("답변입니다.\nCOMMANDS: 아니오", False),
        ("No line at all.", None),
        ("COMMANDS: maybe", None),
    ],
)
def test_a_proposal_says_whether_it_needs_commands(text: str, commands: bool | None) -> None:
    assert declared_commands(text) is commands


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Looks fine.\nVERDICT: approve", "approve"),
        ("Deletes /var/lib.\nVERDICT: **reject**", "reject"),
        ("verdict: Approved.", "approve"),
        ("위험합니다.\nVERDICT: 거절", "reject"),
        ("No verdict given.", None),
    ],
)
def test_a_review_ends_with_a_verdict(text: str, verdict: str | None) -> None:
    assert declared_verdict(text) == verdict


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("VOTE: B\nREASON: It reads before it writes.", "It reads before it writes."),
        ("**VOTE:** B\n**REASON:** Safer.", "Safer."),
        ("VOTE: B\nBecause it is simpler.", "Because it is simpler."),
        ("투표: B\n이유: 더 안전합니다.", "더 안전합니다."),
        ("B", "B"),
        ("VOTE: B", ""),
        ("REASON: " + "x" * 400, "x" * 299 + "…"),
    ],
)
def test_a_vote_reason_is_one_line(text: str, reason: str) -> None:
    assert vote_reason(text) == reason


@pytest.mark.parametrize(
    ("content", "root"),
    [
        ({"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}, "$root"),
        ({"m.relates_to": {"rel_type": "m.reference", "event_id": "$x"}}, None),
        ({"m.relates_to": "junk"}, None),
        ({}, None),
    ],
)
def test_a_poll_is_answered_in_its_thread(content: dict[str, Any], root: str | None) -> None:
    assert poll_thread_root(content) == root


# ---- the answer ----------------------------------------------------------------------------

WHERE = Where(RoomID("!r:hs"), EventID("$root"), EventID("$ask"), "$ask")
ASK = CouncilAsk(12, "t12-propose-1", "propose", ("gpt",), "report disk usage")


def test_an_answer_carries_its_ask_status_and_usage() -> None:
    council = answer_object(
        ASK, status="ok", model="gpt-4.1", usage=Usage(100, 20), cost_usd=0.00036
    )
    [reply] = answer_replies("#12 💡 Use df -h.", WHERE, council)
    assert reply.body == "#12 💡 Use df -h."
    assert (reply.thread_root, reply.reply_to, reply.notice) == ("$root", "$ask", False)
    assert reply.council == {
        "v": 1,
        "kind": "answer",
        "task": 12,
        "ask": "t12-propose-1",
        "stage": "propose",
        "status": "ok",
        "usage": {"input_tokens": 100, "output_tokens": 20, "cost_usd": 0.00036},
        "model": "gpt-4.1",
    }


def test_a_failure_is_a_notice_with_its_reason() -> None:
    council = answer_object(ASK, status="failed", model="gpt-4.1", reason="quota exhausted")
    [reply] = answer_replies("#12 💡 ⚠️ Proposal failed: quota exhausted.", WHERE, council)
    assert reply.notice
    assert reply.council is not None
    assert (reply.council["status"], reply.council["reason"]) == ("failed", "quota exhausted")
    assert reply.council["usage"] == {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}


def test_a_long_answer_is_split_and_every_part_carries_the_council_object() -> None:
    text = "\n\n".join(f"Paragraph {n}: " + "disk usage " * 60 for n in range(60))
    council = answer_object(ASK, status="ok", model="gpt-4.1")
    replies = answer_replies(f"#12 💡 {text}", WHERE, council)
    assert len(replies) > 1
    assert replies[0].body.startswith("#12 💡 Paragraph 0")
    assert [r.council and (r.council["part"], r.council["parts"]) for r in replies] == [
        (n, len(replies)) for n in range(1, len(replies) + 1)
    ]
    assert all(r.council and r.council["ask"] == "t12-propose-1" for r in replies)
    assert [r.notice for r in replies] == [False] + [True] * (len(replies) - 1)
    assert len({r.key for r in replies}) == len(replies)
    assert "Paragraph 59" in replies[-1].body


# ---- prompts -------------------------------------------------------------------------------

CONTEXTS: dict[str, dict[str, Any]] = {
    "propose": {},
    "vote": {
        "options": [
            {"key": "A", "text": "Run df -h on local."},
            {"key": "B", "text": "Run du -sh /var on local."},
        ],
        "own": {"gpt": "A", "claude": "B"},
    },
    "plan": {
        "proposal": "Run df -h on local.",
        "others": ["Run du -sh /var."],
        "hosts": {"local": "this machine", "web-1": "the nginx box"},
        "denied": "not on web-1",
    },
    "review": {
        "plan": {"steps": [{"host": "local", "command": "df -h"}]},
        "verdicts": [{"step": 1, "verdict": "read-only", "reason": "df only reads"}],
    },
    "fix": {
        "plan": {"steps": [{"host": "local", "command": "df -h /nope"}]},
        "failed_step": 1,
        "output": "df: /nope: No such file or directory",
        "attempt": 2,
    },
    "refine": {"proposal": "Disks are fine.", "others": ["Disks look fine."]},
    "split": {
        "agents": [
            {"name": "claude", "display": "Claude", "role": "writer"},
            {"name": "perplexity", "display": "Perplexity", "role": "research"},
        ],
        "max_parts": 4,
        "error": "The split has only 1 part",
    },
    "part": {
        "part": {"n": 2, "title": "Analyse the prices", "detail": "", "commands": False},
        "total": 3,
        "parts": ["Search the prices", "Analyse the prices", "Write it up"],
    },
    "merge": {
        "parts": [{"n": 1, "title": "Search", "agent": "Perplexity", "result": "a: $3"}],
        "missing": [{"n": 2, "title": "Analyse", "why": "no answer within 5 min"}],
        "commands": False,
    },
    "poll": {
        "options": [
            {"key": "A", "text": "PostgreSQL"},
            {"key": "B", "text": "SQLite"},
            {"key": "C", "text": "MySQL"},
        ]
    },
    "minutes": {"facts": ["Proposals:", "- Claude (A): Run df -h.", "Decision: GPT's (B)"]},
    "critique": {
        "options": [
            {"key": "A", "text": "Run df -h on local."},
            {"key": "B", "text": "Run du -sh /var on local."},
            {"key": "C", "text": "Check df -i too."},
        ],
        "own": {"gpt": "A"},
    },
    "revise": {
        "options": [
            {"key": "A", "text": "Run df -h on local."},
            {"key": "B", "text": "Run du -sh /var on local."},
        ],
        "own": {"gpt": "A"},
        "critiques": {
            "A": [{"by": "Claude", "text": "misses the inodes"}],
            "B": [{"by": "GPT", "text": "slow"}],
        },
    },
}
HEADING: dict[str, str] = {"poll": "# Poll #3: Master asks the council"}
"""How a stage's prompt starts when it is not "# Task #12" (the master's poll has no task)."""
MUST_SAY: dict[str, tuple[str, ...]] = {
    "propose": ("report disk usage of local", "COMMANDS: yes", "COMMANDS: no", "`local`"),
    "vote": (
        "Option A (your own proposal: you may not vote for it)",
        "Run du -sh /var on local.",
        "VOTE:",
        "REASON:",
    ),
    "plan": (
        "Run df -h on local.",
        "Run du -sh /var.",
        '"steps"',
        '"host": "local"',
        '"verify"',
        '"rollback"',
        '"parallel"',
        "`web-1`: the nginx box",
        "Master denied your previous plan: not on web-1",
    ),
    "review": ('"command": "df -h"', "step 1: read-only — df only reads", "VERDICT: reject"),
    "fix": (
        "Step 1 failed",
        "No such file or directory",
        "attempt 2",
        '"rollback"',
        '"parallel"',
        "`local`: this machine",
    ),
    "refine": ("Disks are fine.", "Disks look fine.", "final answer"),
    "split": (
        "# Task #12: split the task",
        "- `perplexity` (Perplexity): research",
        "2 to 4 parts",
        "could not be used: The split has only 1 part",
        '"parts"',
        '"merger"',
        "`local`",
    ),
    "part": ("# Task #12: your part", "2. Analyse the prices (yours)", "3. Write it up"),
    "merge": (
        "# Task #12: merge the parts",
        "--- Part 1: Search (by Perplexity)\na: $3",
        "- Part 2: Analyse — no answer within 5 min",
        "which parts are missing",
    ),
    "poll": ("report disk usage of local", "A. PostgreSQL", "C. MySQL", "VOTE:", "REASON:"),
    "minutes": ("- Claude (A): Run df -h.", "Decision: GPT's (B)", "the minutes", "scribe"),
    "critique": (
        "# Task #12: critique the proposals",
        "## Option A (your own proposal: do not critique it)",
        "Run du -sh /var on local.",
        "B: <its main weakness",
        "C: <its main weakness",
    ),
    "revise": (
        "# Task #12: revise your proposal",
        "Your proposal (option A):\n\nRun df -h on local.",
        "- Claude: misses the inodes",
        "## Option B\n\nRun du -sh /var on local.",
        "KEEP",
        "REVISED",
        "COMMANDS: no",
    ),
}


def speaker(language: str = TASK_LANGUAGE) -> Speaker:
    return Speaker("gpt", "GPT", "judging", "Master", language)


def ask_at(stage: str, mission: str = "m") -> CouncilAsk:
    """An ask of `stage` with its context; the master's poll is poll 3, of no task (0)."""
    if stage == "poll":
        return CouncilAsk(0, "p3-vote", "poll", ("gpt",), mission, context=CONTEXTS[stage], poll=3)
    return CouncilAsk(12, f"t12-{stage}-1", stage, ("gpt",), mission, context=CONTEXTS[stage])  # type: ignore[arg-type]


def render(
    stage: str, *, self_vote: bool = False, mission: str = "report disk usage of local"
) -> str:
    ask = ask_at(stage, mission)
    hosts = host_lines(ask.context.get("hosts"), {"local": HostConfig("local")})
    variables = stage_variables(
        ask, speaker(language_of(mission)), hosts=hosts, self_vote=self_vote, text_tokens=4000
    )
    return stage_prompt(variables, stage)


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_renders_what_it_must_say(stage: str) -> None:
    prompt = render(stage)
    assert prompt.startswith(HEADING.get(stage, "# Task #12"))
    for phrase in MUST_SAY[stage]:
        assert phrase in prompt, phrase
    assert "\n\n\n" not in prompt


@pytest.mark.parametrize("stage", STAGES)
def test_a_korean_mission_is_answered_in_korean(stage: str) -> None:
    assert "Korean" in render(stage, mission="local 서버의 디스크 사용량을 알려줘")


def test_an_english_mission_asks_for_its_own_language() -> None:
    assert language_of("report disk usage") == TASK_LANGUAGE
    assert language_of("디스크 사용량") == KOREAN


def test_a_vote_with_self_votes_allowed_does_not_forbid_the_own_option() -> None:
    prompt = render("vote", self_vote=True)
    assert "Option A (your own proposal)" in prompt
    assert "may not vote" not in prompt


def test_a_critique_prompt_asks_no_line_for_the_own_option() -> None:
    assert "A: <its main weakness" not in render("critique")
    assert "slow" not in render("revise"), "only the critiques of the own option"


def test_the_vote_shows_the_critiques_under_each_option() -> None:
    context = {**CONTEXTS["vote"], "critiques": {"B": ["too slow on big disks", "no rollback"]}}
    ask = CouncilAsk(12, "t12-vote-1", "vote", ("gpt",), "m", context=context)
    variables = stage_variables(ask, speaker(), hosts=[], self_vote=False, text_tokens=4000)
    prompt = stage_prompt(variables, "vote")
    assert (
        "Run du -sh /var on local.\n\nCritiques of option B:\n\n- too slow on big disks\n"
        "- no rollback" in prompt
    )
    assert "Critiques of option A" not in prompt


def test_a_close_vote_asks_the_planner_to_take_in_the_runners_up_with_credits() -> None:
    hybrid = [{"key": "B", "author": "Gemini", "text": "Add a backup first."}]
    context = {**CONTEXTS["plan"], "hybrid": hybrid}
    ask = CouncilAsk(12, "t12-plan-1", "plan", ("gpt",), "m", context=context)
    variables = stage_variables(ask, speaker(), hosts=[], self_vote=False, text_tokens=4000)
    prompt = stage_prompt(variables, "plan")
    assert "--- Option B (Gemini)\n\nAdd a backup first." in prompt
    assert '"credits": [{"from": "<option letter>"' in prompt
    assert '"credits"' not in render("plan"), "no hybrid, no credits asked"


def test_the_ballot_marks_only_the_voters_own_option() -> None:
    ask = CouncilAsk(12, "t12-vote-1", "vote", ("gpt",), "m", context=CONTEXTS["vote"])
    assert [(b.key, b.own, b.author) for b in ballot(ask, "gpt")] == [
        ("A", True, "gpt"),
        ("B", False, ""),
    ]
    assert [b.own for b in ballot(ask, "gemini")] == [False, False]


def test_hosts_come_from_the_ask_else_from_the_executors_config() -> None:
    configured = {
        "local": HostConfig("local"),
        "web-1": HostConfig("web-1", address="10.0.0.5", user="deploy", workdir="/srv"),
    }
    assert [(h.name, h.description) for h in host_lines(None, configured)] == [
        ("local", "this machine"),
        ("web-1", "deploy@10.0.0.5 (in /srv)"),
    ]
    assert [h.name for h in host_lines({"db": "postgres"}, configured)] == ["db"]


def test_long_material_is_cut_in_the_middle_to_fit() -> None:
    context = {"proposal": "START " + "word " * 20_000 + " END", "others": []}
    ask = CouncilAsk(12, "t12-plan-1", "plan", ("gpt",), "m", context=context)
    variables = stage_variables(ask, speaker(), hosts=[], self_vote=False, text_tokens=1000)
    proposal = variables["proposal"]
    assert proposal.startswith("START")
    assert proposal.endswith("END")
    assert "characters cut from the middle" in proposal
    assert len(proposal) < 10_000


@pytest.mark.parametrize("stage", STAGES)
def test_a_variable_left_out_is_an_error_not_a_blank(stage: str) -> None:
    variables = stage_variables(
        ask_at(stage),
        speaker(),
        hosts=[],
        self_vote=False,
        text_tokens=4000,
    )
    del variables["mission"]
    with pytest.raises(ConfigError, match=f"{stage}.md.j2: 'mission' is undefined"):
        stage_prompt(variables, stage)


def test_the_scribe_reads_a_discussion_as_its_transcript() -> None:
    lines = ["Master: shall we move to Caddy?", "Claude: yes, it renews certificates itself"]
    ask = CouncilAsk(0, "d1-minutes", "minutes", ("gpt",), "minutes", context={"discussion": lines})
    variables = stage_variables(ask, speaker(), hosts=[], self_vote=False, text_tokens=4000)
    prompt = stage_prompt(variables, "minutes")
    assert prompt.startswith("# The minutes of a discussion")
    assert "\n".join(lines) in prompt
