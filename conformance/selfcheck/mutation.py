"""Measuring the suite on the mutant bank: does a profile kill each mutant, by which property,
after how many examples and how many seconds.

Two measurements. `whole_run`: what a user waits for, `pytest -x --backend MUTANT` in a fresh
process, from start-up to the first failure (the figure the suite is judged by). `kill`: the
properties in-process, exactly as pytest runs them (the test functions are called with a
`Suite`), ops the mutant changes first, which says which property can see the bug at all. A
mutant is killed when a property fails on it.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _pytest.outcomes import Skipped
from hypothesis import Phase, settings

from conformance.backends.torch_backend import functional
from conformance.engine.deviations import Registry
from conformance.runner.suite import ConformanceFailure, Suite

PROPERTY_MODULES = (
    "conformance.properties.test_canonical",
    "conformance.properties.test_pooling",
    "conformance.properties.test_validity",
    "conformance.properties.test_conventions",
    "conformance.properties.test_metamorphic",
    "conformance.properties.test_notebook",
    "conformance.properties.test_gradients",
)


@dataclass(frozen=True)
class KillResult:
    mutant: str
    killed: bool
    property: str = ""
    examples: int = 0  # checked cases up to and including the first failing one
    seconds_to_first_failure: float = 0.0
    seconds: float = 0.0  # including Hypothesis' shrinking
    message: str = ""


def property_calls():
    """Every (name, function, kwargs) the property modules define, parametrisations expanded."""
    for module_name in PROPERTY_MODULES:
        module = importlib.import_module(module_name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("test_") or function.__module__ != module_name:
                continue
            grids = [
                [dict(zip([a.strip() for a in mark.args[0].split(",")] if isinstance(mark.args[0], str)
                          else mark.args[0], values if isinstance(values, tuple) else (values,)))
                 for values in mark.args[1]]
                for mark in getattr(function, "pytestmark", []) if mark.name == "parametrize"
            ]
            for combination in itertools.product(*grids) if grids else [()]:
                kwargs = {key: value for part in combination for key, value in part.items()}
                label = ",".join(str(value) for value in kwargs.values())
                yield f"{name}[{label}]" if label else name, function, kwargs


def _priority(name: str, kwargs: dict, mutant) -> tuple:
    """Properties of what the mutant changes first (its backward: the gradient properties of
    those ops; its forward: every property of those ops), op by op, then the rest."""
    text = " ".join(str(value) for value in kwargs.values())

    def first_touched(ops):
        touched = [i for i, op in enumerate(ops) if op in text or op[:-2] == text.split(" ")[0]]
        return touched[0] if touched else None

    backward = first_touched(mutant.changed_gradients)
    if backward is not None and name.startswith("test_gradient"):
        return (0, backward)
    forward = first_touched(mutant.changed_ops)
    return (1, forward) if forward is not None else (2, 0)


class _CountingSuite(Suite):
    """A Suite that counts checked cases and notes when the first failure came."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checked = 0
        self.first_failure_at = None

    def check(self, concern, case, property_name=None):
        self.checked += 1
        try:
            super().check(concern, case, property_name)
        except AssertionError:
            if self.first_failure_at is None:
                self.first_failure_at = (self.checked, time.perf_counter())
            raise


def _correct_backend_agrees(failure: ConformanceFailure, registry: Registry) -> bool:
    """A kill counts only if the correct torch backend passes the same case: otherwise the
    property caught a gap of torch itself (an unregistered torch deviation), not the bug."""
    concern = failure.property_name.split("[", 1)[0]
    try:
        Suite(functional(), "torch", registry).check(concern, failure.case, failure.property_name)
    except ConformanceFailure:
        return False
    return True


def kill(mutant, registry: Registry, profile: str = "ci", shrink: bool = True) -> KillResult:
    """Run the properties against one mutant until one fails where correct torch does not.

    With `shrink=False` a failing property stops at its first failing example instead of
    shrinking it: the same examples run up to that one, so the verdict and the time to the first
    failure are the same, at about half the cost (benchmarks/kill_table.md: 170 s to the first
    failures, 354 s with shrinking, for the whole bank)."""
    chosen = settings.get_profile(profile)
    settings.register_profile("mutation-kill", chosen if shrink else settings(
        chosen, phases=[phase for phase in chosen.phases if phase is not Phase.shrink]))
    settings.load_profile("mutation-kill")
    backend = mutant()
    suite = _CountingSuite(backend, f"conformance.selfcheck.mutants:{mutant.name}", registry)
    calls = sorted(property_calls(), key=lambda call: _priority(call[0], call[2], mutant))
    started = time.perf_counter()
    for name, function, kwargs in calls:
        suite.faults_met = []
        try:
            function(suite, **kwargs)
        except Skipped:
            continue
        except ConformanceFailure as failure:
            if not _correct_backend_agrees(failure, registry):
                suite.first_failure_at = None
                continue
            checked, failed_at = suite.first_failure_at or (suite.checked, time.perf_counter())
            return KillResult(mutant.name, True, name, checked, failed_at - started,
                              time.perf_counter() - started, str(failure).splitlines()[0][:300])
        except Exception as error:  # noqa: BLE001 - an assertion, or the backend raising in a relation
            # Correct torch passes every property, so a property failing on the mutant in any
            # way (a relation's call raising on valid arguments too) is the mutant's doing.
            checked, failed_at = suite.first_failure_at or (suite.checked, time.perf_counter())
            return KillResult(mutant.name, True, name, checked, failed_at - started,
                              time.perf_counter() - started,
                              (str(error).splitlines() or [type(error).__name__])[0][:300])
        if suite.faults_met:
            # A fault (a crash, a hang, a wrong result type) is recorded, not raised: the plugin
            # fails the test that met it afterwards, and so does this measurement.
            fault = suite.results.faults[suite.faults_met[0]]
            return KillResult(mutant.name, True, name, suite.checked,
                              time.perf_counter() - started, time.perf_counter() - started,
                              f"{fault['kind']}: {fault['detail']}"[:300])
    return KillResult(mutant.name, False, examples=suite.checked,
                      seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class WholeRunResult:
    mutant: str
    killed: bool
    test: str = ""  # the first failing test's node id
    seconds: float = 0.0  # wall time of the whole `pytest -x` run, start-up included
    cpu_seconds: float = 0.0  # its user + system time: near the wall time on an idle machine


def whole_run(mutant_name: str, profile: str = "ci", timeout: float = 600.0,
              extra_arguments: tuple[str, ...] = ()) -> WholeRunResult:
    """Time to first failure as a user sees it: `pytest -x --backend MUTANT` from start-up to
    exit (collection, every property before the failing one, and its shrinking), in a fresh
    process with the default test paths and order. A run still going after `timeout` seconds
    counts as a survivor."""
    spec = f"conformance.selfcheck.mutants:{mutant_name.replace('-', '_')}"
    root = Path(__file__).resolve().parents[2]
    # Every mutant is torch with one bug: torch's own registered deviations are not its bug.
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-rf", "--backend", spec,
               "--deviations", str(root / "conformance" / "deviations" / "torch.toml"),
               "--hypothesis-profile", profile, *extra_arguments]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    started, cpu_before = time.perf_counter(), _children_cpu_seconds()
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                             cwd=root, env=environment)
    except subprocess.TimeoutExpired:
        return WholeRunResult(mutant_name, False, seconds=time.perf_counter() - started,
                              cpu_seconds=_children_cpu_seconds() - cpu_before)
    seconds, cpu = time.perf_counter() - started, _children_cpu_seconds() - cpu_before
    failed = re.search(r"^FAILED (\S+)", run.stdout, re.MULTILINE)
    return WholeRunResult(mutant_name, failed is not None, failed.group(1) if failed else "",
                          seconds, cpu)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
