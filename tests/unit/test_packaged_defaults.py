"""Defaults that survive a copied config: the built-in persona and policy lists ship inside
the package, a config file works from any folder, and what it names resolves against it.

Before, the example named `prompts/agent.md.j2` and the policy read `config/policy/*.yaml`
from the repository: a config copied to another folder failed on its first agent, and an
installed Chavion had no lists at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from bots.errors import ConfigError
from bots.settings.loading import load_settings
from bots.settings.paths import BUILTIN_PERSONA, EXAMPLE_CONFIG, REPO_ROOT
from executor.policy import DEFAULT_READONLY, ReadOnlyRule, load_forbidden, load_readonly
from executor.policy.config import FORBIDDEN_FILE, READONLY_FILE


def copied_example(folder: Path, **changes: Any) -> Path:
    """The shipped example, alone in `folder` (nothing from the repository next to it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chavion.yaml"
    shutil.copyfile(EXAMPLE_CONFIG, path)
    if changes:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for dotted, value in changes.items():
            *parents, last = dotted.split("__")
            node: Any = data
            for part in parents:
                node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
            node[last] = value
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_example_copied_anywhere_loads_with_the_built_in_defaults(tmp_path: Path) -> None:
    settings = load_settings(copied_example(tmp_path / "etc" / "chavion"))
    assert {agent.persona for agent in settings.agents} == {BUILTIN_PERSONA}
    policy = settings.execution.policy
    assert policy.readonly == DEFAULT_READONLY
    assert policy.forbidden == load_forbidden(FORBIDDEN_FILE).rules
    # Relative to the copied file, as the example says (../.data from /tmp/…/etc/chavion).
    assert settings.data_dir == tmp_path / "etc" / ".data"


def test_the_cli_checks_a_copied_config_from_another_folder(tmp_path: Path) -> None:
    config = copied_example(tmp_path / "x")
    result = subprocess.run(
        [sys.executable, "-m", "bots", "--config", str(config), "check-config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr


def test_the_built_in_defaults_live_in_the_package() -> None:
    for path in (BUILTIN_PERSONA, READONLY_FILE, FORBIDDEN_FILE):
        assert path.is_file()
        assert path.resolve().is_relative_to(REPO_ROOT / "bots") or path.resolve().is_relative_to(
            REPO_ROOT / "executor"
        )
    assert not (REPO_ROOT / "config" / "policy").exists(), "one copy of each list, not two"
    assert not (REPO_ROOT / "config" / "prompts").exists(), "one copy of the persona, not two"
    assert load_readonly(READONLY_FILE) == DEFAULT_READONLY


def test_every_data_file_in_the_packages_is_declared_as_package_data() -> None:
    """A file missing here would be left out of an installed Chavion."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared: dict[str, list[str]] = pyproject["tool"]["setuptools"]["package-data"]
    data_files = [
        path
        for top in ("bots", "bridge", "executor")
        for path in (REPO_ROOT / top).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert data_files, "the defaults are package data"
    for path in data_files:
        covered = any(
            fnmatch(str(path.relative_to(REPO_ROOT / package.replace(".", "/"))), glob)
            for package, globs in declared.items()
            if path.is_relative_to(REPO_ROOT / package.replace(".", "/"))
            for glob in globs
        )
        assert covered, f"{path.relative_to(REPO_ROOT)} is not in [tool.setuptools.package-data]"


def test_what_the_config_names_resolves_against_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "mine.md.j2").write_text("You are {{ agent.display_name }}.\n")
    (folder / "policy").mkdir()
    (folder / "policy" / "readonly.yaml").write_text("commands: [ls, uptime]\n")
    (folder / "policy" / "forbidden.yaml").write_text("commands: []\n")
    (folder / "keys").mkdir()
    (folder / "keys" / "web1").write_text("not really a key\n")
    (folder / "keys" / "known_hosts").write_text("")
    path = copied_example(
        folder,
        data_dir="state",
        agents__0__persona="prompts/mine.md.j2",
        execution__policy__readonly_file="policy/readonly.yaml",
        execution__policy__forbidden_file="policy/forbidden.yaml",
        execution__hosts__web1={
            "address": "web1.example.com",
            "key": "keys/web1",
            "known_hosts": "keys/known_hosts",
        },
    )
    settings = load_settings(path)
    assert settings.data_dir == folder / "state"
    assert settings.agents[0].persona == folder / "prompts" / "mine.md.j2"
    assert settings.agents[1].persona == BUILTIN_PERSONA
    assert settings.execution.policy.readonly == (ReadOnlyRule.of("ls"), ReadOnlyRule.of("uptime"))
    assert settings.execution.policy.forbidden == ()
    web1 = settings.execution.hosts["web1"]
    assert (web1.key_path, web1.known_hosts) == (folder / "keys/web1", folder / "keys/known_hosts")


MISSING = [
    # (the key set to a file that is not there, the start of the error)
    ("agents__0__persona", "prompts/gone.md.j2", "agents[0].persona: no template file at {d}/"),
    (
        "execution__policy__readonly_file",
        "policy/gone.yaml",
        "execution.policy.readonly_file: no policy file at {d}/policy/gone.yaml",
    ),
    (
        "execution__policy__forbidden_file",
        "policy/gone.yaml",
        "execution.policy.forbidden_file: no policy file at {d}/policy/gone.yaml",
    ),
    (
        "execution__hosts__web1",
        {"address": "web1", "key": "keys/gone"},
        "execution.hosts.web1.key: no key file at {d}/keys/gone",
    ),
    (
        "execution__hosts__web1",
        {"address": "web1", "known_hosts": "keys/gone"},
        "execution.hosts.web1.known_hosts: no known_hosts file at {d}/keys/gone",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "message"), MISSING, ids=[f"{m[0]}={m[1]}" for m in MISSING]
)
def test_a_missing_file_names_its_dotted_key(
    tmp_path: Path, key: str, value: Any, message: str
) -> None:
    folder = tmp_path / "cfg"
    with pytest.raises(ConfigError) as caught:
        load_settings(copied_example(folder, **{key: value}))
    assert str(caught.value).startswith(message.format(d=folder))


def test_known_hosts_may_be_missing_when_it_is_learnt_on_first_use(tmp_path: Path) -> None:
    host = {"address": "web1", "known_hosts": "keys/learnt", "trust_on_first_use": True}
    settings = load_settings(copied_example(tmp_path / "cfg", execution__hosts__web1=host))
    assert settings.execution.hosts["web1"].known_hosts == tmp_path / "cfg" / "keys" / "learnt"


def test_a_home_relative_path_is_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "persona.md.j2").write_text("Hi.\n")
    settings = load_settings(
        copied_example(tmp_path / "cfg", agents__0__persona="~/persona.md.j2", data_dir="~/d")
    )
    assert settings.agents[0].persona == tmp_path / "home" / "persona.md.j2"
    assert settings.data_dir == tmp_path / "home" / "d"
