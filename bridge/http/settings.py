"""The HTTP server's own settings, as one frozen value the bots' config loader builds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BridgeHttpSettings:
    """Where the server listens and how much one caller may send.

    Loopback by default: the production compose file's reverse proxy is the way in from
    outside. `port` 0 takes any free port (tests, benches); `serve` says which one it got.
    """

    host: str = "127.0.0.1"
    port: int = 8686
    max_body_bytes: int = 64 * 1024
    rate_per_minute: float = 120.0
    burst: int = 30
    heartbeat_seconds: float = 15.0  # an SSE comment this often keeps proxies from closing it
    list_limit: int = 50  # GET /api/tasks without ?limit=
    max_list_limit: int = 500

    def __post_init__(self) -> None:
        problems = [
            f"{name} {value!r} {rule}"
            for name, value, ok, rule in (
                ("port", self.port, 0 <= self.port <= 65535, "is not a port (0..65535)"),
                ("max_body_bytes", self.max_body_bytes, self.max_body_bytes >= 1024, "< 1024"),
                ("rate_per_minute", self.rate_per_minute, self.rate_per_minute > 0, "<= 0"),
                ("burst", self.burst, self.burst >= 1, "< 1"),
                ("heartbeat_seconds", self.heartbeat_seconds, self.heartbeat_seconds > 0, "<= 0"),
                (
                    "list_limit",
                    self.list_limit,
                    1 <= self.list_limit <= self.max_list_limit,
                    "is not within 1..max_list_limit",
                ),
            )
            if not ok
        ]
        if problems:
            raise ValueError("bridge HTTP settings: " + "; ".join(problems))
