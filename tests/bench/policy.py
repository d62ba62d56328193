"""Policy benchmark: how long `decide()` takes per command, against `shlex.split` of it.

Run: .venv/bin/python -m tests.bench.policy [--rounds 5] [--corpus DIR] [--worst 8]

Subject: `decide()` with a config that auto-approves read-only commands (the `local` host's
case), each command judged `--rounds` times; its best time counts (another process taking
the CPU for a moment is not the command's cost). Corpus, one group each:

- tables: every command test_policy.py's parametrized tests hand to `decide`;
- corpus: the adversarial corpus `tests/unit/policy_corpus/*.txt` (format: its README),
  when it is there, or the directory given with --corpus;
- pathological: the generated inputs past a limit of test_policy_limits.py (doubling,
  brace bombs, nesting 40-500 deep, 10,001 commands in a row...).

Baseline in the same run, interleaved command by command: `shlex.split` of the same text
(a floor: it only splits words; a command it cannot split costs its failure). Printed:
p50/p99/max per group and overall, the ratio to the floor, the worst commands named, and the
targets (p99 < 5 ms, worst < 200 ms). Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shlex
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from executor.policy import PolicyConfig, Requester, decide
from tests.unit.test_policy_limits import pathological_commands, policy_table_commands

CORPUS = Path(__file__).resolve().parents[1] / "unit" / "policy_corpus"
CONFIG = PolicyConfig(auto_approve_readonly=True)
REQUESTER = Requester("@ops:example.org", "operator")


def corpus_commands(directory: Path) -> Iterator[str]:
    """The commands of every `*.txt` in `directory`: `#` comments, blank and `why:` lines
    skipped, a command between `<<<` and `>>>` lines taken verbatim."""
    for path in sorted(directory.glob("*.txt")):
        block: list[str] | None = None
        for line in path.read_text().splitlines():
            if block is not None:
                if line == ">>>":
                    yield "\n".join(block)
                    block = None
                else:
                    block.append(line)
            elif line == "<<<":
                block = []
            elif line.strip() and not line.lstrip().startswith(("#", "why:")):
                yield line


@dataclass
class Sample:
    group: str
    label: str
    command: str
    decide: float = math.inf
    cpu: float = math.inf
    floor: float = math.inf
    rule: str = ""


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)

    def group(self, name: str | None) -> list[Sample]:
        return [s for s in self.samples if name is None or s.group == name]


def best(seconds: float, started: float) -> float:
    return min(seconds, time.perf_counter() - started)


def shlex_floor(command: str) -> None:
    with contextlib.suppress(ValueError):
        shlex.split(command)


def measure(samples: list[Sample], rounds: int) -> None:
    for _ in range(rounds):
        for s in samples:
            started = time.perf_counter()
            shlex_floor(s.command)
            s.floor = best(s.floor, started)
            cpu, started = time.thread_time(), time.perf_counter()
            decision = decide(s.command, "local", REQUESTER, CONFIG)
            s.decide = best(s.decide, started)
            s.cpu = min(s.cpu, time.thread_time() - cpu)
            s.rule = decision.rule


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f}"


def report(results: Results, args: argparse.Namespace, corpus: Path | None) -> None:
    print(
        f"decide() per command, best of {args.rounds} rounds, vs shlex.split of the same text "
        f"(corpus: {corpus or 'not found'})"
    )
    print(
        f"  {'group':<20} {'n':>5}  {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        f"   CPU p99/max ms       floor p50/p99/max ms         ratio p50 / p99"
    )
    groups = {
        "tables": results.group("tables"),
        "corpus": results.group("corpus"),
        "tables+corpus": results.group("tables") + results.group("corpus"),
        "pathological": results.group("pathological"),
        "all": results.samples,
    }
    for name, group in groups.items():
        if not group:
            continue
        d = [s.decide for s in group]
        c = [s.cpu for s in group]
        f = [s.floor for s in group]
        print(
            f"  {name:<20} {len(group):>5}  {ms(percentile(d, 50))} "
            f"{ms(percentile(d, 99))} {ms(max(d))}   {ms(percentile(c, 99))} {ms(max(c))}"
            f"   {ms(percentile(f, 50))} {ms(percentile(f, 99))} {ms(max(f))}   "
            f"{percentile(d, 50) / percentile(f, 50):6.0f}x / "
            f"{percentile(d, 99) / percentile(f, 99):4.0f}x"
        )
    everyday = results.group("tables") + results.group("corpus")
    rules = Counter("too-complex" if s.rule == "too-complex" else "other" for s in everyday)
    print(f"  too complex among tables and corpus: {rules['too-complex']} of {len(everyday)}")
    print("worst:")
    for s in sorted(results.samples, key=lambda s: s.decide, reverse=True)[: args.worst]:
        text = " ".join(s.command.split())
        text = text if len(text) <= 60 else text[:59] + "…"
        what = f"{s.group}/{s.label} ({s.rule}, {len(s.command)} chars)"
        print(f"  {ms(s.decide)} ms  {what}: {text}")
    for name in ("tables+corpus", "all"):
        times = [s.decide for s in groups[name]]
        if not times:
            continue
        p99, worst = percentile(times, 99), max(times)
        judged = [s.decide for s in groups[name] if s.rule != "too-complex"] or [0.0]
        print(
            f"{name}: p99 {p99 * 1000:.2f} ms (target < 5 ms) "
            f"{'OK' if p99 < 0.005 else 'ABOVE TARGET'}; worst {worst * 1000:.0f} ms "
            f"(target < 200 ms) {'OK' if worst < 0.2 else 'ABOVE TARGET'}; worst of those "
            f"judged to the end {max(judged) * 1000:.0f} ms"
        )
    print(f"budget: {CONFIG.check_seconds} s of CPU per decision, then too complex")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corpus", type=Path, help=f"adversarial corpus (default {CORPUS})")
    parser.add_argument("--worst", type=int, default=8, help="how many of the slowest to name")
    args = parser.parse_args()
    corpus: Path | None = args.corpus or CORPUS
    if corpus is not None and not corpus.is_dir():
        if args.corpus is not None:
            parser.error(f"no corpus directory at {corpus}")
        corpus = None
    results = Results()
    for k, command in enumerate(policy_table_commands()):
        results.samples.append(Sample("tables", str(k), command))
    if corpus is not None:
        for k, command in enumerate(dict.fromkeys(corpus_commands(corpus))):
            results.samples.append(Sample("corpus", str(k), command))
    for label, command in pathological_commands():
        results.samples.append(Sample("pathological", label, command))
    measure(results.samples, args.rounds)
    report(results, args, corpus)


if __name__ == "__main__":
    main()
