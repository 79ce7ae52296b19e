"""Kill table: does the suite's profile kill each mutant, by which property, how fast.

    python benchmarks/kill_table.py [--profile ci] [MUTANT ...] > benchmarks/kill_table.md

Prints a markdown table and a summary (kill rate, median and worst time to kill). Times are
whole-property wall times in this process, single-threaded; they are measurements, not limits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

from conformance.engine.deviations import Registry
from conformance.selfcheck.mutants import MUTANTS
from conformance.selfcheck.mutation import kill


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("mutants", nargs="*", default=list(MUTANTS))
    arguments = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    registry = Registry.load("torch.toml", "2.13.0")  # every mutant is torch with one bug
    started = time.perf_counter()
    print(f"Profile `{arguments.profile}`; command: `python benchmarks/kill_table.py "
          f"--profile {arguments.profile}`\n")
    print("| mutant | bug | killed | by | cases checked | s to first failure | s with shrinking |")
    print("|---|---|---|---|---|---|---|", flush=True)
    results = []
    for name in arguments.mutants:
        result = kill(MUTANTS[name], registry, arguments.profile)
        results.append(result)
        bug = MUTANTS[result.mutant].bug.replace("|", "/")
        print(f"| {result.mutant} | {bug} | {'yes' if result.killed else '**NO**'} | "
              f"`{result.property}` | {result.examples} | {result.seconds_to_first_failure:.2f} | "
              f"{result.seconds:.2f} |", flush=True)
    killed = [r for r in results if r.killed]
    times = [r.seconds_to_first_failure for r in killed]
    print(f"\nKilled {len(killed)} of {len(results)} "
          f"({100 * len(killed) / max(1, len(results)):.0f}%). Time to first failure: median "
          f"{statistics.median(times) if times else 0:.2f} s, worst {max(times, default=0):.2f} s; "
          f"with shrinking, worst {max((r.seconds for r in killed), default=0):.2f} s. "
          f"Whole table: {time.perf_counter() - started:.0f} s.")
    return 0 if len(killed) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
