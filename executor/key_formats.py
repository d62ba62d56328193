"""The shapes of well-known API keys and tokens: one list for everything that looks for them.

The executor's masking hides them in output and commands; the chat detector
(`bots.text.credentials`) finds them in messages to redact. Both read this list, so a provider
added here is hidden and redacted alike. Each pattern is the whole token (no anchors); the
users add their own word boundaries and plausibility checks (chat is stricter: a false
positive there deletes a message).

Keys without a prefix (Mistral's 32 alphanumerics, an AWS secret access key on its own) have
no shape that tells them from a hash or an id: only a configured secret (`secrets_env`) or
the setting they sit in (`AWS_SECRET_ACCESS_KEY=...`) hides them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyFormat:
    """One provider's token shape and how a person is told about it."""

    kind: str
    """What to call it in a notice: "an OpenAI API key"."""
    pattern: str
    """A regular expression for the whole token, without boundaries."""
    prefixes: tuple[str, ...]
    """Lower-cased literals one of which every match contains: a cheap test before the regex."""
    wordy: bool = False
    """Its body may be dash-joined words (`sk-learn-compatible-estimators`): masking takes
    one only with a digit or a capital letter in it, as every real key has."""


# Most specific first: the first format that matches a stretch of text names it.
KEY_FORMATS: tuple[KeyFormat, ...] = (
    KeyFormat("an Anthropic API key", r"sk-ant-[A-Za-z0-9_\-]{20,}", ("sk-ant-",), wordy=True),
    KeyFormat(
        "an OpenRouter API key", r"sk-or-(?:v1-)?[A-Za-z0-9_\-]{20,}", ("sk-or-",), wordy=True
    ),
    # OpenAI's, and DeepSeek's (sk- and 32 hex digits) have the same shape.
    KeyFormat(
        "an OpenAI API key",
        r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
        ("sk-",),
        wordy=True,
    ),
    KeyFormat("a Perplexity API key", r"pplx-[A-Za-z0-9]{32,}", ("pplx-",)),
    KeyFormat("a Groq API key", r"gsk_[A-Za-z0-9]{40,}", ("gsk_",)),
    KeyFormat("an xAI API key", r"xai-[A-Za-z0-9]{40,}", ("xai-",)),
    KeyFormat("a Hugging Face token", r"hf_[A-Za-z0-9]{30,}", ("hf_",)),
    KeyFormat("a Google API key", r"AIza[0-9A-Za-z_\-]{35}", ("aiza",)),
    KeyFormat(
        "a GitHub token",
        r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    KeyFormat("a GitLab token", r"glpat-[A-Za-z0-9_\-]{20,}", ("glpat-",)),
    KeyFormat("a Stripe key", r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}", ("k_live_", "k_test_")),
    KeyFormat("an AWS access key", r"(?:AKIA|ASIA)[0-9A-Z]{16}", ("akia", "asia")),
    KeyFormat(
        "a Slack token",
        r"xox[abposre]-[A-Za-z0-9\-]{10,}|xapp-[0-9]-[A-Za-z0-9\-]{10,}",
        ("xox", "xapp-"),
    ),
    # Synapse's access (syt_) and refresh (syr_) tokens, and its older macaroon tokens
    # (base64 of "0010location ...", so they begin "MDAx").
    KeyFormat("a Matrix access token", r"sy[tr]_[A-Za-z0-9_]{20,}", ("syt_", "syr_")),
    KeyFormat("a Matrix macaroon", r"MDAx[A-Za-z0-9+/_\-]{40,}=*", ("mdax",)),
    # Chavion's own: `!dashboard`'s one-time login link (bots/coordinator/dashboard_command.py)
    # is a secret for ten minutes; no model and no command output may carry it.
    KeyFormat("a dashboard login link", r"dashboard/login\?once=[A-Za-z0-9_\-]{20,}", ("once=",)),
    KeyFormat(
        "a JSON web token",
        r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}",
        ("eyj",),
    ),
)
