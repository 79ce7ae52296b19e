"""The cross-backend matrix (reports/matrix.md): op x backend, each cell naming what it found.

Rendered from the backends' results JSONs alone (`render_matrix(runs)`, `pooling-conformance
matrix --from-json`), so it can be regenerated without running a backend. A cell is the worst
verdict over the op's checks (forward, or the gradient column), with a short id per deviation
(D1, D2, ...) that links to the deviation's section in that backend's report; one table per op
family keeps it narrow enough for GitHub; a heatmap (matrix.svg / matrix.png, matplotlib) shows
the whole at a glance.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import reference
from conformance.runner.results import OUTCOMES, worst
from reports.bug_report import registry_entry
from reports.findings import findings_of
from reports.markdown import dtype_gaps

# Each verdict: the cell's text, its heatmap colour, its name in counts, the legend's words.
VERDICTS = {
    "new": ("**NEW**", "#d62728", "new", "new failure (unregistered deviation)"),
    "crash": ("**CRASH**", "#7b0000", "crash", "crash (the call killed its process)"),
    "hang": ("**HANG**", "#9c2b8f", "hang", "hang (the call outran its time limit)"),
    "out_of_memory": ("**OOM**", "#9c2b8f", "out of memory", "out of memory"),
    "wrong_result_type": ("**TYPE**", "#e377c2", "wrong type", "wrong result type"),
    "stale": ("**STALE**", "#ff7f0e", "stale", "stale registry entry (no longer deviates)"),
    "error": ("**ERROR**", "#8c564b", "error", "error outside any case"),
    "known": ("known", "#f2c14e", "known", "known deviation (registered, with its mechanism)"),
    "quarantined": ("quarantined", "#bcbd22", "quarantined", "quarantined after a fault"),
    "not_run": ("not run", "#c7c7c7", "not run", "not run (budget, or no report)"),
    "conforms": ("✓", "#2ca02c", "pass", "pass"),
    "unsupported_dtype": ("✓ (some —)", "#98df8a", "pass (some unsupported)",
                          "pass where run; some dtypes (or parameters) unsupported"),
    "unsupported": ("—", "#ffffff", "unsupported op", "unsupported op"),
    None: ("·", "#f0f0f0", "not drawn", "not drawn"),
}
FAULT_OUTCOMES = {"crash": "crash", "hang": "hang", "out of memory": "out_of_memory",
                  "wrong result type": "wrong_result_type"}
FORWARD, GRADIENT = "forward", "gradient"


def anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def short_ids(runs: dict) -> dict[str, str]:
    """Deviation key -> D1, D2, ... over every backend, in order of first appearance."""
    ids = {}
    for results in runs.values():
        for finding in sorted(findings_of(results), key=lambda f: f["key"]):
            ids.setdefault(finding["key"], f"D{len(ids) + 1}")
    return ids


def cell_outcome(results: dict, op: str, column: str) -> str | None:
    """The worst verdict of `op`'s forward checks (every concern but the gradient) or of its
    gradient checks, faults included."""
    present = Counter()
    for key, counts in results["outcomes"].items():
        name, concern = key.split("|", 1)
        if name == op and (concern == "gradient") == (column == GRADIENT):
            present.update({o: n for o, n in counts.items() if n})
    for fault in results.get("faults", []):
        if fault["op"] == op and (fault.get("concern") == "gradient") == (column == GRADIENT):
            present[FAULT_OUTCOMES.get(fault["kind"], "error")] += 1
    if column == FORWARD and any(error["test"].endswith(f"[{op}]") for error in results["errors"]):
        present["error"] += 1
    verdict = worst(present)
    unsupported = results["unsupported"]
    if verdict is None and (op in unsupported or (column == GRADIENT and "vjp" in unsupported)):
        return "unsupported"
    if verdict == "conforms" and (present["unsupported"] or present["unsupported_dtype"]
                                  or dtype_gaps(results, op, column)):
        return "unsupported_dtype"  # some cases (dtypes, parameters) the backend cannot run
    return verdict


def cell_findings(results: dict, op: str, column: str) -> list[dict]:
    """The findings an op showed in that column: those kept with the op as their smallest
    case, and the registered deviations the op's own checks met (`known_by_op`)."""
    by_key = {f["key"]: f for f in findings_of(results)}
    keys = {key for key, f in by_key.items() if f["op"] == op}
    keys |= {key for key in results.get("known_by_op", {}).get(op, []) if key in by_key}
    return sorted((by_key[key] for key in keys
                   if (by_key[key]["concern"] == "gradient") == (column == GRADIENT)),
                  key=lambda f: f["key"])


def cell_text(name: str, results: dict, op: str, column: str, ids: dict) -> str:
    verdict = cell_outcome(results, op, column)
    links = [f"[{ids[f['key']]}]({name}.md#{anchor(_heading(f))})"
             for f in cell_findings(results, op, column)]
    gaps = dtype_gaps(results, op, column)
    return " ".join([VERDICTS[verdict][0], *links, *([f"(no {', '.join(gaps)})"] if gaps else [])])


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub table without padding (the link targets would pad every cell to the widest)."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _heading(finding: dict) -> str:
    # The report's section heading for a finding (reports.markdown._deviations) or a fault
    # (reports.markdown._faults).
    if finding.get("kind"):
        return f"{finding['key']} ({finding['kind']})"
    return f"{finding['key']} ({finding['status']}, {finding['concern']})"


def summary_line(name: str, results: dict, ids: dict) -> str:
    counts = Counter(cell_outcome(results, op, column) for op in reference.OP_NAMES
                     for column in (FORWARD, GRADIENT))
    verdicts = ", ".join(f"{counts[v]} {VERDICTS[v][2]}" for v in (*OUTCOMES, None) if counts[v])
    found = sorted({ids[f["key"]] for f in findings_of(results)}, key=lambda i: int(i[1:]))
    metadata = results["metadata"]
    whole = f", whole report {metadata['report_seconds']} s" if "report_seconds" in metadata else ""
    return (f"- **[{name}]({name}.md)** {metadata['backend_version']}: {verdicts} (of "
            f"{2 * len(reference.OP_NAMES)} cells: {len(reference.OP_NAMES)} ops, forward and "
            f"gradient); deviations {', '.join(found) or 'none'}. Suite commit "
            f"{metadata['suite_commit']}, profile `{metadata['hypothesis_profile']}`, properties "
            f"{metadata['wall_seconds']} s{whole}.")


def render_matrix(runs: dict, picture: str | None = "matrix.svg") -> str:
    """`runs` maps a backend name to its results JSON or to why it did not run."""
    ran = {name: results for name, results in runs.items() if isinstance(results, dict)}
    ids = short_ids(ran)
    tables = []
    for family in reference.FAMILIES:
        ops = [f"{family}{n}d" for n in (1, 2, 3)]
        header = ["backend", *(f"{op[-2:]}" for op in ops), *(f"{op[-2:]} grad" for op in ops)]
        rows = [[name] + [cell_text(name, results, op, column, ids)
                          for column in (FORWARD, GRADIENT) for op in ops]
                for name, results in ran.items()]
        tables.append(f"### {family}\n\n" + _table(header, rows))
    legend = ", ".join(f"{VERDICTS[v][0]} {VERDICTS[v][3]}" for v in (*OUTCOMES, None))
    deviations = _deviation_legend(ran, ids)
    not_run = [f"- {name}: not run ({why})" for name, why in runs.items()
               if not isinstance(why, dict)]
    return "\n\n".join(filter(None, [
        "# Pooling conformance matrix",
        "Each cell is the worst verdict over the drawn checks of that op on that backend "
        "(forward: shape, dtype, values, indices, invalid arguments; grad: the vector-Jacobian "
        "product), followed by the deviations it showed; each short id links to the "
        "deviation's section in the backend's report and is named below. "
        f"Legend: {legend}.",
        f"![op x backend verdicts]({picture})" if picture else "",
        "## Backends\n\n" + "\n".join([summary_line(n, r, ids) for n, r in ran.items()]
                                       + not_run),
        "## Per op family\n\n" + "\n\n".join(tables),
        "## Deviations\n\n" + deviations,
    ])) + "\n"


def _deviation_legend(ran: dict, ids: dict) -> str:
    rows = {}
    for name, results in ran.items():
        for finding in findings_of(results):
            row = rows.setdefault(finding["key"], [finding, [], results])
            row[1].append(f"[{name}]({name}.md#{anchor(_heading(finding))})")
    lines = []
    for key, (finding, backends, results) in sorted(rows.items(),
                                                    key=lambda item: int(ids[item[0]][1:])):
        entry = registry_entry(results, key)
        what = (" ".join(entry["what"].split()) if entry
                else finding["message"].split("; case:")[0])
        lines.append(f"- **{ids[key]}** `{key}` ({finding['status']}, {finding['concern']}): "
                     f"{what} On: {', '.join(backends)}.")
    return "\n".join(lines) if lines else "None."


def write_heatmap(runs: dict, stem: Path) -> list[Path]:
    """op x backend as coloured cells (forward left half, gradient right half of each cell),
    written as `stem`.svg and `stem`.png."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "pooling-conformance"  # stable ids in the SVG
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    ops = list(reference.OP_NAMES)
    verdicts = {name: {(op, part): cell_outcome(results, op, part) if isinstance(results, dict)
                       else "not_run" for op in ops for part in (FORWARD, GRADIENT)}
                for name, results in runs.items()}
    labels = [name if isinstance(runs[name], dict) else f"{name} (no report)" for name in runs]
    figure, axes = plt.subplots(figsize=(1.0 + 0.55 * len(runs), 1.6 + 0.32 * len(ops)))
    for column, cells in enumerate(verdicts.values()):
        axes.axvline(column, color="#333333", linewidth=1.2)
        for row, op in enumerate(ops):
            for half, part in enumerate((FORWARD, GRADIENT)):
                verdict = cells[(op, part)]
                axes.add_patch(Rectangle((column + 0.5 * half, row), 0.5, 1,
                                         facecolor=VERDICTS[verdict][1], edgecolor="#999999",
                                         linewidth=0.4))
    axes.set_xlim(0, len(runs))
    axes.set_ylim(len(ops), 0)
    axes.set_xticks([i + 0.5 for i in range(len(runs))], labels, rotation=60, ha="right",
                    fontsize=8)
    axes.set_yticks([i + 0.5 for i in range(len(ops))], ops, fontsize=8)
    axes.set_title("verdict per op and backend (each cell: forward | gradient)", fontsize=9)
    shown = {verdict for cells in verdicts.values() for verdict in cells.values()}
    axes.legend(handles=[Patch(facecolor=VERDICTS[v][1], edgecolor="#999999",
                               label=VERDICTS[v][3]) for v in (*OUTCOMES, None) if v in shown],
                loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)
    written = []
    for suffix in (".svg", ".png"):
        path = stem.with_suffix(suffix)
        # No timestamps or random ids: the committed pictures change only with the verdicts.
        figure.savefig(path, dpi=110, bbox_inches="tight",
                       metadata={"Date": None} if suffix == ".svg" else {})
        written.append(path)
    plt.close(figure)
    return written
