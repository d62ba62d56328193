"""The morning report's text: every task of the night, grouped (done, failed, waiting for
the master with its exact steps, still going), and what the window spent. Pure."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bots.store.night import Envelope

DONE = frozenset({"completed"})
FAILED = frozenset({"failed", "cancelled"})
WAITING = "awaiting_approval"
MISSION_CHARS = 80


@dataclass(frozen=True)
class NightItem:
    """One task of the night as the report shows it."""

    task_id: int
    mission: str
    state: str
    approved_by_judge: bool = False
    reason: str = ""
    """Why it waits (the coverage rule's words); "" for the others."""
    steps: tuple[tuple[str, str], ...] = ()
    """(host, command) of every command of its plan, verify and rollback included."""


def clock_time(at: float, zone: str) -> str:
    return datetime.fromtimestamp(at, ZoneInfo(zone)).strftime("%H:%M")


def _mission(item: NightItem) -> str:
    text = " ".join(item.mission.split())
    return text if len(text) <= MISSION_CHARS else text[: MISSION_CHARS - 1] + "…"


def morning_report(
    envelope: Envelope, items: Sequence[NightItem], spent_usd: float, zone: str
) -> tuple[str, str]:
    """(body, html) of the report."""
    start, end = clock_time(envelope.starts_at, zone), clock_time(envelope.ended_at, zone)
    ended = " (stopped early)" if envelope.revoked_at is not None else ""
    done = [i for i in items if i.state in DONE]
    failed = [i for i in items if i.state in FAILED]
    waiting = [i for i in items if i.state == WAITING]
    going = [i for i in items if i not in done and i not in failed and i not in waiting]
    lines = [f"🌅 Morning report — night #{envelope.id}, {start}–{end}{ended}"]
    parts = [f"<p><b>🌅 Morning report</b> — night #{envelope.id}, {start}–{end}{ended}</p>"]

    def group(title: str, group_items: list[NightItem], detail: bool = False) -> None:
        if not group_items:
            return
        lines.append("")
        lines.append(f"{title} ({len(group_items)}):")
        rows = []
        for item in group_items:
            how = " — approved by the judge" if item.approved_by_judge else ""
            if detail and item.reason:
                how = f" — {item.reason}"
            lines.append(f"• #{item.task_id} {_mission(item)}{how}")
            row = f"#{item.task_id} {html.escape(_mission(item))}{html.escape(how)}"
            if detail:
                for host, command in item.steps:
                    lines.append(f"    {host}: {command}")
                commands = "".join(
                    f"<li>{html.escape(host)}: <code>{html.escape(command)}</code></li>"
                    for host, command in item.steps
                )
                row += f"<ul>{commands}</ul>" if commands else ""
            rows.append(f"<li>{row}</li>")
        parts.append(f"<p>{html.escape(title)} ({len(group_items)}):</p><ul>{''.join(rows)}</ul>")

    group("✅ Done", done)
    group("❌ Failed", failed)
    group("⏳ Waiting for your approval — tap ✅ on each plan below", waiting, detail=True)
    group("… Still going", [i for i in going])
    if not items:
        lines += ["", "Nothing was ordered in the window."]
        parts.append("<p>Nothing was ordered in the window.</p>")
    money = f"Spent in the window: ${spent_usd:.2f} of ${envelope.budget_usd:.2f}."
    lines += ["", money]
    parts.append(f"<p>{html.escape(money)}</p>")
    return "\n".join(lines), "".join(parts)
