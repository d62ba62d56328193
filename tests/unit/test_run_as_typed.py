"""`!run` runs what the master typed: from the event Element sends, through the real
converter, router and executor service, the approval prompt shows and the host runs the
same text, byte for byte: the body after `!run <host> --`, pills and markdown as typed."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from bots.errors import CommandError
from bots.execution.commands import EXECUTOR_COMMANDS
from bots.execution.requests import request_id_for_event
from bots.ids import EventID, UserID
from bots.matrix.convert import EventMemory, RoomFacts, read_message
from bots.message import Message
from bots.routing.addressing import Identity, Roster, typed_suffix
from bots.routing.commands import CommandRequest
from bots.routing.router import Command, RouterContext, parse
from tests.unit.test_executor_flow import ROOM, Bench, bench  # noqa: F401 (the fixture)

EXECUTOR = Identity(UserID("@executor:localhost"), "Executor", ("실행기",), kind="executor")
CLAUDE = Identity(UserID("@claude:localhost"), "Claude", ("클로드",))
ROUTER = RouterContext(
    EXECUTOR,
    Roster((EXECUTOR, CLAUDE)),
    is_coordinator=False,
    is_agent=False,
    owned_commands=EXECUTOR_COMMANDS,
)
WRITES = " > /tmp/chavion-typed-test"
"""Makes every command one that needs approval, so it has a prompt to compare."""
PILL = "[$(id)](https://matrix.to/#/@x:y)"

TYPED = [
    # (body as Element sends it, the command that must run)
    pytest.param(
        f"!run local -- echo '{PILL}'{WRITES}", f"echo '{PILL}'{WRITES}", id="a pill in quotes"
    ),
    pytest.param(f"!run local -- echo {PILL}{WRITES}", f"echo {PILL}{WRITES}", id="a bare pill"),
    pytest.param(
        f"[Executor](https://matrix.to/#/@executor:localhost): !run local -- echo '{PILL}'{WRITES}",
        f"echo '{PILL}'{WRITES}",
        id="addressed by a pill, a pill in the command",
    ),
    pytest.param(
        f"!run local -- printf '%s\\n' *bold* _it_ **x** [a](b){WRITES}",
        f"printf '%s\\n' *bold* _it_ **x** [a](b){WRITES}",
        id="markdown",
    ),
    pytest.param(
        f"!run local -- echo `date` ``two`` $(uname){WRITES}",
        f"echo `date` ``two`` $(uname){WRITES}",
        id="backticks",
    ),
    pytest.param(
        f"!run local -- echo '<b>hi</b> &amp; <a href=\"https://matrix.to/#/@x:y\">y</a>'{WRITES}",
        f"echo '<b>hi</b> &amp; <a href=\"https://matrix.to/#/@x:y\">y</a>'{WRITES}",
        id="HTML-ish text",
    ),
    pytest.param(
        f"!run local -- echo '안녕하세요, 세계'{WRITES}",
        f"echo '안녕하세요, 세계'{WRITES}",
        id="Korean",
    ),
    pytest.param(f"!run local -- ls -l{WRITES}   ", f"ls -l{WRITES}", id="trailing spaces"),
    pytest.param(
        f"> <@claude:localhost> try this\n\n!run local -- echo {PILL}{WRITES}",
        f"echo {PILL}{WRITES}",
        id="under a reply's quoted fallback",
    ),
]


def element_event(body: str, rid_source: str) -> Any:
    """The event as a sync hands it over: Element sends the typed markdown as `body`."""
    source = {
        "type": "m.room.message",
        "event_id": rid_source,
        "sender": "@master:localhost",
        "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": body},
    }
    return SimpleNamespace(source=source, event_id=rid_source)


def prompted_command(prompt: str) -> str:
    """The command in an approval prompt's fenced block."""
    match = re.search(r"^(`{3,})\n(.*?)\n\1$", prompt, re.M | re.S)
    assert match is not None, prompt
    return match.group(2)


@pytest.mark.parametrize(("body", "expected"), TYPED)
async def test_the_prompt_shows_and_the_host_runs_what_was_typed(
    bench: Bench,  # noqa: F811 (the imported fixture)
    body: str,
    expected: str,
) -> None:
    message = read_message(
        element_event(body, "$typed"),
        RoomFacts(ROOM, is_direct=False, encrypted=True),
        EventMemory(),
        lambda user: 100,
    )
    assert message is not None
    assert message.body == body  # the converter keeps the body as sent
    route = parse(message, ROUTER)
    assert isinstance(route, Command)
    assert route.name == "run"
    spec = bench.service.registry().get("run")
    assert spec is not None

    assert await spec.handler(CommandRequest(message, route.args, bench.bot)) == []
    rid = request_id_for_event(EventID("$typed"))
    shown = prompted_command(bench.homeserver.body(f"{rid}/prompt"))
    await bench.approve(rid)
    await bench.settled()

    assert shown == expected
    assert bench.engine.started == [expected]


INSIDE_A_PILL = "[Executor !run local -- ls](https://matrix.to/#/@executor:localhost)"


@pytest.mark.parametrize(
    ("body", "args"),
    [
        pytest.param(INSIDE_A_PILL, "local -- ls", id="begins inside a pill"),
        pytest.param("!run local -- ls", "web1 -- ls", id="not the body's end"),
    ],
)
def test_arguments_with_no_typed_form_are_not_guessed(body: str, args: str) -> None:
    message = Message(ROOM, EventID("$e"), UserID("@master:localhost"), body)

    assert typed_suffix(message, args) is None


async def test_a_command_that_begins_inside_a_link_is_refused(
    bench: Bench,  # noqa: F811 (the imported fixture)
) -> None:
    message = Message(ROOM, EventID("$e"), UserID("@master:localhost"), INSIDE_A_PILL)
    route = parse(message, ROUTER)
    assert isinstance(route, Command)
    spec = bench.service.registry().get("run")
    assert spec is not None

    with pytest.raises(CommandError, match="as typed"):
        await spec.handler(CommandRequest(message, route.args, bench.bot))
    assert bench.engine.started == []
