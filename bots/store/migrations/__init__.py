"""Ordered schema steps. Append a new module for each change; never edit a shipped one."""

from bots.store.migrations import v01_initial

STEPS: tuple[tuple[int, str], ...] = ((1, v01_initial.SQL),)
