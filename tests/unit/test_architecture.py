"""The layout's rules, checked on the source: which package may import which library or
package, no import cycles between modules, modules small enough to read.

Imports are read with `ast` (function-local ones included, so a cycle cannot hide inside a
function), never by importing the code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("bots", "bridge", "executor")
MAX_LINES = 800
# Data tables may be longer: they are read as a table, not as logic.
DATA_TABLES: frozenset[str] = frozenset()
# What may stand at the top of `bots/`: the shared vocabulary, nothing that does a job.
BOTS_TOP_LEVEL = {
    "__init__",
    "__main__",
    "alerts",  # every bot tells the master (an agent benched, a host down), one way
    "background",
    "context",
    "errors",
    "events",
    "ids",
    "message",
}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the file that imports
    imported: str  # dotted name as written (resolved to a module where one exists)
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def source_files() -> tuple[Path, ...]:
    return tuple(sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py")))


@cache
def modules() -> frozenset[str]:
    return frozenset(module_name(p) for p in source_files())


def resolve(name: str) -> str:
    """`bots.message.Reply` → `bots.message`: the longest prefix that is one of our modules."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules():
            return candidate
    return name


def imports_of(path: Path) -> Iterator[Import]:
    importer = module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(importer, resolve(alias.name), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield Import(importer, resolve(f"{base}.{alias.name}"), node.lineno)


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(i for path in source_files() for i in imports_of(path))


def importers_of(library: str) -> set[str]:
    return {
        i.importer
        for i in all_imports()
        if i.imported == library or i.imported.startswith(library + ".")
    }


# --- which code may import a library -------------------------------------------------------

LIBRARY_HOMES = [
    # library, the modules allowed to import it (globs over dotted names)
    ("nio", ("bots.matrix.*",)),
    ("asyncssh", ("executor.ssh",)),
    ("aiosqlite", ("bots.store", "bots.store.*")),
    # Speech uses the same SDK for OpenAI's audio APIs, in its own provider modules.
    ("openai", ("bridge.llm.openai_provider", "bridge.speech.openai_*")),
    ("anthropic", ("bridge.llm.anthropic_provider",)),
    ("google", ("bridge.llm.gemini_provider",)),
    # The HTTP server is bridge/http; the bots only hand it their ports and start it.
    ("aiohttp.web", ("bridge.http", "bridge.http.*", "bots.bridge", "bots.bridge.*", "bots.app.*")),
]


@pytest.mark.parametrize(("library", "homes"), LIBRARY_HOMES, ids=[r[0] for r in LIBRARY_HOMES])
def test_a_library_is_imported_only_in_its_home(library: str, homes: tuple[str, ...]) -> None:
    strays = {m for m in importers_of(library) if not any(fnmatch(m, h) for h in homes)}
    assert not strays, f"{library} imported outside {homes}: {sorted(strays)}"


# --- which package may import which --------------------------------------------------------

FORBIDDEN_EDGES = [
    # importer glob, imported glob, why
    ("bridge*", "bots*", "bridge/ is what Chavion brings in; it never reaches into the bots"),
    ("bridge.http*", "bridge.llm*", "the HTTP door reaches the council through its ports only"),
    ("executor*", "bots*", "executor/ is SSH and policy only: no Matrix, no store"),
    ("bots.store*", "bots.execution*", "the store keeps records; the rules live in execution"),
    ("bots.store*", "executor.policy*", "the store keeps verdicts, it does not judge commands"),
    ("bots.matrix*", "bots.homeserver.provision", "the Matrix client never provisions"),
    ("bots.routing*", "bots.matrix*", "routing is pure: it sees Messages, never the client"),
    ("bots.text*", "bots.matrix.client", "text helpers are pure"),
    # Handlers see `Message`, `Reply` and `BotContext`, never the client or its conversion.
    ("bots.agents*", "bots.matrix.[!e]*", "an agent speaks through BotContext, not the client"),
    ("bots.coordinator*", "bots.matrix*", "the coordinator speaks through BotContext"),
    ("bots.execution*", "bots.matrix*", "the executor bot speaks through BotContext"),
    # Data flows one way: the Matrix edge hands Messages on, it never calls a handler.
    ("bots.matrix*", "bots.agents*", "the Matrix edge does not know the handlers"),
    ("bots.matrix*", "bots.coordinator*", "the Matrix edge does not know the handlers"),
    ("bots.matrix*", "bots.execution*", "the Matrix edge does not know the handlers"),
    ("bots.matrix*", "bots.routing*", "the Matrix edge does not route"),
    ("bots.matrix*", "bots.night*", "the quiet rule reaches the client as a port (Outgoing)"),
    ("bots.matrix*", "bots.health*", "the Matrix edge does not know the handlers"),
    ("bots.matrix*", "bots.voice*", "the Matrix edge reads transcripts; it does not hear"),
    ("bots.voice*", "bots.matrix*", "voice speaks and listens through BotContext"),
    ("bridge.speech*", "bridge.llm.[!o]*", "speech shares only the OpenAI error reading"),
    # What every bot uses (alerts, periodic jobs) sits at the top of bots/, so no bot's
    # package reaches into another's.
    ("bots.agents*", "bots.coordinator*", "an agent shares nothing with the coordinator"),
    ("bots.agents*", "bots.execution*", "an agent shares nothing with the executor bot"),
    ("bots.execution*", "bots.coordinator*", "the executor bot shares nothing with it"),
    ("bots.health*", "bots.coordinator*", "alerts are at the top of bots/, not the coordinator's"),
    # The task workflow's rules are pure: the engine in bots/coordinator/tasks does the I/O.
    *(
        ("bots.tasks*", f"bots.{part}*", "bots/tasks is pure task logic: no I/O, no handler")
        for part in ("agents", "app", "coordinator", "homeserver", "matrix", "routing", "store")
    ),
    # One table of task moves: the store checks each move against it, inside the transaction
    # that writes it, and takes nothing else from the workflow.
    ("bots.store*", "bots.tasks.[!s]*", "the store knows the task moves, not the workflow"),
    *(
        ("bots.store*", f"bots.{job}*", "the store keeps records; it knows no bot's job")
        for job in (
            "agents",
            "app",
            "coordinator",
            "homeserver",
            "matrix",
            "routing",
            "text",
            "voice",
        )
    ),
]


@pytest.mark.parametrize(
    ("importer", "imported", "why"),
    FORBIDDEN_EDGES,
    ids=[f"{r[0]}->{r[1]}" for r in FORBIDDEN_EDGES],
)
def test_a_package_does_not_import_what_it_must_not(importer: str, imported: str, why: str) -> None:
    found = sorted(
        f"{i.importer} imports {i.imported} (line {i.line})"
        for i in all_imports()
        if fnmatch(i.importer, importer) and fnmatch(i.imported, imported)
    )
    assert not found, f"{why}: {found}"


def test_the_app_is_the_top_of_the_graph() -> None:
    """`bots/app` assembles everything; nothing but the entry point reaches back up into it,
    so every other package can be read (and tested) without the app."""
    found = sorted(
        f"{i.importer} imports {i.imported} (line {i.line})"
        for i in all_imports()
        if fnmatch(i.imported, "bots.app*")
        and not fnmatch(i.importer, "bots.app*")
        and i.importer != "bots.__main__"
    )
    assert not found, found


# --- no cycles -----------------------------------------------------------------------------


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for i in all_imports():
        if i.imported in modules() and i.imported != i.importer:
            graph[i.importer].add(i.imported)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path that ends where it starts, or None; iterative depth-first search."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(sorted(graph[start]))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                finished = path.pop()
                done.add(finished)
                on_path.discard(finished)
                continue
            if step in on_path:
                return [*path[path.index(step) :], step]
            if step in done:
                continue
            path.append(step)
            on_path.add(step)
            stack.append(iter(sorted(graph[step])))
    return None


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "cyclic"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
        ({"a": {"b"}, "b": {"a"}}, True),
        ({"a": {"b", "c"}, "b": {"c"}, "c": {"d"}, "d": {"b"}}, True),
        ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, False),
    ],
)
def test_the_cycle_finder_itself(graph: dict[str, set[str]], cyclic: bool) -> None:
    assert (find_cycle(graph) is not None) is cyclic


# --- layout --------------------------------------------------------------------------------


def test_modules_are_small_enough_to_read() -> None:
    long = {
        module_name(p): n
        for p in source_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and module_name(p) not in DATA_TABLES
    }
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_bots_top_level_holds_only_the_shared_vocabulary() -> None:
    top = {p.stem for p in (REPO / "bots").glob("*.py")}
    assert top <= BOTS_TOP_LEVEL, f"move into a subpackage: {sorted(top - BOTS_TOP_LEVEL)}"


def test_every_package_folder_is_a_package() -> None:
    folders = {p.parent for package in PACKAGES for p in (REPO / package).rglob("*.py")} - {
        p.parent for package in PACKAGES for p in (REPO / package).rglob("__init__.py")
    }
    assert not folders, f"folders without __init__.py: {sorted(map(str, folders))}"


def test_the_synapse_folder_is_never_a_package() -> None:
    """An `__init__.py` there would shadow the `synapse` package, the homeserver itself."""
    assert not (REPO / "synapse" / "__init__.py").exists()
