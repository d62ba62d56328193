"""Reading the `night` section (issue 19): presets are non-empty lists of command globs."""

from __future__ import annotations

import re

from bots.errors import ConfigError
from bots.settings.night import DEFAULT_PRESETS, NightSettings
from bots.settings.reader import Node

_PRESET_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def parse_night(node: Node) -> NightSettings:
    """The `night` section; every problem names its dotted key."""
    defaults = NightSettings()
    presets = dict(DEFAULT_PRESETS)
    listed = node.child("presets")
    raw = node.raw("presets") or {}
    for name in raw:
        key = listed.key(str(name))
        if not isinstance(name, str) or not _PRESET_NAME.match(name):
            raise ConfigError(f"{key}: a preset name is a lowercase word (e.g. maintenance)")
        globs = tuple(g.strip() for g in listed.strings(name) if g.strip())
        if not globs:
            raise ConfigError(f"{key}: a preset lists at least one command glob (e.g. ['df *'])")
        presets[name] = globs
    check = node.get("check_seconds", float, defaults.check_seconds)
    cache = node.get("quiet_cache_seconds", float, defaults.quiet_cache_seconds)
    if not 0 < check <= 3600:
        raise node.error("check_seconds", "must be above 0 and at most 3600")
    if not 0 <= cache <= 300:
        raise node.error("quiet_cache_seconds", "must be between 0 and 300")
    node.reject_unknown()
    return NightSettings(presets=presets, check_seconds=check, quiet_cache_seconds=cache)
