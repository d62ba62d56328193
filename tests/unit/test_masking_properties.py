"""Masking, as properties: generated secrets in generated contexts never come out, and
generated ordinary text comes out as it went in.

Chunk boundaries are covered: every property also streams the text through `StreamMasker`
in generated chunk sizes, which must equal masking the whole (it holds a line back until it
ends, and cuts an overlong one only where the parts mask like the whole). A secret split
across LINES is not: masking is line-local by design (a rule never reaches over a line
break, so no rule can hide a command on the next line), and output that wraps a secret
(`fold`, `base64 -w`) shows its pieces.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from executor.masking import MASK, StreamMasker, mask_text

PROPERTY = settings(max_examples=300, deadline=None, database=None)

# Any printable character: letters of every script, digits, punctuation, symbols, spaces.
printable = st.characters(
    blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"), blacklist_characters="\x85"
)
secrets = st.text(printable, min_size=8, max_size=80).filter(lambda s: s.strip() != "")
chunk_sizes = st.integers(min_value=1, max_value=97)


def overlaps_mask(secret: str) -> bool:
    """A secret that shares an edge with MASK could be completed by it: excluded."""
    if secret in MASK or MASK in secret:
        return True
    return any(
        MASK.endswith(secret[:k]) or MASK.startswith(secret[-k:])
        for k in range(1, min(len(secret), len(MASK)) + 1)
    )


FILLER = "lorem ipsum, dolor sit amet " * 20
"""Before and after a context: makes its line overlong, so the stream must cut it."""


def streamed(text: str, secrets: list[str], size: int) -> str:
    masker = StreamMasker(secrets, max_pending=300)
    out = [masker.feed(text[i : i + size]) for i in range(0, len(text), size)]
    return "".join(out) + masker.flush()


# How a configured secret reaches output: the form it takes, in the text around it.
FORMS: dict[str, Callable[[str], str]] = {
    "as is": lambda s: s,
    "JSON": lambda s: json.dumps(s)[1:-1],
    "JSON, UTF-8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "URL": lambda s: quote(s, safe=""),
    "URL, lower-case hex": lambda s: "".join(_lower_hex(quote(s, safe=""))),
    "form": lambda s: quote_plus(s),
    "upper": str.upper,
    "lower": str.lower,
}


def _lower_hex(encoded: str) -> list[str]:
    out, at = [], 0
    while at < len(encoded):
        if encoded[at] == "%":
            out.append(encoded[at : at + 3].lower())
            at += 3
        else:
            out.append(encoded[at])
            at += 1
    return out


CONTEXTS = [
    "{}",
    "DB_PASSWORD={}\n",
    "export X='{}'; echo ok\n",
    '{{"password": "{}", "user": "bob"}}\n',
    "postgres://app:{}@db:5432/app\n",
    "tool --flag={} --verbose\n",
    "PATH=/usr/bin\0VALUE={}\0HOME=/root\0",
    "line before\n\tindented {} and after\r\nnext line\n",
]


@PROPERTY
@given(
    secret=secrets,
    form=st.sampled_from(sorted(FORMS)),
    context=st.sampled_from(CONTEXTS),
    size=chunk_sizes,
    offset=st.integers(min_value=0, max_value=len(FILLER)),
)
def test_a_configured_secret_never_comes_out_in_any_form(
    secret: str, form: str, context: str, size: int, offset: int
) -> None:
    assume(not overlaps_mask(secret))
    shown = FORMS[form](secret)
    text = FILLER[:offset] + " " + context.format(shown) + FILLER

    masked = mask_text(text, [secret])

    assert shown not in masked
    assert secret not in masked
    assert streamed(text, [secret], size) == masked


# Credentials nobody configured, found by their context: the value may hold any character
# the context allows (the approver must still see shell syntax in a command, so a setting
# on a command line ends at it; in a NUL-separated environment nothing ends it but a NUL).
token_chars = st.characters(
    whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_.+/=~%@:!?*^"
)
token_values = st.text(token_chars, min_size=8, max_size=80).filter(
    lambda v: not v.startswith("-")  # `--password -x`: the next option, not a value
)
url_passwords = st.text(
    st.characters(
        whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="#$;@/:%!?*=+,.~^[]-_"
    ),
    min_size=8,
    max_size=80,
)
env_values = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")),
    min_size=8,
    max_size=80,
)
UNCONFIGURED: list[tuple[str, st.SearchStrategy[str]]] = [
    ("A=1\0DB_PASSWORD={}\0B=2", env_values),
    ("HOME=/root\0AWS_SECRET_ACCESS_KEY={}\0", env_values),
    ("DB_PASSWORD={} other=1", token_values),
    ('{{"api_key": "{}"}}', token_values),
    ("mysql --password {} -e x", token_values),
    ("mysql -u root -p{} db", token_values),
    ("curl -u bob:{} https://x", token_values),
    ("redis-cli -a {} ping", token_values),
    ("sshpass -p {} ssh host", token_values),
    ("htpasswd -b /etc/h bob {}", token_values),
    ("tool --api-key {}", token_values),
    (
        "Authorization: Bearer {}",
        st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=8, max_size=80),
    ),
    ("https://bob:{}@example.com/r.git", url_passwords),
]


@PROPERTY
@given(
    data=st.data(),
    case=st.sampled_from(range(len(UNCONFIGURED))),
    size=chunk_sizes,
    offset=st.integers(min_value=0, max_value=len(FILLER)),
)
def test_a_credential_in_its_context_never_comes_out(
    data: st.DataObject, case: int, size: int, offset: int
) -> None:
    context, values = UNCONFIGURED[case]
    value = data.draw(values.filter(lambda v: v.strip() != "" and not overlaps_mask(v)))
    text = FILLER[:offset] + " " + context.format(value) + FILLER

    masked = mask_text(text)

    assert value not in masked
    assert streamed(text, [], size) == masked


# Ordinary text: lower-case and uncased (Korean, CJK) words and numbers of every length,
# joined the way prose, paths, options and identifiers join them; none a credential word.
CREDENTIAL_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "auth", "bearer")
words = st.text(st.characters(whitelist_categories=("Ll", "Lo")), min_size=1, max_size=30).filter(
    lambda w: not any(c in w for c in CREDENTIAL_WORDS)
)
tricky = st.sampled_from(
    ["skeleton", "risk-free", "ask", "sk", "hf", "xai", "gsk", "asia", "akia", "pplx", "glpat"]
)
separators = st.sampled_from([" ", "-", "_", ", ", ". ", "/", ": ", " = ", "\n", "\t", "."])
numbers = st.integers(min_value=0, max_value=10**6).map(str)


@PROPERTY
@given(st.lists(st.tuples(st.one_of(words, tricky, numbers), separators), max_size=40))
def test_ordinary_text_is_never_changed(parts: list[tuple[str, str]]) -> None:
    text = "".join(word + sep for word, sep in parts)

    assert mask_text(text) == text
