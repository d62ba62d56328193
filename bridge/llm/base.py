"""The provider interface and its value types, free of any SDK import.

Everything here is cheap to import: the roster, the config reader and the conversation layer
use these types without paying for the SDKs (~5 s and ~95 MB for all three).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit

from bridge.errors import ProviderError

Role = Literal["system", "user", "assistant"]
ProviderKind = Literal["openai", "openai-compatible", "anthropic", "gemini"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("openai", "openai-compatible", "anthropic", "gemini")

DeltaCallback = Callable[[str], Awaitable[None]]
"""Receives each piece of streamed text, in order, as soon as it arrives."""

_VENDORS: dict[ProviderKind, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Google",
}

FailureKind = Literal[
    "rate_limited",
    "quota",
    "overloaded",
    "server_error",
    "timeout",
    "connection",
    "auth",
    "forbidden",
    "not_found",
    "bad_request",
    "bad_response",
    "interrupted",
    "other",
]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn; in multi-party rooms the conversation layer puts speaker names in content."""

    role: Role
    content: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage
    model: str
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """How one agent reaches its model. The API key is given by the caller, never read here."""

    kind: ProviderKind
    model: str
    api_key: str | None = None
    base_url: str | None = None
    """None means the vendor's public endpoint; required for "openai-compatible"."""
    temperature: float | None = None
    """None leaves the vendor's default (some models reject any other value)."""
    max_tokens: int = 2048
    timeout_s: float = 60.0
    """Per attempt: the whole answer when not streaming; first piece and each gap when streaming."""
    max_retries: int = 3
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 60.0
    """A server's Retry-After is honoured up to this many seconds."""
    display_name: str | None = None
    """The agent's name in error messages ("Claude"); defaults to the model name."""
    vendor: str | None = None
    """Who runs the model, for error messages ("Anthropic"); defaults from kind and base_url."""
    extra_headers: tuple[tuple[str, str], ...] = field(default=())
    """Sent with every request (e.g. OpenRouter's HTTP-Referer)."""

    def __post_init__(self) -> None:
        # Nonsense here would only surface mid-conversation as a confusing vendor error.
        problems = [
            f"{name} must be {rule}"
            for name, ok, rule in (
                ("max_tokens", self.max_tokens > 0, "positive"),
                ("timeout_s", self.timeout_s > 0, "positive"),
                ("max_retries", self.max_retries >= 0, "zero or more"),
                ("backoff_initial_s", self.backoff_initial_s >= 0, "zero or more"),
                ("backoff_max_s", self.backoff_max_s >= 0, "zero or more"),
                ("retry_after_max_s", self.retry_after_max_s >= 0, "zero or more"),
            )
            if not ok
        ]
        if problems:
            raise ProviderConfigError(f"{self.agent_label}: {'; '.join(problems)}")

    @property
    def agent_label(self) -> str:
        return self.display_name or self.model

    @property
    def vendor_label(self) -> str:
        if self.vendor:
            return self.vendor
        if self.kind == "openai-compatible":
            host = urlsplit(self.base_url or "").netloc
            return f"the server at {host}" if host else "the OpenAI-compatible server"
        return _VENDORS[self.kind]

    @property
    def needs_api_key(self) -> bool:
        """Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) usually take no key."""
        return self.kind != "openai-compatible"

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key) or not self.needs_api_key


@runtime_checkable
class LLMProvider(Protocol):
    """One agent's model. Implementations convert every SDK error into ProviderError."""

    @property
    def settings(self) -> ProviderSettings: ...

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        on_delta: DeltaCallback | None = None,
    ) -> Completion:
        """Answer the conversation; with on_delta, stream the text pieces to it first.

        The returned Completion always carries the full text and the token usage. A stream
        that breaks after text was delivered is not retried (the room would see it twice).
        """
        ...

    async def aclose(self) -> None: ...


class MissingCredentials(ProviderError):
    """The agent has no API key; the roster shows "no credentials" instead of crashing."""

    def __init__(self, settings: ProviderSettings) -> None:
        super().__init__(f"{settings.agent_label} has no API key for {settings.vendor_label}")
        self.settings = settings


class ProviderConfigError(ProviderError):
    """The settings cannot work at all (unknown kind, missing base URL)."""


class ProviderRequestError(ProviderError):
    """A request failed for good; str() is the sentence to show in the room."""

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind,
        status: int | None = None,
        retries: int = 0,
        elapsed_s: float = 0.0,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.status = status
        self.retries = retries
        self.elapsed_s = elapsed_s


PLACEHOLDER_FIRST_TURN = "(The conversation begins.)"


def split_system(messages: Sequence[ChatMessage]) -> tuple[str | None, list[tuple[Role, str]]]:
    """System text joined, and the other turns merged so that roles alternate, user first.

    Anthropic and Gemini take the system prompt separately, reject (or mishandle)
    consecutive turns of one role, and want the conversation to open with the user.
    """
    system = [m.content for m in messages if m.role == "system" and m.content]
    turns: list[tuple[Role, str]] = []
    for message in messages:
        if message.role == "system" or not message.content.strip():
            continue  # Anthropic rejects empty text blocks; an empty turn says nothing anyway
        if turns and turns[-1][0] == message.role:
            turns[-1] = (message.role, f"{turns[-1][1]}\n\n{message.content}")
        else:
            turns.append((message.role, message.content))
    if not turns or turns[0][0] != "user":
        turns.insert(0, ("user", PLACEHOLDER_FIRST_TURN))
    return ("\n\n".join(system) or None), turns
