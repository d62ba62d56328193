"""What a command did, as a plain value: apart from the runner so that the bots, the errors
and the messages can read a result without pulling in SSH."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunResult:
    """What a command did. All text is masked; `command` is the masked command line."""

    host: str
    command: str
    exit_status: int | None
    """None when the command ended by a signal or was stopped before it reported one."""
    exit_signal: str | None
    """Signal name without "SIG" (e.g. "TERM"), when the command was killed by one."""
    stdout: str
    stderr: str
    duration: float
    """Seconds from sending the command (including connecting) to its end."""
    truncated: bool
    """Some output was cut to fit Limits.output_limit; the cut is marked in the text."""
    timed_out: bool
    cancelled: bool
    sandboxed: bool = False
    """It ran inside the read-only sandbox (executor/sandbox.py)."""
    notes: tuple[str, ...] = ()
    """What the reader should know about how it ran (no sandbox available, a write the
    sandbox refused), one sentence each."""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out and not self.cancelled
