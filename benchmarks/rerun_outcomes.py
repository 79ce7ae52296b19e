"""Flakiness: run the property suite RUNS times on one backend and count the runs whose outcome
differs from the first.

    python benchmarks/rerun_outcomes.py --runs 20 [--backend torch] [--profile ci]

An outcome is everything the run's results JSON says except its wall time: which cases were
checked, every verdict and count, every finding with its case, plus pytest's exit code. Under the
derandomised `ci` profile the expected count is 0; any other number is flakiness in the suite or
nondeterminism in the backend, and the script prints where the first differing run departs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROPERTIES = Path(__file__).resolve().parents[1] / "conformance" / "properties"


def run_once(backend: str, profile: str, json_path: Path) -> tuple[int, dict]:
    exit_code = subprocess.call(
        [sys.executable, "-m", "pytest", str(PROPERTIES), "-q", "-p", "no:cacheprovider",
         f"--hypothesis-profile={profile}", "--backend", backend,
         "--conformance-json", str(json_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    results = json.loads(json_path.read_text())
    results["metadata"].pop("wall_seconds", None)
    return exit_code, results


def first_difference(expected, actual, path="results") -> str:
    """Where two JSON values first differ, as a path and the two values."""
    if type(expected) is not type(actual):
        return f"{path}: {expected!r} != {actual!r}"
    if isinstance(expected, dict):
        for key in sorted(set(expected) | set(actual)):
            if expected.get(key) != actual.get(key):
                return first_difference(expected.get(key), actual.get(key), f"{path}[{key!r}]")
    if isinstance(expected, list) and len(expected) == len(actual):
        for index, (left, right) in enumerate(zip(expected, actual)):
            if left != right:
                return first_difference(left, right, f"{path}[{index}]")
    return f"{path}: {str(expected)[:200]} != {str(actual)[:200]}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--profile", default="ci")
    arguments = parser.parse_args(argv)
    print(f"command: `python benchmarks/rerun_outcomes.py --runs {arguments.runs} "
          f"--backend {arguments.backend} --profile {arguments.profile}`")
    differing = 0
    with tempfile.TemporaryDirectory() as directory:
        first = None
        for run in range(1, arguments.runs + 1):
            started = time.perf_counter()
            outcome = run_once(arguments.backend, arguments.profile,
                               Path(directory) / f"run{run}.json")
            seconds = time.perf_counter() - started
            verdict = "first"
            if first is None:
                first = outcome
            elif outcome != first:
                differing += 1
                verdict = ("differs: exit code " f"{first[0]} -> {outcome[0]}"
                           if outcome[0] != first[0] else
                           "differs at " + first_difference(first[1], outcome[1]))
            elif run > 1:
                verdict = "same"
            print(f"run {run:2}: pytest exit {outcome[0]}, {seconds:.0f} s, {verdict}",
                  flush=True)
    print(f"\n{differing} of {arguments.runs - 1} reruns differ from the first run.")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
