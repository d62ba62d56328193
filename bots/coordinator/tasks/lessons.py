"""The council's memory in the task engine: a finished task leaves its lesson, and the
lessons most like a new mission go into its planner's, reviewer's and fixer's asks.

Both are idempotent like every phase: the lesson is saved once (action `lesson`; the store
also keeps one per task), and the lessons put into an ask are looked up only while that ask
is still unsent, and recorded (`task_lessons`) before it goes, so the report can say which
were used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots.ids import EventID
from bots.tasks.lessons import lesson_context, lesson_from, with_lessons_used

if TYPE_CHECKING:
    from bots.coordinator.tasks.context import TaskContext
    from bots.store.tasks import Task

LESSON_KEY = "lesson"
NO_LESSON = EventID("lesson:none")
"""What the `lesson` action records when the task had nothing to teach (no command)."""


async def lessons_for(ctx: TaskContext, task: Task, ask_key: str) -> list[dict[str, Any]]:
    """`context["lessons"]` of the ask to be sent under `ask_key`: the
    `tasks.lessons_in_prompt` lessons most like the mission, never the task's own; [] once
    that ask is sent (its context no longer matters) or when lessons are off."""
    limit = ctx.settings.lessons_in_prompt
    if limit <= 0 or await ctx.tasks.action_done(task.id, ask_key) is not None:
        return []
    store = ctx.bot.store.lessons
    found = await store.similar(task.mission, limit, exclude_task=task.id)
    await store.record_used(task.id, [lesson.id for lesson in found], ctx.clock())
    return lesson_context(found)


async def with_lessons(ctx: TaskContext, task: Task, body: str, html: str) -> tuple[str, str]:
    """The report with its "Lessons used: #3, #7" line, when its prompts carried any."""
    return with_lessons_used(body, html, await ctx.bot.store.lessons.used(task.id))


async def save_lesson(ctx: TaskContext, task: Task) -> EventID:
    """Saves the final task's lesson once (action `lesson`, recorded as `lesson:<id>`)."""
    done = await ctx.tasks.action_done(task.id, LESSON_KEY)
    if done is not None:
        return done
    draft = lesson_from(
        task,
        await ctx.tasks.moves(task.id),
        await ctx.tasks.steps(task.id),
        await ctx.tasks.answers(task.id),
        chars=ctx.settings.lesson_chars,
    )
    recorded = NO_LESSON
    if draft is not None:
        lesson_id = await ctx.bot.store.lessons.add(
            task.id, mission=draft.mission, outcome=draft.outcome, text=draft.text, now=ctx.clock()
        )
        recorded = EventID(f"lesson:{lesson_id}")
    await ctx.tasks.record_action(task.id, LESSON_KEY, recorded, ctx.clock())
    return recorded
