"""How long `pooling-conformance report` takes against the hostile backend (tests/hostile_backend.py)
and against torch, with the default (`ci`) profile: wall seconds and the CPU seconds of the whole
process tree.

    OMP_NUM_THREADS=1 python benchmarks/hostile_report.py [--runs 3] [--backends hostile,torch]

Targets (issue 14): the hostile report within 3 minutes on 2 cores; the torch report no more than
10% slower than before fault quarantine. CPU seconds say more than wall seconds on a shared
machine: other processes stretch the wall time, not the CPU time.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SPECS = {"hostile": "tests.hostile_backend:backend", "torch": "torch"}


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_report(spec: str, directory: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit status) of one report."""
    cpu, started = children_cpu_seconds(), time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "reports.cli", "report", "--backend", spec, "--profile", "ci",
         "-o", str(Path(directory) / "report.md")],
        cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started, children_cpu_seconds() - cpu, completed.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backends", default="hostile,torch")
    arguments = parser.parse_args()
    print("| backend | runs | wall s (median, min-max) | CPU s (median) | exit |")
    print("|---|---|---|---|---|")
    for name in arguments.backends.split(","):
        walls, cpus, statuses = [], [], set()
        for _ in range(arguments.runs):
            with tempfile.TemporaryDirectory() as directory:
                wall, cpu, status = time_report(SPECS.get(name, name), directory)
            walls.append(wall)
            cpus.append(cpu)
            statuses.add(status)
        print(f"| {name} | {arguments.runs} | {statistics.median(walls):.1f} "
              f"({min(walls):.1f}-{max(walls):.1f}) | {statistics.median(cpus):.1f} | "
              f"{', '.join(map(str, sorted(statuses)))} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
