"""The hostile backend (tests/hostile_backend.py) still gets a complete report, within its budget,
listing every fault with its kind and op; bad configurations get one line, not a traceback."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.runner.results import FAULT_KINDS
from tests.hostile_backend import MISBEHAVIOURS, RESULT_JUNK

REPOSITORY = Path(__file__).resolve().parents[1]
HOSTILE = "tests.hostile_backend:backend"
# One property per op, and the dtype property where the wrong dtype shows.
SELECT = "test_values or (test_output_dtype and adaptive_max_pool2d)"
BUDGET = 120
# What each hostile op must be reported as: a fault (kind, and a word of its detail).
EXPECTED_FAULTS = {
    "max_pool1d": ("crash", "SIGABRT"),
    "max_pool2d": ("crash", "SIGFPE"),
    "max_pool3d": ("crash", "SIGSEGV"),
    "avg_pool2d": ("hang", "hang after"),
    "avg_pool3d": ("hang", "hang after"),
    "avg_pool1d": ("crash", "exited with status 0"),
    "adaptive_avg_pool2d": ("out of memory", "out of memory"),
    "adaptive_max_pool1d": ("wrong result type", "builtins.list"),
    "adaptive_max_pool2d": ("wrong result type", "got float16"),
}


def report(tmp_path, *options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reports.cli", "report", "--backend", HOSTILE,
         "-o", str(tmp_path / "hostile.md"), *options],
        capture_output=True, text=True, cwd=REPOSITORY, timeout=600,
    )


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile")
    started = time.monotonic()
    completed = report(directory, "--select", SELECT, "--call-timeout", "2",
                       "--budget", str(BUDGET))
    seconds = time.monotonic() - started
    markdown = (directory / "hostile.md").read_text()
    results = json.loads((directory / "hostile.json").read_text())
    return completed, seconds, markdown, results


def test_every_hostile_op_is_covered_by_an_expectation():
    assert set(EXPECTED_FAULTS) == (set(MISBEHAVIOURS) | set(RESULT_JUNK)) - {
        "min_pool1d", "min_pool2d"}  # a raise is a deviation, printing is no fault at all


def test_the_hostile_report_lists_every_fault_with_its_kind_and_op(hostile_report):
    completed, _, markdown, results = hostile_report
    assert completed.returncode == 0, completed.stderr[-3000:]
    faults = {fault["op"]: fault for fault in results["faults"]}
    for op, (kind, detail) in EXPECTED_FAULTS.items():
        assert op in faults, (op, sorted(faults))
        assert faults[op]["kind"] == kind and detail in faults[op]["detail"], faults[op]
        assert f"### {faults[op]['id']} ({kind})" in markdown
    assert set(faults) == set(EXPECTED_FAULTS), sorted(faults)
    for fault in results["faults"]:
        assert fault["kind"] in FAULT_KINDS.values()
        assert fault["call"].startswith(fault["op"]) and fault["input_literal"]
        if fault["kind"] != "wrong result type":  # quarantined, so not called again and again
            assert fault["count"] <= 8 and fault["region"], fault


def test_the_hostile_report_is_complete_and_within_its_budget(hostile_report):
    completed, seconds, markdown, results = hostile_report
    assert seconds < BUDGET, seconds
    assert "incomplete" not in results["metadata"] and "budget_spent" not in results["metadata"]
    assert "## Faults" in markdown and "## Run" in markdown
    # Raising an exception class from nowhere is a deviation; a megabyte of output is nothing.
    raised = [f for f in results["findings"] if f["op"] == "min_pool1d"]
    assert raised and "_UnheardOfError" in raised[0]["message"]
    outcomes = results["outcomes"]["min_pool2d|values"]
    assert {outcome for outcome, count in outcomes.items() if count} == {"conforms"}, outcomes
    assert "hostile backend says" not in completed.stdout


def test_a_spent_budget_still_gives_a_report_complete_in_structure(tmp_path):
    completed = report(tmp_path, "--budget", "0", "--select", "test_values")
    assert completed.returncode == 0, completed.stderr[-3000:]
    markdown = (tmp_path / "hostile.md").read_text()
    results = json.loads((tmp_path / "hostile.json").read_text())
    assert results["metadata"]["budget_spent"] == 0
    assert {entry["op"] for entry in results["not_run"]} >= set(EXPECTED_FAULTS)
    assert markdown.count("not run (budget)") >= len(EXPECTED_FAULTS)
    assert "## Run" in markdown


@pytest.mark.xfail(strict=False, reason=(
    "open bug, intermittent under load (seen in `pytest -n 2`, not alone): the property run "
    "sometimes ends on SIGTERM without writing its results, and the report then says 'without "
    "results; ... unchanged' instead of writing an incomplete report"))
def test_sigterm_during_the_run_writes_what_was_measured_marked_incomplete(tmp_path):
    output = tmp_path / "hostile.md"
    # Files, not pipes: a worker stuck in a backend's endless loop outlives the run (it never
    # reads its closed pipe again) and would hold a pipe open, though the report has been written.
    progress, errors = tmp_path / "progress.txt", tmp_path / "errors.txt"
    with progress.open("w") as stdout, errors.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "reports.cli", "report", "--backend", HOSTILE, "-o",
             str(output), "--select", "test_values", "--call-timeout", "30"],
            stdout=stdout, stderr=stderr, cwd=REPOSITORY,
        )
    deadline = time.monotonic() + 120
    # pytest's progress: tests are running (avg_pool2d will hang 30 s)
    while progress.stat().st_size < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=120)
    said = errors.read_text()[-3000:]
    assert child.returncode == 130, said
    progress.unlink()
    errors.unlink()
    assert output.exists(), said
    assert "Incomplete: interrupted by SIGTERM" in output.read_text()
    assert json.loads(output.with_suffix(".json").read_text())["metadata"]["incomplete"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hostile.json", "hostile.md"]


def test_a_property_run_killed_outright_leaves_its_last_checkpoint(tmp_path):
    results = tmp_path / "results.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "conformance/properties", "-q", "-p", "no:cacheprovider",
         "--backend", "torch", "--conformance-json", str(results), "-k", "test_values"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPOSITORY,
    )
    deadline = time.monotonic() + 120
    while not results.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    child.kill()  # no handler runs: what is on disk is all that is left
    child.wait()
    assert results.exists(), "no checkpoint was written before the run was killed"
    document = json.loads(results.read_text())
    assert "last checkpoint" in document["metadata"]["incomplete"]
    assert sum(sum(counts.values()) for counts in document["outcomes"].values()) > 0


BROKEN_MODULE = "raise RuntimeError('this backend module is broken')\n"
NOT_CALLABLE = "class Backend:\n    max_pool2d = 3\n\nbackend = Backend()\n"


@pytest.mark.parametrize("options, says", [
    (["--backend", "no_such_module:backend"], "needs 'no_such_module'"),
    (["--backend", "broken_module:backend"], "RuntimeError: this backend module is broken"),
    (["--backend", "tests.hostile_backend:MISBEHAVIOURS"], "provides none of the pooling"),
    (["--backend", "tests.hostile_backend:_DEADLOCK"], "provides none of the pooling"),
    (["--backend", "not_callable:backend"], "not callable: max_pool2d"),
    (["--profile", "nope"], "invalid choice: 'nope'"),
    (["--budget", "-1"], "must not be negative"),
    (["--memory-limit", "lots"], "expected a whole number of MiB"),
])
def test_a_bad_configuration_is_one_line_and_a_nonzero_exit(tmp_path, options, says):
    (tmp_path / "broken_module.py").write_text(BROKEN_MODULE)
    (tmp_path / "not_callable.py").write_text(NOT_CALLABLE)
    completed = subprocess.run(
        [sys.executable, "-m", "reports.cli", "report", "-o", str(tmp_path / "out.md"), *options],
        capture_output=True, text=True, cwd=REPOSITORY, timeout=120,
        env={**os.environ, "PYTHONPATH": f"{REPOSITORY}:{tmp_path}"},
    )
    assert completed.returncode == 2, completed
    assert says in completed.stderr and len(completed.stderr.strip().splitlines()) == 1, (
        completed.stderr)
    assert not (tmp_path / "out.md").exists()


def test_the_matrix_goes_on_past_a_backend_whose_run_dies(tmp_path, monkeypatch):
    from reports import cli

    tried = []

    def dies(arguments):
        tried.append(arguments.backend)
        raise RuntimeError("the property run died")

    monkeypatch.setattr(cli, "report", dies)
    arguments = argparse.Namespace(output=str(tmp_path / "matrix.md"), backends="numpy,reference",
                                   reuse=False, from_json=None, profile="ci", budget=60.0,
                                   memory_limit=0)
    assert cli.matrix(arguments) == 0
    assert tried == ["numpy", "reference"]
    matrix = (tmp_path / "matrix.md").read_text()
    assert "- numpy: not run (its run failed: RuntimeError: the property run died)" in matrix
