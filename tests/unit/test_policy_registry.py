"""How the policy finds the code for a command: wrappers, interpreters and per-command checks are
registered by name next to their functions, and the walker gets the tables handed in."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from executor.policy import DEFAULT_READONLY, READONLY_FILE, PolicyConfig, load_readonly
from executor.policy.checks import CHECKS
from executor.policy.registry import Registry
from executor.policy.verdict import HANDLERS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sudo", "run_sudo"),
        ("sudoedit", "run_sudo"),
        ("env", "run_env"),
        ("nice", "run_wrapped"),
        ("doas", "run_wrapped"),
        ("bash", "run_shell"),
        (".", "run_source"),
        ("gawk", "run_awk"),
        ("python3.12", "run_interpreter"),
        ("node", "run_interpreter"),
        ("docker", "run_container"),
        ("ls", None),
        ("pythonista", None),
    ],
)
def test_commands_that_run_commands_find_their_handler(name: str, expected: str | None) -> None:
    handler = HANDLERS.lookup(name)
    assert (handler.__name__ if handler else None) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rm", "check_rm"),
        ("unlink", "check_rm"),
        ("chown", "check_chmod"),
        ("mkfs.ext4", "check_mkfs"),
        ("mke2fs", "check_mkfs"),
        ("mkswap", "check_device_tool"),
        ("iptables", "check_iptables"),
        ("ip6tables-nft", "check_iptables"),
        ("iptables-save", None),
        ("iptables-restore", None),
        ("invoke-rc.d", "check_service"),
        ("cat", None),
    ],
)
def test_commands_find_their_forbid_list_check(name: str, expected: str | None) -> None:
    check = CHECKS.lookup(name)
    assert (check.__name__ if check else None) == expected


def _table() -> Registry[Callable[[], str]]:
    table: Registry[Callable[[], str]] = Registry()

    @table.register("exact", family=lambda name: name.startswith("fam"))
    def first() -> str:
        return "first"

    @table.register(family=lambda name: name.startswith("f"))
    def second() -> str:
        return "second"

    @table.register("family-but-exact")
    def third() -> str:
        return "third"

    return table


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("exact", "first"),
        ("family", "first"),  # families are asked in the order they were registered
        ("foo", "second"),
        ("family-but-exact", "third"),  # an exact name wins over any family
        ("other", None),
    ],
)
def test_registry_lookup(name: str, expected: str | None) -> None:
    entry = _table().lookup(name)
    assert (entry() if entry else None) == expected


def test_registry_refuses_a_name_twice() -> None:
    table = _table()
    with pytest.raises(ValueError, match="registered twice"):
        table.register("exact")(lambda: "again")
    with pytest.raises(ValueError, match="registered twice"):
        Registry.merged(table, _table())


def test_the_read_only_list_exists_once_in_the_shipped_file() -> None:
    assert REPO / "executor/policy/data/readonly.yaml" == READONLY_FILE
    assert load_readonly(READONLY_FILE) == DEFAULT_READONLY
    assert PolicyConfig().readonly == DEFAULT_READONLY
    assert len(DEFAULT_READONLY) > 100


def _policy_imports(module: str) -> set[str]:
    tree = ast.parse((REPO / "executor/policy" / f"{module}.py").read_text(encoding="utf-8"))
    modules = (node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom))
    return {m.removeprefix("executor.policy.") for m in modules if m and m.startswith("executor.")}


@pytest.mark.parametrize("module", ["state", "expansion", "analyzer"])
def test_the_walker_does_not_know_its_handlers_or_checks(module: str) -> None:
    assert not _policy_imports(module) & {"wrappers", "interpreters", "checks", "verdict"}
