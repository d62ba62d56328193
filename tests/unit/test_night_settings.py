"""The `night` section: presets are lowercase names with non-empty glob lists; every mistake
names its dotted key."""

from __future__ import annotations

from typing import Any

import pytest

from bots.errors import ConfigError
from bots.settings.loading_night import parse_night
from bots.settings.night import NightSettings
from bots.settings.reader import Node


def test_no_section_gives_the_readonly_preset() -> None:
    assert parse_night(Node(None, "night")) == NightSettings()
    assert NightSettings().presets == {"readonly": ("*",)}


def test_presets_are_added_to_readonly() -> None:
    node = Node({"presets": {"maintenance": ["df *", " uptime "]}, "check_seconds": 5}, "night")
    found = parse_night(node)
    assert found.presets == {"readonly": ("*",), "maintenance": ("df *", "uptime")}
    assert found.check_seconds == 5.0


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"presets": {"Maint": ["df *"]}}, "night.presets.Maint: a preset name is a lowercase"),
        ({"presets": {"maint": []}}, "night.presets.maint: a preset lists at least one"),
        ({"presets": {"maint": [""]}}, "night.presets.maint: a preset lists at least one"),
        ({"presets": {"maint": [3]}}, "night.presets.maint[0]: expected a string"),
        ({"check_seconds": 0}, "night.check_seconds: must be above 0"),
        ({"quiet_cache_seconds": -1}, "night.quiet_cache_seconds: must be between"),
        ({"budget": 2}, "night.budget: unknown key"),
    ],
    ids=[
        "capital name",
        "empty list",
        "blank glob",
        "not a string",
        "no checks",
        "negative cache",
        "unknown key",
    ],
)
def test_bad_night_sections_name_the_key(section: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_night(Node(section, "night"))
    assert says in str(caught.value)
