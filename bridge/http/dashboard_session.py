"""The dashboard's own login: a session cookie, same-origin POSTs, slow failed logins.

The master logs in with his dashboard token or a one-time link from `!dashboard`; the
session is a random 32-byte cookie kept in memory for 12 hours (a restart logs him out,
nothing about it is on disk). Every POST must come from the dashboard's own origin
(Origin, else Referer): another site cannot make his browser create a task. Failed logins
are limited per client address (the reverse proxy's X-Forwarded-For when it is in front).
"""

from __future__ import annotations

import ipaddress
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web

from bridge.http.limits import RateLimiter
from bridge.http.ports import ApiError
from bridge.http.problems import HeaderedError

COOKIE = "chavion_dash"
COOKIE_PATH = "/dashboard"
SESSION_SECONDS = 12 * 3600
LOGIN_BURST = 5  # failed logins at once from one address...
LOGIN_PER_MINUTE = 6.0  # ...then one every ten seconds


@dataclass
class Session:
    """One logged-in browser; `flash` is the line shown once after a redirect."""

    expires_at: float
    flash: str | None = None
    flash_error: bool = False


@dataclass
class Sessions:
    """Sessions by cookie value, expired ones dropped as they are met."""

    clock: Callable[[], float] = time.time
    seconds: float = SESSION_SECONDS
    _by_id: dict[str, Session] = field(default_factory=dict)

    def start(self) -> str:
        """A new session's cookie value (32 random bytes, URL-safe)."""
        self._forget_expired()
        sid = secrets.token_urlsafe(32)
        self._by_id[sid] = Session(self.clock() + self.seconds)
        return sid

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        session = self._by_id.get(sid)
        if session is None:
            return None
        if session.expires_at <= self.clock():
            del self._by_id[sid]
            return None
        return session

    def end(self, sid: str | None) -> None:
        if sid:
            self._by_id.pop(sid, None)

    def __len__(self) -> int:
        return len(self._by_id)

    def _forget_expired(self) -> None:
        now = self.clock()
        for sid in [s for s, v in self._by_id.items() if v.expires_at <= now]:
            del self._by_id[sid]


def is_https(request: web.Request) -> bool:
    """Whether the browser spoke https (to us, or to the reverse proxy in front of us)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return forwarded == "https" or request.secure


def set_cookie(response: web.StreamResponse, request: web.Request, sid: str) -> None:
    response.set_cookie(
        COOKIE,
        sid,
        max_age=SESSION_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH)


def own_origin(request: web.Request) -> str:
    """scheme://host[:port] as the browser sees this server."""
    scheme = "https" if is_https(request) else "http"
    host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip() or request.host
    return f"{scheme}://{host}".lower()


def check_same_origin(request: web.Request) -> None:
    """403 unless a POST says (Origin, else Referer) it comes from this very site."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        referer = request.headers.get("Referer")
        if referer:
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
    if not origin or origin == "null":
        raise ApiError(403, "this form must be sent from the dashboard's own page (no Origin)")
    if origin.lower().rstrip("/") != own_origin(request):
        raise ApiError(403, f"this form must be sent from the dashboard's own page, not {origin}")


def client_address(request: web.Request) -> str:
    """The caller's address; behind a reverse proxy on loopback, the one it forwarded."""
    remote = request.remote or "?"
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        loopback = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        loopback = False
    if loopback and forwarded.strip():
        return forwarded.split(",")[-1].strip()  # the hop our own proxy appended
    return remote


class LoginGuard:
    """Failed logins per client address: `LOGIN_BURST` at once, then `LOGIN_PER_MINUTE`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._limiter = RateLimiter(LOGIN_PER_MINUTE, LOGIN_BURST, clock)
        self._clock = clock
        self._blocked_until: dict[str, float] = {}

    def check(self, address: str) -> None:
        """429 with Retry-After while `address` must wait after too many failures."""
        until = self._blocked_until.get(address)
        if until is None:
            return
        wait = until - self._clock()
        if wait <= 0:
            del self._blocked_until[address]
            return
        seconds = max(1, math.ceil(wait))
        raise HeaderedError(
            429,
            f"too many failed logins from here; try again in {seconds} s",
            {"Retry-After": str(seconds)},
        )

    def failed(self, address: str) -> None:
        """Counts a failure; the one over the limit starts the wait (and answers 429)."""
        wait = self._limiter.wait_for(address)
        if wait > 0:
            self._blocked_until[address] = self._clock() + wait
            self.check(address)
