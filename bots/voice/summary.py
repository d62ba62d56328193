"""The prompt that shortens a long text for speech (`prompts/speech_summary.md.j2`), and the
one call that asks the reporting agent for it."""

from __future__ import annotations

from pathlib import Path

import jinja2

from bots.agents.conversation import template_environment
from bots.errors import ConfigError

PROMPTS = Path(__file__).resolve().parent.parent / "agents" / "prompts"
TEMPLATE = "speech_summary.md.j2"
LANGUAGES = {"ko": "Korean", "en": "English", "ja": "Japanese", "de": "German", "fr": "French"}
TEXT_CHARS = 12_000
"""A report longer than this is cut before it is sent to the model (outputs, mostly)."""


def language_name(code: str) -> str:
    """ "ko" → "Korean" for the prompt; an unknown code stays as it is."""
    return LANGUAGES.get(code.lower(), code)


def summary_prompt(text: str, *, chars: int, language: str, master_name: str) -> str:
    """The rendered prompt; a broken template is a configuration error."""
    env = template_environment(PROMPTS)
    try:
        return (
            env.get_template(TEMPLATE)
            .render(
                text=text[:TEXT_CHARS],
                chars=chars,
                language=language_name(language),
                master_name=master_name,
            )
            .strip()
        )
    except jinja2.TemplateError as exc:
        raise ConfigError(f"speech summary prompt {PROMPTS / TEMPLATE}: {exc}") from exc
