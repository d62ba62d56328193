"""How the integration suite reads which Synapse to run against, which tests each backend
runs, and what the services script printed; bad settings are refused with a message that
says what to set."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.backends import (
    REPO,
    Backend,
    BackendError,
    Services,
    backend_from_env,
    runs_on,
)

CHOICES = [
    ({}, Backend("sqlite", workers=False)),
    ({"CHAVION_TEST_DATABASE": "sqlite"}, Backend("sqlite", workers=False)),
    ({"CHAVION_TEST_DATABASE": "postgres"}, Backend("postgres", workers=False)),
    ({"CHAVION_TEST_DATABASE": " Postgres "}, Backend("postgres", workers=False)),
    ({"CHAVION_TEST_DATABASE": ""}, Backend("sqlite", workers=False)),
    ({"CHAVION_TEST_WORKERS": "1"}, Backend("postgres", workers=True)),
    ({"CHAVION_TEST_WORKERS": "true"}, Backend("postgres", workers=True)),
    ({"CHAVION_TEST_WORKERS": "0"}, Backend("sqlite", workers=False)),
    (
        {"CHAVION_TEST_WORKERS": "1", "CHAVION_TEST_DATABASE": "postgres"},
        Backend("postgres", workers=True),
    ),
]


@pytest.mark.parametrize(("env", "backend"), CHOICES, ids=[str(c[0]) for c in CHOICES])
def test_backend_from_env(env: dict[str, str], backend: Backend) -> None:
    assert backend_from_env(env) == backend


REFUSED = [
    ({"CHAVION_TEST_DATABASE": "mysql"}, "use sqlite or postgres"),
    ({"CHAVION_TEST_WORKERS": "2"}, "use 1 .worker mode. or 0"),
    ({"CHAVION_TEST_WORKERS": "1", "CHAVION_TEST_DATABASE": "sqlite"}, "needs PostgreSQL"),
]


@pytest.mark.parametrize(("env", "message"), REFUSED, ids=[str(r[0]) for r in REFUSED])
def test_bad_choices_are_refused_with_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(BackendError, match=message):
        backend_from_env(env)


def test_names_for_the_timing_lines() -> None:
    assert [Backend().name, Backend("postgres").name, Backend("postgres", True).name] == [
        "sqlite",
        "postgres",
        "workers+redis",
    ]


PRINTED = """pg_host=127.0.0.1
pg_port=5433
pg_user=chavion_test
pg_password=a=b
pg_database=synapse
redis_host=127.0.0.1
redis_port=6380
dir=/tmp/x
"""


def test_services_are_read_from_what_the_script_prints() -> None:
    services = Services.parse("noise without an equals sign\n" + PRINTED)
    assert services == Services("127.0.0.1", 5433, "chavion_test", "a=b", "127.0.0.1", 6380)


@pytest.mark.parametrize(
    "printed",
    [PRINTED.replace("pg_port=5433", "pg_port=five"), PRINTED.replace("redis_port=6380\n", "")],
    ids=["bad port", "missing key"],
)
def test_unusable_script_output_is_refused(printed: str) -> None:
    with pytest.raises(BackendError, match="no usable settings"):
        Services.parse(printed)


RUNS = [
    (Backend(), [], True),
    (Backend(), ["integration"], True),
    (Backend(), ["integration", "backend"], True),
    (Backend("postgres"), ["integration"], False),
    (Backend("postgres"), [], False),
    (Backend("postgres"), ["integration", "backend"], True),
    (Backend("postgres", workers=True), ["browser"], False),
    (Backend("postgres", workers=True), ["backend"], True),
]


@pytest.mark.parametrize(
    ("backend", "markers", "runs"), RUNS, ids=[f"{r[0].name} {r[1]}" for r in RUNS]
)
def test_sqlite_runs_every_test_the_other_backends_only_the_marked_ones(
    backend: Backend, markers: list[str], runs: bool
) -> None:
    assert runs_on(backend, markers) is runs


MUST_RUN_ON_EVERY_BACKEND = [
    "test_backend.py::test_the_homeserver_runs_on_the_database_asked_for",
    "test_backend.py::test_workers_serve_sync_and_persist_every_event",
    "test_nothing_lost.py::test_a_bot_down_while_more_than_a_sync_page_arrived_handles_every_event_once",
    "test_executor_bot.py::test_secrets_are_masked_and_long_output_is_a_file",  # media upload
    "test_tasks_robustness.py::test_a_homeserver_restart_mid_task_sends_nothing_twice_and_the_task_finishes",
]


def test_the_postgres_run_keeps_the_marked_homeserver_tests_and_few_others() -> None:
    """One collection of the real suite as the PostgreSQL run sees it (the worker run selects
    the same way: `runs_on` above)."""
    env = {**os.environ, "CHAVION_TEST_DATABASE": "postgres", "CHAVION_TEST_WORKERS": ""}
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    answer = subprocess.run(
        [*command, "tests/integration"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    kept = {line.split("/")[-1] for line in answer.stdout.splitlines() if "::" in line}
    for test in MUST_RUN_ON_EVERY_BACKEND:
        assert test in kept, test
    found = re.search(r"(\d+)/(\d+) tests collected", answer.stdout)
    assert found is not None, answer.stdout
    assert int(found.group(1)) == len(kept)
    assert len(kept) < int(found.group(2)) / 5, "the extra runs are meant to stay short"
