"""Google's Gemini API through google-genai (`from google import genai`, never the retired
google-generativeai). Its quirks stay here: the assistant's role is "model" and the system
prompt goes into the config as system_instruction.

Imports google-genai, so only the factory imports this module, and only when an agent uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import httpx2
import pydantic
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from bridge.llm.base import (
    ChatMessage,
    Completion,
    DeltaCallback,
    ProviderConfigError,
    Usage,
    split_system,
)
from bridge.llm.provider_core import ProviderCore
from bridge.llm.quota import gemini_out_of_credit
from bridge.llm.retry import (
    Failure,
    fallback_failure,
    parse_duration,
    run_with_retries,
    shorten,
    status_failure,
)

_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


class GeminiProvider(ProviderCore):
    """Gemini through the official SDK, its retries off (ours are in retry.py)."""

    kinds = ("gemini",)

    def _setup(self) -> None:
        settings = self._settings
        self._http_options = types.HttpOptions(
            base_url=settings.base_url,
            headers=dict(settings.extra_headers) or None,
            # attempts=1 turns off both the SDK's tenacity retries and its hidden extra try
            # (after a 1-10 s sleep) on aiohttp connection errors. No SDK timeout: the retry
            # loop enforces timeout_s, which, unlike aiohttp's total timeout, lets a long
            # stream that keeps flowing finish.
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client: genai.Client | None = None
        self._session: aiohttp.ClientSession | None = None
        self._config = types.GenerateContentConfig(
            temperature=settings.temperature,
            max_output_tokens=settings.max_tokens,
        )

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        on_delta: DeltaCallback | None = None,
    ) -> Completion:
        system, turns = split_system(messages)
        contents: list[types.Content] = [
            types.Content(
                role="model" if role == "assistant" else "user", parts=[types.Part(text=text)]
            )
            for role, text in turns
        ]
        config = self._config.model_copy(update={"system_instruction": system})

        try:
            client = self._connect()
        except Exception as exc:  # the SDK validates here; its exception must not escape
            raise ProviderConfigError(
                f"{self._settings.agent_label}: cannot set up the Gemini client: {exc}"
            ) from None

        async def attempt(emit: DeltaCallback | None) -> Completion:
            if emit is None:
                response = await client.aio.models.generate_content(
                    model=self._settings.model, contents=contents, config=config
                )
                return self._collect([response])
            stream = await client.aio.models.generate_content_stream(
                model=self._settings.model, contents=contents, config=config
            )
            chunks: list[types.GenerateContentResponse] = []
            try:
                async for chunk in stream:
                    chunks.append(chunk)
                    piece = _text_of(chunk)
                    if piece:
                        await emit(piece)
            finally:
                # Leaving early (timeout, the caller's error) must release the connection now.
                close = getattr(stream, "aclose", None)
                if close is not None:
                    await close()
            return self._collect(chunks)

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
        client, session = self._client, self._session
        self._client = self._session = None
        if client is not None:
            await client.aio.aclose()
            client.close()
        if session is not None:
            await session.close()

    def _connect(self) -> genai.Client:
        """The SDK client, built on first use inside the running loop.

        We hand it our own aiohttp session (made here, as aiohttp wants a running loop) so
        that we own its lifetime; the SDK's per-loop sessions subclass ClientSession, which
        aiohttp warns about on every first request.
        """
        if self._client is None:
            self._session = aiohttp.ClientSession(trust_env=True, read_bufsize=2**22)
            options = self._http_options.model_copy(update={"aiohttp_client": self._session})
            # vertexai=False: the GOOGLE_GENAI_USE_VERTEXAI env var must not reroute an agent.
            self._client = genai.Client(
                api_key=self._settings.api_key, vertexai=False, http_options=options
            )
        return self._client

    # -- responses -------------------------------------------------------------------------

    def _collect(self, chunks: Sequence[types.GenerateContentResponse]) -> Completion:
        """One Completion from a whole response or all stream chunks (usage: the last seen)."""
        text = "".join(_text_of(c) for c in chunks)
        usage = Usage()
        model = self._settings.model
        finish: str | None = None
        for chunk in chunks:
            meta = chunk.usage_metadata
            if meta is not None:
                usage = Usage(
                    meta.prompt_token_count or 0,
                    (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0),
                )
            model = chunk.model_version or model
            for candidate in chunk.candidates or []:
                if candidate.finish_reason is not None:
                    finish = str(candidate.finish_reason.value)
            feedback = chunk.prompt_feedback
            if feedback is not None and feedback.block_reason is not None:
                finish = f"BLOCKED_{feedback.block_reason.value}"
        return Completion(text, usage, model, finish)

    # -- errors ----------------------------------------------------------------------------

    @staticmethod
    def _classify(exc: Exception) -> Failure:
        if isinstance(exc, genai_errors.APIError):
            if exc.code is None or not isinstance(exc.code, int):
                return Failure("other", detail=shorten(exc.message or str(exc)))
            response: Any = getattr(exc, "response", None)
            headers = getattr(response, "headers", None)
            if gemini_out_of_credit(exc.code, exc.message, exc.details):
                return Failure("quota", status=exc.code, detail=shorten(exc.message))
            return status_failure(
                exc.code,
                headers=headers,
                detail=exc.message,
                retry_after_s=_retry_delay(exc.details),
            )
        if isinstance(exc, TimeoutError | httpx2.TimeoutException):  # aiohttp's are TimeoutErrors
            return Failure("timeout")
        if isinstance(exc, aiohttp.ClientError | httpx2.TransportError):
            return Failure("connection", detail=shorten(str(exc) or type(exc).__name__))
        if isinstance(exc, genai_errors.UnknownApiResponseError | pydantic.ValidationError):
            return Failure("bad_response", detail=shorten(str(exc)))
        return fallback_failure(exc)


def _text_of(response: types.GenerateContentResponse) -> str:
    """The visible text of the first candidate: thought summaries are not part of the answer."""
    if not response.candidates:
        return ""
    content = response.candidates[0].content
    if content is None or not content.parts:
        return ""
    return "".join(p.text for p in content.parts if p.text and not p.thought)


def _retry_delay(details: Any) -> float | None:
    """Google puts its Retry-After in the error body, as google.rpc.RetryInfo.retryDelay."""
    error = details.get("error", details) if isinstance(details, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict) and item.get("@type") == _RETRY_INFO:
            return parse_duration(item.get("retryDelay"))
    return None
