"""Typed reads from parsed YAML that name the dotted key when something is wrong.

Every error the user sees points at the exact spot in their file (`agents[2].provider: …`),
so the reader carries its path down as it descends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from bots.errors import ConfigError

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", float: "a number"}


class Node:
    """A mapping from the config file, with the dotted path that leads to it."""

    def __init__(self, data: Any, path: str = "") -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path or '(top level)'}: expected a mapping, got {_kind(data)}")
        self._data: dict[str, Any] = data
        self.path = path
        self._seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, what: str) -> ConfigError:
        return ConfigError(f"{self.key(name)}: {what}")

    def has(self, name: str) -> bool:
        return self._data.get(name) is not None

    def written(self, name: str) -> bool:
        """The key is in the file, even as null (where null means something: `run_as`)."""
        return name in self._data

    def raw(self, name: str) -> Any:
        self._seen.add(name)
        return self._data.get(name)

    def get(self, name: str, kind: type[T], default: T) -> T:
        value = self.raw(name)
        if value is None:
            return default
        return self._check(name, value, kind)

    def require(self, name: str, kind: type[T]) -> T:
        value = self.raw(name)
        if value is None:
            raise self.error(name, "is required")
        return self._check(name, value, kind)

    def optional(self, name: str, kind: type[T]) -> T | None:
        value = self.raw(name)
        return None if value is None else self._check(name, value, kind)

    def choice(self, name: str, options: Sequence[str], default: str | None = None) -> str:
        value = self.get(name, str, default) if default is not None else self.require(name, str)
        if value not in options:
            raise self.error(
                name, f"unknown {name} {value!r}; expected one of {', '.join(options)}"
            )
        return value

    def strings(self, name: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return tuple(default)
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            raise self.error(name, f"expected a list of strings, got {_kind(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(
                    f"{self.key(name)}[{index}]: expected a string, got {_kind(item)}"
                )
        return tuple(value)

    def child(self, name: str) -> Node:
        return Node(self.raw(name), self.key(name))

    def children(self, name: str) -> Iterator[Node]:
        value = self.raw(name)
        if value is None:
            return
        if not isinstance(value, list):
            raise self.error(name, f"expected a list, got {_kind(value)}")
        for index, item in enumerate(value):
            yield Node(item, f"{self.key(name)}[{index}]")

    def mapping(self, name: str) -> dict[str, Node]:
        node = self.child(name)
        node._seen.update(node._data)
        return {str(k): Node(v, node.key(str(k))) for k, v in node._data.items()}

    def reject_unknown(self) -> None:
        """Typos must not pass silently: a misspelt key is as bad as a wrong value."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise self.error(unknown[0], "unknown key (check the spelling against the example)")

    def _check(self, name: str, value: Any, kind: type[T]) -> T:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if kind is int and isinstance(value, bool):
            raise self.error(name, f"expected {_TYPE_NAMES[int]}, got {_kind(value)}")
        if not isinstance(value, kind):
            wanted = _TYPE_NAMES.get(kind, kind.__name__)
            raise self.error(name, f"expected {wanted}, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return f"{type(value).__name__} ({value!r})"
