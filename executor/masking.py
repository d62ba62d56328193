"""Hides secrets in text before it leaves the executor (output, commands, error messages).

Configured secrets are replaced literally; obvious credentials are found by pattern: private
key blocks, bearer/authorization tokens, passwords in URLs, `password=...`-style settings and
well-known token formats. Masking errs on the side of hiding: a false positive costs a little
readability, a false negative leaks a credential into a chat room.

Every rule except private key blocks works within one line, which is what lets
`StreamMasker` mask output as it arrives with the same result as `mask_text` on the whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

MASK = "[masked]"

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_BLOCK = re.compile(rf"({_PEM_BEGIN.pattern}).*?({_PEM_END.pattern}|\Z)", re.DOTALL)
_PEM_BODY = f"\n{MASK}\n"

# Token characters never include whitespace, so no rule reaches across a line break.
_CREDENTIAL_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credentials?|auth"
)
# (needle, pattern, replacement): the needle, looked up in the lower-cased text first, is
# part of every match, so a rule is skipped cheaply on the many lines it cannot apply to.
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> keep the user, hide the password.
    (
        "://",
        re.compile(r"(?<![a-zA-Z0-9+.\-])([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/?#@]*:)[^\s/?#]+(@)"),
        rf"\1{MASK}\2",
    ),
    # Authorization: Bearer xyz / Authorization: Basic xyz / "authorization": "xyz"
    (
        "authorization",
        re.compile(
            r"(?i)(\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?:(?:bearer|basic|token|digest|bot)[ \t]+)?)[^\s\"',;]+"
        ),
        rf"\1{MASK}",
    ),
    ("bearer", re.compile(r"(?i)(\bbearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*"), rf"\1{MASK}"),
    # --password x, --token x
    (
        "-",
        re.compile(rf"(?i)(--?(?:{_CREDENTIAL_WORDS})[A-Za-z0-9_\-]*[ \t]+)[^\s\-][^\s]*"),
        rf"\1{MASK}",
    ),
    # Well-known token formats.
    (
        "",
        re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}"
            r"|github_pat_[A-Za-z0-9_]{20,}"
            r"|glpat-[A-Za-z0-9_\-]{20,}"
            r"|sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}"
            r"|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
            r"|xox[abposr]-[A-Za-z0-9\-]{10,}"
            r"|AIza[0-9A-Za-z_\-]{35}"
            r"|syt_[A-Za-z0-9_]{10,}"
            r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
        ),
        MASK,
    ),
)


# password=x, DB_PASSWORD: x, "api_key": "x", --token=x. The key is matched as a
# whole word and checked afterwards: a pattern with the credential word in the middle of
# the key would backtrack quadratically on long unbroken output lines.
_SETTING = re.compile(
    r"(?<![A-Za-z0-9_.\-])(-{0,2}[A-Za-z][A-Za-z0-9_.\-]*)"
    r"([\"']?[ \t]*[:=][ \t]*[\"']?)([^\s\"',;&]+)"
)
_AUTH_SCHEMES = {"bearer", "basic", "token", "digest", "bot", MASK}
_CREDENTIAL_KEY = re.compile(rf"(?i){_CREDENTIAL_WORDS}")


def _mask_setting(match: re.Match[str]) -> str:
    key, separator, value = match.group(1, 2, 3)
    if _CREDENTIAL_KEY.search(key) is None or value.lower() in _AUTH_SCHEMES:
        return match.group(0)
    return f"{key}{separator}{MASK}"


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Returns text with configured secrets and obvious credentials replaced by MASK."""
    return _mask_lines(_PEM_BLOCK.sub(rf"\1{_PEM_BODY}\2", text), _secret_pattern(tuple(secrets)))


def _mask_lines(text: str, secrets: re.Pattern[str] | None) -> str:
    """The line-local rules; applying them line by line equals applying them to the whole."""
    if secrets is not None:
        text = secrets.sub(MASK, text)
    lowered = text.lower()
    for needle, pattern, replacement in _RULES:
        if needle in lowered:
            text = pattern.sub(replacement, text)
    return _SETTING.sub(_mask_setting, text)


@lru_cache(maxsize=32)
def _secret_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation of all secrets, longest first; a multi-line secret is masked per line."""
    parts = {part for secret in secrets for part in secret.splitlines() if part.strip()}
    if not parts:
        return None
    ordered = sorted(parts, key=lambda part: (-len(part), part))
    return re.compile("|".join(re.escape(part) for part in ordered))


class StreamMasker:
    """Masks a text stream chunk by chunk; holds back at most one incomplete line.

    Output is released at each line end (\\n or \\r, so progress bars still flow) or when
    a line grows past `max_pending` characters; `flush()` releases the rest at the end.
    """

    def __init__(self, secrets: Iterable[str] = (), *, max_pending: int = 8192) -> None:
        self._secrets = _secret_pattern(tuple(secrets))
        self._max_pending = max_pending
        self._pending = ""
        self._in_key_block = False

    def feed(self, text: str) -> str:
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r")) + 1
        if cut == 0 and len(self._pending) > self._max_pending:
            cut = len(self._pending)
        if cut == 0:
            return ""
        complete, self._pending = self._pending[:cut], self._pending[cut:]
        lines = re.findall(r"[^\r\n]*(?:[\r\n]|$)", complete)
        return _mask_lines("".join(self._key_blocks(line) for line in lines), self._secrets)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return _mask_lines(self._key_blocks(rest), self._secrets) if rest else ""

    def _key_blocks(self, line: str) -> str:
        """Drops private key material line by line, exactly as _PEM_BLOCK does on the whole."""
        out: list[str] = []
        while line:
            if self._in_key_block:
                end = _PEM_END.search(line)
                if end is None:
                    break
                self._in_key_block = False
                out.append(end.group(0))
                line = line[end.end() :]
                continue
            begin = _PEM_BEGIN.search(line)
            if begin is None:
                out.append(line)
                break
            out.append(line[: begin.end()] + _PEM_BODY)
            self._in_key_block = True
            line = line[begin.end() :]
        return "".join(out)
