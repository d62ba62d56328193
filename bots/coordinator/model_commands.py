"""`!model <agent> <model>` / `!model <agent> reset` (the master's): switch an agent's model.

The coordinator answers for every agent (it knows them all, so an unknown name gets the list
of known ones even when that agent's process is down) and writes the choice to the store
the agents share; each agent reads it before its next model call (`Agent.follow_model`), and
after a restart. `!agents` shows the switch next to the configured model.
"""

from __future__ import annotations

from collections.abc import Sequence

from bots.coordinator.task_commands import agent_named
from bots.errors import CommandError
from bots.message import Reply
from bots.routing.commands import CommandRequest, CommandSpec
from bots.settings.model import AgentSettings

MODEL_CHARS = 200
RESET_WORDS = frozenset({"reset", "default", "config"})
USAGE = "!model <agent> <model> or !model <agent> reset"


def read_model_args(
    args: str, agents: Sequence[AgentSettings], server_name: str
) -> tuple[AgentSettings | None, str | None]:
    """(agent, model): model None means reset; agent None with no arguments (list them).
    Raises `CommandError` naming what is wrong: an unknown agent (with the known ones), no
    model, a model name with spaces or control characters, or over 200 characters."""
    words = args.split()
    if not words:
        return None, None
    agent = agent_named(words[0], agents, server_name)
    if agent is None:
        known = ", ".join(f"{a.account.display_name} ({a.name})" for a in agents)
        raise CommandError(
            f"Unknown agent {words[0]!r}. The agents are: {known or 'none configured'}. "
            f"Send {USAGE}."
        )
    if len(words) == 1 or not words[1].strip("\"'`"):
        raise CommandError(
            f"Name the model for {agent.account.display_name}: {USAGE} "
            f"(e.g. !model {agent.name} {agent.model})."
        )
    if len(words) > 2:
        raise CommandError(f"A model name has no spaces. Send {USAGE}.")
    model = words[1].strip("\"'`")
    if model.lower() in RESET_WORDS:
        return agent, None
    if len(model) > MODEL_CHARS:
        raise CommandError(f"That model name is over {MODEL_CHARS} characters.")
    if not model.isprintable():
        raise CommandError("A model name cannot hold control characters.")
    return agent, model


def model_line(agent: AgentSettings, override: str | None) -> str:
    """How `!agents` and `!model` show an agent's model: "gpt-5 (config: gpt-4.1)"."""
    if override is None or override == agent.model:
        return agent.model
    return f"{override} (config: {agent.model})"


async def model_command(request: CommandRequest) -> list[Reply]:
    bot = request.bot
    settings = bot.settings
    agent, model = read_model_args(request.args, settings.agents, settings.homeserver.server_name)
    store = bot.store.agent_models
    if agent is None:
        chosen = await store.all()
        lines = ["Models:"] + [
            f"• {a.account.display_name}: {a.provider} {model_line(a, chosen.get(a.name))}"
            for a in settings.agents
        ]
        lines.append(f"Switch with {USAGE}.")
        return [Reply.answering(request.message, "\n".join(lines))]
    name = agent.account.display_name
    if model is None:
        had = await store.get(agent.name)
        await store.reset(agent.name)
        text = (
            f"{name} is back on its configured model, {agent.model}."
            if had is not None
            else f"{name} already uses its configured model, {agent.model}."
        )
        return [Reply.answering(request.message, text)]
    await store.set(agent.name, model, request.message.sender)
    if model == agent.model:
        await store.reset(agent.name)
        text = f"{name} uses {model}: that is its configured model."
    else:
        text = (
            f"{name} now uses {model} ({agent.provider}; config: {agent.model}), from its "
            f"next answer on, also after a restart. !model {agent.name} reset goes back."
        )
    return [Reply.answering(request.message, text)]


def model_spec() -> CommandSpec:
    return CommandSpec(
        "model", "switch an agent's model (or reset it)", model_command, "<agent> <model>|reset"
    )
