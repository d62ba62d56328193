"""The dashboard's host probe: its output read by a pure function (a table of what real
`free`/`df` versions print and of broken output), the probe a constant, its figures kept a
minute, and a host that cannot be reached shown as such, not raised."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bots.bridge.hosts import PROBE, Figures, HostWatch, ProbeError, parse_probe
from bridge.http.ports import HostCard

LOADAVG = "1.50 1.87 1.61 2/87 9534\n"
FREE = (
    "               total        used        free      shared  buff/cache   available\n"
    "Mem:     25275990016   722223104 19834552320     9580544  5064441856 24553766912\n"
    "Swap:              0           0           0\n"
)
FREE_OLD = (  # procps before 3.3.10: no "available" column
    "             total       used       free     shared    buffers     cached\n"
    "Mem:      1000000000  400000000  600000000          0   10000000  100000000\n"
    "-/+ buffers/cache:   290000000  710000000\n"
    "Swap:             0          0          0\n"
)
DF = (
    "Filesystem     1024-blocks     Used Available Capacity Mounted on\n"
    "/dev/vda         264212084 35257380  71133532      34% /\n"
)
DF_BUSYBOX = (
    "Filesystem           1024-blocks    Used Available Capacity Mounted on\n"
    "overlay                 1000000    750000    250000  75% /\n"
)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (LOADAVG + "2\n" + FREE + DF, Figures(1.5, 2, 2.9, 33.1)),
        ("0.00 0.01 0.05 1/100 1\n8\n" + FREE_OLD + DF_BUSYBOX, Figures(0.0, 8, 40.0, 75.0)),
        (
            LOADAVG
            + "4\n"
            + FREE
            + "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 0 0 0 - /\n",
            Figures(1.5, 4, 2.9, 0.0),
        ),
        (
            "\n" + LOADAVG + "\n2\n\n" + FREE + "\n" + DF + "\n",
            Figures(1.5, 2, 2.9, 33.1),
        ),
    ],
    ids=["procps 4", "old free, busybox df", "empty filesystem", "blank lines"],
)
def test_the_probe_output_is_read(output: str, expected: Figures) -> None:
    assert parse_probe(output) == expected


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ("", "less than the load"),
        (LOADAVG, "less than the load"),
        ("busy\n2\n" + FREE + DF, "no load average and CPU count"),
        (LOADAVG + "two\n" + FREE + DF, "no load average and CPU count"),
        (LOADAVG + "2\n" + DF, "no `free` table"),
        (LOADAVG + "2\n" + FREE, "no `df` table"),
        (LOADAVG + "2\n" + FREE + "Filesystem 1024-blocks Used\n", "no `df` table"),
        (LOADAVG + "2\n" + FREE + DF.replace("35257380", "lots"), "unreadable disk line"),
        (
            LOADAVG + "2\n" + FREE.replace("25275990016", "x") + DF,
            "unreadable memory line",
        ),
        (
            LOADAVG + "2\n" + FREE.replace("25275990016", "0") + DF,
            "free reports no memory",
        ),
    ],
    ids=[
        "nothing",
        "load only",
        "no load",
        "no cpus",
        "no free",
        "no df",
        "df header only",
        "bad disk number",
        "bad memory number",
        "no memory",
    ],
)
def test_output_that_is_not_the_probes_is_refused_clearly(output: str, said: str) -> None:
    with pytest.raises(ProbeError, match=said):
        parse_probe(output)


def test_the_probe_is_a_fixed_read_only_command() -> None:
    assert PROBE == "cat /proc/loadavg; nproc; free -b; df -P /"


@dataclass(frozen=True)
class Ran:
    exit_status: int | None
    stdout: str
    stderr: str = ""
    timed_out: bool = False


class Hosts:
    """A runner that answers per host and counts its calls (the real one in integration)."""

    def __init__(self, answers: dict[str, Ran | Exception]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str]] = []

    async def run(self, host: str, command: str, *, timeout: float | None = None) -> Ran:
        self.calls.append((host, command))
        answer = self.answers[host]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_hosts_are_probed_once_a_minute_and_failures_are_shown() -> None:
    good = Ran(0, LOADAVG + "2\n" + FREE + DF)
    runner = Hosts(
        {
            "web": good,
            "db": OSError("connection refused"),
            "slow": Ran(None, "", "", timed_out=True),
            "odd": Ran(0, "hello"),
        }
    )
    clock = Clock()
    watch = HostWatch(["web", "db", "slow", "odd"], runner, clock)
    cards, fresh = await watch.cards()
    assert fresh
    assert cards == [
        HostCard("web", True, 1.5, 2, 2.9, 33.1, 1000.0, None),
        HostCard("db", False, None, None, None, None, 1000.0, "connection refused"),
        HostCard("slow", False, None, None, None, None, 1000.0, "the probe failed (timed out): "),
        HostCard(
            "odd",
            True,
            None,
            None,
            None,
            None,
            1000.0,
            "the probe printed less than the load and the CPU count",
        ),
    ]
    assert {command for _, command in runner.calls} == {PROBE}
    clock.now += 59
    assert await watch.cards() == (cards, False)
    assert len(runner.calls) == 4
    clock.now += 1
    assert (await watch.cards())[1]
    assert len(runner.calls) == 8


async def test_without_the_executor_in_this_process_hosts_are_not_probed() -> None:
    watch = HostWatch(["web"], None)
    assert await watch.cards() == (
        [HostCard("web", None, None, None, None, None, None, None)],
        False,
    )
