"""Reading tool specs from `executor/policy/data/tools/*.yaml` (package data, read once).

The format is documented in `executor/policy/data/tools/README.md`. A broken spec is a
`PolicyConfigError` naming the file and the tool: it is a bug in Chavion, caught by the tests.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from executor.policy.model import PolicyConfigError
from executor.policy.tools.spec import (
    OPERANDS,
    RESOLVES,
    STYLES,
    Operands,
    Opt,
    OptKind,
    Resolve,
    Style,
    Subcommands,
    ToolSpec,
    Verb,
)

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: the specs load ~10x faster (read once anyway)."""
TOOLS_DIR = Path(__file__).resolve().parent.parent / "data" / "tools"
_KINDS = ("flag", "value", "optional", "file", "recursive")
_TOOL_KEYS = frozenset(
    {"style", "complete", "options", "operands", "max-operands", "operand-pattern", "numbers"}
    | {"attached", "refuse-operands", "pattern-first"}
    | {"subcommands", "like"}
)
_SUB_KEYS = frozenset({"resolve", "shared-options", "required", "verbs"})


@functools.cache
def tool_specs() -> Mapping[str, ToolSpec]:
    """Every tool spec Chavion ships, by tool name (read once per process)."""
    specs: dict[str, ToolSpec] = {}
    for path in sorted(TOOLS_DIR.glob("*.yaml")):
        for name, spec in load_tool_file(path).items():
            if name in specs:
                raise PolicyConfigError(f"{path}: the tool {name!r} is specified twice")
            specs[name] = spec
    return specs


def tool_spec(name: str) -> ToolSpec | None:
    """The spec of the tool called `name`, if Chavion has one."""
    return tool_specs().get(name)


def load_tool_file(path: str | Path) -> dict[str, ToolSpec]:
    """The specs in one file: a mapping of tool name to its entry."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyConfigError(f"cannot read the tool specs {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: expected a mapping of tool names to specs")
    raw: dict[str, Any] = {}
    for name, entry in data.items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            raise PolicyConfigError(f"{path}: the entry {name!r} must be a mapping")
        if "like" in entry:
            base = raw.get(entry["like"])
            if base is None:
                raise PolicyConfigError(
                    f"{path}: {name}: 'like: {entry['like']}' names no tool specified above it"
                )
            entry = {**base, **{k: v for k, v in entry.items() if k != "like"}}
        raw[name] = entry
    return {name: _spec(f"{path}: {name}", name, entry, None) for name, entry in raw.items()}


def _spec(where: str, name: str, entry: Any, parent: ToolSpec | None) -> ToolSpec:
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        raise PolicyConfigError(f"{where}: expected a mapping")
    unknown = set(entry) - _TOOL_KEYS
    if unknown:
        raise PolicyConfigError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    style = entry.get("style", parent.style if parent else "gnu")
    if style not in STYLES:
        raise PolicyConfigError(f"{where}: style must be one of {', '.join(STYLES)}")
    operands = entry.get("operands", "files")
    if operands not in OPERANDS:
        raise PolicyConfigError(f"{where}: operands must be one of {', '.join(OPERANDS)}")
    limit = entry.get("max-operands")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise PolicyConfigError(f"{where}: max-operands must be a number of operands")
    glob = entry.get("operand-pattern")
    if glob is not None and not isinstance(glob, str):
        raise PolicyConfigError(f"{where}: operand-pattern must be a glob")
    complete = entry.get("complete", parent.complete if parent else False)
    numbers = entry.get("numbers", False)
    attached = entry.get("attached", parent.attached if parent else True)
    if not all(isinstance(x, bool) for x in (complete, numbers, attached)):
        raise PolicyConfigError(f"{where}: complete, numbers and attached are true or false")
    options = _options(where, entry.get("options"), cast(Style, style))
    refused = _refused_operands(where, entry.get("refuse-operands"))
    pattern = _pattern_first(where, entry.get("pattern-first"), options)
    index: dict[str, Opt] = {}
    for opt in options:
        for n in opt.names:
            if n in index:
                raise PolicyConfigError(f"{where}: the option {n} is listed twice")
            index[n] = opt
    spec = ToolSpec(
        name=name,
        style=cast(Style, style),
        complete=complete,
        options=options,
        operands=cast(Operands, operands),
        max_operands=limit,
        operand_pattern=glob,
        pattern_options=pattern,
        numbers=numbers,
        attached=attached,
        refuse_operands=refused,
        index=index,
    )
    if "subcommands" in entry:
        subs = _subcommands(where, entry["subcommands"], spec)
        spec = ToolSpec(**{**spec.__dict__, "subcommands": subs})
    return spec


def _options(where: str, data: Any, style: Style) -> tuple[Opt, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{where}: options must be a mapping of names to kinds")
    out: list[Opt] = []
    for key, kind in data.items():
        names = tuple(str(key).split())
        bad = [n for n in names if not _option_name(n, style)]
        if not names or bad:
            raise PolicyConfigError(f"{where}: {key!r} is not a list of option names")
        if isinstance(kind, str) and kind in _KINDS:
            out.append(Opt(names, cast(OptKind, kind)))
        elif isinstance(kind, list) and kind and all(isinstance(c, str) for c in kind):
            out.append(Opt(names, "choice", frozenset(kind)))
        elif (
            isinstance(kind, dict)
            and set(kind) == {"refuse"}
            and isinstance(kind["refuse"], str)
            and kind["refuse"].strip()
        ):
            out.append(Opt(names, "refuse", reason=kind["refuse"].strip()))
        else:
            raise PolicyConfigError(
                f"{where}: {key}: the kind must be one of {', '.join(_KINDS)}, a list of "
                "choices or {refuse: why}"
            )
    return tuple(out)


def _pattern_first(where: str, data: Any, options: tuple[Opt, ...]) -> frozenset[str] | None:
    if data is None:
        return None
    names = str(data).split() if isinstance(data, str) else None
    known = {n for o in options for n in o.names}
    if names is None or not set(names) <= known:
        raise PolicyConfigError(f"{where}: pattern-first names the options that give a pattern")
    return frozenset(names)


def _refused_operands(where: str, data: Any) -> tuple[tuple[str, str], ...]:
    if data is None:
        return ()
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in data.items()
    ):
        raise PolicyConfigError(f"{where}: refuse-operands maps words to why they are refused")
    return tuple((word, why.strip()) for key, why in data.items() for word in key.split())


def _option_name(name: str, style: Style) -> bool:
    if style in ("gnu", "posix"):
        return (len(name) == 2 and name[0] == "-" and name[1] != "-") or (
            name.startswith("--") and len(name) > 2 and "=" not in name
        )
    return (name.startswith(("-", "+")) and len(name) > 1) or style == "find"


def _subcommands(where: str, data: Any, parent: ToolSpec) -> Subcommands:
    if not isinstance(data, dict) or not isinstance(data.get("verbs"), dict):
        raise PolicyConfigError(f"{where}: subcommands need a mapping of verbs")
    unknown = set(data) - _SUB_KEYS
    if unknown:
        raise PolicyConfigError(f"{where}: unknown subcommand keys {sorted(map(str, unknown))}")
    resolve = data.get("resolve", "exact")
    if resolve not in RESOLVES:
        raise PolicyConfigError(f"{where}: resolve must be one of {', '.join(RESOLVES)}")
    shared = data.get("shared-options", False)
    required = data.get("required", False)
    if not isinstance(shared, bool) or not isinstance(required, bool):
        raise PolicyConfigError(f"{where}: shared-options and required are true or false")
    verbs: list[Verb] = []
    seen: set[str] = set()
    for key, entry in data["verbs"].items():
        names = tuple(str(key).split())
        if not names or seen & set(names):
            raise PolicyConfigError(f"{where}: the verb {key!r} is empty or listed twice")
        seen.update(names)
        inner = f"{where} {names[0]}"
        if isinstance(entry, dict) and "refuse" in entry:
            reason = entry["refuse"]
            if set(entry) != {"refuse"} or not isinstance(reason, str) or not reason.strip():
                raise PolicyConfigError(f"{inner}: a refused verb is {{refuse: why}} alone")
            verbs.append(Verb(names, None, reason.strip()))
        else:
            verbs.append(Verb(names, _spec(inner, f"{parent.name} {names[0]}", entry, parent)))
    return Subcommands(cast(Resolve, resolve), tuple(verbs), shared, required)
