"""The three providers, each on its real SDK, speaking real HTTP to the local fake server.

Nothing here mocks an SDK: what is exercised is the SDK's request building, SSE parsing and
error mapping, plus our conversion, retries and timeouts on top. Backoff is tiny and the
retry loop's sleep is replaced by a recorder, so Retry-After values are checked, not waited.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest

from bridge.errors import ProviderError
from bridge.llm import (
    ChatMessage,
    Completion,
    LLMProvider,
    MissingCredentials,
    ProviderConfigError,
    ProviderRequestError,
    ProviderSettings,
    Usage,
    create_provider,
    has_credentials,
)
from tests.fakes.llm_server import FakeLLMServer, RecordedRequest, error, reply

Kind = Literal["openai", "anthropic", "gemini"]
KINDS: tuple[Kind, ...] = ("openai", "anthropic", "gemini")

KEY = "test-key-123"
AGENT = {"openai": "GPT", "anthropic": "Claude", "gemini": "Gemini"}
VENDOR = {"openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Google"}
MODEL = {"openai": "gpt-test", "anthropic": "claude-test", "gemini": "gemini-test"}

SYSTEM = "You are a council member. Be brief."
CONVERSATION = [
    ChatMessage("system", SYSTEM),
    ChatMessage("assistant", "Hello, I am listening."),
    ChatMessage("user", "alice: what is 2+2?", name="alice"),
    ChatMessage("user", "bob: and 3+3?", name="bob"),
    ChatMessage("assistant", "4 and 6."),
    ChatMessage("user", "alice: thanks", name="alice"),
]
QUESTION = [ChatMessage("system", SYSTEM), ChatMessage("user", "Say hello.")]


class RecordingSleep:
    """Stands in for asyncio.sleep in the retry loop: records the delay, returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    async with FakeLLMServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


def settings_for(kind: Kind, server: FakeLLMServer, **overrides: Any) -> ProviderSettings:
    base_url = {
        "openai": server.openai_base_url,
        "anthropic": server.anthropic_base_url,
        "gemini": server.gemini_base_url,
    }[kind]
    settings = ProviderSettings(
        kind=kind,
        model=MODEL[kind],
        api_key=KEY,
        base_url=base_url,
        temperature=0.5,
        max_tokens=321,
        timeout_s=5.0,
        max_retries=2,
        backoff_initial_s=0.001,
        backoff_max_s=0.01,
        retry_after_max_s=5.0,
        display_name=AGENT[kind],
        vendor=VENDOR[kind],
    )
    return replace(settings, **overrides)


@asynccontextmanager
async def provider_for(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep | None = None, **overrides: Any
) -> AsyncIterator[LLMProvider]:
    provider = create_provider(settings_for(kind, server, **overrides), sleep=sleep)
    try:
        yield provider
    finally:
        await provider.aclose()


async def collect(
    provider: LLMProvider, messages: list[ChatMessage]
) -> tuple[Completion, list[str]]:
    pieces: list[str] = []

    async def on_delta(piece: str) -> None:
        pieces.append(piece)

    completion = await provider.complete(messages, on_delta=on_delta)
    return completion, pieces


# -- happy paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_complete_returns_text_and_usage(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.enqueue(reply("Hello from the fake.", input_tokens=11, output_tokens=4))
    async with provider_for(kind, server, sleep) as provider:
        completion = await provider.complete(QUESTION)

    assert completion.text == "Hello from the fake."
    assert completion.usage == Usage(input_tokens=11, output_tokens=4)
    assert completion.model == MODEL[kind]
    assert completion.finish_reason in {"stop", "end_turn", "STOP"}
    [request] = server.requests
    assert not request.stream
    assert sleep.delays == []


@pytest.mark.parametrize("kind", KINDS)
async def test_streaming_delivers_pieces_in_order_then_full_completion(
    kind: Kind, server: FakeLLMServer
) -> None:
    chunks = ["Hel", "lo, ", "council", "!"]
    server.enqueue(reply(chunks=chunks, input_tokens=7, output_tokens=5))
    async with provider_for(kind, server) as provider:
        completion, pieces = await collect(provider, QUESTION)

    assert pieces == chunks
    assert completion.text == "Hello, council!"
    assert completion.usage == Usage(input_tokens=7, output_tokens=5)
    assert completion.finish_reason in {"stop", "end_turn", "STOP"}
    [request] = server.requests
    assert request.stream
    if kind == "openai":
        assert request.body["stream_options"] == {"include_usage": True}
    if kind == "gemini":
        assert request.path.endswith(f"/models/{MODEL[kind]}:streamGenerateContent")
        assert request.query["alt"] == "sse"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_that_keeps_flowing_may_outlast_the_timeout(
    kind: Kind, server: FakeLLMServer
) -> None:
    # 5 gaps of 0.1 s: 0.5 s in all against a 0.3 s timeout that each piece re-arms.
    server.enqueue(reply(chunks=["a", "b", "c", "d", "e"], chunk_delay_s=0.1))
    async with provider_for(kind, server, timeout_s=0.3, max_retries=0) as provider:
        completion, pieces = await collect(provider, QUESTION)
    assert pieces == ["a", "b", "c", "d", "e"]
    assert completion.text == "abcde"


# -- what reaches the vendor -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_system_prompt_and_conversation_reach_the_server_in_vendor_shape(
    kind: Kind, server: FakeLLMServer
) -> None:
    async with provider_for(kind, server) as provider:
        await provider.complete(CONVERSATION)
    [request] = server.requests
    body = request.body

    if kind == "openai":
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert body["model"] == MODEL[kind]
        assert body["messages"] == [
            {"role": "system", "content": SYSTEM},
            {"role": "assistant", "content": "Hello, I am listening."},
            {"role": "user", "content": "alice: what is 2+2?", "name": "alice"},
            {"role": "user", "content": "bob: and 3+3?", "name": "bob"},
            {"role": "assistant", "content": "4 and 6."},
            {"role": "user", "content": "alice: thanks", "name": "alice"},
        ]
        assert body["max_completion_tokens"] == 321
        assert "max_tokens" not in body
        assert body["temperature"] == 0.5
    elif kind == "anthropic":
        assert request.path == "/v1/messages"
        # The API documents x-api-key; this SDK generation sends the key as a Bearer token.
        presented = {request.headers.get("authorization"), request.headers.get("x-api-key")}
        assert presented & {f"Bearer {KEY}", KEY}
        assert body["model"] == MODEL[kind]
        assert body["system"] == SYSTEM
        # Separate system, user first, same-role turns merged.
        assert body["messages"] == [
            {"role": "user", "content": "(The conversation begins.)"},
            {"role": "assistant", "content": "Hello, I am listening."},
            {"role": "user", "content": "alice: what is 2+2?\n\nbob: and 3+3?"},
            {"role": "assistant", "content": "4 and 6."},
            {"role": "user", "content": "alice: thanks"},
        ]
        assert body["max_tokens"] == 321
        assert body["temperature"] == 0.5
    else:
        assert request.path.endswith(f"/models/{MODEL[kind]}:generateContent")
        assert request.headers["x-goog-api-key"] == KEY
        assert body["systemInstruction"]["parts"] == [{"text": SYSTEM}]
        assert body["contents"] == [
            {"role": "user", "parts": [{"text": "(The conversation begins.)"}]},
            {"role": "model", "parts": [{"text": "Hello, I am listening."}]},
            {"role": "user", "parts": [{"text": "alice: what is 2+2?\n\nbob: and 3+3?"}]},
            {"role": "model", "parts": [{"text": "4 and 6."}]},
            {"role": "user", "parts": [{"text": "alice: thanks"}]},
        ]
        assert body["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 321}


@pytest.mark.parametrize("kind", KINDS)
async def test_the_fake_reads_system_prompt_turns_and_model_the_same_for_every_vendor(
    kind: Kind, server: FakeLLMServer
) -> None:
    async with provider_for(kind, server) as provider:
        await provider.complete(CONVERSATION)
    [request] = server.requests
    assert request.model == MODEL[kind]
    assert request.system == SYSTEM
    assert request.prompt == "alice: thanks"
    assert ("assistant", "4 and 6.") in request.messages
    assert SYSTEM in request.text
    assert "bob: and 3+3?" in request.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("streaming", [False, True])
async def test_a_responder_answers_by_what_is_asked_and_falls_back_to_the_queue(
    kind: Kind, streaming: bool, server: FakeLLMServer
) -> None:
    server.enqueue(reply("from the queue"))
    server.respond(lambda r: reply("nine") if "3+6" in r.prompt else None)
    asked = [ChatMessage("system", SYSTEM), ChatMessage("user", "what is 3+6?")]
    async with provider_for(kind, server) as provider:
        if streaming:
            first, _ = await collect(provider, asked)
            second, _ = await collect(provider, QUESTION)
        else:
            first = await provider.complete(asked)
            second = await provider.complete(QUESTION)
    assert (first.text, second.text) == ("nine", "from the queue")
    server.respond(None)
    async with provider_for(kind, server) as provider:
        third = await provider.complete(asked)
    assert third.text == server.default_text


@pytest.mark.parametrize("kind", KINDS)
async def test_a_responder_that_raises_answers_500_and_is_recorded(
    kind: Kind, server: FakeLLMServer
) -> None:
    def broken(request: RecordedRequest) -> None:
        raise KeyError("no such stage")

    server.respond(broken)
    async with provider_for(kind, server, max_retries=0) as provider:
        with pytest.raises(ProviderError):
            await provider.complete(QUESTION)
    assert server.responder_errors == ["KeyError: 'no such stage'"]
    server.reset()
    assert server.responder_errors == []
    async with provider_for(kind, server) as provider:
        assert (await provider.complete(QUESTION)).text == server.default_text


async def test_openai_compatible_server_needs_no_key_and_gets_plain_params() -> None:
    async with FakeLLMServer() as server:
        settings = ProviderSettings(
            kind="openai-compatible",
            model="llama3",
            base_url=server.openai_base_url,
            max_tokens=99,
            display_name="Llama",
        )
        assert has_credentials(settings)
        assert settings.vendor_label == f"the server at {server.url.removeprefix('http://')}"
        provider = create_provider(settings)
        try:
            completion = await provider.complete(CONVERSATION)
        finally:
            await provider.aclose()

    assert completion.text == server.default_text
    [request] = server.requests
    assert request.headers["authorization"] == "Bearer unused"
    assert request.body["max_tokens"] == 99
    assert "max_completion_tokens" not in request.body
    assert "temperature" not in request.body
    # Not every OpenAI-compatible server accepts `name`; the speaker is in the content anyway.
    assert all("name" not in m for m in request.body["messages"])


async def test_openai_names_are_made_safe(server: FakeLLMServer) -> None:
    messages = [ChatMessage("user", "hi", name="Dr. Kim 김"), ChatMessage("user", "yo", name="한")]
    async with provider_for("openai", server) as provider:
        await provider.complete(messages)
    sent = server.requests[0].body["messages"]
    assert sent[0]["name"] == "Dr_Kim"
    assert "name" not in sent[1]


# -- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limit_then_success_retries_once_honouring_retry_after(
    kind: Kind, stream: bool, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.enqueue(error(429, retry_after=2), reply("Finally."))
    async with provider_for(kind, server, sleep) as provider:
        if stream:
            completion, pieces = await collect(provider, QUESTION)
            assert "".join(pieces) == "Finally."
        else:
            completion = await provider.complete(QUESTION)

    assert completion.text == "Finally."
    assert len(server.requests) == 2
    assert sleep.delays == [2.0]  # the server's Retry-After, not our backoff


@pytest.mark.parametrize("kind", KINDS)
async def test_retry_after_is_capped(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.enqueue(error(429, retry_after=3600), reply("ok"))
    async with provider_for(kind, server, sleep, retry_after_max_s=1.5) as provider:
        await provider.complete(QUESTION)
    assert sleep.delays == [1.5]


async def test_retry_after_as_http_date(server: FakeLLMServer, sleep: RecordingSleep) -> None:
    server.enqueue(error(429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"), reply("ok"))
    async with provider_for("anthropic", server, sleep) as provider:
        await provider.complete(QUESTION)
    assert sleep.delays == [0.0]  # a date in the past means "now"


@pytest.mark.parametrize("kind", KINDS)
async def test_server_error_forever_gives_up_with_a_readable_message(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.set_default(error(500))
    async with provider_for(kind, server, sleep, max_retries=2) as provider:
        with pytest.raises(ProviderRequestError) as caught:
            await provider.complete(QUESTION)

    err = caught.value
    assert isinstance(err, ProviderError)
    message = str(err)
    assert message.startswith(f"{AGENT[kind]}: {VENDOR[kind]} had a server error (500)")
    assert "retried 2 times over" in message
    assert (err.kind, err.status, err.retries) == ("server_error", 500, 2)
    assert len(server.requests) == 3
    assert len(sleep.delays) == 2
    assert all(0 < d <= 0.01 for d in sleep.delays)  # tiny exponential backoff, no Retry-After
    assert err.__cause__ is None or not type(err.__cause__).__module__.startswith(
        ("openai", "anthropic", "google")
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limited_forever_names_agent_vendor_and_retries(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.set_default(error(429, retry_after=1))
    async with provider_for(kind, server, sleep, max_retries=3) as provider:
        with pytest.raises(ProviderRequestError) as caught:
            await provider.complete(QUESTION)
    assert str(caught.value).startswith(
        f"{AGENT[kind]} is rate-limited by {VENDOR[kind]}; retried 3 times over "
    )
    assert sleep.delays == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_key_is_not_retried(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    async with provider_for(kind, server, sleep, api_key="wrong") as provider:
        with pytest.raises(ProviderRequestError) as caught:
            await provider.complete(QUESTION)

    assert str(caught.value) == f"{AGENT[kind]}: {VENDOR[kind]} rejected the API key (401)"
    assert caught.value.kind == "auth"
    assert len(server.requests) == 1
    assert sleep.delays == []


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_request_is_not_retried_and_quotes_the_vendor(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.enqueue(error(400, message="max_tokens: must be at most 8192"))
    async with provider_for(kind, server, sleep) as provider:
        with pytest.raises(ProviderRequestError) as caught:
            await provider.complete(QUESTION)
    assert str(caught.value) == (
        f"{AGENT[kind]}: {VENDOR[kind]} rejected the request (400): "
        "max_tokens: must be at most 8192"
    )
    assert len(server.requests) == 1


async def test_openai_out_of_quota_is_not_retried(
    server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.enqueue(error(429, error_code="insufficient_quota", message="You exceeded your quota."))
    async with provider_for("openai", server, sleep) as provider:
        with pytest.raises(ProviderRequestError) as caught:
            await provider.complete(QUESTION)
    assert caught.value.kind == "quota"
    assert str(caught.value).startswith("GPT: OpenAI says the account has run out of quota (429)")
    assert sleep.delays == []


# -- timeouts and broken connections -----------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", KINDS)
async def test_timeout_becomes_provider_error(
    kind: Kind, stream: bool, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.set_default(reply("too late", delay_s=2.0))
    async with provider_for(kind, server, sleep, timeout_s=0.2, max_retries=1) as provider:
        call = collect(provider, QUESTION) if stream else provider.complete(QUESTION)
        with pytest.raises(ProviderRequestError) as caught:
            await call

    assert caught.value.kind == "timeout"
    assert str(caught.value).startswith(
        f"{AGENT[kind]}: {VENDOR[kind]} did not answer within 0.2 s; retried 1 time over "
    )
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_broken_midway_is_not_retried(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    server.enqueue(reply(chunks=["one ", "two ", "three"], drop_after_chunks=2))
    async with provider_for(kind, server, sleep) as provider:
        with pytest.raises(ProviderRequestError) as caught:
            await collect(provider, QUESTION)

    # Retrying would make the room see "one two" twice.
    assert caught.value.kind == "interrupted"
    assert str(caught.value).startswith(
        f"{AGENT[kind]}: the answer from {VENDOR[kind]} broke off midway"
    )
    assert len(server.requests) == 1
    assert sleep.delays == []


@pytest.mark.parametrize("kind", KINDS)
async def test_unreachable_server_is_retried_then_reported(
    kind: Kind, server: FakeLLMServer, sleep: RecordingSleep
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai" else "")
    async with provider_for(kind, server, sleep, base_url=base, max_retries=1) as provider:
        with pytest.raises(ProviderRequestError) as caught:
            await provider.complete(QUESTION)
    assert caught.value.kind == "connection"
    assert str(caught.value).startswith(f"{AGENT[kind]}: could not reach {VENDOR[kind]}")
    assert "retried 1 time" in str(caught.value)
    assert len(sleep.delays) == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_errors_raised_by_on_delta_are_the_callers_own(
    kind: Kind, server: FakeLLMServer
) -> None:
    class RoomGone(Exception):
        pass

    async def on_delta(piece: str) -> None:
        raise RoomGone(piece)

    async with provider_for(kind, server) as provider:
        with pytest.raises(RoomGone):
            await provider.complete(QUESTION, on_delta=on_delta)
    assert len(server.requests) == 1


# -- credentials and the factory ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", [None, ""])
def test_no_key_means_missing_credentials_not_a_crash(kind: Kind, key: str | None) -> None:
    settings = ProviderSettings(kind=kind, model=MODEL[kind], api_key=key, display_name=AGENT[kind])
    assert not has_credentials(settings)
    with pytest.raises(MissingCredentials) as caught:
        create_provider(settings)
    assert isinstance(caught.value, ProviderError)
    assert str(caught.value) == f"{AGENT[kind]} has no API key for {VENDOR[kind]}"


def test_unknown_kind_and_missing_base_url_are_config_errors() -> None:
    with pytest.raises(ProviderConfigError, match="unknown provider 'mistral'"):
        create_provider(ProviderSettings(kind="mistral", model="m", api_key="k"))  # type: ignore[arg-type]
    with pytest.raises(ProviderConfigError, match="needs a base_url"):
        create_provider(ProviderSettings(kind="openai-compatible", model="m"))


def test_importing_the_package_loads_no_sdk_and_the_factory_loads_only_one() -> None:
    script = textwrap.dedent(
        """
        import sys
        SDKS = ("openai", "anthropic", "google.genai")
        import bridge.llm
        from bridge.llm import MissingCredentials, ProviderSettings
        from bridge.llm import create_provider, has_credentials
        s = ProviderSettings(kind="anthropic", model="m")
        assert not has_credentials(s)
        try:
            create_provider(s)
        except MissingCredentials:
            pass
        before = [m for m in SDKS if m in sys.modules]
        create_provider(ProviderSettings(kind="openai-compatible", model="m",
                                         base_url="http://127.0.0.1:9/v1"))
        after = [m for m in SDKS if m in sys.modules]
        print(before, after)
        """
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] ['openai']"
