"""Kill table: does the suite's profile kill each mutant, how fast, and by which property.

    python benchmarks/kill_table.py [--profile ci] [MUTANT ...] > benchmarks/kill_table.md
    python benchmarks/kill_table.py --per-property [--profile ci] [MUTANT ...]

By default each mutant gets a whole run, `pytest -x --backend MUTANT --deviations torch.toml
--hypothesis-profile ci` in a fresh process, timed from start-up to exit: the time a user waits
for the first failure, collection, ordering and shrinking included. `--per-property` runs the properties in this
process instead, the mutant's own ops first, and says which property kills it after how many
cases. Times are wall times on whatever else the machine runs; they are measurements, not limits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

from conformance.engine.deviations import Registry
from conformance.selfcheck.mutants import MUTANTS
from conformance.selfcheck.mutation import kill, whole_run


def _summary(killed: int, total: int, times: list[float], started: float) -> str:
    return (f"\nKilled {killed} of {total} ({100 * killed / max(1, total):.0f}%). Time to first "
            f"failure: median {statistics.median(times) if times else 0:.1f} s, worst "
            f"{max(times, default=0):.1f} s. Whole table: {time.perf_counter() - started:.0f} s.")


def whole_runs(arguments) -> int:
    started = time.perf_counter()
    print(f"Profile `{arguments.profile}`; each row: `pytest -x -q --backend "
          f"conformance.selfcheck.mutants:MUTANT --deviations conformance/deviations/torch.toml "
          f"--hypothesis-profile {arguments.profile}` "
          f"(OMP_NUM_THREADS=1): wall time to exit and the run's CPU time (what the wall time "
          f"is on an otherwise idle machine: it runs on one core), a run past "
          f"{arguments.timeout:.0f} s wall a survivor.\n")
    print("| mutant | bug | killed | first failing test | s to first failure (wall) | CPU s |")
    print("|---|---|---|---|---|---|", flush=True)
    results = []
    for name in arguments.mutants:
        result = whole_run(name, arguments.profile, arguments.timeout)
        results.append(result)
        bug = MUTANTS[name].bug.replace("|", "/")
        print(f"| {name} | {bug} | {'yes' if result.killed else '**NO**'} | `{result.test}` | "
              f"{result.seconds:.1f} | {result.cpu_seconds:.1f} |", flush=True)
    killed = [r for r in results if r.killed]
    # A survivor's time is the timeout: the worst case is at least that long.
    print(_summary(len(killed), len(results), [r.seconds for r in results], started))
    cpu = [r.cpu_seconds for r in results]
    print(f"CPU time to first failure: median {statistics.median(cpu):.1f} s, worst "
          f"{max(cpu):.1f} s.")
    return 0 if len(killed) == len(results) else 1


def per_property(arguments) -> int:
    warnings.simplefilter("ignore")
    registry = Registry.load("torch.toml", "2.13.0")  # every mutant is torch with one bug
    started = time.perf_counter()
    print(f"Profile `{arguments.profile}`; command: `python benchmarks/kill_table.py "
          f"--per-property --profile {arguments.profile}`\n")
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
    print(_summary(len(killed), len(results), [r.seconds_to_first_failure for r in killed],
                   started))
    return 0 if len(killed) == len(results) else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--per-property", action="store_true",
                        help="properties in this process, the mutant's ops first")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="whole runs: seconds after which a mutant counts as a survivor")
    parser.add_argument("mutants", nargs="*", default=list(MUTANTS))
    arguments = parser.parse_args(argv)
    return per_property(arguments) if arguments.per_property else whole_runs(arguments)


if __name__ == "__main__":
    sys.exit(main())
