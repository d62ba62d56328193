"""What the app keeps for its handlers, under typed keys."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bridge.http.limits import RateLimiter
from bridge.http.ports import Ports
from bridge.http.settings import BridgeHttpSettings
from bridge.http.table import Route

PORTS = web.AppKey("ports", Ports)
SETTINGS = web.AppKey("settings", BridgeHttpSettings)
ROUTES: web.AppKey[tuple[Route, ...]] = web.AppKey("routes")
LIMITER = web.AppKey("limiter", RateLimiter)
# Set when the server stops: open event streams end at once instead of holding the stop.
STOPPING = web.AppKey("stopping", asyncio.Event)
