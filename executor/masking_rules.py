"""The line-local rules of `executor.masking`: configured secrets, key formats, credential
settings and options, URL passwords, NUL-separated environments.

Every rule works within one line and changes nothing outside what it hides, so masking a line
in parts (where `StreamMasker` finds the parts equal the whole) or whole gives one result.
A rule is skipped when none of its needles is in the lower-cased text: most output lines hold
no credential, and the needle test costs microseconds where a regex scan costs a millisecond.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Callable
from functools import lru_cache
from itertools import islice
from urllib.parse import quote, quote_plus

from executor.key_formats import KEY_FORMATS

MASK = "[masked]"

# A masked value consists of token characters only: no whitespace (so no rule reaches across
# a line break) and nothing a shell reads as syntax, so hiding it never hides a command. NUL
# separates the variables of `/proc/PID/environ`, so it ends a value too.
_SHELL = r"\s\x00$(){};|&<>`'\"\\"
_CREDENTIAL_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credentials?|auth"
)
_CREDENTIAL_KEY = re.compile(rf"(?i){_CREDENTIAL_WORDS}")
_AUTH_SCHEMES = {"bearer", "basic", "token", "digest", "bot", MASK}

Rule = tuple[tuple[str, ...], re.Pattern[str], str | Callable[[re.Match[str]], str]]
"""(needles, pattern, replacement): a needle, looked up in the lower-cased text, is part of
every match, so the rule is skipped cheaply on the many lines it cannot apply to."""


def _mask_url_password(match: re.Match[str]) -> str:
    """scheme://user:password@host: the password may hold any character but whitespace,
    quotes and grouping syntax (`#$;@/` included); the last `@` before the host ends it. A
    colon followed by digits and a path is a port (`host:8080/p?to=a@b`), not a password."""
    if re.match(r"\d{1,5}[/?#]", match.group(2)):
        return match.group(0)
    return f"{match.group(1)}{MASK}@"


def _mask_env_field(match: re.Match[str]) -> str:
    """A `NAME=value` field of a NUL-separated list (`/proc/PID/environ`, where a NUL ends
    every variable, the last too): a credential's whole value is hidden, spaces and quotes
    included (a NUL never reaches a command). A field no NUL ends is left to the setting
    rule, which stops at the first space: it may be a line that continues."""
    if match.string[match.end() : match.end() + 1] != "\x00":
        return match.group(0)
    return f"{match.group(1)}={MASK}" if match.group(2) else match.group(0)


def _key_needles() -> tuple[str, ...]:
    return tuple(prefix for key in KEY_FORMATS for prefix in key.prefixes)


_WORDY = tuple(prefix for key in KEY_FORMATS if key.wordy for prefix in key.prefixes)


def _mask_key(match: re.Match[str]) -> str:
    """A token of a known format. Where the format's body may be dash-joined words, only
    one with a digit or a capital in it: real keys are random, `sk-learn-compatible-x` is
    not."""
    token = match.group(0)
    if token.lower().startswith(_WORDY):
        body = token.split("-", 1)[-1]
        if not any(c.isdigit() or c.isupper() for c in body):
            return token
    return MASK


# Options of command-line tools that take a password in a way no generic rule sees.
_CLI_NEEDLES = ("mysql", "mariadb", "curl", "redis-cli", "sshpass", "htpasswd")
_CLI_TOOL = re.compile(r"(mysql\w*|mariadb[\w\-]*|curl|redis-cli|sshpass|htpasswd)(?![\w.\-])")
_CLI_BEFORE = re.compile(r"[\w.\-]")
_CLI_END = re.compile(r"[;&|\r\n\x00]")
_CLI_WORD = re.compile(r"\S+")
_REST_OF_WORD = re.compile(r"\S*")
_TOKEN = re.compile(rf"[^{_SHELL}]+")


def _value_span(word: str, at: int) -> tuple[int, int] | None:
    """Where the value in `word` from `at` is, inside quotes if quoted (`-p'x'`, `'-px'`);
    None unless it is made of token characters (a `$VAR` or `$(...)` is shown: it is no
    secret value)."""
    end = len(word)
    if end - at >= 2 and word[at] in "'\"" and word[-1] == word[at]:
        at, end = at + 1, end - 1
    elif at > 0 and end >= 2 and word[0] in "'\"" and word[-1] == word[0]:
        end -= 1
    return (at, end) if at < end and _TOKEN.fullmatch(word, at, end) else None


def _unquoted(word: str) -> str:
    """The word without the quote it opens with (`'-px'` -> `-px'`), to read its option."""
    return word[1:] if word[:1] in ("'", '"') else word


def _cli_tool_spans(text: str, tool: re.Match[str], end: int) -> list[tuple[int, int]]:
    """The password spans of one tool name, reading its first words up to `end`."""
    words = list(islice(_CLI_WORD.finditer(text, tool.end(), end), _CLI_WORDS))
    return _cli_spans(tool.group(1), words)


def _cli_spans(tool: str, words: list[re.Match[str]]) -> list[tuple[int, int]]:
    """The spans (in the line) of the passwords given to `tool` by `words`, its arguments."""
    spans: list[tuple[int, int]] = []

    def value(match: re.Match[str], at: int, after_colon: bool = False) -> None:
        word = match.group(0)
        span = _value_span(word, at)
        if span is not None and after_colon:
            colon = word.find(":", span[0], span[1])
            span = (colon + 1, span[1]) if colon >= 0 and colon + 1 < span[1] else None
        if span is not None and span[0] < span[1]:
            spans.append((match.start() + span[0], match.start() + span[1]))

    following = list(zip(words, [*words[1:], None][: len(words)], strict=True))
    if tool.startswith(("mysql", "mariadb")):  # -pSECRET (a separate word is a database)
        for word, _ in following:
            option = _unquoted(word.group(0))
            if option.startswith("-p") and len(option) > 2:
                value(word, len(word.group(0)) - len(option) + 2)
    elif tool == "curl":  # -u user:pass, --user=user:pass, -U/--proxy-user for the proxy
        for word, nxt in following:
            text = word.group(0)
            cluster = re.fullmatch(r"-[A-Za-z]*[uU]", text) is not None  # -u, -su
            if (cluster or text in ("--user", "--proxy-user")) and nxt is not None:
                value(nxt, 0, after_colon=True)
            elif text.startswith(("--user=", "--proxy-user=")):
                value(word, text.index("=") + 1, after_colon=True)
            elif re.match(r"-[A-Za-z]*[uU].", text) and not text.startswith("--"):
                value(word, re.match(r"-[A-Za-z]*?[uU]", text).end(), after_colon=True)  # type: ignore[union-attr]
    elif tool in ("redis-cli", "sshpass"):  # redis-cli -a PASS; sshpass -p PASS / -pPASS
        flag = "-a" if tool == "redis-cli" else "-p"
        for word, nxt in following:
            if word.group(0) == flag and nxt is not None:
                value(nxt, 0)
            elif tool == "sshpass" and word.group(0).startswith("-p") and len(word.group(0)) > 2:
                value(word, 2)
    else:  # htpasswd -b[c...] FILE USER PASS, htpasswd -nb USER PASS
        options = "".join(w.group(0) for w in words if re.fullmatch(r"-[A-Za-z]+", w.group(0)))
        operands = [w for w in words if not w.group(0).startswith("-")]
        at = 1 if "n" in options else 2
        if "b" in options and len(operands) > at:
            value(operands[at], 0)
    return spans


def _cli_tools(text: str, lowered: str) -> list[re.Match[str]]:
    """The tool names in `text` (found by `str.find`, far faster than a regex scan of every
    position), each a whole word: `/usr/bin/mysql` is one, `mycurl` is not."""
    found: list[re.Match[str]] = []
    for needle in _CLI_NEEDLES:
        at = lowered.find(needle)
        while at >= 0:
            if at == 0 or not _CLI_BEFORE.match(text, at - 1):
                tool = _CLI_TOOL.match(text, at)
                if tool is not None:
                    found.append(tool)
            at = lowered.find(needle, at + 1)
    return sorted(found, key=lambda tool: tool.start())


_CLI_WORDS = 64
"""How many words after a tool's name are read for its password: bounds the work per name."""


def _mask_cli(text: str, lowered: str) -> str:
    """Hides the passwords given on command lines of mysql, curl, redis-cli, sshpass and
    htpasswd (typed, or shown by `ps`), up to the end of each command.

    Each tool reads up to the next tool on the line (`sshpass -p X mysql -pY`), unless that
    next name is itself the password the first one is given (`curl -u bob:htpasswd`,
    `sshpass -p curl ssh host`): then it is a value, not a tool, and is hidden."""
    spans: list[tuple[int, int]] = []
    ends = [stop.start() for stop in _CLI_END.finditer(text)]  # once: each search is linear
    tools = _cli_tools(text, lowered)
    index = 0
    while index < len(tools):
        tool = tools[index]
        at = bisect_left(ends, tool.end())
        end = ends[at] if at < len(ends) else len(text)
        following = index + 1
        found: list[tuple[int, int]] | None = None
        while found is None and following < len(tools) and tools[following].start() < end:
            start = tools[following].start()
            # Read on to the end of the word holding the next name: is it this one's value?
            reach = min(end, _REST_OF_WORD.match(text, start).end())  # type: ignore[union-attr]
            if any(left <= start < right for left, right in _cli_tool_spans(text, tool, reach)):
                following += 1  # a password that happens to be a tool's name
            else:
                found = _cli_tool_spans(text, tool, max(start, tool.end()))
        spans.extend(found if found is not None else _cli_tool_spans(text, tool, end))
        index = following
    out: list[str] = []
    done = 0
    for start, end in sorted(spans):
        if start >= done:
            out.append(text[done:start])
            out.append(MASK)
            done = end
    out.append(text[done:])
    return "".join(out)


_RULES: tuple[Rule, ...] = (
    # NAME=value in a NUL-separated environment: the whole value, whatever it holds.
    (
        ("\x00",),
        re.compile(
            rf"(?i)(?<![^\x00\r\n])([A-Za-z0-9_]{{0,64}}?(?:{_CREDENTIAL_WORDS})[A-Za-z0-9_]{{0,64}})="
            r"([^\x00\r\n]*)"
        ),
        _mask_env_field,
    ),
    # scheme://user:password@host -> keep the user, hide the password (at most 256 long:
    # the scan from each scheme stays bounded).
    (
        ("://",),
        re.compile(
            r"(?<![a-zA-Z0-9+.\-])([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\x00:/?#@'\"`\\]*:)"
            r"([^\s\x00'\"`\\(){}<>|&]{1,256})@(?=[A-Za-z0-9\[_])"
        ),
        _mask_url_password,
    ),
    # Authorization: Bearer xyz / Authorization: Basic xyz / "authorization": "xyz"
    (
        ("authorization",),
        re.compile(
            r"(?i)(\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
            rf"(?>(?:(?:bearer|basic|token|digest|bot)[ \t]+)?))[^,{_SHELL}]+"
        ),
        rf"\1{MASK}",
    ),
    (("bearer",), re.compile(r"(?i)(\bbearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*"), rf"\1{MASK}"),
    # --password x, --token x, --api-key x
    (
        ("-",),
        re.compile(
            rf"(?i)(--?(?:{_CREDENTIAL_WORDS})[A-Za-z0-9_\-]{{0,64}}[ \t]+[\"']?)"
            rf"[^\-{_SHELL}][^{_SHELL}]*"
        ),
        rf"\1{MASK}",
    ),
    # --client-secret x, --auth-token x, --github-token x: the word later in the option.
    (
        ("--",),
        re.compile(
            rf"(?i)(--(?<![A-Za-z0-9_\-]--)(?:[A-Za-z0-9]{{1,32}}-){{1,8}}(?:{_CREDENTIAL_WORDS})"
            rf"[A-Za-z0-9_\-]{{0,64}}[ \t]+[\"']?)[^\-{_SHELL}][^{_SHELL}]*"
        ),
        rf"\1{MASK}",
    ),
    # Well-known token formats (executor.key_formats), wherever they appear.
    (
        _key_needles(),
        re.compile(
            r"\b(?:" + "|".join(key.pattern for key in KEY_FORMATS) + r")(?![A-Za-z0-9_\-])"
        ),
        _mask_key,
    ),
)


# password=x, DB_PASSWORD: x, "api_key": "x", --token=x. The key is matched as a
# whole word and checked afterwards: a pattern with the credential word in the middle of
# the key would backtrack quadratically on long unbroken output lines.
_SETTING = re.compile(
    r"(?<![A-Za-z0-9_.\-])(-{0,2}[A-Za-z][A-Za-z0-9_.\-]*)"
    rf"([\"']?[ \t]*[:=][ \t]*[\"']?)([^,{_SHELL}]+)"
)


def _mask_setting(match: re.Match[str]) -> str:
    key, separator, value = match.group(1, 2, 3)
    if _CREDENTIAL_KEY.search(key) is None or value.lower() in _AUTH_SCHEMES:
        return match.group(0)
    return f"{key}{separator}{MASK}"


def mask_lines(text: str, secrets: Secrets | None) -> str:
    """The line-local rules; applying them line by line equals applying them to the whole."""
    if secrets is not None:
        text = secrets.sub(text)
    lowered = text.lower()
    for needles, pattern, replacement in _RULES:
        if any(needle in lowered for needle in needles):
            text = pattern.sub(replacement, text)
    if any(needle in lowered for needle in _CLI_NEEDLES):
        text = _mask_cli(text, text.lower())
    return _SETTING.sub(_mask_setting, text)


_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _forms(secret: str) -> set[str]:
    """The ways a configured secret shows up in output: as it is, JSON-escaped (`\\"`,
    `\\u00e9`, `\\/`), URL-encoded (%XX in either case, `+` or %20 for a space) and in
    upper or lower case."""
    escaped = json.dumps(secret)[1:-1]
    encoded = {
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
        quote_plus(secret, safe="/"),
    }
    return {
        secret,
        secret.upper(),
        secret.lower(),
        escaped,
        escaped.replace("/", "\\/"),
        escaped.lower(),  # \u00e9 as some encoders write it
        json.dumps(secret, ensure_ascii=False)[1:-1],
        *encoded,
        *(_PERCENT.sub(lambda m: m.group(0).lower(), form) for form in encoded),
    }


@lru_cache(maxsize=32)
def secret_parts(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """The lines of every form of all secrets, longest first; a multi-line secret is masked
    per line (its escaped and encoded forms are one line, and masked whole)."""
    parts = {
        part
        for secret in secrets
        for form in _forms(secret)
        for part in form.splitlines()
        if part.strip()
    }
    return tuple(sorted(parts, key=lambda part: (-len(part), part)))


class Secrets:
    """Finds every form of the configured secrets. A regex alternation of many literals
    tries each at every position; `str.find` of each is far faster, so only the forms
    present in a text go into the pattern that replaces them."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        self._parts = parts

    def _present(self, text: str) -> re.Pattern[str] | None:
        present = tuple(part for part in self._parts if part in text)
        return _alternation(present) if present else None

    def sub(self, text: str) -> str:
        pattern = self._present(text)
        return pattern.sub(MASK, text) if pattern is not None else text

    def spans(self, text: str) -> list[tuple[int, int]]:
        pattern = self._present(text)
        return [m.span() for m in pattern.finditer(text)] if pattern is not None else []


@lru_cache(maxsize=256)
def _alternation(parts: tuple[str, ...]) -> re.Pattern[str]:
    """Longest first (the parts are sorted so), so no part of a longer secret is left."""
    return re.compile("|".join(re.escape(part) for part in parts))


@lru_cache(maxsize=32)
def secret_pattern(secrets: tuple[str, ...]) -> Secrets | None:
    """What finds all forms of all secrets; None when there are none."""
    parts = secret_parts(secrets)
    return Secrets(parts) if parts else None
