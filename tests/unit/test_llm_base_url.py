"""Which endpoint an agent's provider uses: its configured base_url, else the vendor's own
base-URL variable (as each SDK's users expect), else the vendor's public API."""

from __future__ import annotations

import pytest

from bridge.llm.base import ProviderKind, ProviderSettings
from bridge.llm.factory import BASE_URL_ENV, base_url_from_env

PROXY = "http://proxy.internal:8080/v1"
CONFIGURED = "http://configured.example/v1"
EVERY_VARIABLE = {
    "OPENAI_BASE_URL": "http://openai-env/v1",
    "ANTHROPIC_BASE_URL": "http://anthropic-env",
    "GOOGLE_GEMINI_BASE_URL": "http://gemini-env",
}

CASES: list[tuple[str, ProviderKind, str | None, dict[str, str], str | None]] = [
    # (case, kind, base_url in the config, environment, base_url used)
    ("openai from its variable", "openai", None, {"OPENAI_BASE_URL": PROXY}, PROXY),
    ("anthropic from its variable", "anthropic", None, {"ANTHROPIC_BASE_URL": PROXY}, PROXY),
    ("gemini from its variable", "gemini", None, {"GOOGLE_GEMINI_BASE_URL": PROXY}, PROXY),
    ("the config wins", "openai", CONFIGURED, {"OPENAI_BASE_URL": PROXY}, CONFIGURED),
    ("the config wins for claude", "anthropic", CONFIGURED, EVERY_VARIABLE, CONFIGURED),
    ("the config wins for gemini", "gemini", CONFIGURED, EVERY_VARIABLE, CONFIGURED),
    ("nothing set: the vendor's API", "openai", None, {}, None),
    ("an empty variable is unset", "anthropic", None, {"ANTHROPIC_BASE_URL": ""}, None),
    ("a blank variable is unset", "gemini", None, {"GOOGLE_GEMINI_BASE_URL": "  "}, None),
    ("surrounding spaces are dropped", "openai", None, {"OPENAI_BASE_URL": f" {PROXY}\n"}, PROXY),
    ("each kind reads only its own", "openai", None, {"ANTHROPIC_BASE_URL": PROXY}, None),
    ("claude ignores OpenAI's", "anthropic", None, {"OPENAI_BASE_URL": PROXY}, None),
    ("gemini ignores Vertex's", "gemini", None, {"GOOGLE_VERTEX_BASE_URL": PROXY}, None),
    ("all set, openai", "openai", None, EVERY_VARIABLE, "http://openai-env/v1"),
    ("all set, anthropic", "anthropic", None, EVERY_VARIABLE, "http://anthropic-env"),
    ("all set, gemini", "gemini", None, EVERY_VARIABLE, "http://gemini-env"),
    # An OpenAI-compatible server is named by its required base_url, never by OpenAI's variable.
    ("compatible keeps its own", "openai-compatible", CONFIGURED, EVERY_VARIABLE, CONFIGURED),
    ("compatible is never OpenAI", "openai-compatible", None, EVERY_VARIABLE, None),
]


@pytest.mark.parametrize(
    ("kind", "configured", "environ", "used"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_base_url_used(
    kind: ProviderKind, configured: str | None, environ: dict[str, str], used: str | None
) -> None:
    settings = ProviderSettings(kind=kind, model="m", api_key="k", base_url=configured)
    resolved = base_url_from_env(settings, environ)
    assert resolved.base_url == used
    assert resolved.model == settings.model
    assert resolved.api_key == settings.api_key


def test_the_process_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", PROXY)
    settings = ProviderSettings(kind="anthropic", model="m", api_key="k")
    assert base_url_from_env(settings).base_url == PROXY


def test_the_variables_are_the_sdks_own() -> None:
    assert BASE_URL_ENV == {
        "openai": "OPENAI_BASE_URL",
        "anthropic": "ANTHROPIC_BASE_URL",
        "gemini": "GOOGLE_GEMINI_BASE_URL",
    }
