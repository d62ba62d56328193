"""The embedded `local` host as its own unprivileged OS user (`chavion-run`, made by
scripts/local-host), end to end: the real embedded server, real bwrap, the real user, and
the executor bot driven through a real Synapse by the master's client.

Needs root (as CI has): scripts/local-host creates the user; without root these skip.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import secrets
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bots.execution.requests import request_id_for_event
from bots.ids import EventID, RequestID
from bots.settings.data_dir import DataDir, write_private, write_private_json
from executor.errors import ExecutorError
from executor.hosts import LOCAL_HOST, RUN_AS_DEFAULT, HostConfig
from executor.policy.model import ReadOnlyRule
from executor.runner import CommandRunner
from executor.sandbox import REFUSED_WRITE_NOTE
from tests.support.council import InProcessBots, ThrowawayCouncil
from tests.support.person import Person, Seen, replies_to

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local-host"


@pytest.fixture(scope="module")
def run_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("scripts/local-host needs root (it creates the chavion-run user)")
    subprocess.run([str(SCRIPT)], check=True, capture_output=True, timeout=600)
    return pwd.getpwnam(RUN_AS_DEFAULT)


@pytest.fixture
def data(run_user: pwd.struct_passwd) -> Iterator[DataDir]:
    """A data dir made by Chavion's own code, in a folder anyone may pass through: only the
    data dir's own modes keep chavion-run out. Not under /tmp, which the sandbox replaces
    whole: the sandbox must hide the data dir by itself."""
    parent = Path(tempfile.mkdtemp(prefix="chavion-test-", dir="/var/lib"))
    parent.chmod(0o711)
    made = DataDir(parent / "data")
    made.ensure()
    write_private(made.secrets / "macaroon_secret_key", "macaroon-" + secrets.token_hex(8))
    write_private_json(made.account_file("executor"), {"access_token": secrets.token_hex(8)})
    yield made
    subprocess.run(["rm", "-rf", str(parent)], check=False)


def exists(path: Path) -> bool:
    return path.exists()


def local(run_as: str | None = RUN_AS_DEFAULT) -> HostConfig:
    return HostConfig.from_mapping(
        {} if run_as == RUN_AS_DEFAULT else {"run_as": run_as}, name=LOCAL_HOST
    )


def test_local_runs_as_chavion_run_unless_the_config_says_null() -> None:
    assert local().run_as == RUN_AS_DEFAULT
    assert local(None).run_as is None


async def test_commands_run_as_the_unprivileged_user_in_no_group_of_chavions(
    run_user: pwd.struct_passwd, data: DataDir
) -> None:
    async with CommandRunner([local()], data_dir=data.root) as executor:
        result = await executor.run(LOCAL_HOST, 'id -un; id -G; echo "$HOME"; pwd')

    assert result.stdout.splitlines() == [
        RUN_AS_DEFAULT,
        str(run_user.pw_gid),
        run_user.pw_dir,
        run_user.pw_dir,
    ]


SECRETS = {
    "the macaroon key": lambda data: data.secrets / "macaroon_secret_key",
    "a bot's account": lambda data: data.account_file("executor"),
    "the data dir itself": lambda data: data.root,
    "the embedded server's client key": lambda data: data.root / "embedded-ssh",
}


@pytest.mark.parametrize("where", SECRETS.values(), ids=SECRETS)
@pytest.mark.parametrize("sandboxed", [False, True], ids=["approved", "auto-approved"])
async def test_chavions_secrets_are_out_of_reach(
    data: DataDir, where: object, sandboxed: bool
) -> None:
    assert callable(where)
    path: Path = where(data)
    async with CommandRunner([local()], data_dir=data.root) as executor:
        result = await executor.run(
            LOCAL_HOST, f"cat {path} || ls {path}; echo end", sandboxed=sandboxed
        )

    assert result.stdout == "end\n", result
    # Approved: the modes refuse; auto-approved: the sandbox shows an empty data dir, too.
    if sandboxed:
        assert "Permission denied" not in result.stderr
    else:
        assert "Permission denied" in result.stderr


async def test_the_sandbox_works_where_the_user_cannot_even_reach_the_data_dir(
    data: DataDir,
) -> None:
    """A data dir under a folder only root may enter (/root/...): nothing to cover there,
    and bwrap could not mount on it as chavion-run."""
    data.root.parent.chmod(0o700)
    async with CommandRunner([local()], data_dir=data.root) as executor:
        result = await executor.run(LOCAL_HOST, f"ls {data.root}; echo end", sandboxed=True)

    assert result.sandboxed
    assert result.notes == ()
    assert result.stdout == "end\n"
    assert "Permission denied" in result.stderr


async def test_with_run_as_null_commands_run_as_chavions_own_user(data: DataDir) -> None:
    async with CommandRunner([local(None)], data_dir=data.root) as executor:
        result = await executor.run(LOCAL_HOST, "id -un")
    assert result.stdout == f"{pwd.getpwuid(os.geteuid()).pw_name}\n"


async def test_a_missing_user_is_a_clear_error_naming_the_script(data: DataDir) -> None:
    async with CommandRunner([local("chavion-nobody")], data_dir=data.root) as executor:
        with pytest.raises(
            ExecutorError,
            match=r"'chavion-nobody', which does not exist: "
            r"run scripts/local-host .*run_as: null",
        ):
            await executor.run(LOCAL_HOST, "true")


async def test_bash_reads_the_command_and_the_servers_environment_stays_out(
    data: DataDir, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hook = tmp_path / "hook.sh"
    hook.write_text("echo hooked\n")
    hook.chmod(0o644)
    monkeypatch.setenv("BASH_ENV", str(hook))
    monkeypatch.setenv("ENV", str(hook))
    monkeypatch.setenv("LD_PRELOAD", "/nonexistent/hook.so")
    command = "echo $'\\'; id; #\\''; echo ${BASH_ENV-none} ${LD_PRELOAD-none} ${ENV-none}"
    async with CommandRunner([local()], data_dir=data.root) as executor:
        result = await executor.run(LOCAL_HOST, command)

    assert (result.stdout, result.stderr) == ("'; id; #'\nnone none none\n", "")


# --- through the executor bot: what the master sees ---------------------------------------------


@pytest.fixture(scope="module")
async def executor(
    council: ThrowawayCouncil, master: Person, run_user: pwd.struct_passwd
) -> AsyncIterator[str]:
    """The executor bot with a policy whose read-only list we control: `touch` is on it, so a
    write is auto-approved, as a classifier mistake would be."""
    policy = council.settings.execution.policy
    policy = dataclasses.replace(policy, readonly=(*policy.readonly, ReadOnlyRule.of("touch")))
    execution = dataclasses.replace(council.settings.execution, policy=policy)
    assert execution.hosts[LOCAL_HOST].run_as == RUN_AS_DEFAULT  # the example config's
    bots = await InProcessBots.start(
        dataclasses.replace(council.settings, execution=execution), ["executor"]
    )
    user_id = council.user_id("executor")
    await master.sees_devices_of(user_id)
    yield user_id
    await bots.stop()


async def ask(master: Person, council: ThrowawayCouncil, command: str) -> tuple[str, RequestID]:
    event = await master.say(council.council_room, f"!run local -- {command}")
    return event, request_id_for_event(EventID(event))


async def answer(master: Person, event: str, executor: str, text: str) -> Seen:
    try:
        [found] = await master.wait_for(lambda s: replies_to(event, executor)(s) and text in s.body)
    except TimeoutError:
        said = [s.body for s in master.seen if s.sender == executor]
        raise AssertionError(f"no {text!r} in reply to {event}; the executor said {said}") from None
    return found


async def test_an_approved_cat_of_the_macaroon_key_is_refused_by_the_os(
    council: ThrowawayCouncil, master: Person, executor: str
) -> None:
    key = council.data.secrets / "macaroon_secret_key"
    ran = Path(tempfile.gettempdir()) / f"cvx-approved-{secrets.token_hex(4)}"
    event, rid = await ask(master, council, f"cat {key}; mkdir {ran}")
    await answer(master, event, executor, "Approval needed")
    await master.say(council.council_room, f"!approve {rid}")

    result = await answer(master, event, executor, "exit 0")

    assert "Permission denied" in result.body
    assert key.read_text() not in result.body
    assert ran.is_dir()  # it did run, as chavion-run
    assert ran.stat().st_uid == pwd.getpwnam(RUN_AS_DEFAULT).pw_uid
    ran.rmdir()


async def test_an_auto_approved_write_fails_in_the_sandbox_and_the_room_says_so(
    council: ThrowawayCouncil, master: Person, executor: str
) -> None:
    target = Path(f"/usr/local/cvx-sandbox-{secrets.token_hex(4)}")
    event, _ = await ask(master, council, f"touch {target}")

    result = await answer(master, event, executor, "exit 1")

    assert "Read-only file system" in result.body
    assert REFUSED_WRITE_NOTE in result.body
    assert not exists(target)
