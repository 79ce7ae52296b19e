"""The pytest plugin: chooses the backend and registry, runs cases, and records what it found.

Options: --backend SPEC, --deviations FILE, --conformance-json PATH, --isolate with
--call-timeout and --memory-limit, --budget SECONDS; the Hypothesis profile comes from
Hypothesis' own --hypothesis-profile or POOLING_CONFORMANCE_PROFILE.

A test that met a fault (conformance.runner.suite) fails with the faults it met; one that only
met quarantined calls, or started after the budget was spent, is skipped and recorded. SIGTERM
ends the run as Ctrl-C does, so the results measured so far are still written; and every few
seconds the --conformance-json file is written as it stands, marked incomplete, so that a run
that dies without finishing (killed past its grace, a signal landing mid-teardown) still leaves
what it measured.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.errors import InvalidArgument

from conformance.runner.loading import (
    BackendError, backend_spec, builtin_deviations_file, load_backend,
)
from conformance.engine.deviations import Registry, RegistryError, registry_audit
from conformance.runner import profiles
from conformance.runner.faults import NotRun, Quarantined
from conformance.runner.isolation import DEFAULT_MEMORY_LIMIT_MIB, IsolatedBackend
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
    group.addoption("--memory-limit", type=int, default=DEFAULT_MEMORY_LIMIT_MIB, metavar="MIB",
                    help="with --isolate, the address space a worker may add to what it started "
                         f"with; 0: unlimited (default {DEFAULT_MEMORY_LIMIT_MIB})")
    group.addoption("--budget", type=float, default=None, metavar="SECONDS",
                    help="stop calling the backend after SECONDS; what remains is reported "
                         "as not run (default: no budget)")


def pytest_configure(config):
    try:
        if not config.getoption("hypothesis_profile", None):
            settings.load_profile(profiles.default_profile())
    except InvalidArgument as error:
        raise pytest.UsageError(f"{error} (set by ${profiles.PROFILE_VARIABLE})") from None
    budget, timeout = config.getoption("--budget"), config.getoption("--call-timeout")
    for option, value in (("--budget", budget), ("--call-timeout", timeout),
                          ("--memory-limit", config.getoption("--memory-limit"))):
        if value is not None and value < 0:
            raise pytest.UsageError(f"{option} must not be negative, got {value:g}")
    spec = backend_spec(config.getoption("--backend"))
    try:
        backend = load_backend(spec)
        if config.getoption("--isolate"):
            backend = IsolatedBackend(backend, timeout, config.getoption("--memory-limit") or None)
        registry_file = config.getoption("--deviations") or builtin_deviations_file(spec)
        version = getattr(backend, "version", None)
        registry = Registry.load(registry_file, version) if registry_file else Registry()
    except (BackendError, RegistryError) as error:
        raise pytest.UsageError(str(error)) from None
    deadline = None if budget is None else time.monotonic() + budget
    config.pooling_suite = Suite(backend, spec, registry, deadline)
    config.pooling_started = time.time()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistMerging(config), "pooling-conformance-xdist")


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")


def pytest_runtest_setup(item):
    suite = getattr(item.config, "pooling_suite", None)
    if suite is None:
        return
    suite.current_property, suite.faults_met, suite.withheld, suite.excused = item.name, [], 0, 0
    if suite.out_of_budget:
        params = getattr(item, "callspec", None)
        suite.results.not_run.append({"test": item.nodeid,
                                      "op": params.params.get("op_name") if params else None})
        pytest.skip("not run: the run's budget is spent")


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

    def pytest_unconfigure(self, config):
        if self.worker_input is None:
            shutil.rmtree(self.directory, ignore_errors=True)

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
    if suite is None or call.when != "call":
        return
    report = outcome.get_result()
    error = call.excinfo.value if call.excinfo is not None else None
    failures = _conformance_failures(error)
    for failure in failures:
        suite.results.record_shrunk(failure.property_name, failure.case, failure.mismatch,
                                    failure.status, failure.key, failure.features)
    if suite.faults_met:
        faults = [suite.results.faults[fault_id] for fault_id in dict.fromkeys(suite.faults_met)]
        lines = [f"{fault['kind']} in {fault['op']}: {fault['detail']}; case: {fault['call']} "
                 f"with x of shape {tuple(fault['input_shape'])} and dtype {fault['dtype']}"
                 for fault in faults]
        if failures:
            lines.append(str(report.longrepr))
        report.outcome, report.longrepr = "failed", "\n".join(lines)
    elif error is not None and (suite.withheld or suite.excused) and _not_called(error):
        # Only quarantined or budget-cut calls, or cases the backend cannot run or is known to
        # deviate on: nothing the backend did in this test to report.
        report.outcome = "skipped"
        reason = (f"every case drawn ({suite.excused}) was unsupported by the backend or inside a "
                  f"registered deviation" if suite.excused and not suite.withheld else str(error))
        report.longrepr = (str(item.path), item.location[1] or 0, f"not judged: {reason}")
    elif report.failed and not failures:
        suite.results.errors.append({"test": item.nodeid, "error": str(error)[:2000]})


def _not_called(error) -> bool:
    """A test that failed because calls were not made: Quarantined or NotRun, or Hypothesis
    finding no example left to run (every draw rejected)."""
    if isinstance(error, (Quarantined, NotRun)):
        return True
    if isinstance(error, BaseExceptionGroup):
        return all(_not_called(e) for e in error.exceptions)
    return type(error).__name__ == "Unsatisfiable"


def _conformance_failures(error) -> list[ConformanceFailure]:
    if error is None:
        return []
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
        save(suite.results_json(), xdist.worker_results_path())
        return
    if xdist is not None:
        suite.results.load_merged(xdist.merged_with_workers(suite.results_json()))
    # A non-strict entry cannot be judged case by case, and a random draw may hit only the
    # cases it spares, so its staleness is flagged (terminal and report), not failed.
    for deviation in suite.results.stale_after_run(suite.registry):
        suite.results.errors.append({"test": "registry", "error": (
            f"registered deviation {deviation.id} ({suite.registry.source}) matched cases in "
            f"this run but none deviated: it may be fixed, or its signature is too wide"
        )})
    path = session.config.getoption("--conformance-json", None)
    if path:
        incomplete = "interrupted" if exitstatus == pytest.ExitCode.INTERRUPTED else None
        save(_results_document(session.config, suite, incomplete), path)


CHECKPOINT_SECONDS = 5.0


def pytest_runtest_teardown(item):
    """Write the results so far, at most every CHECKPOINT_SECONDS (the last write of a finished
    run is pytest_sessionfinish's). Under pytest-xdist the controller merges at the end."""
    config = item.config
    suite, path = getattr(config, "pooling_suite", None), config.getoption("--conformance-json")
    if suite is None or not path or hasattr(config, "workerinput"):
        return
    now = time.monotonic()
    if now - getattr(config, "pooling_checkpointed", 0.0) >= CHECKPOINT_SECONDS:
        save(_results_document(config, suite, "the run ended before it finished: these are the "
                                              "results written at its last checkpoint"), path)
        config.pooling_checkpointed = now


def _results_document(config, suite: Suite, incomplete: str | None) -> dict:
    document = suite.results_json()
    document["registry_audit"] = registry_audit(suite.registry, document["deviation_cases"])
    document["metadata"] = run_metadata(config, suite)
    if suite.out_of_budget:
        document["metadata"]["budget_spent"] = config.getoption("--budget")
    if incomplete:
        document["metadata"]["incomplete"] = incomplete
    return document


