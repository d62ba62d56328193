"""LLM providers: one small interface over the OpenAI, Anthropic and Gemini SDKs.

Importing this package loads no SDK; `create_provider` imports the one an agent needs.
"""

from bridge.llm.base import (
    PROVIDER_KINDS,
    ChatMessage,
    Completion,
    DeltaCallback,
    FailureKind,
    LLMProvider,
    MissingCredentials,
    ProviderConfigError,
    ProviderKind,
    ProviderRequestError,
    ProviderSettings,
    Role,
    Usage,
)
from bridge.llm.factory import create_provider, has_credentials

__all__ = [
    "PROVIDER_KINDS",
    "ChatMessage",
    "Completion",
    "DeltaCallback",
    "FailureKind",
    "LLMProvider",
    "MissingCredentials",
    "ProviderConfigError",
    "ProviderKind",
    "ProviderRequestError",
    "ProviderSettings",
    "Role",
    "Usage",
    "create_provider",
    "has_credentials",
]
