"""The suite must fail on a backend that breaks one rule, naming the region where it broke.

Each backend here is torch with one bug (conformance.selfcheck.mutants), loaded by `module:attribute` as an
outside team's backend would be, and run through pytest as a user would run it. (Every mutant's
kill is checked in-process by tests/test_mutants_killed.py.)
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
TORCH_DEVIATIONS = str(REPOSITORY / "conformance" / "deviations" / "torch.toml")


def run_suite(backend: str, selection: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(REPOSITORY / "conformance" / "properties"),
         "-p", "no:cacheprovider", "-q", "-x", "--hypothesis-profile=ci",
         "--backend", backend, "--deviations", TORCH_DEVIATIONS, "-k", selection],
        capture_output=True, text=True, cwd=REPOSITORY, timeout=300,
    )


@pytest.mark.parametrize("mutant, selection, region", [
    ("ceil_keeps_window_starting_in_right_padding", "test_output_shape and max_pool2d",
     "dropped_last_window"),
    ("avg_divisor_counts_ceil_overhang", "avg_pool2d and (test_values or canonical)",
     "ceil_overhang"),
])
def test_a_broken_rule_fails_the_suite_and_names_its_region(mutant, selection, region):
    result = run_suite(f"conformance.selfcheck.mutants:{mutant}", selection)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "new deviation" in output, output[-3000:]
    regions_line = next(line for line in output.splitlines()
                        if "ConformanceFailure: new deviation" in line)
    assert region in regions_line.split("regions:")[1], regions_line


def test_an_unknown_backend_is_a_clear_usage_error():
    result = run_suite("no.such.module:backend", "test_values")
    assert result.returncode == 4  # pytest's usage error, not a traceback
    assert "backend 'no.such.module:backend' needs 'no'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
