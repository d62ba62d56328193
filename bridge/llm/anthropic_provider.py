"""Anthropic's Messages API. Its quirks stay here: the system prompt is a separate parameter,
turns must alternate and start with the user.

Imports the anthropic SDK, so only the factory imports this module, and only when an agent
uses it.
"""

from __future__ import annotations

from collections.abc import Sequence

import anthropic
import httpx2
from anthropic.types import MessageParam

from bridge.llm.base import (
    ChatMessage,
    Completion,
    DeltaCallback,
    Usage,
    split_system,
)
from bridge.llm.provider_core import ProviderCore
from bridge.llm.quota import anthropic_out_of_credit
from bridge.llm.retry import (
    Failure,
    fallback_failure,
    run_with_retries,
    shorten,
    status_failure,
)

ANTHROPIC_BASE_URL = "https://api.anthropic.com"

_SDK_TIMEOUT_MARGIN_S = 5.0

# Errors that arrive as an SSE `error` event inside a 200 response carry only their type.
_STREAM_ERROR_STATUS = {
    "billing_error": 402,
    "rate_limit_error": 429,
    "overloaded_error": 529,
    "api_error": 500,
    "timeout_error": 504,
}


class AnthropicProvider(ProviderCore):
    """Claude through the official SDK, its retries off (ours are in retry.py)."""

    kinds = ("anthropic",)

    def _setup(self) -> None:
        settings = self._settings
        self._client = anthropic.AsyncAnthropic(
            # An explicit key also stops the SDK from looking at env vars and profile files.
            api_key=settings.api_key,
            base_url=settings.base_url or ANTHROPIC_BASE_URL,
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
        system, turns = split_system(messages)
        payload: list[MessageParam] = []
        for role, text in turns:
            if role == "assistant":
                payload.append({"role": "assistant", "content": text})
            else:
                payload.append({"role": "user", "content": text})

        async def attempt(emit: DeltaCallback | None) -> Completion:
            if emit is None:
                return await self._complete_once(system, payload)
            return await self._stream_once(system, payload, emit)

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

    def _extra_body(self, payload: list[MessageParam]) -> dict[str, object]:
        # The SDK re-checks every message against its TypedDicts before sending (tens of ms
        # for a long conversation, on the event loop all bots share); ours are plain dicts
        # already, so they travel in extra_body, which is sent as it is. This SDK generation
        # also has no `temperature` argument; the API still takes the field.
        body: dict[str, object] = {"messages": payload}
        if self._settings.temperature is not None:
            body["temperature"] = self._settings.temperature
        return body

    async def _complete_once(self, system: str | None, payload: list[MessageParam]) -> Completion:
        s = self._settings
        message = await self._client.messages.create(
            model=s.model,
            max_tokens=s.max_tokens,
            messages=[],
            system=anthropic.omit if system is None else system,
            extra_body=self._extra_body(payload),
        )
        text = "".join(block.text for block in message.content if block.type == "text")
        u = message.usage
        usage = Usage(
            u.input_tokens
            + (u.cache_creation_input_tokens or 0)
            + (u.cache_read_input_tokens or 0),
            u.output_tokens,
        )
        return Completion(text, usage, message.model or s.model, message.stop_reason)

    async def _stream_once(
        self, system: str | None, payload: list[MessageParam], emit: DeltaCallback
    ) -> Completion:
        s = self._settings
        stream = await self._client.messages.create(
            model=s.model,
            max_tokens=s.max_tokens,
            messages=[],
            system=anthropic.omit if system is None else system,
            stream=True,
            extra_body=self._extra_body(payload),
        )
        parts: list[str] = []
        model = s.model
        input_tokens = output_tokens = 0
        stop_reason: str | None = None
        async with stream:
            async for event in stream:
                if event.type == "message_start":
                    model = event.message.model or model
                    u = event.message.usage
                    input_tokens = (
                        u.input_tokens
                        + (u.cache_creation_input_tokens or 0)
                        + (u.cache_read_input_tokens or 0)
                    )
                    output_tokens = u.output_tokens
                elif event.type == "content_block_delta":
                    if event.delta.type == "text_delta" and event.delta.text:
                        parts.append(event.delta.text)
                        await emit(event.delta.text)
                elif event.type == "message_delta":
                    d = event.usage
                    output_tokens = d.output_tokens  # cumulative
                    if d.input_tokens is not None:
                        input_tokens = (
                            d.input_tokens
                            + (d.cache_creation_input_tokens or 0)
                            + (d.cache_read_input_tokens or 0)
                        )
                    stop_reason = event.delta.stop_reason or stop_reason
        return Completion("".join(parts), Usage(input_tokens, output_tokens), model, stop_reason)

    # -- errors ----------------------------------------------------------------------------

    @staticmethod
    def _classify(exc: Exception) -> Failure:
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            if status < 400:  # an `error` event inside a streamed 200
                status = _STREAM_ERROR_STATUS.get(str(exc.type or ""), 500)
            detail = exc.api_message or exc.message
            if anthropic_out_of_credit(status, str(exc.type or "") or None, detail):
                return Failure("quota", status=status, detail=shorten(detail))
            return status_failure(status, headers=exc.response.headers, detail=detail)
        if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
            return Failure("timeout")
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__
            return Failure("connection", detail=shorten(str(cause) if cause else exc.message))
        if isinstance(exc, anthropic.APIResponseValidationError):
            return Failure("bad_response", detail=shorten(exc.message))
        if isinstance(exc, httpx2.TransportError):
            # The SDK's stream reader lets transport errors through unwrapped.
            return Failure("connection", detail=shorten(str(exc) or type(exc).__name__))
        if isinstance(exc, anthropic.AnthropicError):
            return Failure("other", detail=shorten(str(exc)))
        return fallback_failure(exc)
