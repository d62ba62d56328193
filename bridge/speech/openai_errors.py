"""The `openai` SDK's failures, for speech, as one sentence fit for the room.

Classified by the chat provider's own rules (`OpenAIProvider._classify`: status, quota,
timeout, connection), so speech and chat read an OpenAI failure the same way; only the
wording differs ("Speech-to-text: ..." rather than an agent's name).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import openai

from bridge.errors import SpeechError
from bridge.llm.openai_provider import NO_KEY, OPENAI_BASE_URL, OpenAIProvider

__all__ = ["NO_KEY", "OPENAI_BASE_URL", "client", "speech_error", "vendor_label"]


def vendor_label(base_url: str | None) -> str:
    """OpenAI for the official API, else "the server at <host>", as chat agents say it."""
    if not base_url or base_url.rstrip("/") == OPENAI_BASE_URL:
        return "OpenAI"
    return f"the server at {urlsplit(base_url).netloc or base_url}"


def client(
    base_url: str | None, api_key: str | None, *, timeout_s: float, max_retries: int
) -> openai.AsyncOpenAI:
    """An SDK client; keyless local servers get a placeholder key (the SDK insists on one)."""
    return openai.AsyncOpenAI(
        api_key=api_key or NO_KEY,
        base_url=base_url or OPENAI_BASE_URL,
        timeout=timeout_s,
        max_retries=max_retries,
    )


def speech_error(exc: Exception, *, service: str, vendor: str, model: str) -> SpeechError:
    """`exc` (from the SDK) as a SpeechError saying who failed and why."""
    failure = OpenAIProvider._classify(exc)
    status = f" ({failure.status})" if failure.status else ""
    detail = f": {failure.detail}" if failure.detail else ""
    why = {
        "rate_limited": f"{vendor} is rate-limiting us{status}; try again in a moment",
        "quota": f"{vendor} says the account has run out of quota{status}",
        "overloaded": f"{vendor} is overloaded{status}",
        "server_error": f"{vendor} had a server error{status}",
        "timeout": f"{vendor} did not answer in time",
        "connection": f"could not reach {vendor}{detail}",
        "auth": f"{vendor} rejected the API key{status}",
        "forbidden": f"{vendor} refused access{status}{detail}",
        "not_found": f"{vendor} has no model {model!r}{status}{detail}",
        "bad_request": f"{vendor} rejected the request{status}{detail}",
        "bad_response": f"{vendor} sent an answer that could not be read{detail}",
    }.get(failure.kind, f"the request to {vendor} failed{detail}")
    return SpeechError(f"{service}: {why.rstrip('.')}.")
