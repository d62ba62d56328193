"""The `health` and `digest` config sections: defaults, and each refusal names its key."""

from __future__ import annotations

from typing import Any

import pytest

from bots.errors import ConfigError
from bots.settings.health import DigestSettings, HealthSettings
from bots.settings.loading_health import parse_health
from bots.settings.reader import Node


def parse(health: dict[str, Any] | None = None, digest: Any = None) -> HealthSettings:
    return parse_health(Node(health, "health"), Node(digest, "digest"))


def test_defaults() -> None:
    assert parse() == HealthSettings()
    assert parse().digest == DigestSettings(at=None)


GOOD = [
    ("a digest hour", {}, {"at": "07:00"}, lambda s: s.digest.at == (7, 0)),
    ("one-digit hour", {}, {"at": "7:05"}, lambda s: s.digest.at == (7, 5)),
    ("mounts", {"mounts": ["/", "/data"]}, None, lambda s: s.mounts == ("/", "/data")),
    ("interval", {"interval_seconds": 60}, None, lambda s: s.interval_seconds == 60.0),
    ("horizon", {"disk_full_hours": 12}, None, lambda s: s.disk_full_hours == 12.0),
    ("off", {"enabled": False}, None, lambda s: not s.enabled),
]


@pytest.mark.parametrize(
    ("health", "digest", "holds"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD]
)
def test_accepted(health: dict[str, Any], digest: Any, holds: Any) -> None:
    assert holds(parse(health, digest))


BAD = [
    ("unquoted time", {}, {"at": 420}, 'digest.at: write the time in quotes, as "07:00"'),
    ("not a time", {}, {"at": "7am"}, "digest.at: '7am' is not a time of day"),
    ("hour 24", {}, {"at": "24:00"}, "digest.at: '24:00' is not a time of day"),
    ("digest typo", {}, {"hour": "07:00"}, "digest.hour: unknown key"),
    ("health typo", {"interval": 60}, None, "health.interval: unknown key"),
    ("zero interval", {"interval_seconds": 0}, None, "health.interval_seconds: must be between"),
    ("percent over 100", {"disk_pct": 120}, None, "health.disk_pct: must be between 1 and 100"),
    ("confirm 0", {"confirm_readings": 0}, None, "health.confirm_readings: must be between"),
    ("relative mount", {"mounts": ["data"]}, None, "health.mounts: 'data' is not a plain"),
    ("shell in mount", {"mounts": ["/; rm -rf /"]}, None, "health.mounts: '/; rm -rf /'"),
    ("failures 0", {"provider_failures": 0}, None, "health.provider_failures: must be between"),
]


@pytest.mark.parametrize(
    ("health", "digest", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_refused(health: dict[str, Any], digest: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(health, digest)
    assert str(caught.value).startswith(message)
