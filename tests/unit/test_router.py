"""The router, as a table: each row is a message shape Element sends and the route it gets."""

from __future__ import annotations

from typing import Any

import pytest

from bots.ids import EventID, RoomID, UserID
from bots.message import Mentions, Message
from bots.routing.addressing import Identity, Roster
from bots.routing.router import (
    Chat,
    Command,
    Ignore,
    Route,
    RouterContext,
    parse,
    replies_with_verdict,
    task_reference,
)

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
        "!lessons said to an agent",
        COORD,
        msg("Claude: !lessons nginx"),
        Command("lessons", "nginx"),
    ),
    ("…which leaves it alone", CLAUDE, msg("Claude: !lessons nginx"), Ignore("command for a task")),
    (
        "!forget in reply to an agent",
        COORD,
        msg("!forget 3", reply_to=EventID("$a"), reply_to_sender=CLAUDE.user_id),
        Command("forget", "3"),
    ),
    (
        "!poll naming agents in its options is the coordinator's",
        COORD,
        msg("!poll Who writes it? | @claude | GPT", mentions=Mentions((CLAUDE.user_id,))),
        Command("poll", "Who writes it? | @claude | GPT"),
    ),
    (
        "…not the named agent's",
        CLAUDE,
        msg("!poll Who writes it? | @claude | GPT", mentions=Mentions((CLAUDE.user_id,))),
        Ignore("command for a task"),
    ),
    ("!minutes said to an agent", COORD, msg("Claude: !minutes 3"), Command("minutes", "3")),
    ("…which leaves it alone", CLAUDE, msg("Claude: !minutes"), Ignore("command for a task")),
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


def reply(body: str, to: Identity | UserID | None, **kw: Any) -> Message:
    """`body` sent as a reply to a message of `to` (None: a sender the bot does not know)."""
    sender = to.user_id if isinstance(to, Identity) else to
    return msg(body, reply_to=EventID("$replied"), reply_to_sender=sender, **kw)


# A task number may be followed by punctuation; the text after it is the reason.
TASK_NUMBER_CASES: list[tuple[str, Identity, Message, Route]] = [
    ("!deny 12: reason", COORD, msg("!deny 12: too risky"), Command("deny", "12: too risky")),
    ("…not the executor's", EXEC, msg("!deny 12: too risky"), Ignore("command for a task")),
    ("!deny #12 — reason", COORD, msg("!deny #12 — too risky"), Command("deny", "#12 — too risky")),
    ("!deny 12, reason", COORD, msg("!deny 12, too risky"), Command("deny", "12, too risky")),
    ("!deny 12 - reason", COORD, msg("!deny 12 - too risky"), Command("deny", "12 - too risky")),
    ("!approve 12.", COORD, msg("!approve 12."), Command("approve", "12.")),
    ("…not the executor's", EXEC, msg("!approve 12."), Ignore("command for a task")),
    ("!cancel #3:", COORD, msg("!cancel #3:"), Command("cancel", "#3:")),
    ("a request id with a colon", EXEC, msg("!deny 12:ab no"), Command("deny", "12:ab no")),
    ("…is not a task", COORD, msg("!deny 12:ab no"), Ignore("command for another bot")),
    ("nor digits then letters", COORD, msg("!approve 12ab"), Ignore("command for another bot")),
]

# A bare !approve / !deny [reason] replying to a message: the coordinator takes a reply to its
# own message (a task's plan) or to one whose sender it does not know (it looks the plan up and
# stays silent if it is none); the executor takes a reply to its own prompt or an unknown one.
REPLY_CASES: list[tuple[str, Identity, Message, Route]] = [
    ("a reply to the plan", COORD, reply("!approve", COORD), Command("approve", "")),
    ("…is not the executor's", EXEC, reply("!approve", COORD), Ignore("command for another bot")),
    ("…nor an agent's", GPT, reply("!approve", COORD), Ignore("command for another bot")),
    ("!deny with a reason", COORD, reply("!deny too risky", COORD), Command("deny", "too risky")),
    ("…bare", COORD, reply("/deny", COORD), Command("deny", "")),
    (
        "…with Element's mention",
        COORD,
        reply("!approve", COORD, mentions=Mentions((COORD.user_id,))),
        Command("approve", ""),
    ),
    ("a sender not known", COORD, reply("!approve", None), Command("approve", "")),
    ("…reaches the executor too", EXEC, reply("!approve", None), Command("approve", "")),
    ("a reply to the prompt", EXEC, reply("!approve", EXEC), Command("approve", "")),
    (
        "…is not the coordinator's",
        COORD,
        reply("!approve", EXEC),
        Ignore("command for another bot"),
    ),
    ("…!deny too", COORD, reply("!deny nope", EXEC), Ignore("command for another bot")),
    ("…which the executor takes", EXEC, reply("!deny nope", EXEC), Command("deny", "nope")),
    (
        "a reply to the master's message",
        COORD,
        reply("!approve", MASTER),
        Ignore("command for another bot"),
    ),
    ("…the executor looks it up", EXEC, reply("!approve", MASTER), Command("approve", "")),
    (
        "the executor named",
        COORD,
        reply("Executor: !approve", None),
        Ignore("command for another bot"),
    ),
    (
        "a request id named",
        COORD,
        reply("!approve r1a2b3", None),
        Ignore("command for another bot"),
    ),
    ("a task named in a reply", COORD, reply("!approve 12", EXEC), Command("approve", "12")),
    ("not a reply", COORD, msg("!approve"), Ignore("command for another bot")),
    ("…the executor's usage", EXEC, msg("!approve"), Command("approve", "")),
]


@pytest.mark.parametrize(
    ("me", "message", "expected"),
    [c[1:] for c in TASK_NUMBER_CASES + REPLY_CASES],
    ids=[c[0] for c in TASK_NUMBER_CASES + REPLY_CASES],
)
def test_route_task_numbers_and_replies(me: Identity, message: Message, expected: Route) -> None:
    assert parse(message, owning_ctx(me)) == expected


TASK_REFERENCES: list[tuple[str, tuple[int, str] | None]] = [
    ("12", (12, "")),
    ("#12", (12, "")),
    (" #12 ", (12, "")),
    ("12.", (12, "")),
    ("12:", (12, "")),
    ("12 too risky", (12, "too risky")),
    ("12: too risky", (12, "too risky")),
    ("12 : too risky", (12, "too risky")),
    ("12, too risky", (12, "too risky")),
    ("#12 — too risky", (12, "too risky")),
    ("#12—too risky", (12, "too risky")),
    ("12 – too risky", (12, "too risky")),
    ("12 - too risky", (12, "too risky")),
    ("12; too risky", (12, "too risky")),
    ("12\nrestart only nginx", (12, "restart only nginx")),
    ("12 -f is wrong", (12, "-f is wrong")),
    ("012", (12, "")),
    ("", None),
    ("r1a2b3", None),
    ("12ab", None),
    ("12:ab", None),
    ("12.5", None),
    ("12-3", None),
    ("-1", None),
    ("#", None),
    ("too risky", None),
]


@pytest.mark.parametrize(("args", "expected"), TASK_REFERENCES)
def test_a_task_reference_as_people_type_it(args: str, expected: tuple[int, str] | None) -> None:
    assert task_reference(args) == expected


REPLY_VERDICTS: list[tuple[str, str, EventID | None, bool]] = [
    ("approve", "", EventID("$plan"), True),
    ("approve", "  ", EventID("$plan"), True),
    ("deny", "", EventID("$plan"), True),
    ("deny", "too risky", EventID("$plan"), True),
    ("deny", "r1a2b3 no", EventID("$plan"), True),  # the executor checks its own requests
    ("approve", "", None, False),  # not a reply: which task?
    ("approve", "r1a2b3", EventID("$prompt"), False),  # names a request
    ("approve", "12", EventID("$plan"), False),  # names a task
    ("deny", "12: no", EventID("$plan"), False),
    ("cancel", "", EventID("$plan"), False),
    ("run", "", EventID("$plan"), False),
]


@pytest.mark.parametrize(("name", "args", "reply_to", "expected"), REPLY_VERDICTS)
def test_which_approvals_a_reply_says_what_they_are_about(
    name: str, args: str, reply_to: EventID | None, expected: bool
) -> None:
    assert replies_with_verdict(name, args, msg("!x", reply_to=reply_to)) is expected
