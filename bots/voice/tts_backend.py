"""Prints the configured `voice.tts.backend`, for scripts/up to install local voice's tools.

usage: python -m bots.voice.tts_backend [--config FILE] [other `chavion up` arguments]

Reads the config `chavion up` would (--config, else $CHAVION_CONFIG, else the default).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bots.errors import ConfigError
from bots.settings.loading import find_config_path, load_settings


def config_argument(argv: Sequence[str]) -> str | None:
    """The value of `--config X` or `--config=X` among `argv`, if any."""
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
    return None


def main(argv: Sequence[str]) -> int:
    """Exit 2, printing nothing, on a config error: `chavion up` then reports it properly."""
    try:
        settings = load_settings(find_config_path(config_argument(argv)))
    except ConfigError:
        return 2
    print(settings.voice.tts.backend)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
