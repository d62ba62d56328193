"""Chavion's configuration: one YAML file, validated at start into frozen values.

`model` holds the values, `loading` (with `loading_execution` and `loading_tasks`) reads
the file into them, `reader` gives typed reads that name the dotted key, `paths` says where
the files are, and `data_dir` lays out (privately) where state lives. Every part of the bots
reads these values, so they are a package of their own rather than part of the app that
assembles the bots. The values used all over the bots are importable from here too.
"""

from bots.settings.model import (
    AccessRule,
    AccessSettings,
    AccountSettings,
    AgentSettings,
    BudgetSettings,
    HomeserverSettings,
    Settings,
    TaskSettings,
)

__all__ = [
    "AccessRule",
    "AccessSettings",
    "AccountSettings",
    "AgentSettings",
    "BudgetSettings",
    "HomeserverSettings",
    "Settings",
    "TaskSettings",
]
