"""Chavion's configuration: one YAML file, validated at start into frozen values.

`model` holds the values, `loading` (with `loading_execution`) reads the file into them,
`reader` gives typed reads that name the dotted key, `paths` says where the files are.
The values used all over the bots are importable from here too.
"""

from bots.app.settings.model import (
    AccessRule,
    AccessSettings,
    AccountSettings,
    AgentSettings,
    BudgetSettings,
    HomeserverSettings,
    Settings,
)

__all__ = [
    "AccessRule",
    "AccessSettings",
    "AccountSettings",
    "AgentSettings",
    "BudgetSettings",
    "HomeserverSettings",
    "Settings",
]
