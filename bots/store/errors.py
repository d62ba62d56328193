"""The store's edge for errors: a database error leaves the store as a `StoreError`, as an
open error does, so callers catch meaning, never sqlite types."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from bots.errors import StoreError


@contextlib.contextmanager
def converted(what: str) -> Iterator[None]:
    """Runs a query; a database error becomes a `StoreError` saying what failed."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"{what} failed: {exc}") from exc
