"""How the integration suite reads which Synapse to run against, and what the services
script printed; bad settings are refused with a message that says what to set."""

from __future__ import annotations

import pytest

from tests.support.backends import Backend, BackendError, Services, backend_from_env

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
