"""A finding as an issue to paste into the framework's tracker: title, versions, the native
repro, actual versus expected, the rule of the definition it contradicts (with the registry's
account of the mechanism where there is one), and what the other committed reports say."""

from __future__ import annotations

import tomllib
from pathlib import Path

from reports.findings import findings_of, version_of
from reports.repros import NoNativeRepro, repro_snippet
from reports.repros.problem import case_of, concern_of, problem_of

REPOSITORY = Path(__file__).resolve().parents[1]


def registry_entry(results: dict, key: str) -> dict | None:
    """The deviation registry's entry for `key`, from the registry the report ran with."""
    registry = results["metadata"].get("deviations_file")
    path = REPOSITORY / registry if registry else None
    if path is None or not path.exists():
        return None
    entries = tomllib.loads(path.read_text()).get("deviation", [])
    return next((entry for entry in entries if entry["id"] == key), None)


def other_backends(backend: str, finding: dict, reports: dict[str, dict]) -> list[str]:
    """One line per other committed report: the same deviation, another one on this op and
    concern, conformance on it, or nothing to say."""
    op, concern = finding["op"], finding["concern"]
    lines = []
    for name, results in reports.items():
        if name == backend:
            continue
        same_op = [f for f in findings_of(results) if f["op"] == op and f["concern"] == concern]
        counts = results.get("outcomes", {}).get(f"{op}|{concern}", {})
        if any(f["key"] == finding["key"] for f in same_op):
            verdict = f"the same deviation (`{finding['key']}`)"
        elif same_op:
            verdict = "deviates otherwise: " + ", ".join(f"`{f['key']}`" for f in same_op)
        elif counts.get("conforms") and not any(counts.get(o) for o in ("known", "new")):
            verdict = f"conforms ({counts['conforms']} {op} {concern} checks)"
        elif op in results.get("unsupported", {}):
            verdict = f"unsupported ({results['unsupported'][op]})"
        else:
            verdict = f"no {concern} check of {op} ran"
        lines.append(f"- {name} ({version_of(results)}): {verdict}")
    return lines


def bug_report(backend: str, results: dict, finding: dict, reports: dict[str, dict]) -> str:
    metadata = results["metadata"]
    entry = registry_entry(results, finding["key"])
    summary = (" ".join(entry["what"].split()).split(". ")[0].rstrip(".") if entry
               else finding["message"].split(";")[0])
    problem = problem_of(case_of(finding), concern_of(finding), finding.get("regions", ()))
    try:
        repro = ("```python\n" + repro_snippet(finding, backend, version_of(results)) + "```")
    except NoNativeRepro as error:
        repro = f"(no standalone repro: {error})"
    versions = [f"- {metadata['backend']} {metadata['backend_version']}",
                f"- Python {metadata.get('python', '?')}, NumPy {metadata.get('numpy', '?')}, "
                f"{metadata.get('platform', '?')}",
                f"- found by pooling-conformance {metadata.get('suite_version', '?')} (commit "
                f"{metadata.get('suite_commit', '?')}), property `{finding['property']}`"]
    comparison = [f"> {finding['message']}"]
    if finding.get("expected") or finding.get("actual"):
        comparison += ["", "Around the first difference, expected then actual:", "", "```text",
                       finding.get("expected", ""), "---", finding.get("actual", ""), "```"]
    contradicts = [f"Expected by the definition: {problem.rule}."]
    if entry:
        contradicts += ["", " ".join(entry["why"].split()),
                        *([""] + [f"- {link}" for link in entry.get("links", [])])]
    return "\n".join([
        f"# {finding['op']}: {summary} ({metadata['backend']} {metadata['backend_version']})",
        "", "## Versions", "", *versions,
        "", "## Repro", "", "Runs with only the framework installed; it fails with an "
        "AssertionError where the bug is.", "", repro,
        "", "## Actual versus expected", "", *comparison,
        "", "## What it contradicts", "", *contradicts,
        "", "## Other backends (from the committed reports)", "",
        *other_backends(backend, finding, reports), "",
    ])
