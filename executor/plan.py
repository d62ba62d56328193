"""Running the steps of one plan: in order, except runs of steps marked parallel.

Separate plans (and separate requests) run side by side, bounded by the executor's limits;
inside one plan, order matters ("stop the service, migrate, start it"), so a step waits for
the one before it unless both are marked parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from executor.results import RunResult
from executor.runner import CommandRunner, OutputCallback


@dataclass(frozen=True)
class Step:
    host: str
    command: str
    parallel: bool = False
    timeout: float | None = None


def stages(steps: Sequence[Step]) -> list[list[int]]:
    """Step indexes grouped into stages that run one after another: consecutive steps marked
    parallel share a stage, every other step has a stage of its own."""
    grouped: list[list[int]] = []
    for index, step in enumerate(steps):
        if step.parallel and grouped and steps[grouped[-1][-1]].parallel:
            grouped[-1].append(index)
        else:
            grouped.append([index])
    return grouped


async def run_plan(
    runner: CommandRunner,
    steps: Sequence[Step],
    *,
    stop_on_failure: bool = True,
    on_output: OutputCallback | None = None,
) -> list[RunResult | None]:
    """One result per step; None for the steps never started because an earlier one failed."""
    results: list[RunResult | None] = [None] * len(steps)
    for stage in stages(steps):
        done = await asyncio.gather(
            *(
                runner.run(
                    steps[i].host, steps[i].command, timeout=steps[i].timeout, on_output=on_output
                )
                for i in stage
            )
        )
        for index, result in zip(stage, done, strict=True):
            results[index] = result
        if stop_on_failure and not all(result.ok for result in done):
            break
    return results
