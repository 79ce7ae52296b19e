"""The pytest plugin: chooses the backend and registry, runs cases, and records what it found.

Options: --backend SPEC, --deviations FILE, --conformance-json PATH; the Hypothesis profile comes
from Hypothesis' own --hypothesis-profile or POOLING_CONFORMANCE_PROFILE.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import settings

from conformance.backends.loading import (
    BackendError, backend_spec, builtin_deviations_file, load_backend,
)
from conformance.engine.deviations import Registry, RegistryError, registry_audit
from conformance.runner import profiles
from conformance.runner.isolation import IsolatedBackend
from conformance.runner.metadata import run_metadata
from conformance.runner.ordering import quickest_failure_first, self_tests
from conformance.runner.results import merge, save
from conformance.runner.suite import ConformanceFailure, Suite


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


def pytest_collection_modifyitems(session, config, items):
    left_out = self_tests(config, items)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
    quickest_failure_first(items)


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
    document["registry_audit"] = registry_audit(suite.registry, document["deviation_cases"])
    document["metadata"] = run_metadata(session.config, suite)
    save(document, path)


