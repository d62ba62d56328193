"""The decision: `decide` judges a command for a host and a requester, and fails closed.

It parses the command, lets the analyzer walk it, then turns findings and facts into one
verdict under the config's mode (blocklist/allowlist), the requester's level and the host's
auto-approval of read-only commands.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from executor import shell
from executor.policy.analyzer import Analyzer, Handler
from executor.policy.checks import CHECKS
from executor.policy.config import PolicyConfig
from executor.policy.interpreters import CODE_RUNNERS
from executor.policy.limits import TooComplex
from executor.policy.model import LEVELS, Decision, Requester, Verdict
from executor.policy.patterns import match_words, pattern_words
from executor.policy.registry import Registry
from executor.policy.values import quote
from executor.policy.wrappers import WRAPPERS
from executor.shell import Script, ShellSyntaxError
from executor.shell.cursor import MAX_NESTING

HANDLERS: Registry[Handler] = Registry.merged(WRAPPERS, CODE_RUNNERS)
"""Every command that runs other commands, by name."""


def decide(
    command: str, host: str, requester: Requester, config: PolicyConfig | None = None
) -> Decision:
    """Judge `command` for running on `host` at `requester`'s request.

    Pure and fail-closed: any error while judging yields FORBID, never ALLOW. Bounded: a
    command too big or too slow to check (see `limits`) needs approval, with the limit named.
    """
    try:
        return _decide(command, host, requester, config or PolicyConfig())
    except Exception as exc:  # fail closed, whatever went wrong
        return Decision(
            Verdict.FORBID,
            f"forbidden: the policy could not check this command ({type(exc).__name__}); "
            "nothing was run",
            "internal-error",
        )


_MAX_CHARS = 100_000


def _decide(command: str, host: str, requester: Requester, config: PolicyConfig) -> Decision:
    if not isinstance(command, str):
        return Decision(Verdict.FORBID, "forbidden: the command is not text", "invalid")
    if len(command) > _MAX_CHARS:
        return Decision(
            Verdict.FORBID,
            f"forbidden: the command is {len(command)} characters long, too long to check "
            f"(the limit is {_MAX_CHARS})",
            "too-long",
        )
    if "\x00" in command:
        return Decision(Verdict.FORBID, "forbidden: the command contains a NUL byte", "invalid")
    if not command.strip():
        return Decision(Verdict.FORBID, "forbidden: there is no command to run", "empty")
    if requester.level not in LEVELS:
        return Decision(
            Verdict.FORBID,
            f"forbidden: {requester.user_id} has the unknown permission level {requester.level!r}",
            "unknown-level",
        )
    cfg = config.for_host(host)
    analyzer = Analyzer(cfg, HANDLERS, CHECKS)
    hidden = hidden_characters(command)
    if hidden:
        analyzer.note_approval(
            "hidden-characters",
            f"needs approval: the command contains invisible or control characters ({hidden}) "
            "that can hide what it really does",
        )
    script: Script | None
    try:
        script = shell.parse(command)
    except RecursionError:  # the parser follows `${a:-${a:-…}}` by recursion
        _cut_off(analyzer, command, "the depth of nesting the parser can follow")
        return _verdict(analyzer, cfg, command, host, requester)
    except ShellSyntaxError as exc:
        if exc.message == _TOO_DEEP:
            analyzer.too_complex(command, f"{MAX_NESTING} levels of nesting")
        else:
            analyzer.note_approval(
                "unparseable",
                f"needs approval: the command can't be parsed reliably ({exc.message}), "
                "so a person has to check it",
            )
        try:
            script = shell.parse(command, lenient=True)
        except (ShellSyntaxError, RecursionError):
            script = None
    if script is not None:
        if not script.items and not analyzer.findings:
            return Decision(Verdict.FORBID, "forbidden: there is no command to run", "empty")
        try:
            analyzer.run(script)
        except TooComplex as exc:
            _cut_off(analyzer, command, exc.limit)
        except RecursionError:
            _cut_off(analyzer, command, "the depth of nested code Python can follow")
    decision = _verdict(analyzer, cfg, command, host, requester)
    if analyzer.warnings and decision.verdict is Verdict.NEEDS_APPROVAL:
        decision = replace(decision, warnings=tuple(analyzer.warnings))
    return decision


_TOO_DEEP = "commands are nested too deeply to check"
"""The parser's message when input nests deeper than MAX_NESTING."""


def _cut_off(analyzer: Analyzer, command: str, limit: str) -> None:
    """The walk stopped at a limit: what it found so far stands (a FORBID still wins), and the
    reason a person reads first is the limit, since the rest was never checked."""
    before = len(analyzer.findings)
    analyzer.too_complex(command, limit)
    if len(analyzer.findings) > before:
        analyzer.findings.insert(0, analyzer.findings.pop())


def _verdict(
    analyzer: Analyzer, cfg: PolicyConfig, command: str, host: str, requester: Requester
) -> Decision:
    findings = analyzer.findings
    for f in findings:
        if f.verdict is Verdict.FORBID:
            return f
    approvals = [f for f in findings if f.verdict is Verdict.NEEDS_APPROVAL]
    changes = [f for f in analyzer.facts if f.problem is not None]
    if cfg.mode == "allowlist":
        if approvals:
            return Decision(
                Verdict.FORBID,
                f"forbidden on {host} (allowlist mode): {_bare(approvals[0].reason)}",
                "allowlist",
            )
        patterns = [pattern_words(p) for p in cfg.allowlist]
        for fact in changes:
            argv = [(a.value, a.dynamic) for a in fact.argv]
            if not any(match_words(words, argv) for words in patterns):
                return Decision(
                    Verdict.FORBID,
                    f"forbidden: {quote(fact.text)} is not on the allowlist for {host}",
                    "allowlist",
                )
    if requester.level == "readonly":
        if approvals:
            return Decision(
                Verdict.FORBID,
                f"forbidden: {requester.user_id} may only run read-only commands, and "
                f"{_bare(approvals[0].reason)}",
                "level",
            )
        if changes:
            fact = changes[0]
            return Decision(
                Verdict.FORBID,
                f"forbidden: {requester.user_id} may only run read-only commands; "
                f"{quote(fact.text)} {fact.problem}",
                "level",
            )
    if approvals:
        return approvals[0]
    if changes:
        fact = changes[0]
        return Decision(
            Verdict.NEEDS_APPROVAL, f"needs approval: {quote(fact.text)} {fact.problem}", "change"
        )
    if not cfg.auto_approve_readonly:
        return Decision(
            Verdict.NEEDS_APPROVAL,
            f"needs approval: {quote(command)} only reads, but {host} does not auto-approve "
            "read-only commands",
            "readonly-manual",
        )
    return Decision(
        Verdict.ALLOW, f"allowed: {quote(command)} only reads (auto-approved)", "readonly"
    )


def _bare(reason: str) -> str:
    for prefix in ("needs approval: ", "forbidden: "):
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason


def hidden_characters(text: str) -> str:
    found: list[str] = []
    for ch in text:
        if ch in "\t\n":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            name = f"U+{ord(ch):04X}"
            if name not in found:
                found.append(name)
    return ", ".join(found[:3]) + (" …" if len(found) > 3 else "")
