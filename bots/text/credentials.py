"""Finds credentials pasted into a chat message: provider keys, private key blocks,
`password=`-style settings, passwords in URLs.

Used by the coordinator (it redacts such a message and tells the sender what kind of
secret it removed) and by agents (they never put such a message in a prompt). The shapes are
those `executor.masking` hides, made stricter for chat: a false positive here deletes a
person's message, so a key must look like one (its prefix, its length, letters and digits
mixed) and a setting must not be code (`password = args.password`) or a placeholder
(`password=<yours>`). Hashes, UUIDs and git SHAs carry no prefix and are never taken for keys.

Pure: the text in, the kinds found out (never the values, which must not be repeated).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from executor.key_formats import KEY_FORMATS

_TOKEN_END = r"(?![A-Za-z0-9_\-])"


def _mixed(value: str) -> bool:
    """Letters and digits both: real keys are random, words and slugs are not."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


@dataclass(frozen=True)
class _Shape:
    kind: str
    pattern: re.Pattern[str]
    plausible: Callable[[str], bool] = _mixed


# Most specific first: the first shape that matches a stretch of text names it. The
# providers' key formats are the executor's list (`executor.key_formats`), so what masking
# hides and what is redacted here grow together.
_KEYS: tuple[_Shape, ...] = (
    *(
        _Shape(
            key.kind,
            re.compile(rf"\b(?:{key.pattern}){_TOKEN_END}"),
            (lambda value: True) if key.kind == "a JSON web token" else _mixed,
        )
        for key in KEY_FORMATS
    ),
    _Shape(
        "a bearer token",
        re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9\-._~+/]{20,}=*)(?![A-Za-z0-9\-._~+/=])"),
    ),
)

PRIVATE_KEY = "a private key"
_PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:\s|\\[rn])*(?:[A-Za-z][A-Za-z0-9-]*:[^\n]*\n(?:\s|\\[rn])*)*"  # armor headers
    r"[A-Za-z0-9+/=]{40,}"  # key material, not a marker quoted in a sentence
)

PASSWORD_IN_URL = "a password in a URL"
_URL_PASSWORD = re.compile(
    r"(?<![a-zA-Z0-9+.\-])[a-zA-Z][a-zA-Z0-9+.\-]{0,30}://[^\s:/?#@]+:([^\s/?#@]+)@[^\s/?#@]"
)

SETTING = "a password or secret setting"
_CREDENTIAL_KEY = (
    r"[A-Za-z0-9_.\-]*?(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|client[_-]?secret)"
)
# password=x, DB_PASSWORD: x, "api_key": "x", --token=x, --password x
_SETTING_PATTERN = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.\-])-{{0,2}}[\"']?({_CREDENTIAL_KEY})[\"']?"
    r"(?:(?P<sep>[ \t]*[:=][ \t]*)|(?P<flag>(?<=[A-Za-z])[ \t]+(?=[^-\s])))"
    r"(?:(?P<quote>[\"'])(?P<quoted>[^\"'\n]*)(?P=quote)"
    r"|(?P<bare>[^\s\"'`,;&()\[\]{}<>]+)(?=$|[\s,;&<\"'])"  # `<` ends it in HTML
    r"|(?P<other>))",
    re.MULTILINE,
)
_PLACEHOLDER = re.compile(
    r"(?i)^(?:[$%][{(]?.*|<.*>|\{\{.*\}\}|\*+|x{3,}|\.{2,}|…|none|null|nil|true|false"
    r"|empty|redacted|hidden|masked|\[masked\]|secret|password|changeme|your[_-].*"
    r"|example.*|dummy|test|required|optional|string|str|env|os\.environ.*|!.*"
    r"|.*(?:\.\.\.|…|your|here|placeholder|xxxx).*"  # sk-..., sk-your-key-here
    r"|(?:~|\.{0,2})/[\w./-]*)$"  # a path: passwd: /etc/passwd
)
_CODE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _setting_value(match: re.Match[str]) -> bool:
    """Whether a `key<sep>value` match carries a real secret value."""
    if match.group("other") is not None:
        return False
    if match.group("flag") is not None:  # `--password VALUE`: only as a command-line flag
        if not match.group(0).lstrip("\"'").startswith("-"):
            return False
        value = match.group("bare") or ""
        return len(value) >= 6 and _mixed(value) and not _PLACEHOLDER.match(value)
    separator = match.group("sep") or ""
    quoted = match.group("quoted")
    value = quoted if quoted is not None else match.group("bare") or ""
    if len(value) < 6 or _PLACEHOLDER.match(value) or " " in value:
        return False
    if quoted is None and _CODE_NAME.match(value) and (" " in separator or "." in value):
        return False  # `password = args.password`, `secret = SECRET`: code, not a value
    if value.isdigit():  # `password: 884213` is one; `token: 4096` is a count
        return "pass" in match.group(1).lower()
    if ":" in separator and quoted is None:
        # `password: forgotten` in prose; a value after a colon must look random.
        return _mixed(value) or any(not c.isalnum() for c in value)
    return True


@dataclass(frozen=True)
class Found:
    """A credential in a text: what kind it is and where (the value itself is not kept)."""

    kind: str
    start: int
    end: int


def find_credentials(text: str) -> list[Found]:
    """Every credential in `text`, in order, none overlapping; empty for everyday text."""
    found: list[Found] = []
    starts: list[int] = []  # of the spans taken, sorted; they never overlap
    ends: list[int] = []

    def add(kind: str, start: int, end: int) -> None:
        at = bisect_right(starts, start)
        if (at > 0 and ends[at - 1] > start) or (at < len(starts) and starts[at] < end):
            return  # a stretch already named by a more specific shape
        starts.insert(at, start)
        ends.insert(at, end)
        found.append(Found(kind, start, end))

    for block in _PEM_BLOCK.finditer(text):
        add(PRIVATE_KEY, block.start(), block.end())
    for shape in _KEYS:
        for match in shape.pattern.finditer(text):
            value = match.group(match.lastindex or 0)
            if shape.plausible(value):
                add(shape.kind, match.start(), match.end())
    for match in _URL_PASSWORD.finditer(text):
        if not _PLACEHOLDER.match(match.group(1)):
            add(PASSWORD_IN_URL, match.start(1), match.end(1))
    for match in _SETTING_PATTERN.finditer(text):
        if _setting_value(match):
            add(SETTING, match.start(), match.end())
    found.sort(key=lambda f: f.start)
    return found


def without_secrets(text: str) -> str:
    """`text` with each credential replaced by its kind in brackets ("[a GitHub token]"),
    for a place that shows what was said but must not show the secret."""
    return redacted(text, find_credentials(text))


def redacted(text: str, credentials: Sequence[Found]) -> str:
    """`without_secrets` for a text already scanned: `credentials` are what
    `find_credentials(text)` found in it."""
    parts: list[str] = []
    at = 0
    for found in credentials:
        parts.append(text[at : found.start])
        parts.append(f"[{found.kind}]")
        at = found.end
    parts.append(text[at:])
    return "".join(parts)


def credential_kinds(*texts: str | None) -> list[str]:
    """The kinds of credential found in any of `texts`, each once, in order of appearance."""
    kinds: list[str] = []
    for text in texts:
        for found in find_credentials(text or ""):
            if found.kind not in kinds:
                kinds.append(found.kind)
    return kinds


def holds_credential(*texts: str | None) -> bool:
    """True when any of `texts` holds a credential (an agent then leaves it out of prompts)."""
    return any(find_credentials(text or "") for text in texts)
