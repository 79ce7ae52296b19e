"""The pytest plugin: chooses the backend and registry, runs cases, and records what it found.

Options: --backend SPEC, --deviations FILE, --conformance-json PATH; the Hypothesis profile comes
from Hypothesis' own --hypothesis-profile or POOLING_CONFORMANCE_PROFILE.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import reject, settings

from conformance import profiles
from conformance.backend import (
    BackendError, backend_spec, builtin_deviations_file, load_backend,
)
from conformance.cases import Case
from conformance.checks import compare, observe
from conformance.deviations import Registry, RegistryError
from conformance.gradients import compare_gradient, observe_gradient
from conformance.isolation import IsolatedBackend
from conformance.regions import REGIONS, case_features
from conformance.results import Results, merge, save


def observe_and_compare(backend, case: Case, concern: str):
    """(observation, mismatch or None): the forward pass, or for "gradient" the backward pass
    for the case's grad_output. The mismatch is None where the backend cannot run the case."""
    if concern == "gradient":
        observation = observe_gradient(backend, case)
        return observation, None if observation.unsupported else compare_gradient(observation)
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


def pytest_addoption(parser):
    group = parser.getgroup("pooling-conformance")
    group.addoption("--backend", default=None, metavar="SPEC",
                    help="backend under test: a built-in name or package.module:attribute "
                         "(default: $POOLING_CONFORMANCE_BACKEND or torch)")
    group.addoption("--deviations", default=None, metavar="FILE",
                    help="known-deviation registry (TOML) to apply to the backend under test")
    group.addoption("--conformance-json", default=None, metavar="PATH",
                    help="write this run's results as JSON (the report is rendered from it)")
    group.addoption("--isolate", action="store_true",
                    help="run backend calls in a worker process: a crash or a hang becomes a "
                         "finding on that case instead of ending the run")
    group.addoption("--call-timeout", type=float, default=10.0, metavar="SECONDS",
                    help="with --isolate, the longest a backend call may take (default 10)")


def pytest_configure(config):
    if not config.getoption("hypothesis_profile", None):
        settings.load_profile(profiles.default_profile())
    spec = backend_spec(config.getoption("--backend"))
    try:
        backend = load_backend(spec)
        if config.getoption("--isolate"):
            backend = IsolatedBackend(backend, config.getoption("--call-timeout"))
        registry_file = config.getoption("--deviations") or builtin_deviations_file(spec)
        version = getattr(backend, "version", None)
        registry = Registry.load(registry_file, version) if registry_file else Registry()
    except (BackendError, RegistryError) as error:
        raise pytest.UsageError(str(error)) from None
    config.pooling_suite = Suite(backend, spec, registry)
    config.pooling_started = time.time()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistMerging(config), "pooling-conformance-xdist")


class _XdistMerging:
    """Under pytest-xdist each worker keeps its own results; the controller merges them into
    the one document the report is rendered from."""

    def __init__(self, config):
        self.worker_input = getattr(config, "workerinput", None)
        if self.worker_input is None:
            self.directory = tempfile.mkdtemp(prefix="pooling-conformance-")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        node.workerinput["pooling_results_directory"] = self.directory

    def worker_results_path(self) -> str | None:
        if self.worker_input is None:
            return None
        return os.path.join(self.worker_input["pooling_results_directory"],
                            f"{self.worker_input['workerid']}.json")

    def merged_with_workers(self, own: dict) -> dict:
        documents = [own] + [json.loads(Path(path).read_text())
                             for path in sorted(Path(self.directory).glob("*.json"))]
        return merge(documents)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    suite = getattr(config, "pooling_suite", None)
    if suite is None:
        return
    for error in suite.results.errors:
        if error["test"] == "registry":
            terminalreporter.write_line(f"STALE: {error['error']}", red=True)


@pytest.fixture(scope="session")
def conformance(request) -> Suite:
    return request.config.pooling_suite


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    suite = getattr(item.config, "pooling_suite", None)
    if suite is None or call.excinfo is None or call.when != "call":
        return
    failures = _conformance_failures(call.excinfo.value)
    for failure in failures:
        suite.results.record_shrunk(failure.property_name, failure.case, failure.mismatch,
                                    failure.status, failure.key, failure.features)
    report = outcome.get_result()
    if report.failed and not failures:
        suite.results.errors.append({"test": item.nodeid, "error": str(call.excinfo.value)[:2000]})


def _conformance_failures(error) -> list[ConformanceFailure]:
    if isinstance(error, ConformanceFailure):
        return [error]
    if isinstance(error, BaseExceptionGroup):
        return [f for e in error.exceptions for f in _conformance_failures(e)]
    return []


def pytest_sessionfinish(session, exitstatus):
    suite = getattr(session.config, "pooling_suite", None)
    if suite is None:
        return
    xdist = session.config.pluginmanager.get_plugin("pooling-conformance-xdist")
    if xdist is not None and xdist.worker_results_path():
        save(suite.results.to_json(), xdist.worker_results_path())
        return
    if xdist is not None:
        suite.results.load_merged(xdist.merged_with_workers(suite.results.to_json()))
    # A non-strict entry cannot be judged case by case, and a random draw may hit only the
    # cases it spares, so its staleness is flagged (terminal and report), not failed.
    for deviation in suite.results.stale_after_run(suite.registry):
        suite.results.errors.append({"test": "registry", "error": (
            f"registered deviation {deviation.id} ({suite.registry.source}) matched cases in "
            f"this run but none deviated: it may be fixed, or its signature is too wide"
        )})
    path = session.config.getoption("--conformance-json", None)
    if not path:
        return
    document = suite.results.to_json()
    document["metadata"] = run_metadata(session.config, suite)
    save(document, path)


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _portable_path(path: str | None) -> str | None:
    """A registry inside the suite's own tree as a relative path, so that reports from two
    checkouts of one commit are identical; any other path as given."""
    if not path:
        return path
    root = Path(__file__).resolve().parent.parent
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_metadata(config, suite: Suite) -> dict:
    current = settings()
    return {
        "suite_version": _distribution_version("pooling-conformance"),
        "suite_commit": _git_commit() or "unknown",
        "numpy": _distribution_version("numpy"),
        "hypothesis": _distribution_version("hypothesis"),
        "processor": platform.processor() or platform.machine(),
        "backend": suite.backend_name,
        "backend_spec": suite.spec,
        "backend_version": getattr(suite.backend, "version", "unknown"),
        "deviations_file": _portable_path(suite.registry.source),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hypothesis_profile": current._current_profile if hasattr(current, "_current_profile")
        else settings._current_profile,
        "max_examples": current.max_examples,
        "derandomize": current.derandomize,
        "seed": config.getoption("hypothesis_seed", None),
        "wall_seconds": round(time.time() - config.pooling_started, 1),
    }
