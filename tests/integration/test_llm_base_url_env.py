"""An agent with no base_url reaches the endpoint its vendor's base-URL variable names,
through the real SDK over real HTTP (the local fake server stands in for the vendor).

Before, the OpenAI and Anthropic providers always handed their SDK the public URL, which
hid OPENAI_BASE_URL and ANTHROPIC_BASE_URL: such an agent went to the vendor regardless.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import pytest

from bridge.llm import ChatMessage, ProviderSettings, create_provider
from bridge.llm.factory import BASE_URL_ENV
from tests.fakes.llm_server import FakeLLMServer, reply

pytestmark = pytest.mark.integration

Kind = Literal["openai", "anthropic", "gemini"]
KEY = "test-key-env"
QUESTION = [ChatMessage("system", "Be brief."), ChatMessage("user", "Say hello.")]
DEAD = "http://127.0.0.1:9"
"""Nothing listens on the discard port: a request sent here fails at once."""


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer(api_key=KEY) as fake:
        yield fake


def url_of(kind: Kind, server: FakeLLMServer) -> str:
    return {
        "openai": server.openai_base_url,
        "anthropic": server.anthropic_base_url,
        "gemini": server.gemini_base_url,
    }[kind]


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_an_agent_without_base_url_follows_the_variable(
    kind: Kind, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BASE_URL_ENV[kind], url_of(kind, server))
    server.enqueue(reply(f"hello through the {kind} variable"))
    provider = create_provider(
        ProviderSettings(kind=kind, model="m", api_key=KEY, timeout_s=5.0, max_retries=0)
    )
    try:
        completion = await provider.complete(QUESTION)
    finally:
        await provider.aclose()
    assert completion.text == f"hello through the {kind} variable"
    assert provider.settings.base_url == url_of(kind, server)


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_a_configured_base_url_wins_over_the_variable(
    kind: Kind, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BASE_URL_ENV[kind], DEAD)
    server.enqueue(reply("hello from the configured server"))
    provider = create_provider(
        ProviderSettings(
            kind=kind,
            model="m",
            api_key=KEY,
            base_url=url_of(kind, server),
            timeout_s=5.0,
            max_retries=0,
        )
    )
    try:
        completion = await provider.complete(QUESTION)
    finally:
        await provider.aclose()
    assert completion.text == "hello from the configured server"
