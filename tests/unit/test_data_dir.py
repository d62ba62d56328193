"""The data dir and the files in it are the user's alone, whatever the umask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bots.settings.data_dir import DataDir, open_private_log, write_private


@pytest.fixture
def lax_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_every_folder_is_made_private(tmp_path: Path, lax_umask: None) -> None:
    data = DataDir(tmp_path / "data")
    data.ensure()
    folders = [data.root, data.synapse, data.run, data.secrets, data.accounts, data.root / "crypto"]
    assert {f.name: mode(f) for f in folders} == {f.name: 0o700 for f in folders}


def test_a_data_dir_made_before_is_tightened(tmp_path: Path, lax_umask: None) -> None:
    data = DataDir(tmp_path / "data")
    for folder in (data.root, data.synapse, data.run):
        folder.mkdir(mode=0o755)
    (data.synapse / "homeserver.db").write_text("tokens")
    data.ensure()
    assert mode(data.root) == 0o700
    assert mode(data.synapse) == 0o700
    assert mode(data.run) == 0o700


def test_write_private_replaces_the_file_whole_and_private(tmp_path: Path, lax_umask: None) -> None:
    path = tmp_path / "run" / "ready.json"
    write_private(path, "old")
    stale = path.with_suffix(".json.tmp")
    stale.write_text("left by a crash")
    stale.chmod(0o644)
    write_private(path, '{"pid": 1}')
    assert path.read_text() == '{"pid": 1}'
    assert mode(path) == 0o600
    assert list(path.parent.iterdir()) == [path]


def test_a_log_is_private_even_if_it_was_not_before(tmp_path: Path, lax_umask: None) -> None:
    log = tmp_path / "run" / "chavion.log"
    log.parent.mkdir()
    log.write_text("before\n")
    log.chmod(0o644)
    with open_private_log(log) as handle:
        handle.write(b"Password: secret\n")
    assert log.read_text() == "before\nPassword: secret\n"
    assert mode(log) == 0o600
    fresh = tmp_path / "run" / "new.log"
    with open_private_log(fresh):
        pass
    assert mode(fresh) == 0o600
