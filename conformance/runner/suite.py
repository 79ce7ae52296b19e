"""The run's state: the backend under test, its registry, and the results; `Suite.check` judges one
case on one concern and raises `ConformanceFailure` for a new or stale deviation."""

from __future__ import annotations

import pytest
from hypothesis import reject

from conformance.engine.cases import Case
from conformance.engine.checks import compare, observe
from conformance.engine.deviations import Registry
from conformance.engine.gradients import compare_gradient, observe_gradient
from conformance.engine.inference import compare_inferred_shape, observe_inferred_shape
from conformance.engine.regions import REGIONS, case_features
from conformance.runner.results import Results


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


class Suite:
    """The backend under test, its registry, and the results of this run."""

    def __init__(self, backend, spec: str, registry: Registry):
        self.backend = backend
        self.spec = spec
        self.registry = registry
        self.results = Results()

    @property
    def backend_name(self) -> str:
        return getattr(self.backend, "name", self.spec)

    def require(self, op_name: str) -> None:
        """Skip, recorded as unsupported, when the backend lacks the op."""
        if getattr(self.backend, op_name, None) is None:
            self.results.unsupported.setdefault(op_name, f"the backend has no {op_name}")
            pytest.skip(f"unsupported: {self.backend_name} has no {op_name}")

    def call(self, op_name: str, x, **kwargs):
        """The backend's result, for relations between ops. A case the backend cannot run, or
        one inside a registered deviation's signature, is rejected: a relation need not hold
        where the backend is known to depart from the oracle."""
        features = case_features(Case(op_name, x, kwargs))
        if any(deviation.matches(features) for deviation in self.registry.deviations):
            reject()
        try:
            return getattr(self.backend, op_name)(x, **kwargs)
        except NotImplementedError:
            reject()

    def check(self, concern: str, case: Case, property_name: str | None = None) -> None:
        """Judge one case on one concern; raise ConformanceFailure for a new or stale deviation."""
        property_name = property_name or f"{concern}[{case.op_name}]"
        observation, mismatch = observe_and_compare(self.backend, case, concern)
        features = case_features(case)
        if observation.unsupported:
            self.results.record(property_name, case, concern, "unsupported", features,
                                note=observation.unsupported)
            return
        verdict = self.registry.judge(features, concern, mismatch)
        self.results.record(property_name, case, concern, verdict.outcome, features, mismatch,
                            verdict.deviations)
        if verdict.outcome == "new":
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
