"""A backend that crashes, hangs, returns the wrong kind of thing or raises oddly is reported,
case by case, and the run goes on to write a complete report."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.cases import Case
from conformance.checks import compare, observe
from conformance.isolation import IsolatedBackend
from tests import bad_backends

REPOSITORY = Path(__file__).resolve().parents[1]
CASE = Case("max_pool1d", np.array([[[1.0, 3.0, 2.0, 5.0]]], dtype=np.float32), {"kernel_size": 2})


@pytest.mark.parametrize("backend, concern, named", [
    ("sigfpe", "values", "max_pool1d: process killed by SIGFPE"),
    ("aborts", "values", "max_pool1d: process killed by SIGABRT"),
    ("hangs", "values", "max_pool1d timed out after 0.5 s"),
    ("returns_list", "values", "returned a builtins.list where a numpy.ndarray was expected"),
    ("returns_float64", "dtype", "values dtype differs: expected float32, got float64"),
    ("returns_non_contiguous", "values", "returned a non-contiguous array"),
    ("returns_read_only", "values", "returned a read-only array"),
    ("returns_tuple", "values", "returned a tuple of 1 (ndarray), but one array was expected"),
    ("raises_system_exit", "values", "raised SystemExit: 3"),
    ("raises_unprintable", "values", "whose message cannot be shown"),
])
def test_each_misbehaviour_becomes_a_precise_finding(backend, concern, named):
    isolated = IsolatedBackend(getattr(bad_backends, backend), timeout=0.5)
    try:
        mismatch = compare(observe(isolated, CASE), concern)
        assert mismatch is not None and named in mismatch.message, mismatch
        # The worker is replaced after a crash or a hang: the next call works.
        assert isolated.avg_pool1d(CASE.input, 2).tolist() == [[[2.0, 3.5]]]
    finally:
        isolated.close()


def test_a_crashing_backend_still_gets_a_complete_report(tmp_path):
    output = tmp_path / "report.md"
    completed = subprocess.run(
        [sys.executable, "-m", "reports.cli", "report", "--backend", "tests.bad_backends:sigfpe",
         "-o", str(output), "--select", "test_values and (max_pool1d or avg_pool1d)"],
        capture_output=True, text=True, cwd=REPOSITORY, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    markdown = output.read_text()
    results = json.loads(output.with_suffix(".json").read_text())
    assert "process killed by SIGFPE" in markdown
    assert results["outcomes"]["avg_pool1d|values"]["conforms"] > 0  # the run went on
    assert "## Run" in markdown  # complete, down to its last section
