"""How much judging one command may cost: hard limits on the expansion, and a time budget.

A faithful model of bash can be made to explode by a short command: `a=$a$a` doubles a value
each time (27 doublings of 228 characters once took 5 s and 300 MB), `{a,b}{a,b}…` multiplies
words, `eval` of generated code nests and fans out. `decide()` runs in the bots' process, so
every growth is bounded here, and reaching a bound is a finding ("too complex to check"),
never an ALLOW and never a stall. The limits are deterministic; the time budget is the
backstop for whatever work they do not foresee.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

MAX_VALUE_CHARS = 64 * 1024
"""Longest value, argument or variable the expansion builds (a Matrix event is at most 64 KiB,
so no literal from the room reaches it: only generated text does)."""
MAX_TOTAL_CHARS = 1024 * 1024
"""All the text one decision builds into variables, words and arguments, added up."""
MAX_STEP_CHARS = 4 * 1024 * 1024
"""Text held at once while one word's parts are combined (alternatives times length)."""
MAX_BRACE_WORDS = 1000
"""Most words one brace expansion (`{1..1000}`, `{a,b}{a,b}…`) may produce. The parser's own
`brace_expand` leaves a range of more than 1001 numbers unexpanded: no range it leaves so
may pass here as if it were a literal."""
MAX_BRACE_WORK = 4_000_000
"""Most braces times characters in one word handed to brace expansion."""
MAX_ARGS = 4096
"""Most words one command may expand to, its name included."""
MAX_COMMANDS = 10_000
"""Most simple commands one decision walks (lists, pipes, loop and case bodies, nested code)."""
DEFAULT_CHECK_SECONDS = 0.5
"""CPU time one decision may take before the command is handed to a person."""
_TICKS_PER_CLOCK = 8
"""Clock reads are not free (about 1 µs): the time is read on every eighth tick."""


class TooComplex(Exception):
    """Raised inside the analysis when a limit is reached; `decide` turns it into a finding.

    It unwinds the whole walk: what was found until then (a FORBID) still counts, and the
    command needs approval with the limit named."""

    def __init__(self, limit: str) -> None:
        super().__init__(limit)
        self.limit = limit


_collecting: dict[int, float] = {}
_collected: dict[int, float] = {}


def _time_collections(phase: str, info: dict[str, Any]) -> None:
    """CPU seconds the garbage collector spends, per thread (it runs in the thread that
    happened to allocate): a full collection costs what the whole process holds, not what
    the command being judged does, so it is not charged to the command."""
    thread, now = threading.get_ident(), time.thread_time()
    if phase == "start":
        _collecting[thread] = now
    else:
        _collected[thread] = _collected.get(thread, 0.0) + now - _collecting.pop(thread, now)


gc.callbacks.append(_time_collections)


def _thread_work() -> float:
    """CPU seconds of this thread so far, garbage collection left out."""
    return time.thread_time() - _collected.get(threading.get_ident(), 0.0)


class Budget:
    """What one decision may still spend, shared by the walker, the expander and nested code.

    Time is the CPU time of the judging thread less garbage collection, not the wall clock:
    a busy machine or a big heap must not turn everyday commands into approvals, and a
    decision that gets no CPU blocks nobody (it runs off the event loop)."""

    def __init__(self, seconds: float = DEFAULT_CHECK_SECONDS) -> None:
        self.seconds = seconds
        self.deadline = _thread_work() + seconds
        self.chars = 0
        self.ticks = 0
        self.commands = 0

    def tick(self) -> None:
        """A cooperative check of the time budget, called as the walk goes."""
        self.ticks += 1
        if self.ticks % _TICKS_PER_CLOCK == 1 and _thread_work() > self.deadline:
            raise TooComplex(f"{self.seconds:g} s of checking")

    def value(self, length: int) -> None:
        """One value of `length` characters is being built."""
        if length > MAX_VALUE_CHARS:
            raise TooComplex(f"{MAX_VALUE_CHARS // 1024} KiB per expanded value")

    def spend(self, length: int) -> None:
        """A value of `length` characters is kept (a word, an argument, a variable)."""
        self.value(length)
        self.chars += length
        if self.chars > MAX_TOTAL_CHARS:
            raise TooComplex(f"{MAX_TOTAL_CHARS // (1024 * 1024)} MiB of expanded text in all")

    def step(self, held: int) -> None:
        """`held` characters built while combining one word's parts."""
        if held > MAX_STEP_CHARS:
            raise TooComplex(
                f"{MAX_STEP_CHARS // (1024 * 1024)} MiB of alternatives for one word at once"
            )

    def command(self) -> None:
        """One more simple command walked."""
        self.commands += 1
        if self.commands > MAX_COMMANDS:
            raise TooComplex(f"{MAX_COMMANDS:,} commands")

    def args(self, count: int) -> None:
        if count > MAX_ARGS:
            raise TooComplex(f"{MAX_ARGS} arguments per command")

    def braces(self, count: int) -> None:
        if count > MAX_BRACE_WORDS:
            raise TooComplex(f"{MAX_BRACE_WORDS} words from one brace expansion")

    def brace_text(self, text: str) -> None:
        """Brace expansion rescans nested braces: its work grows with braces times length."""
        if text.count("{") * len(text) > MAX_BRACE_WORK:
            raise TooComplex(f"{MAX_BRACE_WORK:,} brace-characters in one word")
