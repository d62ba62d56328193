"""`!lessons [query]` and `!forget <id>`: what the council learned, shown and pruned.

The lessons are the store's (`LessonStore`); the texts are `bots.tasks.lessons`. Anyone in
the room may read them; forgetting one is the master's (the access rule), for a lesson that
misleads (a fix that only worked by luck, a host that no longer exists).
"""

from __future__ import annotations

from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.tasks.intake import parse_task_ref
from bots.tasks.lessons import forgotten_line, lesson_list

LIST_LIMIT = 10


def read_lesson_id(args: str) -> int:
    """`!forget 3` or `!forget #3`: the one lesson id."""
    words = args.split()
    if not words:
        raise CommandError("Which lesson? Send its number, e.g. !forget 3 (!lessons lists them).")
    number = parse_task_ref(words[0])
    if number is None:
        raise CommandError(
            f'"{words[0]}" is not a lesson number. Send it like this: !forget 3 '
            "(!lessons lists them)."
        )
    if len(words) > 1:
        raise CommandError(f"!forget takes only a lesson number, e.g. !forget {number}.")
    return number


async def lessons(request: CommandRequest) -> list[Reply]:
    """The newest lessons, or those matching the words given, best first."""
    store = request.bot.store.lessons
    query = request.args.strip()
    found = await (store.search(query, LIST_LIMIT) if query else store.recent(LIST_LIMIT))
    body, html = lesson_list(found, query=query)
    return [Reply.answering(request.message, body, html=html)]


async def forget(request: CommandRequest) -> list[Reply]:
    number = read_lesson_id(request.args)
    store = request.bot.store.lessons
    lesson = await store.get(number)
    if lesson is None or not await store.forget(number):
        raise CommandError(f"There is no lesson #{number}. !lessons lists them.")
    return [Reply.answering(request.message, forgotten_line(lesson))]


def lesson_commands() -> list[CommandSpec]:
    return [
        CommandSpec(
            "lessons", "what the council learned; or those about some words", lessons, "[words]"
        ),
        CommandSpec("forget", "remove lesson N from the council's memory", forget, "N"),
    ]
