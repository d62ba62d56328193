"""The `night` section: the allowlist presets `!night … allow <preset>` names, and how often
the coordinator looks for a window that closed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_PRESETS: Mapping[str, tuple[str, ...]] = {"readonly": ("*",)}
"""`readonly`: every command the policy allows without asking (the envelope never covers
more than that), on the envelope's hosts."""


@dataclass(frozen=True)
class NightSettings:
    presets: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PRESETS))
    """Preset name → command globs (fnmatch, whole command)."""
    check_seconds: float = 30.0
    """How often the coordinator looks for a window that closed (its morning report)."""
    quiet_cache_seconds: float = 5.0
    """How long a bot trusts that no window is active before reading again (a window just
    granted quiets its replies at most this late; an active one is read before each reply
    it would quiet, so a stopped one is seen at once)."""
