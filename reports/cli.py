"""`pooling-conformance`: write a backend's conformance report, or list the known backends.

    pooling-conformance report --backend torch -o reports/torch.md
    pooling-conformance backends
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import conformance
from conformance.backend import BackendError, available_backends, load_backend
from conformance.claims import evaluate_claims
from conformance.results import save, write_atomically
from reports.markdown import render

PROPERTIES = Path(conformance.__file__).parent / "properties"


def run_properties(spec: str, deviations: str | None, profile: str, json_path: str) -> int:
    """Run the property suite in a child process, so the report survives whatever it does."""
    command = [sys.executable, "-m", "pytest", str(PROPERTIES), "-p", "no:cacheprovider", "-q",
               f"--hypothesis-profile={profile}", "--backend", spec,
               "--conformance-json", json_path]
    if deviations:
        command += ["--deviations", deviations]
    return subprocess.call(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def report(arguments) -> int:
    try:
        backend = load_backend(arguments.backend)
    except BackendError as error:
        print(f"pooling-conformance: {error}", file=sys.stderr)
        return 2
    output = Path(arguments.output or f"reports/{arguments.backend}.md")
    with tempfile.TemporaryDirectory() as scratch:
        results_path = os.path.join(scratch, "results.json")
        exit_code = run_properties(arguments.backend, arguments.deviations, arguments.profile,
                                   results_path)
        if not os.path.exists(results_path):
            print(f"pooling-conformance: the property run ended (exit {exit_code}) without "
                  f"results; no report written", file=sys.stderr)
            return 1
        results = json.loads(Path(results_path).read_text())
    claims = [asdict(claim) for claim in evaluate_claims(backend)]
    previous = json.loads(Path(arguments.previous).read_text()) if arguments.previous else None
    results["claims"] = claims
    results["metadata"]["pytest_exit_code"] = exit_code
    write_atomically(output, render(results, claims, previous))
    save(results, output.with_suffix(".json"))
    print(f"wrote {output} and {output.with_suffix('.json')} (pytest exit code {exit_code})")
    return 0


def list_backends(_arguments) -> int:
    for name, target in sorted(available_backends().items()):
        print(f"{name:24} {target}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pooling-conformance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    report_parser = commands.add_parser("report", help="run the suite and write a report")
    report_parser.add_argument("--backend", default="torch", metavar="SPEC")
    report_parser.add_argument("-o", "--output", metavar="FILE.md",
                               help="default reports/<backend>.md; the JSON goes beside it")
    report_parser.add_argument("--deviations", metavar="FILE", help="known-deviation registry")
    report_parser.add_argument("--profile", default="ci", choices=["ci", "dev", "thorough"])
    report_parser.add_argument("--previous", metavar="OLD.json",
                               help="an earlier report's JSON: list what is new and what is fixed")
    report_parser.set_defaults(handler=report)
    backends_parser = commands.add_parser("backends", help="list the backends this install knows")
    backends_parser.set_defaults(handler=list_backends)
    arguments = parser.parse_args(argv)
    return arguments.handler(arguments)


if __name__ == "__main__":
    sys.exit(main())
