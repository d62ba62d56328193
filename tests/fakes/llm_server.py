"""A local fake LLM server speaking the OpenAI, Anthropic and Gemini wire protocols.

Tests point the real SDKs at it (through each provider's configurable base URL), so what is
exercised is the SDK's own HTTP, SSE parsing and error mapping, not a mock of it. Each test
scripts the replies it needs (text, token counts, status codes, Retry-After, delays) and then
asserts on the requests that were recorded.

Usage::

    async with FakeLLMServer() as server:
        server.enqueue(error(429, retry_after=0), reply("Hello"), protocol="anthropic")
        ...  # point an SDK at server.anthropic_base_url
        assert server.requests[0].body["system"] == "Be brief."

A test that drives several agents through a conversation (the coordinator's task workflow)
answers by what each request asks rather than by arrival order: `server.respond(fn)` calls
`fn(request)` for every request; what it returns is the answer, and None falls back to the
queues and the default. `RecordedRequest.system`, `.prompt` and `.model` read the request
the same way for all three wire protocols::

    server.respond(lambda r: reply("B") if "vote" in r.system.lower() else None)

OpenAI's audio endpoints are here too (`tests/fakes/audio_routes.py`): transcripts are
scripted with `enqueue_transcript("클로드, 안녕")`, speech answers a WAV tone as long as the
text; `transcription_requests` and `speech_requests` record what was sent.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

from tests.fakes.audio_routes import AudioEndpoints

WireProtocol = Literal["openai", "anthropic", "gemini"]
PROTOCOLS: tuple[WireProtocol, ...] = ("openai", "anthropic", "gemini")

DEFAULT_TEXT = "This is the fake model speaking."


@dataclass(frozen=True)
class Scripted:
    """One scripted answer. Build it with `reply()` or `error()` rather than directly."""

    text: str | None = None
    """The answer; None means the server's default reply."""
    chunks: Sequence[str] | None = None
    """How to split the answer when streaming; default: word by word (spaces kept)."""
    status: int = 200
    message: str | None = None
    """Error message put into the vendor-shaped error body."""
    error_code: str | None = None
    """OpenAI's error.code (e.g. "insufficient_quota") or Anthropic's error.type (e.g.
    "billing_error"); default chosen from the status."""
    quota_id: str | None = None
    """Gemini: a QuotaFailure violation with this quotaId (e.g.
    "GenerateRequestsPerDayPerProjectPerModel-FreeTier") in the error details."""
    retry_after: float | str | None = None
    """Sent as the Retry-After header (and as Gemini's RetryInfo.retryDelay)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Wait this long before answering at all (to provoke client timeouts)."""
    chunk_delay_s: float = 0.0
    """Wait this long between streamed chunks."""
    drop_after_chunks: int | None = None
    """When streaming, cut the connection after this many text chunks."""
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    model: str | None = None


def reply(
    text: str | None = None,
    *,
    chunks: Sequence[str] | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    finish_reason: str | None = None,
    model: str | None = None,
    delay_s: float = 0.0,
    chunk_delay_s: float = 0.0,
    drop_after_chunks: int | None = None,
) -> Scripted:
    """A successful answer; text=None gives the default reply, chunks fixes the stream split."""
    if chunks is not None and text is None:
        text = "".join(chunks)
    return Scripted(
        text=text,
        chunks=tuple(chunks) if chunks is not None else None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        finish_reason=finish_reason,
        model=model,
        delay_s=delay_s,
        chunk_delay_s=chunk_delay_s,
        drop_after_chunks=drop_after_chunks,
    )


def error(
    status: int,
    *,
    message: str | None = None,
    error_code: str | None = None,
    retry_after: float | str | None = None,
    headers: Mapping[str, str] | None = None,
    delay_s: float = 0.0,
    quota_id: str | None = None,
) -> Scripted:
    """An HTTP error in the vendor's error shape, optionally with a Retry-After header."""
    return Scripted(
        status=status,
        message=message,
        error_code=error_code,
        quota_id=quota_id,
        retry_after=retry_after,
        headers=dict(headers or {}),
        delay_s=delay_s,
    )


@dataclass(frozen=True)
class RecordedRequest:
    """What the server was sent, kept so tests can assert on the vendor-specific shape."""

    protocol: WireProtocol
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: Any
    stream: bool

    @property
    def model(self) -> str:
        """The model asked for: in the body (OpenAI, Anthropic) or in the path (Gemini)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("model"), str):
            return str(self.body["model"])
        if self.protocol == "gemini":
            return self.path.rsplit("/", 1)[-1].partition(":")[0]
        return ""

    @property
    def system(self) -> str:
        """The system prompt, whichever way the vendor carries it ("" when there is none)."""
        body = self.body if isinstance(self.body, dict) else {}
        if self.protocol == "anthropic":
            return _plain(body.get("system"))
        if self.protocol == "gemini":
            instruction = body.get("systemInstruction") or body.get("system_instruction")
            return _plain(instruction.get("parts") if isinstance(instruction, dict) else None)
        return "\n".join(text for role, text in self._turns() if role in ("system", "developer"))

    @property
    def messages(self) -> list[tuple[str, str]]:
        """The conversation without the system prompt, as (role, text); Gemini's "model"
        role reads as "assistant"."""
        return [(r, t) for r, t in self._turns() if r not in ("system", "developer")]

    @property
    def prompt(self) -> str:
        """The last user turn: what the model is asked now."""
        users = [text for role, text in self.messages if role == "user"]
        return users[-1] if users else ""

    @property
    def text(self) -> str:
        """Everything the model was shown, system prompt first, to search in."""
        return "\n".join([self.system, *(text for _, text in self.messages)])

    def _turns(self) -> list[tuple[str, str]]:
        body = self.body if isinstance(self.body, dict) else {}
        turns = body.get("contents") if self.protocol == "gemini" else body.get("messages")
        out: list[tuple[str, str]] = []
        for turn in turns if isinstance(turns, list) else []:
            if not isinstance(turn, dict):
                continue
            role = str(turn.get("role", "user"))
            content = turn.get("parts") if self.protocol == "gemini" else turn.get("content")
            out.append(("assistant" if role == "model" else role, _plain(content)))
        return out


Responder = Callable[[RecordedRequest], "Scripted | None"]
"""Picks the answer to one request from what it asks; None: use the queues and default."""


class FakeLLMServer(AudioEndpoints):
    """An aiohttp app on 127.0.0.1 (port 0) with scripted, recorded LLM endpoints; OpenAI's
    audio endpoints (transcription, speech) come from `AudioEndpoints`."""

    def __init__(self, *, default_text: str = DEFAULT_TEXT, api_key: str | None = None) -> None:
        """api_key, when set, makes every route answer 401 to requests that do not carry it."""
        self.default_text = default_text
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self._queues: dict[WireProtocol | None, deque[Scripted]] = {
            p: deque() for p in (*PROTOCOLS, None)
        }
        self._defaults: dict[WireProtocol | None, Scripted] = {}
        self._responder: Responder | None = None
        self.responder_errors: list[str] = []
        """What a responder raised (the request got a 500 saying so): tests assert it empty."""
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._init_audio()

    # -- scripting -------------------------------------------------------------------------

    def enqueue(self, *responses: Scripted, protocol: WireProtocol | None = None) -> None:
        """Queue answers, used once each, for one protocol or (protocol=None) for any."""
        self._queues[protocol].extend(responses)

    def set_default(
        self, response: Scripted | None, *, protocol: WireProtocol | None = None
    ) -> None:
        """What to answer when the queues are empty (e.g. `error(500)` for "500 forever")."""
        if response is None:
            self._defaults.pop(protocol, None)
        else:
            self._defaults[protocol] = response

    def respond(self, responder: Responder | None) -> None:
        """Answer every request with `responder(request)` first; None unsets it."""
        self._responder = responder

    def reset(self) -> None:
        """Forget scripts and recorded requests, audio ones too (for a server shared between
        tests)."""
        self.requests.clear()
        for queue in self._queues.values():
            queue.clear()
        self._defaults.clear()
        self._responder = None
        self.responder_errors.clear()
        self._reset_audio()

    def requests_for(self, protocol: WireProtocol) -> list[RecordedRequest]:
        return [r for r in self.requests if r.protocol == protocol]

    def _next(self, protocol: WireProtocol, request: RecordedRequest) -> Scripted:
        if self._responder is not None:
            try:
                chosen = self._responder(request)
            except Exception as exc:  # a broken script must fail the test, not hang it
                self.responder_errors.append(f"{type(exc).__name__}: {exc}")
                return error(500, message=f"the test's responder raised {exc!r}")
            if chosen is not None:
                return chosen
        for key in (protocol, None):
            queue = self._queues[key]
            if queue:
                return queue.popleft()
        return self._defaults.get(protocol) or self._defaults.get(None) or Scripted()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeLLMServer is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def openai_base_url(self) -> str:
        """OpenAI-style base URLs include the version, like Ollama's http://host:11434/v1."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def gemini_base_url(self) -> str:
        return self.url

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        # google-genai builds {base_url}/{api_version}/models/{model}:{method}; the version is
        # "v1" by default in this SDK (v1beta with GOOGLE_GENAI_API_VERSION=beta), so accept any.
        app.router.add_post("/{version}/models/{model_method}", self._gemini)
        self._add_audio_routes(app)
        # handler_cancellation: a client that times out and disconnects cancels our delay, so
        # stopping the server never waits for sleeping handlers.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- shared plumbing -------------------------------------------------------------------

    async def _record(
        self, protocol: WireProtocol, request: web.Request, stream: bool | None = None
    ) -> tuple[Any, bool, RecordedRequest]:
        """Record the request; stream=None means "as the JSON body's `stream` flag says"."""
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if stream is None:
            stream = isinstance(body, dict) and bool(body.get("stream"))
        self.requests.append(
            recorded := RecordedRequest(
                protocol=protocol,
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                stream=stream,
            )
        )
        return body, stream, recorded

    def _text(self, script: Scripted) -> str:
        return self.default_text if script.text is None else script.text

    @staticmethod
    def _chunks(script: Scripted, text: str) -> list[str]:
        if script.chunks is not None:
            return list(script.chunks)
        words = text.split(" ")
        return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]

    @staticmethod
    def _error_headers(script: Scripted) -> dict[str, str]:
        headers = dict(script.headers)
        if script.retry_after is not None:
            headers["Retry-After"] = _retry_after_value(script.retry_after)
        return headers

    async def _open_sse(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        return response

    @staticmethod
    async def _pause(seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    @staticmethod
    def _drop(request: web.Request) -> None:
        """Cut the connection mid-stream, as a crashed upstream would."""
        if request.transport is not None:
            request.transport.close()

    # -- OpenAI ----------------------------------------------------------------------------

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body, stream, recorded = await self._record("openai", request)
        script = self._next("openai", recorded)
        await self._pause(script.delay_s)
        auth = request.headers.get("Authorization", "")
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            script = error(401, message="Incorrect API key provided.")
        if script.status != 200:
            return _openai_error(script)

        text = self._text(script)
        model = script.model or (body.get("model") if isinstance(body, dict) else None) or "fake"
        usage = {
            "prompt_tokens": _input_tokens(script, body),
            "completion_tokens": _output_tokens(script, text),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        finish = script.finish_reason or "stop"
        ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())
        if not stream:
            return web.json_response(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                }
            )

        include_usage = bool(((body or {}).get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            if include_usage:
                data["usage"] = None
            return data

        response = await self._open_sse(request)
        await _sse(response, chunk({"role": "assistant", "content": ""}, None))
        for index, piece in enumerate(self._chunks(script, text)):
            if script.drop_after_chunks is not None and index >= script.drop_after_chunks:
                self._drop(request)
                return response
            await self._pause(script.chunk_delay_s)
            await _sse(response, chunk({"content": piece}, None))
        await _sse(response, chunk({}, finish))
        if include_usage:
            await _sse(
                response,
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                },
            )
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    # -- Anthropic -------------------------------------------------------------------------

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body, stream, recorded = await self._record("anthropic", request)
        script = self._next("anthropic", recorded)
        await self._pause(script.delay_s)
        # The real API takes x-api-key; this SDK generation sends the key as a Bearer token.
        presented = request.headers.get("x-api-key") or request.headers.get(
            "Authorization", ""
        ).removeprefix("Bearer ")
        if self.api_key is not None and presented != self.api_key:
            script = error(401, message="invalid x-api-key")
        if script.status != 200:
            return _anthropic_error(script)

        text = self._text(script)
        model = script.model or (body.get("model") if isinstance(body, dict) else None) or "fake"
        input_tokens = _input_tokens(script, body)
        output_tokens = _output_tokens(script, text)
        stop_reason = script.finish_reason or "end_turn"
        ident = f"msg_{uuid.uuid4().hex[:20]}"
        if not stream:
            return web.json_response(
                {
                    "id": ident,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                },
                headers={"request-id": f"req_{uuid.uuid4().hex[:12]}"},
            )

        response = await self._open_sse(request)
        await _sse(
            response,
            {
                "type": "message_start",
                "message": {
                    "id": ident,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": 1},
                },
            },
            event="message_start",
        )
        await _sse(
            response,
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            event="content_block_start",
        )
        await _sse(response, {"type": "ping"}, event="ping")
        for index, piece in enumerate(self._chunks(script, text)):
            if script.drop_after_chunks is not None and index >= script.drop_after_chunks:
                self._drop(request)
                return response
            await self._pause(script.chunk_delay_s)
            await _sse(
                response,
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
                event="content_block_delta",
            )
        await _sse(response, {"type": "content_block_stop", "index": 0}, event="content_block_stop")
        await _sse(
            response,
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
            event="message_delta",
        )
        await _sse(response, {"type": "message_stop"}, event="message_stop")
        await response.write_eof()
        return response

    # -- Gemini ----------------------------------------------------------------------------

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        model_name, _, method = request.match_info["model_method"].partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            raise web.HTTPNotFound(text=f"unknown method {method!r}")
        stream = method == "streamGenerateContent"
        body, _, recorded = await self._record("gemini", request, stream=stream)
        script = self._next("gemini", recorded)
        await self._pause(script.delay_s)
        if self.api_key is not None and request.headers.get("x-goog-api-key") != self.api_key:
            script = error(401, message="API key not valid. Please pass a valid API key.")
        if script.status != 200:
            return _gemini_error(script)

        text = self._text(script)
        model = script.model or model_name
        prompt = _input_tokens(script, body)
        output = _output_tokens(script, text)
        finish = script.finish_reason or "STOP"
        ident = uuid.uuid4().hex[:16]

        def payload(piece: str, finish_reason: str | None, usage: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": [{"text": piece}]},
                "index": 0,
            }
            if finish_reason is not None:
                candidate["finishReason"] = finish_reason
            data: dict[str, Any] = {
                "candidates": [candidate],
                "modelVersion": model,
                "responseId": ident,
            }
            if usage:
                data["usageMetadata"] = {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": output,
                    "totalTokenCount": prompt + output,
                }
            return data

        if not stream:
            return web.json_response(payload(text, finish, usage=True))
        if request.query.get("alt") != "sse":
            raise web.HTTPBadRequest(text="this fake only streams with alt=sse")

        response = await self._open_sse(request)
        pieces = self._chunks(script, text)
        for index, piece in enumerate(pieces):
            if script.drop_after_chunks is not None and index >= script.drop_after_chunks:
                self._drop(request)
                return response
            await self._pause(script.chunk_delay_s)
            last = index == len(pieces) - 1
            await _sse(response, payload(piece, finish if last else None, usage=last))
        if not pieces:
            await _sse(response, payload("", finish, usage=True))
        await response.write_eof()
        return response


# -- helpers -----------------------------------------------------------------------------------


async def _sse(response: web.StreamResponse, data: Any, *, event: str | None = None) -> None:
    prefix = f"event: {event}\n" if event else ""
    await response.write(f"{prefix}data: {json.dumps(data)}\n\n".encode())


def _plain(value: Any) -> str:
    """The text in a vendor's content shape: a string, or parts/blocks with "text"."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("text", "")) if isinstance(value.get("text"), str) else ""
    if isinstance(value, list):
        return "\n".join(piece for piece in (_plain(v) for v in value) if piece)
    return ""


def _retry_after_value(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _words(value: Any) -> int:
    """Crude token count of every string inside a JSON body, so usage is plausible."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, dict):
        return sum(_words(v) for k, v in value.items() if k not in ("model", "role", "type"))
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    return 0


def _input_tokens(script: Scripted, body: Any) -> int:
    return script.input_tokens if script.input_tokens is not None else max(1, _words(body))


def _output_tokens(script: Scripted, text: str) -> int:
    return script.output_tokens if script.output_tokens is not None else len(text.split())


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}


def _openai_error(script: Scripted) -> web.Response:
    kinds = {
        400: "invalid_request_error",
        401: "invalid_request_error",
        403: "permission_error",
        404: "invalid_request_error",
        429: "rate_limit_error",
    }
    kind = kinds.get(script.status, "server_error")
    code = script.error_code or {
        401: "invalid_api_key",
        404: "model_not_found",
        429: "rate_limit_exceeded",
    }.get(script.status)
    message = script.message or _REASONS.get(script.status, "Error")
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(
        body, status=script.status, headers=FakeLLMServer._error_headers(script)
    )


def _anthropic_error(script: Scripted) -> web.Response:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    body = {
        "type": "error",
        "error": {
            "type": script.error_code or kinds.get(script.status, "api_error"),
            "message": script.message or _REASONS.get(script.status, "Error"),
        },
    }
    headers = FakeLLMServer._error_headers(script)
    headers.setdefault("request-id", f"req_{uuid.uuid4().hex[:12]}")
    return web.json_response(body, status=script.status, headers=headers)


def _gemini_error(script: Scripted) -> web.Response:
    statuses = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }
    # Google sends no Retry-After header: a numeric delay travels as RetryInfo in the body.
    headers = dict(script.headers)
    details: list[dict[str, Any]] = []
    if script.quota_id is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": script.quota_id,
                    }
                ],
            }
        )
    if isinstance(script.retry_after, str):
        headers["Retry-After"] = script.retry_after
    elif script.retry_after is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{_retry_after_value(script.retry_after)}s",
            }
        )
    body = {
        "error": {
            "code": script.status,
            "message": script.message or _REASONS.get(script.status, "Error"),
            "status": statuses.get(script.status, "UNKNOWN"),
            "details": details,
        }
    }
    return web.json_response(body, status=script.status, headers=headers)
