"""The run's state: the backend under test, its registry, and the results; `Suite.check` judges one
case on one concern and raises `ConformanceFailure` for a new or stale deviation.

Faults (a crash, a hang, running out of memory, a result that is no array of the contract's
kind) are recorded and never raised into Hypothesis: it would replay them to shrink, paying a
timeout or a worker restart per step, and a replay quarantined (conformance.runner.faults) would
not fail again. The plugin fails the test that met them instead (`faults_met`).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import reject

from conformance.engine.cases import Case
from conformance.engine.checks import Mismatch, compare, describe_error, observe
from conformance.engine.deviations import Registry
from conformance.engine.gradients import compare_gradient, observe_gradient
from conformance.engine.inference import compare_inferred_shape, observe_inferred_shape
from conformance.engine.regions import REGIONS, case_features
from conformance.runner.faults import FaultGuard, NotRun, Quarantined, region_features
from conformance.runner.isolation import BackendFault
from conformance.runner.results import FAULT_OUTCOMES, Results


def observe_and_compare(backend, case: Case, concern: str):
    """(observation, mismatch or None): the forward pass, or for "gradient" the backward pass
    for the case's grad_output. The mismatch is None where the backend cannot run the case."""
    if concern == "gradient":
        observation = observe_gradient(backend, case)
        return observation, None if observation.unsupported else compare_gradient(observation)
    if concern == "inferred_shape":
        observation = observe_inferred_shape(backend, case)
        return observation, None if observation.unsupported else compare_inferred_shape(
            observation)
    observation = observe(backend, case)
    return observation, None if observation.unsupported else compare(observation, concern)


class ConformanceFailure(AssertionError):
    """A case the backend gets wrong that no registered deviation explains, or a stale one."""

    def __init__(self, message, property_name, case, mismatch, status, key=None, features=None):
        super().__init__(message)
        self.features = features
        self.property_name = property_name
        self.case = case
        self.mismatch = mismatch
        self.status = status
        self.key = key


def registered_crash(registry: Registry, case: Case, fault: BackendFault) -> bool:
    """Whether a registered deviation expects `fault` on `case`: it is then a known deviation,
    judged as any other, not a fault to quarantine."""
    mismatch = Mismatch("crashes", f"{describe_error(fault)}; case: {case.describe()}")
    concern = "gradient" if case.grad_output is not None else "values"
    return registry.judge(region_features(case), concern, mismatch).outcome == "known"


class Suite:
    """The backend under test, its registry, and the results of this run."""

    def __init__(self, backend, spec: str, registry: Registry, deadline: float | None = None):
        self.backend = FaultGuard(backend, self._on_fault, deadline)
        self.spec = spec
        self.registry = registry
        self.results = Results()
        self.current_property = ""  # where a fault is met: set per test, then per check
        self.faults_met = []  # ids of the faults the current test met
        self.withheld = 0  # calls the current test asked for that were not made
        self.excused = 0  # cases the current test rejected: unsupported, or a known deviation
        self._checking = False

    @property
    def out_of_budget(self) -> bool:
        return self.backend.deadline is not None and time.monotonic() > self.backend.deadline

    def _on_fault(self, case: Case, fault: BackendFault) -> str | None:
        """Record a fault, unless a registered deviation expects it (then it is judged as
        before: known, and not quarantined)."""
        if registered_crash(self.registry, case, fault):
            return None
        features = region_features(case)
        outcome = FAULT_OUTCOMES[fault.kind]
        fault_id = self.results.record_fault(self.current_property, case, outcome, fault.detail,
                                             features)
        if not self._checking and "dtype" in features:
            # A relation's call or a direct one: no check records it. (A call the regions
            # cannot describe has no features to count it by.)
            self.results.record(self.current_property, case, "relations", outcome, features)
        self.faults_met.append(fault_id)
        return fault_id

    def record_quarantined(self, quarantined: Quarantined) -> None:
        """Count a call not made; once its whole op is quarantined, end the test (skipped:
        pytest's skip passes through Hypothesis, which would otherwise keep drawing)."""
        self.withheld += 1
        if quarantined.fault_id in self.results.faults:
            self.results.faults[quarantined.fault_id]["quarantined"] += 1
        if self.backend.wholly_quarantined(quarantined.op_name):
            pytest.skip(f"{quarantined.op_name} is quarantined after {quarantined.fault_id}")

    def results_json(self) -> dict:
        """The results, each fault with the region quarantined after it (as it ended up)."""
        document = self.results.to_json()
        for fault in document["faults"]:
            fault["region"] = self.backend.region(fault["id"]) or fault["region"]
        return document

    @property
    def backend_name(self) -> str:
        return getattr(self.backend, "name", self.spec)

    def require(self, op_name: str) -> None:
        """Skip, recorded as unsupported, when the backend lacks the op."""
        if getattr(self.backend, op_name, None) is None:
            self.results.unsupported.setdefault(op_name, f"the backend has no {op_name}")
            pytest.skip(f"unsupported: {self.backend_name} has no {op_name}")
        fault_id = self.backend.wholly_quarantined(op_name)
        if fault_id:
            self.results.quarantined_tests.append({"test": self.current_property,
                                                   "op": op_name, "fault": fault_id})
            pytest.skip(f"{op_name} is quarantined after {fault_id}")

    def call(self, op_name: str, x, **kwargs):
        """The backend's result, for relations between ops. A case the backend cannot run, or
        one inside a registered deviation's signature, is rejected: a relation need not hold
        where the backend is known to depart from the oracle."""
        features = case_features(Case(op_name, x, kwargs))
        if any(deviation.matches(features) for deviation in self.registry.deviations):
            self.excuse()
        try:
            result = getattr(self.backend, op_name)(x, **kwargs)
        except NotImplementedError:
            self.excuse()
        except Quarantined as quarantined:
            self.record_quarantined(quarantined)
            reject()
        except NotRun:
            self.withheld += 1
            reject()
        except BackendFault:
            reject()  # recorded as it happened; the test fails on it (plugin)
        parts = result if isinstance(result, tuple) else (result,)
        junk = next((part for part in parts if not isinstance(part, np.ndarray)), None)
        if junk is not None or not parts:
            case = Case(op_name, x, kwargs)
            detail = (f"the backend returned a {type(junk).__module__}.{type(junk).__name__} "
                      f"where a numpy.ndarray was expected" if parts else
                      "the backend returned an empty tuple")
            self.faults_met.append(self.results.record_fault(
                self.current_property, case, "wrong_result_type", detail, features))
            self.results.record(self.current_property, case, "relations", "wrong_result_type",
                                features)
            reject()
        return result

    def excuse(self) -> None:
        """Reject a case the backend cannot run or is known to deviate on. If every case of a
        test is rejected so, the test is skipped as not judged (plugin), not failed as
        Unsatisfiable."""
        self.excused += 1
        reject()

    def check(self, concern: str, case: Case, property_name: str | None = None) -> None:
        """Judge one case on one concern; raise ConformanceFailure for a new or stale deviation."""
        property_name = property_name or f"{concern}[{case.op_name}]"
        if self.out_of_budget:  # before the oracle's work, which is most of a check's
            self.withheld += 1
            self.results.outcomes[(case.op_name, concern)]["not_run"] += 1
            return
        self.current_property, self._checking = property_name, True
        try:
            observation, mismatch = observe_and_compare(self.backend, case, concern)
        finally:
            self._checking = False
        features = case_features(case)
        error = observation.backend_error
        if isinstance(error, NotRun):
            self.withheld += 1
            self.results.outcomes[(case.op_name, concern)]["not_run"] += 1
            return
        if isinstance(error, Quarantined):
            self.results.record(property_name, case, concern, "quarantined", features)
            self.record_quarantined(error)
            return
        if observation.unsupported:
            self.results.record(property_name, case, concern, "unsupported", features,
                                note=observation.unsupported)
            return
        verdict = self.registry.judge(features, concern, mismatch)
        outcome = verdict.outcome
        if outcome == "new" and isinstance(error, BackendFault):
            outcome = FAULT_OUTCOMES[error.kind]
        elif outcome == "new" and mismatch.concern in ("type", "dtype"):
            outcome = "wrong_result_type"
            detail = mismatch.message.split("; case: ")[0]
            self.faults_met.append(self.results.record_fault(property_name, case, outcome,
                                                             detail, features))
        self.results.record(property_name, case, concern, outcome, features, mismatch,
                            verdict.deviations)
        if outcome == "new":
            regions = ", ".join(region for region in REGIONS if features.get(region)) or "none"
            raise ConformanceFailure(
                f"new deviation: {mismatch.message}; regions: {regions}",
                property_name, case, mismatch, "new", features=features,
            )
        if verdict.outcome == "stale":
            ids = ", ".join(d.id for d in verdict.deviations)
            raise ConformanceFailure(
                f"registered deviation {ids} ({self.registry.source}) no longer deviates on "
                f"{case.describe()}: the backend now agrees with the oracle here, so the "
                f"deviation is fixed or its signature is wider than the bug",
                property_name, case, None, "stale", verdict.deviations[0].id, features,
            )
