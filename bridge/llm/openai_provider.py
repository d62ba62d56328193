"""OpenAI Chat Completions, and every server that speaks it: Ollama, vLLM, LM Studio,
Perplexity, Mistral, DeepSeek, OpenRouter.

Imports the openai SDK, so only the factory imports this module, and only when an agent
uses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import httpx2
import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)

from bridge.llm.base import (
    ChatMessage,
    Completion,
    DeltaCallback,
    ProviderConfigError,
    Usage,
)
from bridge.llm.provider_core import ProviderCore
from bridge.llm.quota import openai_out_of_credit
from bridge.llm.retry import (
    AttemptFailed,
    Failure,
    fallback_failure,
    run_with_retries,
    shorten,
    status_failure,
)

OPENAI_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "unused"
"""Sent to keyless local servers: the SDK insists on some key."""

_SDK_TIMEOUT_MARGIN_S = 5.0
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class OpenAIProvider(ProviderCore):
    """Chat Completions through the official SDK, its retries off (ours are in retry.py)."""

    kinds = ("openai", "openai-compatible")

    def _setup(self) -> None:
        settings = self._settings
        if settings.kind == "openai-compatible" and not settings.base_url:
            raise ProviderConfigError(
                f"{settings.agent_label}: an OpenAI-compatible provider needs a base_url"
            )
        self._client = openai.AsyncOpenAI(
            api_key=settings.api_key or NO_KEY,
            base_url=settings.base_url or OPENAI_BASE_URL,
            # The retry loop enforces timeout_s; the SDK's own is only a backstop behind it.
            timeout=settings.timeout_s + _SDK_TIMEOUT_MARGIN_S,
            max_retries=0,
            default_headers=dict(settings.extra_headers) or None,
        )

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        on_delta: DeltaCallback | None = None,
    ) -> Completion:
        payload = [self._message(m) for m in messages]

        async def attempt(emit: DeltaCallback | None) -> Completion:
            if emit is None:
                return await self._complete_once(payload)
            return await self._stream_once(payload, emit)

        return await run_with_retries(
            attempt,
            settings=self._settings,
            classify=self._classify,
            on_delta=on_delta,
            sleep=self._sleep,
            clock=self._clock,
            rand=self._rand,
        )

    async def aclose(self) -> None:
        await self._client.close()

    # -- requests --------------------------------------------------------------------------

    # The SDK re-checks every message against its TypedDicts before sending: ~0.5 ms a
    # message, 31 ms for a 60-turn conversation, on the event loop all bots share. Ours are
    # plain role/content dicts already, so they go in `extra_body`, which is sent as it is.
    async def _complete_once(self, payload: list[ChatCompletionMessageParam]) -> Completion:
        s = self._settings
        official = s.kind == "openai"
        response = await self._client.chat.completions.create(
            model=s.model,
            # Sent as it is, past the SDK's re-check: see the note on _complete_once.
            messages=[],
            extra_body={"messages": payload},
            temperature=openai.omit if s.temperature is None else s.temperature,
            # OpenAI's newer models only take max_completion_tokens; other servers max_tokens.
            max_completion_tokens=s.max_tokens if official else openai.omit,
            max_tokens=openai.omit if official else s.max_tokens,
        )
        if not response.choices:
            raise AttemptFailed(Failure("bad_response", detail="the answer had no choices"))
        choice = response.choices[0]
        text = choice.message.content or choice.message.refusal or ""
        usage = (
            Usage(response.usage.prompt_tokens, response.usage.completion_tokens)
            if response.usage is not None
            else Usage()
        )
        return Completion(text, usage, response.model or s.model, choice.finish_reason)

    async def _stream_once(
        self, payload: list[ChatCompletionMessageParam], emit: DeltaCallback
    ) -> Completion:
        s = self._settings
        official = s.kind == "openai"
        stream = await self._client.chat.completions.create(
            model=s.model,
            # Sent as it is, past the SDK's re-check: see the note on _complete_once.
            messages=[],
            extra_body={"messages": payload},
            stream=True,
            stream_options={"include_usage": True},
            temperature=openai.omit if s.temperature is None else s.temperature,
            max_completion_tokens=s.max_tokens if official else openai.omit,
            max_tokens=openai.omit if official else s.max_tokens,
        )
        parts: list[str] = []
        usage = Usage()
        model = s.model
        finish: str | None = None
        async with stream:
            async for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    piece = choice.delta.content if choice.delta is not None else None
                    if piece:
                        parts.append(piece)
                        await emit(piece)
                    if choice.finish_reason is not None:
                        finish = choice.finish_reason
        return Completion("".join(parts), usage, model, finish)

    def _message(self, message: ChatMessage) -> ChatCompletionMessageParam:
        # `name` tells speakers apart, but only OpenAI itself is known to accept it everywhere.
        name = _safe_name(message.name) if self._settings.kind == "openai" else None
        if message.role == "system":
            system: ChatCompletionSystemMessageParam = {
                "role": "system",
                "content": message.content,
            }
            if name:
                system["name"] = name
            return system
        if message.role == "assistant":
            assistant: ChatCompletionAssistantMessageParam = {
                "role": "assistant",
                "content": message.content,
            }
            if name:
                assistant["name"] = name
            return assistant
        user: ChatCompletionUserMessageParam = {"role": "user", "content": message.content}
        if name:
            user["name"] = name
        return user

    # -- errors ----------------------------------------------------------------------------

    @staticmethod
    def _classify(exc: Exception) -> Failure:
        if isinstance(exc, openai.APIStatusError):
            failure = status_failure(
                exc.status_code, headers=exc.response.headers, detail=_api_message(exc)
            )
            if openai_out_of_credit(exc.status_code, exc.code):
                return Failure("quota", status=exc.status_code, detail=failure.detail)
            return failure
        if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
            return Failure("timeout")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            return Failure("connection", detail=shorten(str(cause) if cause else exc.message))
        if isinstance(exc, openai.APIResponseValidationError):
            return Failure("bad_response", detail=shorten(exc.message))
        if isinstance(exc, httpx2.TransportError):
            return Failure("connection", detail=shorten(str(exc) or type(exc).__name__))
        if isinstance(exc, openai.OpenAIError):
            return Failure("other", detail=shorten(str(exc)))
        return fallback_failure(exc)


def _api_message(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str):
            return message
    return exc.message


def _safe_name(name: str | None) -> str | None:
    """OpenAI accepts names of [A-Za-z0-9_-]{1,64}; anything else is a 400."""
    if not name:
        return None
    cleaned = _NAME_UNSAFE.sub("_", name).strip("_")[:64]
    return cleaned or None
