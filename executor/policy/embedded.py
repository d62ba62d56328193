"""Shell code that commands carry in their options: `git -c core.pager=...`, `ssh -o
ProxyCommand=...`, `tar --to-command`, vim `+!cmd`, aliases and crontab lines.

That code runs later or elsewhere, so it is only scanned for forbidden commands.
"""

from __future__ import annotations

import re

from executor.policy.knowledge import ASSIGN_ARG, CODE_OPTIONS, GIT_COMMAND_KEYS, SSH_COMMAND_KEYS
from executor.policy.values import Arg, Stream, StreamKind


def embedded_code(name: str, argv: tuple[Arg, ...], stdin: Stream) -> list[str]:
    """Shell code a command is handed to run later or elsewhere: scanned for forbidden parts."""
    args = [a for a in argv[1:] if not a.dynamic]
    values = [a.value for a in args]
    codes: list[str] = []
    for k, v in enumerate(values):
        following = values[k + 1] if k + 1 < len(values) else ""
        if name == "alias" and "=" in v:
            codes.append(v.split("=", 1)[1])
        elif name == "git" and (v == "-c" or v.startswith("--upload-pack") or v == "--exec"):
            key, _, value = following.partition("=")
            if v != "-c":
                value = v.partition("=")[2] or following
            if value.startswith("!"):
                codes.append(value[1:])
            elif v != "-c" or key.lower() in GIT_COMMAND_KEYS:
                codes.append(value)
        elif name in ("ssh", "scp", "sftp") and v.startswith("-o"):
            option = v[2:] or following
            key, _, value = option.replace("=", " ", 1).partition(" ")
            if key.lower() in SSH_COMMAND_KEYS:
                codes.append(value)
        elif name in ("vi", "vim", "nvim", "ex", "view") and (v == "-c" or v.startswith("+")):
            command = following if v == "-c" else v[1:]
            if "!" in command:
                codes.append(command.split("!", 1)[1])
        elif name == "socat" and re.match(r"(?i)(exec|system):", v):
            codes.append(v.split(":", 1)[1].split(",", 1)[0].strip("'\""))
        elif name in CODE_OPTIONS:
            for option in CODE_OPTIONS[name]:
                if v == option:
                    codes.append(following)
                elif option.startswith("--") and v.startswith(option + "="):
                    codes.append(v.split("=", 1)[1])
    codes = [c.removeprefix("exec=") for c in codes]
    if name == "crontab" and stdin.kind is StreamKind.STATIC and values in ([], ["-"]):
        for line in stdin.text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or ASSIGN_ARG.match(line):
                continue
            fields = line.split(None, 1 if line.startswith("@") else 5)
            if len(fields) == (2 if line.startswith("@") else 6):
                codes.append(fields[-1])
    return [c for c in codes if c.strip()]
