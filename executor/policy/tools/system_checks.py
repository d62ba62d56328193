"""What the system tools' specs cannot say in YAML: `ps`'s three syntaxes, options some tools
need to only read, and operands that change meaning by their text.

`reading.read_tool` (the policy's entry) uses the tables here: `ps` is walked by `read_ps` (its
BSD words, UNIX options and GNU long options share one command line, and BSD `e` means "print
the environments"), every other tool by its spec (`data/tools/*.yaml`), and then by its extra
check, if it has one:
- nft joins its operands into one command line for its own parser, where `;` and newlines
  separate commands: only plain words are read-only;
- sysctl writes every `key=value` operand, with or without -w;
- without the one option that makes them only look, crontab installs a crontab (from its
  input), nginx and sshd start a server, top is interactive (its keys kill and renice) and
  `docker stats` streams until it is stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from executor.policy.tools.parser import Reading
from executor.policy.values import Arg

Check = Callable[[tuple[Arg, ...], Reading], str | None]


# ---- ps ------------------------------------------------------------------------------------
# procps-ng 4.0 (ps/parser.c): a word starting with `--` is a GNU option, `-` a cluster of UNIX
# options, anything else a cluster of BSD options (or, all digits, a list of process ids).
# Options that take a value take the rest of their word or the next word.

_PS_UNIX_FLAGS = frozenset("AacdeFfHjLlMmNPTVwxyZ")
_PS_UNIX_VALUES = frozenset("CDGgOopqstUu")
_PS_BSD_FLAGS = frozenset("acfhjLlMmnrSsTuvVwxXZ")
_PS_BSD_VALUES = frozenset("kOoptU")
_PS_GNU_FLAGS = frozenset(
    (
        "--cumulative",
        "--deselect",
        "--forest",
        "--headers",
        "--no-headers",
        "--no-heading",
        "--heading",
        "--info",
        "--context",
        "--version",
    )
)
_PS_GNU_VALUES = frozenset(
    (
        "--cols",
        "--columns",
        "--width",
        "--format",
        "--Group",
        "--group",
        "--lines",
        "--rows",
        "--pid",
        "--ppid",
        "--quick-pid",
        "--sid",
        "--sort",
        "--tty",
        "--User",
        "--user",
        "--help",
    )
)
_PS_FORMATS = frozenset("oO") | frozenset(("--format",))
_PID_LIST = re.compile(r"[0-9]+(,[0-9]+)*")


def read_ps(args: tuple[Arg, ...]) -> Reading:
    """`ps` in all its syntaxes: BSD `e` (environments, secrets) and unknown letters refused."""
    i = 0
    while i < len(args):
        a = args[i]
        if a.dynamic:
            return Reading(f"has an argument only known at run time ({a.raw})")
        word = a.value
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in _PS_GNU_FLAGS and not eq:
                i += 1
                continue
            if name not in _PS_GNU_VALUES:
                return Reading(_ps_unknown(word))
            if not eq:
                if i + 1 >= len(args) or (args[i + 1].dynamic and name in _PS_FORMATS):
                    return Reading(f"gives `{name}` no value Chavion can read")
                value = args[i + 1].value
                i += 1
            problem = _ps_value(name, value)
            if problem:
                return Reading(problem)
            i += 1
            continue
        if _PID_LIST.fullmatch(word):
            i += 1
            continue
        unix = word.startswith("-")
        letters = word[1:] if unix else word
        flags, values = (
            (_PS_UNIX_FLAGS, _PS_UNIX_VALUES) if unix else (_PS_BSD_FLAGS, _PS_BSD_VALUES)
        )
        if not letters:
            return Reading(_ps_unknown(word))
        for j, letter in enumerate(letters):
            shown = f"-{letter}" if unix else letter
            if not unix and letter == "e":
                return Reading(
                    f"uses the BSD option `e` in `{word}`, which prints every process's "
                    "environment (secrets); `-e` selects every process"
                )
            if letter in flags:
                continue
            if letter not in values:
                return Reading(_ps_unknown(shown if len(letters) == 1 else f"{shown}` in `{word}"))
            rest = letters[j + 1 :]
            if not rest:
                if i + 1 >= len(args) or (args[i + 1].dynamic and letter in _PS_FORMATS):
                    return Reading(f"gives `{shown}` no value Chavion can read")
                rest = args[i + 1].value
                i += 1
            problem = _ps_value(letter, rest)
            if problem:
                return Reading(problem)
            break
        i += 1
    return Reading(None, (), "text")


def _ps_value(option: str, value: str) -> str | None:
    """A format list naming `environ` prints environments, like BSD `e`. (Other values, such
    as a run-time `-p $PID`, are data: taken as the value, they cannot become options.)"""
    if option not in _PS_FORMATS:
        return None
    for spec in re.split(r"[,\s]+", value):
        key = spec.split("=", 1)[0].split(":", 1)[0].lower()
        if key.startswith("env"):
            return f"asks for the `{key}` column, which shows a process's environment (secrets)"
    return None


def _ps_unknown(shown: str) -> str:
    return f"uses `{shown}`, an option Chavion does not know to be read-only for ps"


WALKERS: Mapping[str, Callable[[tuple[Arg, ...]], Reading]] = {"ps": read_ps}
"""Tools walked by code instead of a spec."""


# ---- checks before the spec's walk -----------------------------------------------------------

_NFT_WORD = re.compile(r"[A-Za-z0-9_.:/@%+-]+")


def _nft_words(args: tuple[Arg, ...], reading: Reading) -> str | None:
    """nft parses its joined operands itself: only plain words cannot hide a second command."""
    for a in args:
        if a.dynamic:
            return f"has an argument only known at run time ({a.raw}), which nft would parse"
        if "\n" in a.value or "\r" in a.value:
            return (
                "has an argument holding a newline, which separates nft commands "
                "(nft joins its arguments into one command line)"
            )
        if ";" in a.value:
            return (
                "has an argument holding `;`, which separates nft commands "
                "(nft joins its arguments into one command line)"
            )
        if not _NFT_WORD.fullmatch(a.value):
            return f"has the argument `{_short(a.value)}`, more than a plain word for nft list"
    return None


BEFORE: Mapping[str, Check] = {"nft": _nft_words}


# ---- checks after the spec's walk ------------------------------------------------------------


def _sysctl_assignments(args: tuple[Arg, ...], reading: Reading) -> str | None:
    for a in args:
        if a.dynamic:
            return (
                f"has an argument only known at run time ({_short(a.raw)}), which could be a "
                "key=value (sysctl sets every key=value it is given)"
            )
        if not a.value.startswith("-") and "=" in a.value:
            return f"writes `{_short(a.value)}` (sysctl sets every key=value it is given)"
    return None


def _nft_options_last(args: tuple[Arg, ...], reading: Reading) -> str | None:
    verb_seen = False
    for a in args:
        if not a.value.startswith("-"):
            verb_seen = True
        elif verb_seen:
            return f"has `{_short(a.value)}` after the nft command, where nft takes no options"
    return None


def requires(*groups: tuple[tuple[str, ...], str]) -> Check:
    """A check that each group of options has one used: (names, what happens without them)."""

    def check(args: tuple[Arg, ...], reading: Reading) -> str | None:
        used = set(reading.options)
        for names, without in groups:
            if not used & set(names):
                shown = " or ".join(f"`{n}`" for n in names)
                return f"has no {shown}: without it, {without}"
        return None

    return check


def _docker_stats(args: tuple[Arg, ...], reading: Reading) -> str | None:
    if reading.verbs[-1:] != ("stats",):
        return None
    return requires((("--no-stream",), "docker stats streams until it is stopped"))(args, reading)


_ENVIRONMENT_PROPERTIES = re.compile(r"(?i)environment|setcredential|loadcredential|credential")


def _systemctl_show(args: tuple[Arg, ...], reading: Reading) -> str | None:
    """`systemctl show` prints every property, the unit's Environment= (tokens, passwords)
    among them: read-only only when `-p`/`--property` names the properties, none of them an
    environment or a credential."""
    if reading.verbs[-1:] != ("show",):
        return None
    named: list[Arg] = []
    for k, a in enumerate(args):
        value: Arg | None = None
        if a.value in ("-p", "-P", "--property") and k + 1 < len(args):
            value = args[k + 1]
        elif a.value.startswith("--property="):
            value = Arg(a.value.removeprefix("--property="), a.raw, dynamic=a.dynamic)
        elif a.value.startswith(("-p", "-P")) and len(a.value) > 2 and not a.value.startswith("--"):
            value = Arg(a.value[2:], a.raw, dynamic=a.dynamic)
        if value is not None:
            named.append(value)
    if not named:
        return "shows every property of the unit, its environment (which may hold secrets) included"
    for value in named:
        if value.dynamic or _ENVIRONMENT_PROPERTIES.search(value.value):
            return f"shows `{_short(value.raw)}`, a unit's environment or credentials"
    return None


AFTER: Mapping[str, Check] = {
    "sysctl": _sysctl_assignments,
    "nft": _nft_options_last,
    "crontab": requires((("-l",), "crontab installs a new crontab from its file or input")),
    "nginx": requires(
        (("-t", "-T", "-v", "-V", "-h"), "nginx starts a server"),
    ),
    "sshd": requires((("-t", "-T", "-V"), "sshd starts a server")),
    "top": requires(
        (("-b",), "top is interactive (its keys kill and renice processes)"),
        (("-n",), "top -b runs until it is stopped"),
    ),
    "docker": _docker_stats,
    "systemctl": _systemctl_show,
}


def _short(text: str, limit: int = 40) -> str:
    text = text.replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
