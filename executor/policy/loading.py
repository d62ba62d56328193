"""Reading the user-editable lists (`readonly.yaml`, `forbidden.yaml`) into rules.

Errors become `PolicyConfigError` naming the file, so a broken list stops the start, not a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from executor.policy.model import ForbiddenRule, PolicyConfigError, ReadOnlyRule
from executor.policy.patterns import pattern_words
from executor.policy.tools import tool_specs


@dataclass(frozen=True)
class ForbiddenList:
    """What `forbidden.yaml` adds to the built-in forbid list."""

    rules: tuple[ForbiddenRule, ...] = ()
    protected_paths: tuple[str, ...] = ()


def load_readonly(path: str | Path) -> tuple[ReadOnlyRule, ...]:
    """Read a read-only list: ``commands:`` of strings or ``{command: ..., deny: [...]}``.

    Also reads the tool specs that judge its commands (once per process), so that happens at
    start, where the config is checked, and not inside the first `decide()`.
    """
    tool_specs()
    data = _load_yaml(path)
    items = data.get("commands") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise PolicyConfigError(f"{path}: expected a list under 'commands'")
    rules: list[ReadOnlyRule] = []
    for item in items:
        if isinstance(item, str):
            rules.append(ReadOnlyRule.of(item))
        elif isinstance(item, dict) and isinstance(item.get("command"), str):
            deny = item.get("deny", [])
            if not isinstance(deny, list) or not all(isinstance(d, str) for d in deny):
                raise PolicyConfigError(f"{path}: 'deny' of {item['command']!r} must be strings")
            rules.append(ReadOnlyRule.of(item["command"], *deny))
        else:
            raise PolicyConfigError(f"{path}: cannot read the entry {item!r}")
    return tuple(rules)


def load_forbidden(path: str | Path) -> ForbiddenList:
    """Read extra forbid rules: ``commands: [{pattern, reason}]`` and ``protected_paths``."""
    data = _load_yaml(path)
    if data is None:
        return ForbiddenList()
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: expected a mapping")
    rules: list[ForbiddenRule] = []
    for item in data.get("commands") or []:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("pattern"), str)
            and isinstance(item.get("reason"), str)
        ):
            raise PolicyConfigError(f"{path}: each command needs a 'pattern' and a 'reason'")
        pattern_words(item["pattern"])
        rules.append(ForbiddenRule(item["pattern"], item["reason"]))
    paths = data.get("protected_paths") or []
    if not isinstance(paths, list) or not all(
        isinstance(p, str) and p.startswith("/") for p in paths
    ):
        raise PolicyConfigError(f"{path}: protected_paths must be absolute paths")
    return ForbiddenList(tuple(rules), tuple(paths))


def _load_yaml(path: str | Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
        return yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyConfigError(f"cannot read the policy file {path}: {exc}") from exc
