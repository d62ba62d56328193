"""Durations as the bots say them: one decomposition into units, four house styles.

Each style answers a different question, so each rounds differently: an uptime is said
roughly ("up 1d 4h"), a countdown never says "in 0m" (it rounds up to the minute), and a
stopwatch is exact where a person watches it tick ("4.2 s", then "2m 05s"), and a measured
span said once is given in tenths ("ready in 5.3 s"). The unit styles share `two_units`,
which keeps the two largest units from the first one that is not zero. (`bridge/` words its
retry waits itself: it may not import `bots/`.)
"""

from __future__ import annotations

import math

UNITS: tuple[tuple[str, int], ...] = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
"""Suffix and length in seconds, largest first."""


def two_units(
    whole_seconds: int,
    *,
    largest: str = "d",
    smallest: str = "s",
    pad: bool = False,
    drop_zero: bool = False,
) -> str:
    """`whole_seconds` (at least 0) in the two largest units between `largest` and `smallest`,
    starting at the first that is not zero: "1d 1h", "1h 0m", "59s".

    `pad` writes the second unit with two digits ("2m 05s"); `drop_zero` leaves out a second
    unit that is zero ("3h" rather than "3h 0m"). A duration shorter than `smallest` is
    "0" of it.
    """
    names = [name for name, _ in UNITS]
    units = UNITS[names.index(largest) : names.index(smallest) + 1]
    smallest_length = units[-1][1]
    rest = max(whole_seconds, 0) // smallest_length * smallest_length
    amounts: list[tuple[int, str]] = []
    for name, length in units:
        amount, rest = divmod(rest, length)
        amounts.append((amount, name))
    first = next((i for i, (amount, _) in enumerate(amounts) if amount), len(amounts) - 1)
    shown = amounts[first : first + 2]
    if len(shown) == 2 and drop_zero and shown[1][0] == 0:
        shown = shown[:1]
    parts = [f"{amount}{name}" for amount, name in shown[:1]]
    parts += [f"{amount:02d}{name}" if pad else f"{amount}{name}" for amount, name in shown[1:]]
    return " ".join(parts)


def coarse(seconds: float) -> str:
    """ "1d 1h", "1h 0m", "1m 1s", "0s": how long a bot has been up, or silent; seconds are
    cut, not rounded, and a negative span (clocks disagree) is "0s"."""
    return two_units(int(max(seconds, 0)))


def countdown(seconds: float) -> str:
    """ "5h 12m", "12m", "3h": whole minutes, rounded up so "in 0m" is never said; hours
    are the largest unit (a day's budget resets within one)."""
    minutes = max(math.ceil(seconds / 60), 1)
    return two_units(minutes * 60, largest="h", smallest="m", drop_zero=True)


def wait(seconds: float) -> str:
    """ "8 s", "75 s", "3 min", "1h 30m": how long the council is given, as the master reads
    it. Under 90 s in whole seconds (an 8 s wait is not "1 min"), otherwise as a countdown
    ("3 min", "2 h" rather than "3m", "2h")."""
    if not seconds >= 0:  # negative or NaN
        seconds = 0.0
    if seconds < 90:
        return f"{round(seconds)} s"
    text = countdown(seconds)
    if " " not in text and text.endswith(("m", "h")):
        return text[:-1] + (" min" if text.endswith("m") else " h")
    return text


def tenths(seconds: float) -> str:
    """ "5.3 s", "125.0 s": seconds to a tenth, for a measured span said once (how long start-up
    took, how long a command ran) rather than watched while it grows; negative or NaN is
    "0.0 s"."""
    if not seconds >= 0:  # negative or NaN
        seconds = 0.0
    return f"{seconds:.1f} s"


def stopwatch(seconds: float) -> str:
    """ "0.4 s", "12 s", "2m 05s", "1h 02m": short, and exact where it matters (a command that
    has run for a few seconds); negative or NaN is "0.0 s"."""
    if not seconds >= 0:  # negative or NaN
        seconds = 0.0
    if seconds < 10:
        return tenths(seconds)
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return two_units(whole, largest="h", pad=True)
