"""How often one message may be edited in place: an agent's streaming answer, the
executor's progress message. One pacing rule for both, because every edit is an event
(rate limits, and each one syncs to every phone) and the final edit must always go out.
"""

from __future__ import annotations

DEFAULT_MIN_EDIT_INTERVAL_S = 2.5
DEFAULT_MAX_EDITS = 12


class EditThrottle:
    """When to edit one streaming placeholder: at most every `min_interval_s`, and at most
    `max_edits` edits in all, the final one included; the final edit is always allowed.

    Time is passed in (monotonic seconds), so tests need no clock.
    """

    def __init__(
        self,
        started_at: float,
        *,
        min_interval_s: float = DEFAULT_MIN_EDIT_INTERVAL_S,
        max_edits: int = DEFAULT_MAX_EDITS,
    ) -> None:
        if min_interval_s < 0:
            raise ValueError("min_interval_s must be zero or more")
        if max_edits < 1:
            raise ValueError("max_edits must be at least 1 (the final edit)")
        self.min_interval_s = min_interval_s
        self.max_edits = max_edits
        self.edits = 0
        self._last = started_at

    def should_edit(self, now: float, *, final: bool = False) -> bool:
        """Whether to edit now; a True answer counts as an edit made at `now`."""
        allowed = final or (
            self.edits < self.max_edits - 1 and now - self._last >= self.min_interval_s
        )
        if allowed:
            self.edits += 1
            self._last = now
        return allowed

    @property
    def exhausted(self) -> bool:
        """Only the final edit is left: a caller that paces a loop by this throttle can stop."""
        return self.edits >= self.max_edits - 1
