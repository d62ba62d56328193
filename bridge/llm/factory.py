"""Provider kind → provider, importing each SDK only when an agent actually uses it.

Importing all three SDKs costs ~5 s and ~95 MB, so nothing here (or in base/retry) imports
them at module level: a roster of Claude agents never loads openai or google-genai.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from bridge.llm.base import (
    PROVIDER_KINDS,
    LLMProvider,
    MissingCredentials,
    ProviderConfigError,
    ProviderSettings,
)
from bridge.llm.retry import Clock, Random, Sleep

_IMPLEMENTATIONS: dict[str, tuple[str, str]] = {
    "openai": ("bridge.llm.openai_provider", "OpenAIProvider"),
    "openai-compatible": ("bridge.llm.openai_provider", "OpenAIProvider"),
    "anthropic": ("bridge.llm.anthropic_provider", "AnthropicProvider"),
    "gemini": ("bridge.llm.gemini_provider", "GeminiProvider"),
}
assert set(_IMPLEMENTATIONS) == set(PROVIDER_KINDS)

BASE_URL_ENV: dict[str, str] = {
    "openai": "OPENAI_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "gemini": "GOOGLE_GEMINI_BASE_URL",
}
"""The variable each vendor's own SDK reads for its endpoint (a proxy, a gateway, a mirror).

Honoured here, for an agent whose config gives no base_url, because our providers always
hand the SDK an explicit URL, which would otherwise hide the variable. "openai-compatible"
has none: its base_url is required and names the server itself."""


def base_url_from_env(
    settings: ProviderSettings, environ: Mapping[str, str] | None = None
) -> ProviderSettings:
    """`settings` with the vendor's base-URL variable filled in where base_url is unset.

    A base_url in the config always wins; an empty or blank variable counts as unset."""
    variable = BASE_URL_ENV.get(settings.kind)
    if settings.base_url or variable is None:
        return settings
    value = (os.environ if environ is None else environ).get(variable, "").strip()
    return replace(settings, base_url=value) if value else settings


def has_credentials(settings: ProviderSettings) -> bool:
    """Whether create_provider can succeed key-wise, without importing any SDK."""
    return settings.has_credentials


def create_provider(
    settings: ProviderSettings,
    *,
    sleep: Sleep | None = None,
    clock: Clock | None = None,
    rand: Random | None = None,
) -> LLMProvider:
    """Build the provider for settings.kind.

    Raises MissingCredentials (before importing the SDK) when the kind needs a key and none was
    given, and ProviderConfigError for an unknown kind. sleep/clock/rand are for tests.
    """
    try:
        module_name, class_name = _IMPLEMENTATIONS[settings.kind]
    except KeyError:
        known = ", ".join(PROVIDER_KINDS)
        raise ProviderConfigError(
            f"{settings.agent_label}: unknown provider {settings.kind!r} (expected one of {known})"
        ) from None
    if not settings.has_credentials:
        raise MissingCredentials(settings)
    settings = base_url_from_env(settings)
    cls = getattr(importlib.import_module(module_name), class_name)
    overrides: dict[str, Any] = {
        k: v for k, v in (("sleep", sleep), ("clock", clock), ("rand", rand)) if v is not None
    }
    return cast(LLMProvider, cls(settings, **overrides))
