"""A backend that crashes, hangs, returns the wrong kind of thing or raises oddly is reported,
case by case, and the run goes on to write a complete report."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conformance.engine.cases import Case
from conformance.engine.checks import compare, observe
from conformance.runner.isolation import IsolatedBackend
from conformance.engine.regions import case_features
from conformance.runner.results import validity_classification
from tests import bad_backends

REPOSITORY = Path(__file__).resolve().parents[1]
CASE = Case("max_pool1d", np.array([[[1.0, 3.0, 2.0, 5.0]]], dtype=np.float32), {"kernel_size": 2})


@pytest.mark.parametrize("backend, concern, named", [
    ("sigfpe", "values", "max_pool1d: crash: killed by SIGFPE"),
    ("aborts", "values", "max_pool1d: crash: killed by SIGABRT"),
    ("hangs", "values", "max_pool1d: hang: hang after 0.5 s"),
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


@pytest.mark.parametrize("backend", ["sigfpe", "hangs"])
def test_a_crash_on_invalid_arguments_is_not_raising_as_required(backend):
    """Killing the process (or never returning) is no way to reject arguments."""
    invalid = Case("max_pool1d", CASE.input, {"kernel_size": 0})
    isolated = IsolatedBackend(getattr(bad_backends, backend), timeout=0.5)
    try:
        mismatch = compare(observe(isolated, invalid), "validity")
    finally:
        isolated.close()
    assert mismatch is not None and mismatch.concern == "crashes", mismatch
    assert validity_classification(case_features(invalid), mismatch) == "crashes or hangs"


VALUES_AND_VALIDITY = "(test_values and max_pool1d) or (test_invalid_arguments_raise and avg_pool1d)"


@pytest.mark.parametrize("backend, named, outcome, select", [
    ("sigfpe", "killed by SIGFPE", "crash", VALUES_AND_VALIDITY),
    ("aborts", "killed by SIGABRT", "crash", VALUES_AND_VALIDITY),
    ("hangs", "hang after 0.25 s", "hang", VALUES_AND_VALIDITY),
    ("returns_list", "returned a builtins.list where a numpy.ndarray was expected",
     "wrong_result_type", VALUES_AND_VALIDITY),
    ("raises_system_exit", "raised SystemExit: 3", "new", VALUES_AND_VALIDITY),
    ("raises_unprintable", "whose message cannot be shown", "new", VALUES_AND_VALIDITY),
])
def test_each_bad_backend_still_gets_a_complete_report(tmp_path, backend, named, outcome,
                                                       select):
    output = tmp_path / "report.md"
    completed = subprocess.run(
        [sys.executable, "-m", "reports.cli", "report", "--backend", f"tests.bad_backends:{backend}",
         "-o", str(output), "--call-timeout", "0.25", "--select", select],
        capture_output=True, text=True, cwd=REPOSITORY, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    markdown = output.read_text()
    results = json.loads(output.with_suffix(".json").read_text())
    assert named in markdown
    assert results["outcomes"]["max_pool1d|values"][outcome] > 0, results["outcomes"]
    if "avg_pool1d" in select:  # the run went on past the failing property
        assert "## Invalid arguments" in markdown and results["validity"]["avg_pool1d"]
    assert "## Run" in markdown  # complete, down to its last section


# A parent whose only call is in a worker that will not come back, reporting the worker's pid.
ABANDONED_WORKER = """
import threading, time
import numpy as np
from conformance.runner.isolation import IsolatedBackend
from tests import bad_backends

isolated = IsolatedBackend(bad_backends.hangs, timeout=600)
def report_the_worker():
    while getattr(isolated._process, "pid", None) is None:  # pid: once the fork is done
        time.sleep(0.01)
    print(isolated._process.pid, flush=True)
threading.Thread(target=report_the_worker, daemon=True).start()
isolated.max_pool1d(np.zeros((1, 1, 4), dtype=np.float32), kernel_size=2)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_worker_dies_with_a_parent_killed_outright():
    parent = subprocess.Popen([sys.executable, "-c", ABANDONED_WORKER], stdout=subprocess.PIPE,
                              text=True, cwd=REPOSITORY)
    try:
        worker = int(parent.stdout.readline())
    finally:
        parent.kill()  # no handler, no atexit: only the kernel can end the worker now
        parent.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{worker}").exists(), f"worker {worker} outlived its killed parent"


@pytest.mark.parametrize("results", [
    {"faults": [], "findings": [{"concern": "crashes"}]},  # a crash the registry expects
    {"faults": [{"region": {"op": "max_pool1d", "dtype": "float64"}, "op": "max_pool1d",
                 "id": "crash:max_pool1d",
                 "kind": "crash"}], "findings": []},
], ids=["registered-crash", "fault"])
def test_after_a_run_that_crashed_shrinking_and_claims_call_an_isolated_backend(results):
    """A registered crash kills the process it happens in as surely as a fault does: the
    calls after the property run (shrinking, the claims) must survive it."""
    from reports.cli import guarded
    options = argparse.Namespace(isolate=True, call_timeout=5.0, memory_limit=0)
    guard = guarded(bad_backends.aborts, options, results)
    try:
        with pytest.raises(Exception, match="SIGABRT"):
            guard.max_pool1d(CASE.input, kernel_size=3)  # outside the quarantined region
    finally:
        guard.close()


def test_after_a_run_that_never_crashed_the_backend_runs_in_process():
    from reports.cli import guarded
    options = argparse.Namespace(isolate=True, call_timeout=5.0, memory_limit=0)
    guard = guarded(bad_backends.returns_list, options,
                    {"faults": [], "findings": [{"concern": "values"}]})
    assert isinstance(guard.max_pool1d(CASE.input, kernel_size=2), list)  # no worker's check


class _AbortsInMaxPool2d(bad_backends.Misbehaving):
    """torch, except that max_pool2d, which the notebook's claims call, aborts the process."""

    def max_pool2d(self, *args, **kwargs):
        os.abort()


@pytest.mark.parametrize("crashed_before", [False, True],
                         ids=["first-crash-after-the-run", "crashes-registered-in-the-run"])
def test_a_backend_that_kills_the_claims_still_gets_them_judged(capfd, crashed_before):
    """Shrinking and the claims run in a forked child: one that dies costs a second pass with
    every call isolated, not the report (TF's SIGFPE met there once ended a report run). After a
    run that met crashes the child isolates its calls from the start, so it survives them."""
    from reports.cli import after_the_properties
    options = argparse.Namespace(isolate=True, call_timeout=5.0, memory_limit=0, select=None,
                                 profile="ci", backend="aborts-in-max-pool2d", deviations=None)
    backend = _AbortsInMaxPool2d("aborts-in-max-pool2d", lambda run: run())
    results = {"faults": [], "findings": [{"concern": "crashes"}] if crashed_before else []}
    claims, not_judged = after_the_properties(backend, options, results, time.monotonic() + 600)
    assert not_judged == "" and claims
    assert any("SIGABRT" in claim["evidence"] for claim in claims), claims
    said = capfd.readouterr().err
    if crashed_before:
        assert "shrinking and the claims died" not in said, said
    else:
        assert "shrinking and the claims died (killed by SIGABRT)" in said, said
    # A fault met there is a finding as the property run's are, with its call and region.
    fault = next(fault for fault in results["faults"] if fault["op"] == "max_pool2d")
    assert fault["id"] == "crash:max_pool2d:SIGABRT" and fault["kind"] == "crash", fault
    assert fault["property"] == "shrinking and claims" and "max_pool2d(x" in fault["call"]
    assert fault["region"], fault
