"""Rendering a run's results (conformance.runner.results JSON) as a GitHub-flavoured markdown report."""

from __future__ import annotations

from collections import Counter

from tabulate import tabulate

import reference
from conformance.engine.ops import OPS
from conformance.engine.regions import REGIONS
from conformance.engine.regions.catalogue import DIALECT_REGIONS, region_applies
from conformance.runner.results import MATRIX_FEATURES, VALIDITY_CLASSES, worst
from reports.dialect_repros import dialect_repro
from reports.dialect_summary import dialect_summary, report_ops
from reports.repros import NoNativeRepro, repro_snippet

VERDICT_TEXT = {
    "crash": "**crashes**",
    "hang": "**hangs**",
    "out_of_memory": "**out of memory**",
    "wrong_result_type": "**wrong result type**",
    "quarantined": "quarantined (not called after a fault)",
    "not_run": "not run (budget)",
    "conforms": "conforms",
    "known": "deviates (known)",
    "new": "**deviates (new)**",
    "stale": "**stale deviation**",
    "unsupported": "unsupported",
    "unsupported_dtype": "dtype unsupported",
    "error": "**error**",
    None: "not drawn",
}
CELL_TEXT = {"conforms": "✓", "known": "known", "new": "**NEW**", "stale": "**STALE**",
             "unsupported": "—", "unsupported_dtype": "— dtype", "error": "**ERROR**",
             "crash": "**CRASH**", "hang": "**HANG**", "out_of_memory": "**OOM**",
             "wrong_result_type": "**TYPE**", "quarantined": "quarantined", "not_run": "not run",
             None: "·"}


def dtype_gaps(results: dict, op: str, phase: str = "forward") -> list[str]:
    """The dtypes the backend cannot run `op` in (results.with_dtype_gaps)."""
    return results.get("unsupported_dtypes", {}).get(f"{op}|{phase}", [])


def with_gaps(text: str, gaps: list[str]) -> str:
    """A worst verdict, and the dtypes it does not judge: "known" must not hide them."""
    return f"{text}; no {', '.join(gaps)}" if gaps else text


def _split(mapping: dict) -> dict:
    return {tuple(key.split("|", 1)): Counter(value) for key, value in mapping.items()}


def render(results: dict, claims: list[dict], previous: dict | None = None) -> str:
    outcomes, matrix = _split(results["outcomes"]), _split(results["matrix"])
    metadata = results["metadata"]
    sections = [
        f"# Pooling conformance report: {metadata['backend']} {metadata['backend_version']}",
        dialect_summary(results),
        _headline(results, outcomes),
        "## Summary per op\n\n" + _summary(results, outcomes),
        "## Faults\n\n" + _faults(results),
        "## Op x feature\n\n" + _matrix(results, matrix),
        "## Gradients\n\n" + _gradients(results, outcomes),
        "## The course notebook's claims\n\n" + _claims(claims, results),
        "## Deviations\n\n" + _deviations(results),
        "## Invalid arguments\n\n" + _validity(results),
        "## Errors and flagged registry entries\n\n" + _errors(results),
        "## Coverage\n\n" + _coverage(results),
        "## Run\n\n" + _metadata(metadata),
    ]
    if previous is not None:
        sections.insert(-1, "## Since the previous report\n\n" + _diff(previous, results))
    return "\n\n".join(sections) + "\n"


def _headline(results, outcomes) -> str:
    totals = Counter()
    for counter in outcomes.values():
        totals.update(counter)
    new = sum(1 for f in results["findings"] if f["status"] in ("new", "stale"))
    ran = {op for (op, _), counter in outcomes.items() if counter["conforms"] + counter["known"]}
    unsupported = [op for op in results["unsupported"] if op not in ran]
    metadata = results["metadata"]
    incomplete = (f"**Incomplete: {metadata['incomplete']}.** This report shows what was "
                  f"measured before.\n\n" if metadata.get("incomplete") else "")
    budget = (f" The run's budget ({metadata['budget_spent']:g} s) was spent: "
              f"{totals['not_run']} case checks and {len(results.get('not_run', []))} tests "
              f"were not run." if metadata.get("budget_spent") else "")
    return incomplete + (
        f"{totals['conforms']} case checks conform, {totals['known']} deviate as registered, "
        f"{new} findings are new or stale, {len(results.get('faults', []))} faults (crashes, "
        f"hangs, out of memory, wrong result types; "
        f"{sum(f['quarantined'] for f in results.get('faults', []))} calls quarantined after "
        f"them), {len(unsupported)} ops are unsupported, "
        f"{len(results.get('unsupported_dtypes', {}))} ops (forward or gradient) lack some "
        f"dtypes, {len(results['errors'])} errors.{budget} Legend: ✓ conforms, known = "
        f"registered deviation, **NEW** = unregistered deviation, **CRASH** / **HANG** / "
        f"**OOM** / **TYPE** = a fault, — = unsupported, — dtype = the backend cannot run that "
        f"dtype, · = not drawn."
    )


def _summary(results, outcomes) -> str:
    rows = []
    for op in report_ops(results):
        counters = {concern: c for (name, concern), c in outcomes.items() if name == op}
        if op in results["unsupported"] and not any(
                c["conforms"] + c["known"] + c["new"] for c in counters.values()):
            rows.append([op, VERDICT_TEXT["unsupported"], results["unsupported"][op], "", ""])
            continue
        verdict = worst([o for c in counters.values() for o, n in c.items() if n]
                        + [f["status"] for f in results.get("faults", []) if f["op"] == op])
        if any(e["test"].endswith(f"[{op}]") for e in results["errors"]):
            verdict = worst([verdict, "error"])  # a fault stays the worse verdict
        if verdict is None and any(t["op"] == op for t in results.get("not_run", [])):
            verdict = "not_run"
        known = results.get("known_by_op", {}).get(op, [])
        totals = Counter()
        for counter in counters.values():
            totals.update(counter)
        rows.append([op, with_gaps(VERDICT_TEXT[verdict], dtype_gaps(results, op)),
                     ", ".join(known), totals["conforms"], totals["known"] + totals["new"]])
    return tabulate(rows, ["op", "verdict", "known deviations", "checks conforming",
                           "checks deviating"], tablefmt="github")


def _matrix(results, matrix) -> str:
    features = list(MATRIX_FEATURES)
    rows = []
    for op in report_ops(results):
        if op in results["unsupported"] and not any(matrix.get((op, f)) for f in features):
            rows.append([op] + [CELL_TEXT["unsupported"]] * len(features))
            continue
        rows.append([op] + [CELL_TEXT[worst(o for o, n in matrix.get((op, f), {}).items() if n)]
                            for f in features])
    return tabulate(rows, ["op"] + features, tablefmt="github")


def _gradients(results, outcomes) -> str:
    """The backward pass per op: the backend's vjp against the oracle's (the `gradient`
    concern), with the deviations it showed; their repros compute the gradient."""
    gradient = {op: counter for (op, concern), counter in outcomes.items() if concern == "gradient"}
    if not gradient:
        reason = results["unsupported"].get("vjp", "no gradient property ran")
        return f"Not checked: {reason}."
    shown = {}
    for finding in results["findings"]:
        if finding["concern"] == "gradient":
            shown.setdefault(finding["op"], []).append(f"{finding['key']} ({finding['status']})")
    rows = []
    for op in reference.OP_NAMES:
        counter = gradient.get(op, Counter())
        verdict = worst(o for o, n in counter.items() if n)
        if verdict is None and op in results["unsupported"]:
            verdict = "unsupported"
        rows.append([op, with_gaps(VERDICT_TEXT[verdict], dtype_gaps(results, op, "gradient")),
                     counter["conforms"], counter["known"] + counter["new"] + counter["stale"],
                     counter["unsupported"] + counter["unsupported_dtype"],
                     ", ".join(shown.get(op, []))])
    return ("Each case draws an upstream gradient g and compares the backend's vjp(g) with the "
            "oracle's (reference/gradients.py); see the Deviations section for each finding's "
            "repro.\n\n" + tabulate(rows, ["op", "verdict", "checks conforming",
                                         "checks deviating", "cases unsupported",
                                         "smallest findings"], tablefmt="github"))


def _claims(claims, results) -> str:
    if not claims:
        why = results.get("claims_not_judged") or "this run selected only some properties"
        return f"Not judged: {why}."
    rows = [[c["claim"], f"**{c['verdict']}**", c["evidence"]] for c in claims]
    return tabulate(rows, ["claim", "verdict", "evidence"], tablefmt="github")


def repro(finding: dict, metadata: dict) -> str:
    """The finding's native repro (reports.repros), fenced; for a backend no repro writer knows
    (one given as module:attribute), a script that loads it through the suite."""
    try:
        native = dialect_repro(finding, metadata["backend_spec"])
        if native is not None:
            return native
        return "```python\n" + repro_snippet(
            finding, metadata["backend_spec"],
            f"{metadata['backend']} {metadata['backend_version']}") + "```"
    except NoNativeRepro:
        return suite_repro(finding, metadata["backend_spec"])
    except Exception as error:  # one repro the writers get wrong must not cost the report
        return (f"No repro: writing it failed ({type(error).__name__}: {error}), a fault of the "
                f"suite's repro writer, not of the backend.")


def suite_repro(finding: dict, backend_spec: str) -> str:
    """Python that rebuilds the finding's case and prints the backend's result and the
    oracle's: the forward pass, or for a gradient finding the vector-Jacobian product."""
    dtype = finding["dtype"]
    dtype_expression = "ml_dtypes.bfloat16" if dtype == "bfloat16" else f"np.{dtype}"
    op = finding["op"]
    arguments = finding["call"][len(op) + 1:-1]
    lines = [
        "```python",
        "import ml_dtypes, numpy as np",
        "from conformance.runner.loading import load_backend",
        f"x = np.array({finding['input_literal']}, dtype={dtype_expression})"
        f".reshape({tuple(finding['input_shape'])})",
    ]
    if finding.get("grad_output_literal"):
        lines.append(f"g = np.array({finding['grad_output_literal']}, dtype={dtype_expression})"
                     f".reshape({tuple(finding['grad_output_shape'])})")
        call = f"vjp({op!r}, x, g{arguments[1:]})"  # arguments: "x, kernel_size=..."
    else:
        call = f"{op}({arguments})"
    return "\n".join(lines + [
        f"print('backend:', load_backend({backend_spec!r}).{call})",
        f"print('oracle: ', load_backend('reference').{call})",
        "```",
    ])


def _deviations(results) -> str:
    findings = sorted(results["findings"], key=lambda f: (f["status"] != "new", f["key"]))
    if not findings:
        return "None: every drawn case conforms."
    parts = []
    for finding in findings:
        origin = ("Hypothesis' shrunk counterexample" if finding["shrunk"]
                  else "the smallest of the drawn cases")
        parts.append("\n".join([
            f"### {finding['key']} ({finding['status']}, {finding['concern']})",
            "",
            f"{finding['count']} case check(s) in `{finding['property']}` and others; {origin}:",
            "",
            f"> {finding['message']}",
            "",
            f"Regions: {', '.join(finding.get('regions', [])) or 'none'}.",
            "",
            *([
                "Around the first difference, expected (oracle) then actual (backend):",
                "",
                "```text", finding["expected"], "---", finding["actual"], "```",
                "",
            ] if finding["expected"] or finding["actual"] else []),
            "Repro:",
            "",
            repro(finding, results["metadata"]),
        ]))
    return "\n\n".join(parts)


FAULT_INTRODUCTION = (
    "Calls that killed the worker process, outran the call timeout, ran out of memory, or "
    "returned something other than the contract's arrays. After a crash, hang or out of memory, "
    "later draws in the same region (the features the faulting cases share; the whole op after "
    "a few) were not called but counted as quarantined.")


def _faults(results) -> str:
    faults = sorted(results.get("faults", []), key=lambda f: (f["op"], f["id"]))
    if not faults:
        return "None: every call returned an answer."
    rows = [[f"`{f['id']}`", f["op"], f["kind"], f["detail"], f["count"], f["quarantined"]]
            for f in faults]
    table = tabulate(rows, ["fault", "op", "kind", "detail", "calls", "draws quarantined"],
                     tablefmt="github")
    parts = [FAULT_INTRODUCTION, table]
    for fault in faults:
        region = ", ".join(f"{name}={value}" for name, value in fault.get("region", {}).items()
                           if name != "op" and value is not False)
        parts.append("\n".join([
            f"### {fault['id']} ({fault['kind']})",
            "",
            f"`{fault['call']}` with x of shape {tuple(fault['input_shape'])} and dtype "
            f"{fault['dtype']} (the smallest of {fault['count']} faulting call(s), first in "
            f"`{fault['property']}`): {fault['detail']}.",
            "",
            f"Quarantined region: {region or 'the whole op'} (regions not named: absent)."
            if fault.get("region") else
            "Not quarantined: the call returns, so later draws are judged as usual.",
            "",
            "Repro:",
            "",
            repro(fault, results["metadata"]),
        ]))
    return "\n\n".join(parts)


def _validity(results) -> str:
    """How the backend met the invalid-argument cases, per op, with one example of each
    classification other than the expected one."""
    validity = results.get("validity", {})
    if not validity:
        return "Not run."
    rows = [[op] + [validity.get(op, {}).get(c, 0) for c in VALIDITY_CLASSES]
            for op in report_ops(results) if op in validity]
    table = tabulate(rows, ["op", *VALIDITY_CLASSES], tablefmt="github")
    examples = [
        f"- **{key.replace('|', '**, ')}: {message}"
        for key, message in sorted(results.get("validity_examples", {}).items())
        if not key.endswith("raises as required")
    ]
    return table + ("\n\nExamples:\n\n" + "\n".join(examples) if examples else "")


def _errors(results) -> str:
    lines = [f"- `{error['test']}`: {error['error']}" for error in results["errors"]]
    audit = results.get("registry_audit", {})
    if audit.get("never_matched"):
        lines.append("- Registry entries no drawn case fell inside (never matched): "
                     + ", ".join(f"`{key}`" for key in audit["never_matched"]) + ".")
    for key, cases in audit.get("outside_description", {}).items():
        lines.append(f"- `{key}` matched cases whose op or dtype its description does not "
                     f"name: {', '.join(cases)}.")
    return "\n".join(lines) or "None."


def regions_never_drawn(results) -> dict[str, list[str]]:
    """region -> the ops that drew cases, can have one in the region, and had none there."""
    by_op = results.get("coverage_by_op", {})
    drawn = {key.split("|")[0] for key in results.get("dtype_cases", {})}
    return {region: [op for op in reference.OP_NAMES if op in drawn
                     and region_applies(region, OPS[op].family, OPS[op].spatial_dims)
                     and not by_op.get(f"{op}|{region}")]
            for region in REGIONS}


def _coverage(results) -> str:
    coverage = results["coverage"]
    never = regions_never_drawn(results)
    rows = [[region, REGIONS[region], coverage.get(region, 0), ", ".join(never[region])]
            for region in REGIONS]
    rows += [[key, "cases of this dtype", value, ""] for key, value in sorted(coverage.items())
             if key.startswith("dtype ")]
    table = tabulate(rows, ["region", "meaning", "distinct cases", "ops with none"],
                     tablefmt="github")
    # Dialect regions count only for a backend that drew cases of another dialect.
    dialects = any(coverage.get(region) for region in DIALECT_REGIONS)
    zero = [region for region in REGIONS if not coverage.get(region)
            and (dialects or region not in DIALECT_REGIONS)]
    gaps = sum(map(len, never.values()))
    return (f"{coverage.get('cases', 0)} distinct cases drawn; regions with none: "
            f"{', '.join(zero) or 'none'}; (op, region) pairs with none, of those an op can "
            f"have: {gaps}.\n\n{table}")


def _metadata(metadata) -> str:
    rows = [[key, value] for key, value in metadata.items()]
    return tabulate(rows, ["", ""], tablefmt="github")


def _diff(previous: dict, current: dict) -> str:
    def keys(results, statuses):
        return {f["key"] for f in results.get("findings", []) if f["status"] in statuses}

    before, after = keys(previous, ("known", "new")), keys(current, ("known", "new"))
    rows = [[key, "new since the previous report"] for key in sorted(after - before)]
    rows += [[key, "fixed since the previous report"] for key in sorted(before - after)]
    return tabulate(rows, ["deviation", "change"], tablefmt="github") if rows else "No change."
