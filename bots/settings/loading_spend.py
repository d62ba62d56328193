"""Reading the top-level `budget` section (issue 19): the council's daily and per-task caps.

Each agent keeps its own `agents[i].budget` (daily cost and tokens); these caps hold over all
of them. A cap must be a positive amount of USD; each problem names its dotted key.
"""

from __future__ import annotations

from bots.settings.model import SpendSettings
from bots.settings.reader import Node


def parse_spend(node: Node) -> SpendSettings:
    """`budget: {daily_usd: 5.0, task_usd: 1.0}`; both optional (no cap)."""
    caps = {key: node.optional(key, float) for key in ("daily_usd", "task_usd")}
    for key, value in caps.items():
        if value is not None and not value > 0:
            raise node.error(key, f"must be a positive amount of USD, such as {key}: 1.50")
    node.reject_unknown()
    return SpendSettings(daily_usd=caps["daily_usd"], task_usd=caps["task_usd"])
