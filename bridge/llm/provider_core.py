"""What every provider shares: its checked settings and the retry loop's clock and sleep.

The SDK-specific part of a provider is only its `_setup` (building the SDK client) and its
requests; construction checks and the injectable time sources live here once.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import ClassVar

from bridge.llm.base import MissingCredentials, ProviderConfigError, ProviderKind, ProviderSettings
from bridge.llm.retry import Clock, Random, Sleep


class ProviderCore:
    kinds: ClassVar[tuple[ProviderKind, ...]] = ()

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        rand: Random = random.random,
    ) -> None:
        if settings.kind not in self.kinds:
            raise ProviderConfigError(f"{type(self).__name__} cannot serve kind {settings.kind!r}")
        if not settings.has_credentials:
            raise MissingCredentials(settings)
        self._settings = settings
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._setup()

    def _setup(self) -> None:
        """Build the SDK client from `self._settings`; raise ProviderConfigError if unusable."""
        raise NotImplementedError

    @property
    def settings(self) -> ProviderSettings:
        return self._settings
