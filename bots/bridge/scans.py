"""One credential scan per room message for the whole bridge.

The coordinator's client and every external agent's voice hear the same council message,
each on its own sync; the voices keep a message with a credential from their agents and the
dashboard's feed shows it with the credential as its kind. The first of them to hear a
message scans it; the rest take that result by the message's event id.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bots.message import Message
from bots.text.credentials import Found, find_credentials, redacted

KEPT = 256
"""Messages whose scans are remembered: far more than the voices lag behind each other."""


@dataclass(frozen=True)
class Scanned:
    """What the scan found in a message's plain and formatted text."""

    body: tuple[Found, ...]
    formatted: tuple[Found, ...]

    @property
    def holds_credential(self) -> bool:
        return bool(self.body or self.formatted)

    def shown_body(self, message: Message) -> str:
        """The message's text with each credential replaced by its kind."""
        return redacted(message.body, self.body)


class MessageScans:
    """Scan results by event id, the oldest forgotten past `kept`. A message heard again
    with other text (an answer's whole text after its partial one) is scanned again."""

    def __init__(
        self, scan: Callable[[str], list[Found]] = find_credentials, kept: int = KEPT
    ) -> None:
        self._scan = scan
        self._kept = kept
        self._done: OrderedDict[str, tuple[str, str | None, Scanned]] = OrderedDict()

    def of(self, message: Message) -> Scanned:
        """The scan of `message`, made the first time any part of the bridge asks."""
        done = self._done.get(message.event_id)
        if done is not None and done[:2] == (message.body, message.formatted_body):
            self._done.move_to_end(message.event_id)
            return done[2]
        found = Scanned(
            tuple(self._scan(message.body)),
            tuple(self._scan(message.formatted_body)) if message.formatted_body else (),
        )
        self._done[message.event_id] = (message.body, message.formatted_body, found)
        self._done.move_to_end(message.event_id)
        while len(self._done) > self._kept:
            self._done.popitem(last=False)
        return found
