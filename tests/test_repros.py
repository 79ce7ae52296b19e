"""Native repros leave the suite: each committed report's repro runs on its own, in isolated
mode (`python -I`: no PYTHONPATH, no user site, from an empty directory), importing only its
framework, and still fails on the backend. A committed repro that exits 0 means the finding no
longer reproduces: the backend was fixed, or the registry or report is stale."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.engine.deviations import Registry
from reports import markdown
from reports.findings import findings_of
from reports.repros import WRITERS, repro_snippet
from reports.repros.literals import nested
from reports.repros.problem import array_of

REPORTS = Path(__file__).resolve().parents[1] / "reports"
# What each family's script may import: its framework and what the framework itself installs.
FRAMEWORK_MODULES = {
    "torch": {"torch"},
    "onnxruntime": {"onnx", "onnxruntime", "numpy", "ml_dtypes"},
    "onnx-reference": {"onnx", "numpy", "ml_dtypes"},
    "jax": {"jax", "numpy", "ml_dtypes"},
    "tensorflow": {"tensorflow", "numpy", "ml_dtypes"},
}


def committed_reports(pattern: str = "*.json"):
    """(backend, findings with a native repro, the ids of its registry's non-strict entries)
    of each committed report."""
    for path in sorted(REPORTS.glob(pattern)):
        results = json.loads(path.read_text())
        backend = results["metadata"]["backend_spec"]
        findings = [f for f in findings_of(results) if f.get("dialect", "torch") == "torch"]
        if backend in WRITERS and findings:
            registry = Registry.load(REPORTS.parent / results["metadata"]["deviations_file"])
            intermittent = frozenset(d.id for d in registry.deviations if not d.strict)
            yield pytest.param(backend, findings, intermittent, id=backend)


# Runs each script given on stdin (a JSON list) as __main__ in a fresh namespace, in this one
# isolated interpreter (the framework is imported once), and prints how each ended. The suite's
# own packages cannot be imported there (the editable install would otherwise provide them).
_DRIVER = """
import importlib.abc, json, sys, traceback

class RefuseTheSuite(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("conformance", "reference", "reports"):
            raise ImportError(f"a repro must not import {name}")

sys.meta_path.insert(0, RefuseTheSuite())
outcomes = []
for source in json.load(sys.stdin):
    try:
        exec(compile(source, "repro.py", "exec"), {"__name__": "__main__"})
        outcomes.append(["passed", ""])
    except AssertionError:
        outcomes.append(["reproduces", traceback.format_exc(limit=1)[-600:]])
    except BaseException:
        outcomes.append(["error", traceback.format_exc()[-2000:]])
print(json.dumps(outcomes))
"""


def run_isolated(scripts: list[str], directory: Path) -> list[tuple[str, str]]:
    """How each script ended, run with `python -I` (no PYTHONPATH, no user site) from an
    empty directory: "reproduces" (its assertion failed), "passed", or "error"."""
    completed = subprocess.run([sys.executable, "-I", "-c", _DRIVER], input=json.dumps(scripts),
                               capture_output=True, text=True, cwd=directory, timeout=1800)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return [tuple(outcome) for outcome in json.loads(completed.stdout.splitlines()[-1])]


def assert_reproduce(backend: str, findings: list[dict], directory: Path,
                     intermittent: frozenset = frozenset()) -> None:
    """Every finding's repro fails by its assertion; one that passes is stale, unless its
    registry entry is one of the `intermittent` (non-strict) ones, which may agree on a rerun
    (on another CPU, say). A finding the report already calls stale (a case inside a strict
    registry entry that agreed with the definition) is the opposite claim: its repro must
    pass."""
    # Faults and registered crashes end or stall the process they run in: each would need a
    # process of its own.
    findings = [f for f in findings if f.get("kind") not in ("crash", "hang", "out of memory")
                and f["concern"] != "crashes"]
    scripts = [repro_snippet(finding, backend) for finding in findings]
    problems = []
    for finding, script, (outcome, detail) in zip(findings, scripts,
                                                  run_isolated(scripts, directory)):
        if finding["status"] == "stale":
            if outcome != "passed":
                problems.append(
                    f"{backend}:{finding['key']} is reported stale (the backend agreed with the "
                    f"definition), but its repro ends {outcome!r}:\n{detail}\nScript:\n{script}")
        elif outcome == "passed" and finding["key"] not in intermittent:
            problems.append(
                f"STALE: the committed repro of {backend}:{finding['key']} no longer fails: the "
                f"backend now agrees with the definition on this case, so reports/{backend}.json "
                f"or its deviation registry is stale. Script:\n{script}")
        elif outcome == "error":
            problems.append(f"{backend}:{finding['key']}: the repro failed, but not by its "
                            f"assertion:\n{detail}\nScript:\n{script}")
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("backend, findings, intermittent",
                         list(committed_reports("torch*.json")))
def test_every_committed_torch_repro_still_reproduces(backend, findings, intermittent, tmp_path):
    assert_reproduce(backend, findings, tmp_path, intermittent)


OTHER_BACKENDS = [param for param in committed_reports()
                  if WRITERS[param.values[0]].framework != "torch"]


@pytest.mark.parametrize("backend, findings, intermittent", OTHER_BACKENDS)
def test_each_backend_environment_runs_its_own_repros(backend, findings, intermittent, tmp_path):
    needed = FRAMEWORK_MODULES[WRITERS[backend].framework]
    missing = [module for module in needed if importlib.util.find_spec(module) is None]
    if missing:
        pytest.skip(f"{backend}'s repros need {', '.join(missing)}, not installed here")
    assert_reproduce(backend, findings, tmp_path, intermittent)


@pytest.mark.parametrize("backend, findings, intermittent", list(committed_reports()))
def test_a_repro_imports_only_its_framework(backend, findings, intermittent):
    for finding in findings:
        tree = ast.parse(repro_snippet(finding, backend))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom)}
        allowed = FRAMEWORK_MODULES[WRITERS[backend].framework] | {"signal"}
        assert imported <= allowed, (finding["key"], imported)


def test_a_repro_that_no_longer_fails_is_reported_stale(tmp_path):
    """The staleness check itself: the same finding on an input where torch agrees (no NaN in
    the window) must be flagged, not pass."""
    results = json.loads((REPORTS / "torch.json").read_text())
    finding = next(f for f in results["findings"] if f["key"] == "max-pool-index-of-last-nan")
    conforming = {**finding, "input_literal": finding["input_literal"].replace("float('nan')",
                                                                               "1.0")}
    with pytest.raises(AssertionError, match="STALE: the committed repro of "
                                             "torch:max-pool-index-of-last-nan"):
        assert_reproduce("torch", [conforming], tmp_path)


def test_literals_rebuild_nan_infinities_and_signed_zero_exactly():
    array = np.array([[float("nan"), float("inf")], [-float("inf"), -0.0]], dtype=np.float32)
    literal = nested(array)
    assert literal == "[[float('nan'), float('inf')], [-float('inf'), -0.0]]"
    rebuilt = array_of(literal, "float32", (2, 2))
    assert rebuilt.tobytes() == array.tobytes()
    assert nested(np.array([[-128, 127]], dtype=np.int8)) == "[[-128, 127]]"


def test_a_fault_gets_the_same_native_repro_with_how_the_call_fails_said_first():
    results = json.loads((REPORTS / "torch.json").read_text())
    case = next(f for f in results["findings"] if f["key"] == "max-pool-index-of-last-nan")
    fields = {k: case[k] for k in ("op", "call", "input_literal", "input_shape", "dtype",
                                   "regions", "grad_output_literal", "grad_output_shape")}
    crash = repro_snippet({**fields, "id": "crash:max_pool3d", "kind": "crash",
                           "detail": "SIGSEGV", "count": 1, "quarantined": 2}, "torch")
    assert "# This call ends the process (crash)" in crash
    # The committed report's case, whichever op its shrinking ended on, called as it was.
    assert f"result = torch.nn.functional.{case['call']}" in crash
    hang = repro_snippet({**fields, "id": "hang:max_pool3d", "kind": "hang",
                          "detail": "hang after 2.0 s", "count": 1, "quarantined": 0}, "torch")
    assert "signal.alarm(60)" in hang.split("result =", 1)[0]


def test_a_nan_expected_bounds_nothing_in_the_scripts_tolerances():
    from reports.repros.problem import _tolerances

    # Worked by hand: atol is the smallest bound (0.25), rtol what the larger one (0.5 at an
    # expected 4.0) needs beyond it, (0.5 - 0.25) / 4; the NaN's bound (NaN) enters neither.
    nan = float("nan")
    assert _tolerances(np.array([4.0, 1.0, nan]), np.array([0.5, 0.25, nan])) == {
        "atol": 0.25, "rtol": 0.0625}
    assert _tolerances(np.array([nan, nan]), np.array([nan, nan])) == {"atol": 0.0, "rtol": 0.0}


def conforming_finding(op, kwargs, shape, dtype="float32"):
    from conformance.engine.cases import Case

    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) % 5 - 2
    case = Case(op, values.astype(dtype), kwargs)
    return {"key": f"check:{op}", "op": op, "concern": "values", "status": "known",
            "call": case.call_text(), "input_literal": case.input_literal(),
            "input_shape": list(shape), "dtype": dtype, "regions": []}


# Windows the NumPy idioms must state exactly as the definition does: padding, ceil mode's
# overhang, dilation, strides, adaptive and global windows.
IDIOM_CASES = [
    ("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 5, 6)),
    ("min_pool1d", {"kernel_size": 2, "stride": 1, "dilation": 2}, (2, 7)),
    ("max_pool3d", {"kernel_size": (1, 2, 2), "stride": (1, 2, 1), "ceil_mode": True},
     (1, 1, 2, 3, 3)),
    ("adaptive_avg_pool2d", {"output_size": (3, 2)}, (1, 1, 5, 5)),
    ("adaptive_max_pool1d", {"output_size": 4}, (1, 2, 7)),
    ("global_avg_pool2d", {}, (2, 3, 4)),
]


def test_the_numpy_idioms_agree_with_the_definition_where_numpy_conforms(tmp_path):
    findings = [conforming_finding(*case) for case in IDIOM_CASES]
    scripts = [repro_snippet(finding, "numpy") for finding in findings]
    outcomes = run_isolated(scripts, tmp_path)
    assert [outcome for outcome, _ in outcomes] == ["passed"] * len(scripts), (
        [detail for _, detail in outcomes], scripts)


def test_an_accepted_invalid_call_gets_a_repro_with_the_padding_the_adapter_used():
    """torch rejects padding above half the kernel, so the definition has no windows to read
    the repro's padding from; the repro pads as the adapter did (the tensorflow report was lost
    to this once)."""
    finding = {"op": "max_pool1d", "call": "max_pool1d(x, kernel_size=2, padding=2)",
               "input_literal": "[[[1.0, 2.0, 3.0]]]", "dtype": "float32",
               "input_shape": [1, 1, 3], "concern": "validity", "key": "accepts-large-padding",
               "regions": ["invalid_arguments"]}
    script = repro_snippet(finding, "tensorflow")
    assert "tf.nn.max_pool1d(y, [2], [2], [[0, 0], [2, 2], [0, 0]])" in script
    assert "the definition requires an error here" in script


def test_a_repro_writer_that_fails_costs_one_line_not_the_report(monkeypatch):
    def broken_writer(finding, spec):
        raise KeyError("window")

    monkeypatch.setattr(markdown, "dialect_repro", broken_writer)
    line = markdown.repro({"call": "max_pool1d(x, kernel_size=2)"}, {"backend_spec": "torch"})
    assert line.startswith("No repro: writing it failed (KeyError: 'window')")
