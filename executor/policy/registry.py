"""Name-to-function tables filled by decorators next to each function.

`@wrapper("sudo", "sudoedit")` or `@check("rm", "unlink")` registers a function where it is
written; `family=` adds a predicate for names that come in families (`mkfs.ext4`, `python3.12`).
Exact names win over families; a name registered twice is a programming error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


class Registry(Generic[Entry]):
    """Functions by command name, plus predicates for families of names, in registration order."""

    def __init__(self) -> None:
        self.exact: dict[str, Entry] = {}
        self.families: list[tuple[Callable[[str], object], Entry]] = []

    def register(
        self, *names: str, family: Callable[[str], object] | None = None
    ) -> Callable[[Entry], Entry]:
        """A decorator registering the function for `names` (and the `family` predicate)."""

        def add(entry: Entry) -> Entry:
            for name in names:
                if name in self.exact:
                    raise ValueError(f"{name!r} is registered twice")
                self.exact[name] = entry
            if family is not None:
                self.families.append((family, entry))
            return entry

        return add

    def lookup(self, name: str) -> Entry | None:
        """The function for `name`: its exact entry, else the first family that claims it."""
        entry = self.exact.get(name)
        if entry is not None:
            return entry
        for claims, candidate in self.families:
            if claims(name):
                return candidate
        return None

    @classmethod
    def merged(cls, *registries: Registry[Entry]) -> Registry[Entry]:
        """One table from several (exact names must not overlap); families keep their order."""
        out: Registry[Entry] = cls()
        for registry in registries:
            for name, entry in registry.exact.items():
                out.register(name)(entry)
            out.families.extend(registry.families)
        return out
