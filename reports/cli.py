"""`pooling-conformance`: write a backend's conformance report, or list the known backends; print
a finding's native repro from the committed reports.

    pooling-conformance report --backend torch -o reports/torch.md
    pooling-conformance backends
    pooling-conformance repro max-pool-index-of-last-nan --backend torch > repro.py
    pooling-conformance bug-report max-pool-index-of-last-nan > issue.md
    pooling-conformance diff OLD.json NEW.json      # exit 1 where NEW has new findings

A report is always written, whatever the backend does: faults are findings, the run stops calling
the backend when its budget (--budget) is spent, and Ctrl-C or SIGTERM writes what was measured,
marked incomplete. A configuration that cannot run gets one line saying why, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from conformance.runner.loading import (
    BUILTIN_BACKENDS, BackendError, available_backends, builtin_deviations_file, builtin_run_settings,
    load_backend,
)
from conformance.claims.notebook import evaluate_claims
from conformance.engine.deviations import Registry
from conformance.runner.faults import FaultGuard, NotRun, Quarantined, region_features
from conformance.runner.isolation import (
    DEFAULT_MEMORY_LIMIT_MIB, IsolatedBackend, how_it_ended, prepare_forked_worker,
)
from conformance.runner.profiles import CLAIM_EXAMPLES, SEARCH_EXAMPLES
from conformance.engine.regions import case_features
from conformance.runner.results import FAULT_OUTCOMES, Results, save, write_atomically
from conformance.runner.suite import registered_crash
from conformance.runner.shrinking import smallest_known_case
from reports.bug_report import bug_report
from reports.diff import diff, render_text
from reports.findings import FindingNotFound, find, findings_of, load_reports, version_of
from reports.markdown import render
from reports.matrix import render_matrix, write_heatmap
from reports.running import DEFAULT_BUDGET, Interrupted, interrupt, run_properties
from reports.repros import NoNativeRepro, repro_snippet



def shrink_known_findings(backend, arguments, registry: Registry, results: dict,
                          deadline: float) -> None:
    """Replace each known deviation's smallest drawn case with Hypothesis' minimal one, while
    the budget lasts (a finding not reached keeps its smallest drawn case)."""
    for index, finding in enumerate(results["findings"]):
        if finding["status"] != "known" or finding["shrunk"] or time.monotonic() > deadline:
            continue
        concern = finding["property"].split("[", 1)[0]
        try:
            found = smallest_known_case(backend, registry, finding["key"], finding["op"], concern,
                                        SEARCH_EXAMPLES[arguments.profile])
        except Exception as error:  # the drawn example stays; the report must still be written
            print(f"pooling-conformance: could not shrink {finding['key']}: {error!r}",
                  file=sys.stderr)
            continue
        if found is None:
            continue
        shrunk = Results()
        shrunk.record_shrunk(finding["property"], *found, status="known", key=finding["key"],
                             features=case_features(found[0]))
        results["findings"][index] = {**vars(shrunk.findings[finding["key"]]),
                                      "count": finding["count"]}


def guarded(backend, arguments, results: dict, isolate: bool = False,
            on_fault=None) -> FaultGuard:
    """The backend as the property run left it: its faults' regions quarantined, so shrinking
    and the claims meet no fault the run already found; isolated if asked, or if the run saw it
    kill, hang or exhaust a worker (a crash the registry expects too: it is no fault, but the
    process it happens in dies all the same). `on_fault` as FaultGuard's."""
    crashed = (any(fault["region"] for fault in results.get("faults", []))
               or any(finding["concern"] == "crashes" for finding in results.get("findings", [])))
    if arguments.isolate and (isolate or crashed):
        backend = IsolatedBackend(backend, arguments.call_timeout, arguments.memory_limit or None)
    guard = FaultGuard(backend, on_fault)
    for fault in results.get("faults", []):
        if fault["region"]:
            guard.quarantine(fault["op"], fault["id"], fault["region"], fault["kind"])
    return guard


def shrink_and_judge(backend, arguments, results: dict, deadline: float,
                     isolate: bool = False) -> tuple[list, str]:
    """Shrink the known findings (in `results`) and judge the claims; the claims and why none
    were judged where none were. A fault these calls meet that the registry does not expect
    joins the run's faults, as the property run's do."""
    registry_file = arguments.deviations or builtin_deviations_file(arguments.backend)
    registry = (Registry.load(registry_file, getattr(backend, "version", None)) if registry_file
                else Registry())
    met = Results()

    def record(case, fault):
        if registered_crash(registry, case, fault):
            return None
        return met.record_fault("shrinking and claims", case, FAULT_OUTCOMES[fault.kind],
                                fault.detail, region_features(case))

    guard = guarded(backend, arguments, results, isolate, record)
    try:
        if registry_file:  # without a registry no finding is known
            shrink_known_findings(guard, arguments, registry, results, deadline)
        return judge_claims(guard, arguments, deadline)
    finally:
        guard.close()
        known = {fault["id"] for fault in results.get("faults", [])}
        for fault in met.to_json()["faults"]:
            if fault["id"] not in known:
                results.setdefault("faults", []).append(
                    {**fault, "region": guard.region(fault["id"]) or fault["region"]})


def _shrink_and_judge_in_child(connection, parent_pid, backend, arguments, results,
                               deadline) -> None:
    prepare_forked_worker(parent_pid)
    claims, not_judged = shrink_and_judge(backend, arguments, results, deadline)
    connection.send((results["findings"], results.get("faults", []), claims, not_judged))
    connection.close()
    os._exit(0)  # nothing of the parent's (pytest's, the frameworks') to clean up here


def after_the_properties(backend, arguments, results: dict, deadline: float) -> tuple[list, str]:
    """Shrinking and the claims call the backend thousands of times: in a forked child of this
    process, as fast as here (an isolated worker's round trips would double their CPU time). A
    backend that kills the child (TF's SIGFPE on some empty outputs, XLA's aborts) costs a second
    pass with every call isolated, not the report."""
    if not arguments.isolate or "fork" not in multiprocessing.get_all_start_methods():
        return shrink_and_judge(backend, arguments, results, deadline)
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_shrink_and_judge_in_child,
                            args=(sending, os.getpid(), backend, arguments, results, deadline))
    # Not a daemon: a daemonic process may not start the isolated workers it needs after a crash.
    # It dies with this process all the same (prepare_forked_worker).
    child.start()
    sending.close()
    try:
        outcome = receiving.recv()
    except EOFError:  # it died before sending
        outcome = None
    finally:
        child.join(timeout=5)
        if child.is_alive():  # interrupted while waiting: it must not outlive the report
            child.kill()
            child.join()
    if outcome is not None:
        results["findings"], results["faults"], claims, not_judged = outcome
        return claims, not_judged
    print(f"pooling-conformance: shrinking and the claims died ({how_it_ended(child.exitcode)}); "
          f"again, each call in an isolated worker", file=sys.stderr)
    return shrink_and_judge(backend, arguments, results, deadline, isolate=True)


def judge_claims(backend, arguments, deadline: float) -> tuple[list, str]:
    """The notebook's claims, and why none were judged where none were."""
    if arguments.select:  # a selected run is a partial one: claims are judged on full runs
        return [], "this run selected only some properties"
    if time.monotonic() > deadline:
        return [], "the run's budget was spent"
    try:
        claims = [asdict(claim) for claim in evaluate_claims(
            backend, CLAIM_EXAMPLES[arguments.profile])]
    except Exception as error:  # the claims are one section: the report is still written
        return [], f"judging them failed: {type(error).__name__}: {error}"
    for claim in claims:
        # A claim whose call was not made (quarantined after a fault) says nothing either way;
        # the claims see the refusal as any exception, so it is recognised by its name.
        if any(name in claim["evidence"] for name in (Quarantined.__name__, NotRun.__name__)):
            claim["verdict"] = "NOT JUDGED"
    return claims, ""


def report(arguments) -> int:
    try:
        backend = load_backend(arguments.backend)
    except BackendError as error:
        print(f"pooling-conformance: {error}", file=sys.stderr)
        return 2
    profile, call_timeout = builtin_run_settings(arguments.backend)
    if arguments.profile is None:
        arguments.profile = profile
    if arguments.call_timeout is None:
        arguments.call_timeout = call_timeout
    started = time.perf_counter()
    deadline = time.monotonic() + arguments.budget
    output = Path(arguments.output or f"reports/{arguments.backend}.md")
    # Beside the report, not in a temporary directory: after Ctrl-C it is what remains.
    partial = output.with_name(f".{output.stem}.partial.json")
    interrupted = None
    try:
        exit_code = run_properties(arguments.backend, arguments.deviations, arguments.profile,
                                   str(partial), arguments.select, arguments.isolate,
                                   arguments.call_timeout, arguments.budget,
                                   arguments.memory_limit)
    except Interrupted as signalled:
        interrupted, exit_code = str(signalled), None
    if not partial.exists():
        print(f"pooling-conformance: the property run ended ({interrupted or f'exit {exit_code}'})"
              f" without results; {output} is unchanged", file=sys.stderr)
        return 130 if interrupted else 1
    results = json.loads(partial.read_text())
    metadata = results["metadata"]
    if interrupted:
        metadata["incomplete"] = f"interrupted by {interrupted}"
        claims = []
        results["claims_not_judged"] = "the run was interrupted"
    else:
        # The run's own mark (interrupted past its budget, or dead after a checkpoint) stays.
        unfinished = metadata.pop("incomplete", None)
        # What the properties measured, in case this process dies shrinking or judging claims.
        results["claims"] = []
        metadata["incomplete"] = unfinished or "ended while shrinking and judging claims"
        write_atomically(output, render(results, [], None))
        del metadata["incomplete"]
        if unfinished:
            metadata["incomplete"] = unfinished
        try:
            claims, results["claims_not_judged"] = after_the_properties(
                backend, arguments, results, deadline)
        except Interrupted as signalled:
            metadata["incomplete"] = f"interrupted by {signalled} (after the properties)"
            claims, results["claims_not_judged"] = [], "the run was interrupted"
    previous = json.loads(Path(arguments.previous).read_text()) if arguments.previous else None
    results["claims"] = claims
    metadata["pytest_exit_code"] = exit_code
    metadata["budget_seconds"] = arguments.budget
    # Properties, shrinking the known deviations' cases, and the claims: what a user waits for.
    metadata["report_seconds"] = round(time.perf_counter() - started)
    write_atomically(output, render(results, claims, previous))
    save(results, output.with_suffix(".json"))
    partial.unlink()
    state = f"INCOMPLETE ({metadata['incomplete']}): " if "incomplete" in metadata else ""
    print(f"{state}wrote {output} and {output.with_suffix('.json')} (pytest exit code {exit_code})")
    return 130 if "incomplete" in metadata else 0


def matrix(arguments) -> int:
    """Report every built-in backend that imports here, then the matrix across them."""
    output = Path(arguments.output)
    runs = {}
    chosen = arguments.backends.split(",") if arguments.backends else [
        name for name in BUILTIN_BACKENDS if name != "reference"]
    unknown = [name for name in chosen if name not in BUILTIN_BACKENDS]
    if unknown:
        print(f"pooling-conformance: unknown built-in backends {unknown}; known: "
              f"{', '.join(BUILTIN_BACKENDS)}", file=sys.stderr)
        return 2
    for name in chosen:
        written = output.parent / f"{name}.json"
        if arguments.from_json:
            runs[name] = (json.loads(written.read_text()) if written.exists()
                          else f"no {written.name}")
            continue
        if arguments.reuse and written.exists():
            runs[name] = json.loads(written.read_text())
            print(f"reusing {written} (suite commit {runs[name]['metadata']['suite_commit']})")
            continue
        try:
            load_backend(name)
        except BackendError as error:
            runs[name] = str(error).split(";")[0]
            continue
        profile, call_timeout = builtin_run_settings(name, arguments.profile)
        backend_arguments = argparse.Namespace(
            backend=name, output=str(output.parent / f"{name}.md"), deviations=None,
            profile=profile, previous=None, select=None, isolate=True, call_timeout=call_timeout,
            budget=arguments.budget, memory_limit=arguments.memory_limit,
        )
        try:
            status = report(backend_arguments)
        except Exception as error:  # one backend's run dying must not cost the others'
            status, runs[name] = 1, f"its run failed: {type(error).__name__}: {error}"
        if status in (0, 130) and (output.parent / f"{name}.json").exists():
            runs[name] = json.loads((output.parent / f"{name}.json").read_text())
        elif status != 130:
            runs.setdefault(name, "its report could not be written")
        if status == 130:  # interrupted: the matrix of what ran, then stop
            write_matrix(output, runs)
            print(f"interrupted: wrote {output} with the backends reported so far")
            return 130
    write_matrix(output, runs)
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _mebibytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of MiB, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _add_limits(parser, whose: str = "") -> None:
    parser.add_argument("--budget", type=_seconds, default=DEFAULT_BUDGET, metavar="SECONDS",
                        help=f"the report's time{whose}: past it the backend is no longer called "
                             f"and what remains is reported as not run (default {DEFAULT_BUDGET:g})")
    parser.add_argument("--memory-limit", type=_mebibytes, default=DEFAULT_MEMORY_LIMIT_MIB,
                        metavar="MIB", help="address space an isolated worker may add to what "
                                            f"it started with; 0: unlimited (default "
                                            f"{DEFAULT_MEMORY_LIMIT_MIB})")


def write_matrix(output: Path, runs: dict) -> None:
    """reports/matrix.md and, where matplotlib is installed, its heatmap beside it."""
    try:
        pictures = write_heatmap(runs, output.with_suffix(""))
    except ImportError:
        print("pooling-conformance: no heatmap (it needs matplotlib: the `pictures` extra)",
              file=sys.stderr)
        pictures = []
    write_atomically(output, render_matrix(runs, pictures[0].name if pictures else None))
    print(f"wrote {output}{''.join(f', {p}' for p in pictures)}")


def list_backends(_arguments) -> int:
    for name, target in sorted(available_backends().items()):
        print(f"{name:24} {target}")
    return 0


def _finding(arguments):
    """The (backend, results, finding) an ID names in the committed reports; None, after one
    error line, where it names none."""
    try:
        (backend, results, finding), others = find(arguments.id, load_reports(arguments.reports),
                                                   arguments.backend)
    except FindingNotFound as error:
        print(f"pooling-conformance: {error}", file=sys.stderr)
        return None
    if others:
        print(f"pooling-conformance: {arguments.id} is also a finding of {', '.join(others)}; "
              f"showing {backend} (choose with --backend)", file=sys.stderr)
    return backend, results, finding


def repro(arguments) -> int:
    """Print a finding's standalone repro (or, with --list, every finding's id)."""
    if arguments.list:
        for backend, results in load_reports(arguments.reports).items():
            for finding in findings_of(results):
                print(f"{backend}:{finding['key']}  ({finding['status']}, {finding['concern']}, "
                      f"{finding['op']})")
        return 0
    if arguments.id is None:
        print("pooling-conformance: repro needs a finding ID (or --list)", file=sys.stderr)
        return 2
    found = _finding(arguments)
    if found is None:
        return 2
    backend, results, finding = found
    try:
        print(repro_snippet(finding, backend, version_of(results)), end="")
    except NoNativeRepro as error:
        print(f"pooling-conformance: {error}", file=sys.stderr)
        return 2
    return 0


def write_bug_report(arguments) -> int:
    """Print a finding as markdown issue text for the framework's tracker."""
    if arguments.id is None:
        print("pooling-conformance: bug-report needs a finding ID", file=sys.stderr)
        return 2
    found = _finding(arguments)
    if found is None:
        return 2
    print(bug_report(*found, load_reports(arguments.reports)), end="")
    return 0


def diff_runs(arguments) -> int:
    """List new, fixed and changed findings between two results JSONs; exit 1 on new ones."""
    documents = []
    for path in (arguments.old, arguments.new):
        try:
            documents.append(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as error:
            print(f"pooling-conformance: cannot read {path}: {error}", file=sys.stderr)
            return 2
    changes = diff(*documents)
    print(render_text(changes))
    return 1 if changes["new"] else 0


def _finding_arguments(parser) -> None:
    parser.add_argument("id", nargs="?", metavar="ID",
                        help="a finding's id (deviation id, new:<property>, or a fault's id), "
                             "optionally as BACKEND:ID")
    parser.add_argument("--backend", metavar="NAME", help="the backend whose finding it is")
    parser.add_argument("--reports", default=str(Path(__file__).parent), metavar="DIR",
                        help="where the report JSONs are (default: the committed reports)")


class _OneLineErrors(argparse.ArgumentParser):
    """A bad option is one line and exit status 2, as every other bad configuration is."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def main(argv=None) -> int:
    parser = _OneLineErrors(prog="pooling-conformance", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    report_parser = commands.add_parser("report", help="run the suite and write a report")
    report_parser.add_argument("--backend", default="torch", metavar="SPEC")
    report_parser.add_argument("-o", "--output", metavar="FILE.md",
                               help="default reports/<backend>.md; the JSON goes beside it")
    report_parser.add_argument("--deviations", metavar="FILE", help="known-deviation registry")
    report_parser.add_argument("--profile", choices=["ci", "dev", "thorough", "compile"],
                               help="default `compile` for the built-in backends that compile "
                                    "per case, `ci` for any other")
    report_parser.add_argument("--previous", metavar="OLD.json",
                               help="an earlier report's JSON: list what is new and what is fixed")
    report_parser.add_argument("--select", metavar="EXPRESSION",
                               help="only the properties pytest's -k EXPRESSION selects")
    report_parser.add_argument("--no-isolate", dest="isolate", action="store_false",
                               help="call the backend in the suite's own process (faster; a "
                                    "crashing backend then ends the run)")
    report_parser.add_argument("--call-timeout", type=_seconds, metavar="SECONDS",
                               help="the longest one isolated backend call may take (default "
                                    "120 for the built-in backends that compile per case, 10 "
                                    "for any other)")
    _add_limits(report_parser)
    report_parser.set_defaults(handler=report)
    matrix_parser = commands.add_parser("matrix", help="report every installed built-in backend "
                                                      "and write the cross-backend matrix")
    matrix_parser.add_argument("-o", "--output", default="reports/matrix.md", metavar="FILE.md")
    matrix_parser.add_argument("--profile", default="ci", choices=["ci", "dev", "thorough"])
    matrix_parser.add_argument("--backends", metavar="NAME,NAME",
                               help="only these built-in backends (default: every one but "
                                    "`reference`)")
    matrix_parser.add_argument("--reuse", action="store_true",
                               help="take a backend's report as it is where reports/<name>.json "
                                    "exists (resumes an interrupted matrix, or one run in "
                                    "parts); the matrix names each report's suite commit")
    matrix_parser.add_argument("--from-json", action="store_true",
                               help="run nothing: render the matrix and its heatmap from the "
                                    "reports/<name>.json already written")
    _add_limits(matrix_parser, " (each backend's)")
    matrix_parser.set_defaults(handler=matrix)
    backends_parser = commands.add_parser("backends", help="list the backends this install knows")
    backends_parser.set_defaults(handler=list_backends)
    repro_parser = commands.add_parser(
        "repro", help="print a finding's standalone repro in the backend's own framework")
    _finding_arguments(repro_parser)
    repro_parser.add_argument("--list", action="store_true", help="list the findings' ids")
    repro_parser.set_defaults(handler=repro)
    bug_parser = commands.add_parser("bug-report",
                                     help="print a finding as markdown issue text")
    _finding_arguments(bug_parser)
    bug_parser.set_defaults(handler=write_bug_report)
    diff_parser = commands.add_parser(
        "diff", help="new, fixed and changed findings between two results JSONs (exit 1 on new)")
    diff_parser.add_argument("old", metavar="OLD.json")
    diff_parser.add_argument("new", metavar="NEW.json")
    diff_parser.set_defaults(handler=diff_runs)
    arguments = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        return arguments.handler(arguments)
    except Interrupted as signalled:
        print(f"pooling-conformance: interrupted by {signalled}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
