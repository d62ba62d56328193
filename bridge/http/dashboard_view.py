"""The dashboard's HTML: the page, the login page, and one row per live event.

Everything is rendered on the server from `templates/dashboard*.j2` (autoescaped), with
times in the overview's zone; a live event carries its row's HTML, so the page's small
script only puts it in place and no row is drawn twice in two languages.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, fields
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from bridge.http.ports import ActivityItem, AgentCard, HostCard, Overview, TaskView

FINISHED = frozenset({"completed", "failed", "cancelled"})
RESULT_CHARS = 280  # a result is trimmed to this on the page (the thread has it all)
PRIORITIES = ("low", "medium", "high")


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone, or UTC when the name is unknown (the page then says UTC)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock(at: float | None, zone: ZoneInfo, now: float | None = None) -> str:
    """`14:03` today, `12-03 14:03` another day of the year, `2025-12-03 14:03` before."""
    if at is None:
        return "–"
    when = datetime.fromtimestamp(at, zone)
    today = datetime.fromtimestamp(time.time() if now is None else now, zone)
    if when.date() == today.date():
        return when.strftime("%H:%M")
    if when.year == today.year:
        return when.strftime("%m-%d %H:%M")
    return when.strftime("%Y-%m-%d %H:%M")


def span(seconds: float | None) -> str:
    """A duration in at most two units: `45s`, `3m 20s`, `2h 5m`, `3d 4h`."""
    if seconds is None:
        return "–"
    s = max(0, int(seconds))
    for unit, size, small, small_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if s >= size:
            big, rest = divmod(s, size)
            part = rest // small_size
            return f"{big}{unit} {part}{small}" if part else f"{big}{unit}"
    return f"{s}s"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def trimmed(text: str | None, limit: int = RESULT_CHARS) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dom_id(kind: str, name: str) -> str:
    """A stable element id for an agent or host whatever characters its name has."""
    return f"{kind}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def task_section(task: TaskView) -> str:
    """`done` for a finished task (the recent list), `open` otherwise."""
    return "done" if task.state in FINISHED or task.completed_at is not None else "open"


def task_duration(task: TaskView, now: float) -> float | None:
    end = task.completed_at if task.completed_at is not None else now
    return end - task.created_at


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bridge.http", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(span=span, percent=percent, trimmed=trimmed)
    env.globals.update(dom_id=dom_id, task_section=task_section, task_duration=task_duration)
    return env


def _common(zone: ZoneInfo, now: float) -> dict[str, Any]:
    return {"now": now, "clock": lambda at: clock(at, zone, now), "zone": zone.key}


def render_page(
    overview: Overview,
    *,
    flash: str | None = None,
    flash_error: bool = False,
    form: dict[str, str] | None = None,
    form_key: str,
    nonce: str = "",
    now: float | None = None,
) -> str:
    """The whole dashboard page (`nonce`: its script's, as the answer's CSP names it)."""
    now = time.time() if now is None else now
    zone = zone_of(overview.zone)
    tasks = overview.tasks
    return (
        _environment()
        .get_template("dashboard.html.j2")
        .render(
            o=overview,
            open_tasks=[t for t in tasks if task_section(t) == "open"],
            done_tasks=[t for t in tasks if task_section(t) == "done"],
            flash=flash,
            flash_error=flash_error,
            form=form or {"title": "", "description": "", "priority": "medium"},
            form_key=form_key,
            nonce=nonce,
            priorities=PRIORITIES,
            **_common(zone, now),
        )
    )


def render_login(message: str | None = None, error: bool = False) -> str:
    return (
        _environment().get_template("dashboard_login.html.j2").render(message=message, error=error)
    )


def _card(cls: type[Any], data: dict[str, Any]) -> Any:
    """`cls` from an event's fields, ignoring keys it does not have (the desk may add some);
    TypeError when one it needs is missing."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def render_entered() -> str:
    """The page a one-time link answers: it moves on to /dashboard from our own site."""
    return _environment().get_template("dashboard_enter.html.j2").render()


def render_row(event: dict[str, Any], zone_name: str, now: float | None = None) -> str | None:
    """The HTML of one live event's row (None for a kind the page does not show)."""
    now = time.time() if now is None else now
    zone = zone_of(zone_name)
    rows = _environment().get_template("dashboard_rows.html.j2").module
    kind = event.get("kind")
    common = _common(zone, now)
    if kind == "message":
        item = ActivityItem(
            float(event.get("at") or now),
            str(event.get("sender", "")),
            str(event.get("body", "")),
            event.get("task_id"),
        )
        return str(rows.activity_row(item, common["clock"]))  # type: ignore[attr-defined]
    if kind == "task" and isinstance(event.get("task"), dict):
        task = _card(TaskView, event["task"])
        return str(rows.task_row(task, common["clock"], now))  # type: ignore[attr-defined]
    if kind == "agent":
        card = _card(AgentCard, event)
        return str(rows.agent_row(card, common["clock"]))  # type: ignore[attr-defined]
    if kind == "host":
        host = _card(HostCard, event)
        return str(rows.host_row(host, common["clock"]))  # type: ignore[attr-defined]
    return None


def overview_json(overview: Overview) -> dict[str, Any]:
    """The overview as plain JSON (dataclasses to objects), for the page's script and tests."""
    return asdict(overview)


def sse_data(event: dict[str, Any], zone_name: str) -> str:
    """An event's JSON with its row's HTML (`html`) and, for a task, its list (`section`)."""
    data = dict(event)
    try:
        data["html"] = render_row(event, zone_name)
    except (TypeError, ValueError):
        data["html"] = None  # an event of a shape we do not know: the script ignores it
    if event.get("kind") == "task" and isinstance(event.get("task"), dict):
        task = event["task"]
        data["section"] = (
            "done"
            if task.get("state") in FINISHED or task.get("completed_at") is not None
            else "open"
        )
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
