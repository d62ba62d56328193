"""The coordinator's commands, declared in one registry: what `!help` lists for it.

The handlers live with what they describe (presence, the council's agents and budgets);
this module only names them, so nothing imports it but the runtime.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bots.coordinator.budget_commands import BudgetCommands
from bots.coordinator.council import agents_overview
from bots.coordinator.dashboard_command import dashboard_spec
from bots.coordinator.digest_command import DigestOps, digest_spec
from bots.coordinator.lesson_commands import lesson_commands
from bots.coordinator.minutes_commands import MinutesCommands, MinutesOps
from bots.coordinator.model_commands import model_spec
from bots.coordinator.night_commands import night_spec
from bots.coordinator.poll_commands import PollOps, poll_command
from bots.coordinator.presence import status
from bots.coordinator.routine_commands import routine_spec
from bots.coordinator.schedule_commands import schedule_spec
from bots.coordinator.task_commands import TaskCommands, TaskOps
from bots.coordinator.vote_command import TaskVotes, vote_spec
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec, Registry
from bots.routing.shared_commands import make_help, ping
from bots.voice.commands import voice_spec


async def whoami(request: CommandRequest) -> list[Reply]:
    message = request.message
    return [
        Reply.answering(
            message, f"You are {message.sender}, power level {message.sender_power} in the council."
        )
    ]


def coordinator_commands(
    tasks: TaskOps | None = None,
    *,
    clock: Callable[[], float] = time.time,
    polls: PollOps | None = None,
    minutes: MinutesOps | None = None,
    wake_scheduler: Callable[[], None] | None = None,
    digest: DigestOps | None = None,
    votes: TaskVotes | None = None,
) -> Registry:
    """`tasks`: the coordinator's task engine; without one, no task command is declared.
    `clock` dates what the task commands show (a test's clock). `polls`: the master's own
    polls (`!poll`), declared with the task commands. `minutes`: the engine's minutes side
    (`TaskService.minutes`), for `!minutes`. `wake_scheduler`: pokes the scheduler when
    `!schedule` makes a run due sooner. `digest`: the daily digest's job, for `!digest`.
    `votes`: the task engine's votes, for `!vote` (the master's vote, typed or spoken)."""
    registry = Registry(
        [
            CommandSpec("ping", "check that the council answers", ping),
            CommandSpec("status", "bots online, homeserver, uptime and version", status),
            CommandSpec("whoami", "your user id and power level in this room", whoami),
            CommandSpec(
                "agents", "each agent's model, role, state and budget left", agents_overview
            ),
            *BudgetCommands(clock).specs(),
            model_spec(),
            dashboard_spec(clock),
        ]
    )
    if tasks is not None:
        for spec in TaskCommands(tasks, clock).specs():
            registry.add(spec)
        for spec in lesson_commands():
            registry.add(spec)
        if polls is not None:
            registry.add(poll_command(polls))
        if minutes is not None:
            for spec in MinutesCommands(minutes, clock).specs():
                registry.add(spec)
        registry.add(routine_spec(tasks, clock))
        registry.add(schedule_spec(wake_scheduler, clock))
        registry.add(night_spec(clock))
        registry.add(voice_spec(clock))
        if votes is not None:
            registry.add(vote_spec(votes, clock))
    if digest is not None:
        registry.add(digest_spec(digest))
    registry.add(make_help(registry))
    return registry
