"""The router, as a table: each row is a message shape Element sends and the route it gets."""

from __future__ import annotations

from typing import Any

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.message import Mentions, Message
from bots.routing.addressing import Identity, Roster
from bots.routing.router import Chat, Command, Ignore, Route, RouterContext, parse

COORD = Identity(UserID("@chavion:hs"), "Chavion", ("차비온",))
EXEC = Identity(UserID("@executor:hs"), "Executor")
CLAUDE = Identity(UserID("@claude:hs"), "Claude", ("클로드", "라파엘"))
GPT = Identity(UserID("@gpt:hs"), "GPT", ("지피티",))
ROSTER = Roster((COORD, EXEC, CLAUDE, GPT))
MASTER = UserID("@master:hs")


def msg(body: str, sender: str = MASTER, **kw: Any) -> Message:
    return Message(
        room_id=RoomID("!r:hs"), event_id=EventID("$e"), sender=UserID(sender), body=body, **kw
    )


def ctx(me: Identity) -> RouterContext:
    return RouterContext(me, ROSTER, is_coordinator=me is COORD, is_agent=me in (CLAUDE, GPT))


CASES: list[tuple[str, Identity, Message, Route]] = [
    # Commands: every prefix Element lets through, answered by the coordinator.
    ("bang", COORD, msg("!ping"), Command("ping", "")),
    ("one slash (Element X, or Web after stripping //)", COORD, msg("/ping"), Command("ping", "")),
    ("two slashes (classic Android)", COORD, msg("//ping"), Command("ping", "")),
    ("upper case", COORD, msg("!PING"), Command("ping", "")),
    ("arguments kept", COORD, msg("!audit 20"), Command("audit", "20")),
    ("task from Element Web", COORD, msg("/chavion_task: fix nginx"), Command("task", "fix nginx")),
    ("task from Element X", COORD, msg("//chavion_task: fix nginx"), Command("task", "fix nginx")),
    ("task with bang", COORD, msg("!task fix nginx"), Command("task", "fix nginx")),
    (
        "a path is not a command",
        COORD,
        msg("/etc/passwd looks odd"),
        Ignore("conversation is for agents"),
    ),
    (
        "other bots do not take unaddressed commands",
        EXEC,
        msg("!ping"),
        Ignore("command for another bot"),
    ),
    ("addressed command goes to that bot", EXEC, msg("Executor: !ping"), Command("ping", "")),
    (
        "…and not to the coordinator",
        COORD,
        msg("Executor: !ping"),
        Ignore("command for another bot"),
    ),
    ("@name form", EXEC, msg("@executor !ping"), Command("ping", "")),
    (
        "Element X markdown pill",
        EXEC,
        msg("[Executor](https://matrix.to/#/@executor:hs): !ping"),
        Command("ping", ""),
    ),
    (
        "Element X markdown pill with the full user id",
        EXEC,
        msg("[@executor:hs](https://matrix.to/#/@executor:hs) !ping"),
        Command("ping", ""),
    ),
    (
        "Element X markdown pill whatever its label says",
        CLAUDE,
        msg("[my old bot](https://matrix.to/#/@claude:hs) hi"),
        Chat("my old bot hi", broadcast=False),
    ),
    (
        "…before a command that takes text",
        CLAUDE,
        msg("[@claude:hs](https://matrix.to/#/@claude:hs) !summon what now"),
        Command("summon", "what now"),
    ),
    ("broadcast word reaches every bot", EXEC, msg("everyone !ping"), Command("ping", "")),
    ("@room reaches every bot", GPT, msg("@room !ping"), Command("ping", "")),
    ("Korean broadcast", CLAUDE, msg("얘들아 !ping"), Command("ping", "")),
    (
        "commands from bots are never run",
        COORD,
        msg("!ping", sender="@gpt:hs"),
        Ignore("commands from bots are not run"),
    ),
    # Ignored shapes.
    ("own message", COORD, msg("!ping", sender="@chavion:hs"), Ignore("own message")),
    (
        "edits never re-run",
        COORD,
        msg("!ping", replaces=EventID("$old")),
        Ignore("edit of an earlier message"),
    ),
    ("voice is not text", COORD, msg("voice", msgtype="m.audio"), Ignore("not text (m.audio)")),
    (
        "an agent's answer still being written",
        GPT,
        msg("GPT, what do you", sender="@claude:hs", stream="partial"),
        Ignore("an answer still being written"),
    ),
    (
        "…is read once it is complete",
        GPT,
        msg("GPT, what do you think?", sender="@claude:hs", stream="done"),
        Chat("what do you think?", broadcast=False),
    ),
    # Conversation for agents.
    ("name as a word", CLAUDE, msg("claude, 2+2?"), Chat("2+2?", broadcast=False)),
    ("alias in Korean with particle", CLAUDE, msg("클로드야 안녕"), Chat("안녕", broadcast=False)),
    ("second alias", CLAUDE, msg("라파엘 의견은?"), Chat("의견은?", broadcast=False)),
    (
        "name inside another word is no mention",
        CLAUDE,
        msg("claudette says hi"),
        Ignore("not addressed"),
    ),
    ("another agent named", CLAUDE, msg("gpt, 2+2?"), Ignore("not addressed")),
    ("broadcast to agents", GPT, msg("얘들아 안녕"), Chat("안녕", broadcast=True)),
    ("unaddressed chatter", GPT, msg("just thinking aloud"), Ignore("not addressed")),
    (
        "m.mentions from Element Web",
        GPT,
        msg("GPT what now?", mentions=Mentions((UserID("@gpt:hs"),))),
        Chat("what now?", broadcast=False),
    ),
    (
        "HTML pill without m.mentions (classic mobile)",
        GPT,
        msg(
            "Hey what now?",
            formatted_body='<a href="https://matrix.to/#/@gpt:hs">Hey</a> what now?',
        ),
        Chat("Hey what now?", broadcast=False),
    ),
    (
        "reply to the agent's own message",
        GPT,
        msg("and then?", reply_to=EventID("$x"), reply_to_sender=UserID("@gpt:hs")),
        Chat("and then?", broadcast=False),
    ),
    (
        "room mention flag",
        CLAUDE,
        msg("hello", mentions=Mentions(room=True)),
        Chat("hello", broadcast=True),
    ),
    # Korean: particles after Latin names too, and after an honorific.
    ("particle after a Latin name", GPT, msg("GPT야 이거 봐"), Chat("이거 봐", broadcast=False)),
    ("topic particle", GPT, msg("gpt는 어떻게 생각해?"), Chat("어떻게 생각해?", broadcast=False)),
    ("'to' particle", CLAUDE, msg("Claude한테 물어봐"), Chat("물어봐", broadcast=False)),
    (
        "honorific then particle",
        CLAUDE,
        msg("클로드님은 어떻게 생각하세요?"),
        Chat("어떻게 생각하세요?", broadcast=False),
    ),
    ("honorific 씨", CLAUDE, msg("클로드씨가 말해봐"), Chat("말해봐", broadcast=False)),
    # Broadcast words speak to the room first or last in a message, not inside a sentence.
    (
        "a trailing broadcast word",
        GPT,
        msg("안녕, 얘들아!"),
        Chat("안녕, 얘들아!", broadcast=True),
    ),
    (
        "a trailing broadcast word in English",
        GPT,
        msg("what do you think, everyone?"),
        Chat("what do you think, everyone?", broadcast=True),
    ),
    (
        "a broadcast word inside a sentence",
        GPT,
        msg("I think everyone should rest"),
        Ignore("not addressed"),
    ),
    (
        "a broadcast word in code, after a name",
        GPT,
        msg("claude, what does `git add --all` do?"),
        Ignore("not addressed"),
    ),
    (
        "after a leading name it is that bot's",
        GPT,
        msg("claude, tell everyone"),
        Ignore("not addressed"),
    ),
    ("…who is told", CLAUDE, msg("claude, tell everyone"), Chat("tell everyone", broadcast=False)),
    (
        "a broadcast word in a link",
        GPT,
        msg("이 URL 봐 https://x.com/everyone"),
        Ignore("not addressed"),
    ),
    # Links, code and quoted reply fallbacks are not speech.
    ("a name in a link", CLAUDE, msg("see https://example.com/claude"), Ignore("not addressed")),
    ("a name in code", CLAUDE, msg("run `claude --help` for me"), Ignore("not addressed")),
    (
        "a classic reply fallback quoting a name",
        CLAUDE,
        msg(
            "> <@gpt:hs> I agree with Claude\n\nwhat do you think?",
            reply_to=EventID("$x"),
            reply_to_sender=UserID("@gpt:hs"),
        ),
        Ignore("not addressed"),
    ),
    (
        "…is a reply to the quoted agent",
        GPT,
        msg(
            "> <@gpt:hs> I agree with Claude\n\nwhat do you think?",
            reply_to=EventID("$x"),
            reply_to_sender=UserID("@gpt:hs"),
        ),
        Chat("what do you think?", broadcast=False),
    ),
    (
        "an HTML reply fallback with a pill in the quote",
        GPT,
        msg(
            "thanks",
            formatted_body='<mx-reply><blockquote><a href="https://matrix.to/#/!r:hs/$x">In '
            'reply to</a> <a href="https://matrix.to/#/@master:hs">@master:hs</a><br>ask '
            '<a href="https://matrix.to/#/@gpt:hs">GPT</a></blockquote></mx-reply>thanks',
        ),
        Ignore("not addressed"),
    ),
    (
        "service bots ignore chat",
        COORD,
        msg("Chavion how are you"),
        Ignore("conversation is for agents"),
    ),
]


@pytest.mark.parametrize(
    ("me", "message", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_route(me: Identity, message: Message, expected: Route) -> None:
    assert parse(message, ctx(me)) == expected


# The executor answers its own commands unnamed; the coordinator and agents leave them alone.
EXEC_COMMANDS = frozenset({"run", "approve", "deny", "cancel", "hosts", "audit"})


def owning_ctx(me: Identity) -> RouterContext:
    owned = EXEC_COMMANDS if me is EXEC else frozenset()
    others = frozenset() if me is EXEC else EXEC_COMMANDS
    return RouterContext(
        me,
        ROSTER,
        is_coordinator=me is COORD,
        is_agent=me in (CLAUDE, GPT),
        owned_commands=owned,
        others_commands=others,
    )


OWNED_CASES: list[tuple[str, Identity, Message, Route]] = [
    (
        "executor answers !run unnamed",
        EXEC,
        msg("!run web1 -- uptime"),
        Command("run", "web1 -- uptime"),
    ),
    ("…and !approve", EXEC, msg("!approve r1"), Command("approve", "r1")),
    # A task number first makes approve/deny/cancel the coordinator's (a task, not a request).
    ("!approve <task> is the coordinator's", COORD, msg("!approve 12"), Command("approve", "12")),
    ("…with a #", COORD, msg("!deny #12 too risky"), Command("deny", "#12 too risky")),
    ("…even when the executor is named", COORD, msg("Executor: !cancel 3"), Command("cancel", "3")),
    ("…and never the executor's", EXEC, msg("!approve 12"), Ignore("command for a task")),
    ("…named or not", EXEC, msg("Executor: !deny 12 no"), Ignore("command for a task")),
    ("…nor an agent's", GPT, msg("!cancel 12"), Ignore("command for a task")),
    (
        "a request id stays the executor's",
        COORD,
        msg("!deny r1 no"),
        Ignore("command for another bot"),
    ),
    ("…a bare !cancel too", EXEC, msg("!cancel"), Command("cancel", "")),
    # The task commands are the coordinator's alone, whoever a mission or an argument names.
    (
        "no space after the colon",
        COORD,
        msg("//chavion_task:fix nginx"),
        Command("task", "fix nginx"),
    ),
    (
        "…Element Web's one slash",
        COORD,
        msg("/chavion_task:fix nginx"),
        Command("task", "fix nginx"),
    ),
    ("a number only reads: !tasks N", COORD, msg("!task 12"), Command("tasks", "12")),
    ("…with a #", COORD, msg("!task #12"), Command("tasks", "#12")),
    ("…in the typed shape", COORD, msg("//chavion_task: 12"), Command("tasks", "12")),
    (
        "a mission may start with a number",
        COORD,
        msg("!task 12 servers need a reboot"),
        Command("task", "12 servers need a reboot"),
    ),
    (
        "a mission naming an agent by pill",
        COORD,
        msg(
            "!task ask [Claude](https://matrix.to/#/@claude:hs) to check disk",
            mentions=Mentions((CLAUDE.user_id,)),
        ),
        Command("task", "ask Claude to check disk"),
    ),
    (
        "…is not the agent's",
        CLAUDE,
        msg(
            "!task ask [Claude](https://matrix.to/#/@claude:hs) to check disk",
            mentions=Mentions((CLAUDE.user_id,)),
        ),
        Ignore("command for a task"),
    ),
    (
        "an order in reply to an agent",
        COORD,
        msg("!task do what it says", reply_to=EventID("$a"), reply_to_sender=CLAUDE.user_id),
        Command("task", "do what it says"),
    ),
    (
        "!assign with an agent's pill",
        COORD,
        msg("!assign 12 @claude", mentions=Mentions((CLAUDE.user_id,))),
        Command("assign", "12 @claude"),
    ),
    ("!tasks said to an agent", COORD, msg("Claude: !tasks"), Command("tasks", "")),
    ("…which leaves it alone", CLAUDE, msg("Claude: !tasks"), Ignore("command for a task")),
    ("…as does the executor", EXEC, msg("Executor: !pause 3"), Ignore("command for a task")),
    (
        "a broadcast !stats is the coordinator's",
        COORD,
        msg("everyone !stats"),
        Command("stats", ""),
    ),
    ("…not an agent's", GPT, msg("everyone !stats"), Ignore("command for a task")),
    (
        "!model naming an agent is the coordinator's",
        COORD,
        msg("Claude: !model claude gpt-5"),
        Command("model", "claude gpt-5"),
    ),
    ("…not the agent's", CLAUDE, msg("Claude: !model claude gpt-5"), Ignore("command for a task")),
    (
        "!routine is the coordinator's",
        COORD,
        msg("!routine run disks"),
        Command("routine", "run disks"),
    ),
    ("…with a slash too", EXEC, msg("/hosts"), Command("hosts", "")),
    (
        "coordinator leaves !run alone",
        COORD,
        msg("!run web1 -- uptime"),
        Ignore("command for another bot"),
    ),
    ("coordinator leaves !audit alone", COORD, msg("!audit 5"), Ignore("command for another bot")),
    ("coordinator still answers its own", COORD, msg("!ping"), Command("ping", "")),
    (
        "executor ignores other unnamed commands",
        EXEC,
        msg("!ping"),
        Ignore("command for another bot"),
    ),
    ("named executor still answers anything", EXEC, msg("Executor: !ping"), Command("ping", "")),
    ("a broadcast !run reaches the executor", EXEC, msg("everyone !hosts"), Command("hosts", "")),
    ("…but no agent", GPT, msg("everyone !hosts"), Ignore("command for another bot")),
    ("…nor the coordinator", COORD, msg("everyone !hosts"), Ignore("command for another bot")),
    (
        "!run addressed to another bot is not taken",
        EXEC,
        msg("Chavion: !run web1 -- ls"),
        Ignore("command for another bot"),
    ),
    (
        "a bot named explicitly answers (Unknown command)",
        COORD,
        msg("Chavion: !run x -- ls"),
        Command("run", "x -- ls"),
    ),
    (
        "commands from bots are still never run",
        EXEC,
        msg("!run local -- ls", sender="@chavion:hs"),
        Ignore("commands from bots are not run"),
    ),
    # A name inside the arguments is not an address: the host may share an agent's name.
    (
        "an agent's name in !run's arguments",
        EXEC,
        msg("!run claude -- journalctl -u chavion"),
        Command("run", "claude -- journalctl -u chavion"),
    ),
    (
        "…does not call that agent",
        CLAUDE,
        msg("!run claude -- journalctl -u chavion"),
        Ignore("command for another bot"),
    ),
    (
        "…nor make the coordinator answer",
        COORD,
        msg("!run web1 -- grep chavion /var/log/syslog"),
        Ignore("command for another bot"),
    ),
    # Commands that take an agent as their first argument are for that agent.
    ("!mute names its agent", CLAUDE, msg("!mute claude"), Command("mute", "claude")),
    ("…by alias too", CLAUDE, msg("!unmute 클로드"), Command("unmute", "클로드")),
    ("…and no other agent", GPT, msg("!mute claude"), Ignore("command for another bot")),
    ("…nor the coordinator", COORD, msg("!mute claude"), Ignore("command for another bot")),
    (
        "!summon with a question",
        GPT,
        msg("!summon gpt what about gpt's plan?"),
        Command("summon", "gpt what about gpt's plan?"),
    ),
    (
        "a reply to the executor's prompt reaches it",
        EXEC,
        msg("!ping", reply_to=EventID("$p"), reply_to_sender=UserID("@executor:hs")),
        Command("ping", ""),
    ),
]


@pytest.mark.parametrize(
    ("me", "message", "expected"),
    [c[1:] for c in OWNED_CASES],
    ids=[c[0] for c in OWNED_CASES],
)
def test_route_owned_commands(me: Identity, message: Message, expected: Route) -> None:
    assert parse(message, owning_ctx(me)) == expected
