"""The findings of the committed reports (reports/<backend>.json), looked up by id.

A finding's id is its deviation id (or `new:<property>`); a fault's (results["faults"]) is its
`id`. One id may name a finding of several backends (torch and torch-nn share a registry):
`BACKEND:ID` or `--backend` picks one.
"""

from __future__ import annotations

import json
from pathlib import Path

REPORTS = Path(__file__).parent


class FindingNotFound(LookupError):
    pass


def load_reports(directory: Path = REPORTS) -> dict[str, dict]:
    """backend name -> its results JSON, for every report JSON in `directory`."""
    reports = {}
    for path in sorted(Path(directory).glob("*.json")):
        results = json.loads(path.read_text())
        if isinstance(results, dict) and "metadata" in results:
            reports[results["metadata"].get("backend_spec", path.stem)] = results
    return reports


def findings_of(results: dict) -> list[dict]:
    """A report's findings and faults, each with a `key`."""
    faults = [{"message": f"{fault['kind']}: {fault.get('detail', '')}", **fault,
               "key": fault["id"], "status": fault.get("status", "new"),
               "concern": fault.get("concern", fault["kind"])}
              for fault in results.get("faults", [])]
    return list(results.get("findings", [])) + faults


def find(identifier: str, reports: dict[str, dict], backend: str | None = None):
    """(backend, results, finding) for `identifier` (`ID` or `BACKEND:ID`)."""
    if backend is None and ":" in identifier and identifier.split(":", 1)[0] in reports:
        backend, identifier = identifier.split(":", 1)
    if backend is not None and backend not in reports:
        raise FindingNotFound(f"no committed report for backend {backend!r}; reports: "
                              f"{', '.join(reports)}")
    matches = [(name, results, finding) for name, results in reports.items()
               if backend in (None, name) for finding in findings_of(results)
               if finding["key"] == identifier]
    if not matches:
        raise FindingNotFound(f"no finding {identifier!r} in the reports"
                              f"{'' if backend is None else f' of {backend}'}; "
                              f"`pooling-conformance repro --list` lists them")
    matches.sort(key=lambda match: (len(match[0]), match[0]))  # torch before torch-nn
    return matches[0], [name for name, _, _ in matches[1:]]


def version_of(results: dict) -> str:
    metadata = results["metadata"]
    return f"{metadata['backend']} {metadata['backend_version']}"
