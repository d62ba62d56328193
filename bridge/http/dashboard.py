"""The master's dashboard: `/dashboard` and its login, form, live events and JSON.

Registered by `build_app` only when the ports have a `DashboardDesk`; none of it is in the
API's route table, `/help` or the OpenAPI document: it has its own login (a session cookie,
`dashboard_session`), not the agents' bearer tokens. HTML answers send an unknown browser
to the login page; the JSON and the event stream answer 401 instead.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.http.api_events import stream_events
from bridge.http.catalog import undocumented
from bridge.http.dashboard_session import (
    COOKIE,
    LoginGuard,
    Session,
    Sessions,
    check_same_origin,
    clear_cookie,
    client_address,
    set_cookie,
)
from bridge.http.dashboard_view import (
    PRIORITIES,
    overview_json,
    render_entered,
    render_login,
    render_page,
    sse_data,
)
from bridge.http.ports import ApiError, DashboardDesk, Overview
from bridge.http.problems import HeaderedError
from bridge.http.state import PORTS

log = logging.getLogger(__name__)

TITLE_CHARS = 300
DESCRIPTION_CHARS = 8000
KEY_CHARS = 200
DEFAULT_ZONE = "Asia/Seoul"


@dataclass
class DashboardState:
    """What the dashboard keeps between requests (in memory: a restart logs out)."""

    sessions: Sessions = field(default_factory=Sessions)
    guard: LoginGuard = field(default_factory=LoginGuard)
    zone: str | None = None  # the overview's, remembered for the event stream's rows


DASHBOARD = web.AppKey("dashboard", DashboardState)


def add_routes(app: web.Application, state: DashboardState | None = None) -> None:
    """Registers the dashboard's routes on `app` (the ports must have a dashboard desk)."""
    app[DASHBOARD] = state or DashboardState()
    app.router.add_get("/", root)
    app.router.add_get("/dashboard", page)
    app.router.add_get("/dashboard/login", login_page)
    app.router.add_post("/dashboard/login", login_post)
    app.router.add_post("/dashboard/logout", logout)
    app.router.add_post("/dashboard/tasks", new_task)
    app.router.add_get("/dashboard/events", events)
    app.router.add_get("/dashboard/overview.json", overview)


def _desk(request: web.Request) -> DashboardDesk:
    desk = request.app[PORTS].dashboard
    assert desk is not None, "dashboard routes are only added with a dashboard desk"
    return desk


def _session(request: web.Request) -> Session | None:
    return request.app[DASHBOARD].sessions.get(request.cookies.get(COOKIE))


async def _overview(request: web.Request) -> Overview:
    found = await _desk(request).overview()
    request.app[DASHBOARD].zone = found.zone
    return found


def _csp(nonce: str | None) -> str:
    """Nothing from elsewhere, no framing, forms and the event stream only to this site; the
    one inline script runs by its per-answer nonce."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return (
        f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def _html(
    text: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    nonce: str | None = None,
) -> web.Response:
    response = web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": _csp(nonce),
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        },
    )
    response.enable_compression()  # ~4x smaller on a phone's slow link, when it accepts gzip
    return response


def _see(location: str) -> web.Response:
    """303 See Other: after a POST the browser GETs `location` (a reload posts nothing)."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


@undocumented
async def root(request: web.Request) -> web.StreamResponse:
    """The dashboard is the site's front page."""
    return _see("/dashboard")


@undocumented
async def page(request: web.Request) -> web.StreamResponse:
    """The dashboard page (or the login page for an unknown browser)."""
    session = _session(request)
    if session is None:
        return _see("/dashboard/login")
    flash, flash_error = session.flash, session.flash_error
    session.flash, session.flash_error = None, False
    nonce = secrets.token_urlsafe(16)
    text = render_page(
        await _overview(request),
        flash=flash,
        flash_error=flash_error,
        form_key=str(uuid.uuid4()),
        nonce=nonce,
    )
    return _html(text, nonce=nonce)


async def _log_in(
    request: web.Request, secret: str, failure: str, *, link: bool = False
) -> web.StreamResponse:
    """A session for the right secret; the login page with `failure` (or 429) otherwise.

    A one-time link (`link`) answers a page that moves on to /dashboard itself instead of a
    303: the link is clicked on another site (Element), and a browser does not send a
    SameSite=Strict cookie along a redirect chain that another site started, so the 303
    would land on the login page with the link already used up.
    """
    state = request.app[DASHBOARD]
    address = client_address(request)
    try:
        state.guard.check(address)
        if not secret or not await _desk(request).login(secret):
            state.guard.failed(address)
            return _html(render_login(failure, error=True), status=401)
    except HeaderedError as exc:
        return _html(render_login(exc.message, error=True), exc.status, exc.headers)
    state.sessions.end(request.cookies.get(COOKIE))
    response = _html(render_entered()) if link else _see("/dashboard")
    set_cookie(response, request, state.sessions.start())
    log.info("dashboard: a browser logged in from %s", address)
    return response


@undocumented
async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form, or `?once=<secret>`: the one-time link of `!dashboard`."""
    once = request.query.get("once")
    if once is not None:
        return await _log_in(
            request,
            once.strip(),
            "This link was already used or has expired: send !dashboard again for a new one.",
            link=True,
        )
    if _session(request) is not None:
        return _see("/dashboard")
    return _html(render_login())


@undocumented
async def login_post(request: web.Request) -> web.StreamResponse:
    """The login form's answer (field `token`)."""
    check_same_origin(request)
    form = await request.post()
    token = form.get("token")
    secret = token.strip() if isinstance(token, str) else ""
    return await _log_in(request, secret, "That is not the dashboard token.")


@undocumented
async def logout(request: web.Request) -> web.StreamResponse:
    """Ends this browser's session."""
    check_same_origin(request)
    request.app[DASHBOARD].sessions.end(request.cookies.get(COOKIE))
    response = _see("/dashboard/login")
    clear_cookie(response)
    return response


def _form_problem(title: str, description: str, priority: str, key: str) -> str | None:
    if not title:
        return "The task needs a title."
    if len(title) > TITLE_CHARS:
        return f"The title is {len(title)} characters; at most {TITLE_CHARS}."
    if len(description) > DESCRIPTION_CHARS:
        return f"The description is {len(description)} characters; at most {DESCRIPTION_CHARS}."
    if priority not in PRIORITIES:
        return f"Priority must be one of {', '.join(PRIORITIES)}, not {priority!r}."
    if len(key) > KEY_CHARS or not key.isprintable():
        return "The form was damaged (its key); reload the page and send it again."
    return None


@undocumented
async def new_task(request: web.Request) -> web.StreamResponse:
    """The master's new-task form: the same intake as his `//chavion_task:`."""
    check_same_origin(request)
    session = _session(request)
    if session is None:
        return _see("/dashboard/login")
    form = await request.post()
    values = {
        name: str(form.get(name) or "").strip()
        for name in ("title", "description", "priority", "key")
    }
    values["priority"] = values["priority"].lower() or "medium"
    key = values["key"] or str(uuid.uuid4())
    problem = _form_problem(values["title"], values["description"], values["priority"], key)
    status = 400
    if problem is None:
        try:
            task = await _desk(request).create_task(
                values["title"], values["description"], values["priority"], key
            )
        except ApiError as exc:
            problem, status = exc.message, exc.status
        else:
            session.flash = f"Task #{task.id} created: {task.title}"
            session.flash_error = False
            return _see("/dashboard")
    # Shown again with what he typed, so nothing is lost; the same key keeps a retry one task.
    nonce = secrets.token_urlsafe(16)
    text = render_page(
        await _overview(request),
        flash=problem,
        flash_error=True,
        form=values,
        form_key=key,
        nonce=nonce,
    )
    return _html(text, status=status, nonce=nonce)


def _need_session(request: web.Request) -> None:
    if _session(request) is None:
        raise ApiError(401, "log in first: open /dashboard/login")


@undocumented
async def overview(request: web.Request) -> web.StreamResponse:
    """Everything the page shows, as JSON."""
    _need_session(request)
    return web.json_response(
        overview_json(await _overview(request)), headers={"Cache-Control": "no-store"}
    )


@undocumented
async def events(request: web.Request) -> web.StreamResponse:
    """The live feed as server-sent events: `event: <kind>`, the event's JSON plus its row."""
    _need_session(request)
    state = request.app[DASHBOARD]
    if state.zone is None:
        await _overview(request)
    zone = state.zone or DEFAULT_ZONE

    def frame(event: dict[str, Any], seq: int) -> bytes:
        kind = str(event.get("kind", "message")).replace("\n", " ")
        return f"id: {seq}\nevent: {kind}\ndata: {sse_data(event, zone)}\n\n".encode()

    stream = _desk(request).feed()
    return await stream_events(request, stream, frame, "the dashboard")
