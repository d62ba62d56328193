"""Credentials in chat text: each shape found and named, everyday text and code left alone."""

from __future__ import annotations

import gc
import time

import pytest

from bots.text.credentials import (
    PASSWORD_IN_URL,
    PRIVATE_KEY,
    SETTING,
    credential_kinds,
    find_credentials,
    holds_credential,
    without_secrets,
)
from executor.masking import MASK, mask_text

OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLmN0pQrStUvWxYz12345_-AbCdEf7890"
PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDx3c1qW8TzvZbq0mC9u4n0n2+gk2l2d3mT0vYq8o7tXwAAAJgAAAAAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----"
)
RSA_ENCRYPTED = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-128-CBC,2AF25325A9B286F4CBD8F1E7F1A1F3E1\n"
    "\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----"
)

FOUND = [
    # (text, kinds)
    (f"here is my key {OPENAI} thanks", ["an OpenAI API key"]),
    ("sk-" + "T3BlbkFJ" * 6, ["an OpenAI API key"]),
    ("key: sk-ant-api03-AbCdEf1234567890GhIjKlMnOpQrStUv-wxyz", ["an Anthropic API key"]),
    ("ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", ["a GitHub token"]),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", ["a GitHub token"]),
    ("glpat-a1B2c3D4e5F6g7H8i9J0", ["a GitLab token"]),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", ["a Stripe key"]),
    ("AKIAIOSFODNN7EXAMPLE is the id", ["an AWS access key"]),
    ("xoxb-1234567890-0987654321-AbCdEfGhIjKl", ["a Slack token"]),
    ("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", ["a Google API key"]),
    ("syt_Y2hhdmlvbg_AbCdEfGhIjKlMnOpQrSt_1a2B3c", ["a Matrix access token"]),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ["a JSON web token"],
    ),
    ("curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706abcdef' url", ["a bearer token"]),
    (
        "Your dashboard: https://chavion.example.org/dashboard/login?once="
        "q3Vw8sXk1T9mZbN2cR7yLp4eH6jA0dFg5uKiWo_-xEs (10 min, one login).",
        ["a dashboard login link"],
    ),
    (PEM, [PRIVATE_KEY]),
    (f"my key:\n\n```\n{PEM}\n```", [PRIVATE_KEY]),
    (RSA_ENCRYPTED, [PRIVATE_KEY]),
    (PEM.replace("\n", "\\n"), [PRIVATE_KEY]),  # pasted from JSON
    ("postgres://app:s3cret-Pw@db.example.com/app", [PASSWORD_IN_URL]),
    ("password=hunter2", [SETTING]),
    ("password=correcthorse", [SETTING]),
    ("DB_PASSWORD: s3cr3t!x", [SETTING]),
    ('{"api_key": "abcd1234efgh"}', [SETTING]),
    ("client_secret = 'x9Qz7LmP2kWv'", [SETTING]),
    ("run it with --token=ab12cd34ef", [SETTING]),
    ("mysql -u root --password Hunter22 db", [SETTING]),
    ("export GITHUB_TOKEN=0a1b2c3d4e5f", [SETTING]),
    ("pin: the password: 884213", [SETTING]),
    (f"OPENAI_API_KEY={OPENAI}\npassword=hunter2", ["an OpenAI API key", SETTING]),
]

NOT_FOUND = [
    "hello, can you look at the deploy before lunch?",
    "I reset my password yesterday; the password is in the vault",
    "password: forgotten again",
    "my password: reset tomorrow",
    "set client_secret in the config, then restart",
    "max_tokens: 4096 and token_count=12, tokens: 4096",
    "token: 4096",
    "the budget is 50000 tokens a day",
    "Bearer tokens expire after 3600 seconds",
    "she was the bearer of bad news",
    # code
    "password = args.password",
    'password = request.form["password"]',
    "password = getpass.getpass()",
    "secret = SECRET_KEY",
    'api_key=os.environ["OPENAI_API_KEY"]',
    'password = os.getenv("DB_PASSWORD")',
    'if password == "":\n    raise ValueError("no password")',
    "def check(password: str, token: str) -> bool:",
    "passwd: /etc/passwd",
    "--password-file /etc/chavion/db.pass",
    # placeholders
    "password=<your password>",
    "API_KEY=${OPENAI_API_KEY}",
    "password: ********",
    "token=xxxxxxxx",
    "OPENAI_API_KEY=sk-...",
    "OPENAI_API_KEY=sk-your-key-here",
    'password: "changeme"',
    "password: !vault |",
    # hashes, ids, words that begin like keys
    "commit 3f2a9c1e4b5d6f7a8b9c0d1e2f3a4b5c6d7e8f90 fixed it",
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "image@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "request 123e4567-e89b-12d3-a456-426614174000 failed",
    "md5 d41d8cd98f00b204e9800998ecf8427e",
    "risk-assessment-for-the-quarterly-report-2024 and task-2024-01-15",
    "import sklearn; sk-learn is fine",
    "sk-this-is-not-a-key-just-a-slug",
    "!task deploy the app to staging",
    # key markers without a key, URLs without a password
    "paste it after the -----BEGIN RSA PRIVATE KEY----- line",
    "https://example.com:8080/path?q=1 and git@github.com:org/repo.git",
    "ssh://git@host:22/repo and https://user@host/x",
    "see https://matrix.to/#/@gpt:chavion.local for the bot",
]


@pytest.mark.parametrize(("text", "kinds"), FOUND, ids=[f"found-{i}" for i in range(len(FOUND))])
def test_each_shape_is_found_and_named(text: str, kinds: list[str]) -> None:
    assert credential_kinds(text) == kinds
    assert holds_credential(text)


@pytest.mark.parametrize("text", NOT_FOUND)
def test_everyday_text_code_and_hashes_are_not_keys(text: str) -> None:
    assert find_credentials(text) == []
    assert not holds_credential(text)


@pytest.mark.parametrize("text", [t for t, _ in FOUND], ids=[f"m-{i}" for i in range(len(FOUND))])
def test_what_chat_finds_the_executor_masks_too(text: str) -> None:
    """The two readings agree on the shapes: chat is stricter, never broader."""
    assert MASK in mask_text(text)


def test_the_spans_cover_the_value_and_name_no_value() -> None:
    text = f"a {OPENAI} b"
    [found] = find_credentials(text)
    assert text[found.start : found.end] == OPENAI
    assert OPENAI not in found.kind


def test_several_texts_and_none() -> None:
    assert credential_kinds(None, "hi", f"x {OPENAI}", OPENAI) == ["an OpenAI API key"]
    assert not holds_credential(None, "")


@pytest.mark.parametrize(
    "text",
    [
        "a." * 32_000,
        "x-" * 32_000,
        "sk-" * 21_000,
        "a://b:" * 10_000,
        "token: " * 9_000,
        "password=abc123 " * 4_000,
        "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 64_000,
    ],
    ids=["dots", "dashes", "prefixes", "schemes", "settings", "many-found", "open-block"],
)
def test_an_event_sized_text_is_read_in_linear_time(text: str) -> None:
    """Every bot reads every message: no text of an event's size may stall a bot. CPU time
    with the collector paused, so a loaded machine (the suite shares its cores) cannot fail
    it; a quadratic scan of 64 KB takes seconds, a linear one some 30 ms."""
    gc.disable()
    try:
        started = time.process_time()
        find_credentials(text)
        spent = time.process_time() - started
    finally:
        gc.enable()
    assert spent < 1.0


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("nothing secret here", "nothing secret here"),
        ("key ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 ok", "key [a GitHub token] ok"),
        (
            "password=hunter2 and AKIAIOSFODNN7EXAMPLE",
            "[a password or secret setting] and [an AWS access key]",
        ),
    ],
    ids=["none", "one", "two"],
)
def test_without_secrets_shows_each_credential_as_its_kind(text: str, shown: str) -> None:
    assert without_secrets(text) == shown
