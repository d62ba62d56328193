"""The hybrid outcome of a close vote (issue 17): the winner's plan takes in the best parts
of the runners-up, and the report says which parts came from whom.

Voting decides once whether the win was close and names the runners-up in its move to
planning (the stored reason, so a restart or a later planning round reads the same); the plan
ask then carries them as `hybrid`, and the plan lists what it took as `credits`, which the
report turns into its "Parts from: Gemini (B) — the backup step" line.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from bots.coordinator.tasks.common import display
from bots.coordinator.tasks.voting import CLOSE_CALL, Entry, ballot
from bots.tasks.critiques import parts_from_line
from bots.tasks.plans import read_credits

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import Task


async def runners_up(ctx: TaskContext, task: Task) -> list[str]:
    """The option keys the last vote named as close runners-up ([] for a clear win)."""
    moves = await ctx.tasks.moves(task.id)
    voted = [m for m in moves if m.from_state == "voting" and m.to_state == "planning"]
    if not voted:
        return []
    _, close, keys = voted[-1].reason.partition(CLOSE_CALL)
    return keys.split() if close else []


async def hybrid_entries(ctx: TaskContext, task: Task, planner: str) -> list[Entry]:
    """The runners-up the winner's plan takes in: none for an assigned agent or anyone
    but the winner."""
    if task.assigned or planner != task.winner:
        return []
    keys = await runners_up(ctx, task)
    if not keys:
        return []
    return [e for e in await ballot(ctx, task) if e.option.key in keys]


def hybrid_context(ctx: TaskContext, entries: list[Entry]) -> list[dict[str, Any]]:
    """The plan ask's `hybrid`: each runner-up's key, author (display name) and text."""
    limit = ctx.settings.proposal_chars
    return [
        {
            "key": e.option.key,
            "author": display(ctx, e.option.author),
            "text": e.text if len(e.text) <= limit else e.text[: limit - 1] + "…",
        }
        for e in entries
    ]


async def with_credits(ctx: TaskContext, task: Task, body: str, markup: str) -> tuple[str, str]:
    """The report with its "Parts from: …" line when the plan credits other proposals."""
    credits = _credits(task.plan)
    if not credits:
        return body, markup
    authors = {e.option.key: display(ctx, e.option.author) for e in await ballot(ctx, task)}
    line = parts_from_line(credits, authors)
    if not line:
        return body, markup
    return f"{body}\n\n{line}", f"{markup}<p><em>{html.escape(line)}</em></p>"


def _credits(stored: str | None) -> list[tuple[str, str]]:
    if not stored:
        return []
    try:
        data = json.loads(stored)
    except ValueError:
        return []
    found = read_credits(data.get("credits") if isinstance(data, dict) else None)
    return [(c.source, c.part) for c in found]
