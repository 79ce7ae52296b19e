"""What a run found, case by case, in a form the report renders and xdist workers can merge."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from conformance.engine.cases import Case
from conformance.engine.regions import REGIONS

# Worst first: a report cell shows the worst verdict of its cases; "unsupported" only when no
# case of the cell ran at all. crash ... wrong_result_type are faults (`Results.faults`);
# quarantined: not called, inside an earlier fault's region; not_run: the run's budget was spent.
# "unsupported_dtype": the backend cannot run the op in that dtype (it raised NotImplementedError
# and computed no valid, non-empty case in it, forward or backward apart, while it did in other
# dtypes: with_dtype_gaps), which a report shows beside the worst verdict, never behind "known".
OUTCOMES = ("new", "crash", "hang", "out_of_memory", "wrong_result_type", "stale", "error",
            "known", "quarantined", "not_run", "conforms", "unsupported_dtype", "unsupported")
# A fault's kind, as `results["faults"]` and the report name it, by outcome.
FAULT_KINDS = {"crash": "crash", "hang": "hang", "out_of_memory": "out of memory",
               "wrong_result_type": "wrong result type"}
# A fault's outcome from its kind (conformance.runner.isolation.BackendFault.kind).
FAULT_OUTCOMES = {kind: outcome for outcome, kind in FAULT_KINDS.items()}
# The report's op x feature matrix: a feature column is a predicate over case features.
MATRIX_FEATURES = {
    "float32": lambda f: f["dtype"] == "float32",
    "float64": lambda f: f["dtype"] == "float64",
    "float16": lambda f: f["dtype"] == "float16",
    "bfloat16": lambda f: f["dtype"] == "bfloat16",
    "integers": lambda f: f["dtype"].startswith(("int", "uint")),
    "dilation": lambda f: f["dilation"],
    "ceil_mode": lambda f: f["ceil_mode"],
    "count_include_pad=False": lambda f: not f["count_include_pad"] and f["family"] == "avg_pool",
    "divisor_override": lambda f: f["divisor_override"],
    "return_indices": lambda f: f["return_indices"],
    "unbatched": lambda f: f["unbatched"],
    "NaN/inf": lambda f: f["nan"] or f["infinity"],
}


VALIDITY_CLASSES = ("raises as required", "silently returns a result", "accepts and agrees",
                    "raises on valid arguments", "accepts and disagrees", "wrong result type",
                    "crashes or hangs")


def validity_classification(features: dict, mismatch) -> str:
    """How a backend met arguments the oracle rejects (or, for edge cases, accepts)."""
    if mismatch is not None and mismatch.concern == "crashes":
        return "crashes or hangs"
    if features["invalid_arguments"]:
        return "silently returns a result" if mismatch else "raises as required"
    if mismatch is None:
        return "accepts and agrees"
    return {"raises": "raises on valid arguments", "type": "wrong result type"}.get(
        mismatch.concern, "accepts and disagrees")


def worst(outcomes) -> str | None:
    present = set(outcomes)
    return next((outcome for outcome in OUTCOMES if outcome in present), None)


@dataclass
class Finding:
    """One deviation (known, new or stale) with the smallest case seen for it."""

    key: str  # the deviation id, or "new:<property>" for an unregistered one
    status: str
    property: str
    op: str
    concern: str
    message: str
    expected: str
    actual: str
    call: str
    input_shape: list
    dtype: str
    input_literal: str
    count: int = 1
    shrunk: bool = False  # Hypothesis' own minimal example (a failing property)
    regions: list = field(default_factory=list)  # the regions the example lies in
    # A gradient finding's upstream gradient, as a literal, and its shape (empty otherwise).
    grad_output_literal: str = ""
    grad_output_shape: list = field(default_factory=list)
    dialect: str = "torch"  # the parameter language of op and call (reference.dialects)

    @classmethod
    def of(cls, case: Case, mismatch, features: dict | None, **fields) -> "Finding":
        """The finding for `case`, with `fields` (key, status, property, ...) filled in."""
        gradient = case.grad_output
        concern, note = fields.pop("concern", ""), fields.pop("message", "")
        return cls(
            op=case.op_name, concern=mismatch.concern if mismatch else concern,
            message=mismatch.message if mismatch else note,
            expected=mismatch.expected if mismatch else "",
            actual=mismatch.actual if mismatch else "", call=case.call_text(),
            input_shape=list(case.input.shape), dtype=case.dtype,
            input_literal=case.input_literal(),
            regions=[region for region in REGIONS if (features or {}).get(region)],
            grad_output_literal="" if gradient is None else case.input_literal(gradient),
            grad_output_shape=[] if gradient is None else list(gradient.shape),
            dialect=case.dialect,
            **fields,
        )

    @property
    def size(self) -> tuple:
        return (bool(self.input_shape) and _product(self.input_shape), len(self.call))


def _product(values):
    result = 1
    for value in values:
        result *= value
    return result


@dataclass
class Results:
    outcomes: dict = field(default_factory=lambda: defaultdict(Counter))  # (op, concern) -> Counter
    matrix: dict = field(default_factory=lambda: defaultdict(Counter))  # (op, feature) -> Counter
    coverage: Counter = field(default_factory=Counter)
    coverage_by_op: Counter = field(default_factory=Counter)  # "op|region" -> distinct cases
    findings: dict = field(default_factory=dict)
    unsupported: dict = field(default_factory=dict)  # op -> reason
    errors: list = field(default_factory=list)  # test-level errors outside any case
    deviation_counts: dict = field(default_factory=lambda: defaultdict(Counter))  # id -> Counter
    deviation_cases: dict = field(default_factory=lambda: defaultdict(set))  # id -> {"op|dtype"}
    validity: dict = field(default_factory=lambda: defaultdict(Counter))  # op -> classification
    validity_examples: dict = field(default_factory=dict)  # (op, classification) -> message
    known_by_op: dict = field(default_factory=dict)  # op -> ids of deviations it showed
    faults: dict = field(default_factory=dict)  # id -> fault (see `record_fault`)
    not_run: list = field(default_factory=list)  # {"test", "op"}: tests the budget left out
    # {"test", "op", "fault"}: tests skipped because their op was wholly quarantined
    quarantined_tests: list = field(default_factory=list)
    # "op|pass|dtype" (pass: forward or gradient) -> Counter of "ran" and "unsupported" cases,
    # and "op|concern|dtype|pass" / "op|feature|dtype|pass" -> unsupported cases: which dtypes
    # a backend lacks is known only once every case is in (with_dtype_gaps), merged too.
    dtype_cases: dict = field(default_factory=lambda: defaultdict(Counter))
    unsupported_by_dtype: dict = field(default_factory=lambda: defaultdict(Counter))
    _seen: set = field(default_factory=set)
    _merged: dict | None = None

    def record(self, property_name: str, case: Case, concern: str, outcome: str, features: dict,
               mismatch=None, deviations=(), note: str = "") -> None:
        for deviation in deviations:
            self.deviation_counts[deviation.id][outcome] += 1
            self.deviation_cases[deviation.id].add(f"{case.op_name}|{features['dtype']}")
            if outcome == "known":
                self.known_by_op.setdefault(case.op_name, set()).add(deviation.id)
        # Inside a non-strict deviation's signature, agreeing with the oracle is conforming.
        outcome = "conforms" if outcome == "agrees" else outcome
        self.outcomes[(case.op_name, concern)][outcome] += 1
        for feature, predicate in MATRIX_FEATURES.items():
            if predicate(features):
                self.matrix[(case.op_name, feature)][outcome] += 1
        case_key = case.key()
        if case_key not in self._seen:
            self._seen.add(case_key)
            self.coverage["cases"] += 1
            self.coverage[f"dtype {features['dtype']}"] += 1
            for region in REGIONS:
                if features.get(region):
                    self.coverage[region] += 1
                    self.coverage_by_op[f"{case.op_name}|{region}"] += 1
        dtype = features["dtype"]
        # Only a valid case with elements that the backend answered shows it computing in the
        # dtype: an empty or invalid input may be answered, and arguments rejected, before any
        # kernel for the dtype is chosen.
        raised = mismatch is not None and mismatch.concern in ("raises", "crashes")
        computed = (not features["invalid_arguments"] and case.input.size > 0
                    and outcome != "quarantined" and not raised)
        if outcome == "unsupported" or computed:
            ran = "unsupported" if outcome == "unsupported" else "ran"
            self.dtype_cases[f"{case.op_name}|{_pass(concern)}|{dtype}"][ran] += 1
        if outcome == "unsupported":
            self.unsupported.setdefault(case.op_name, note)
            phase = _pass(concern)
            self.unsupported_by_dtype["outcomes"][f"{case.op_name}|{concern}|{dtype}|{phase}"] += 1
            for feature, predicate in MATRIX_FEATURES.items():
                if predicate(features):
                    self.unsupported_by_dtype["matrix"][
                        f"{case.op_name}|{feature}|{dtype}|{phase}"] += 1
        if concern == "validity" and outcome not in ("unsupported", "quarantined"):
            classification = validity_classification(features, mismatch)
            self.validity[case.op_name][classification] += 1
            self.validity_examples.setdefault(
                f"{case.op_name}|{classification}",
                mismatch.message if mismatch else case.describe(),
            )
        if outcome in ("known", "new", "stale"):
            keys = [d.id for d in deviations] or [f"new:{property_name}"]
            for key in keys:
                self._keep_smallest(Finding.of(case, mismatch, features, key=key, status=outcome,
                                               property=property_name, concern=concern,
                                               message=note))

    def record_shrunk(self, property_name: str, case: Case, mismatch, status: str,
                      key: str | None = None, features: dict | None = None) -> None:
        """Hypothesis' minimal failing example replaces whatever was kept for it."""
        key = key or f"new:{property_name}"
        count = self.findings[key].count if key in self.findings else 1
        self.findings[key] = Finding.of(case, mismatch, features, key=key, status=status,
                                        property=property_name, count=count, shrunk=True)

    def record_fault(self, property_name: str, case: Case, outcome: str, detail: str,
                     features: dict, region: dict | None = None) -> str:
        """One fault finding per op, kind and (for a crash) signal: the smallest case seen,
        how many calls faulted, how many later draws were quarantined; returns its id."""
        fault_id = f"{outcome}:{case.op_name}"
        if outcome == "crash":
            fault_id += ":" + detail.split()[-1]  # "killed by SIGFPE", "exited with status 0"
        fault = {**vars(Finding.of(case, None, features, key=fault_id, status=outcome,
                                   property=property_name, concern=outcome, message=detail)),
                 "id": fault_id, "kind": FAULT_KINDS[outcome], "detail": detail,
                 "quarantined": 0, "region": region or {}}
        kept = self.faults.get(fault_id)
        if kept is None:
            self.faults[fault_id] = fault
        else:
            kept["count"] += 1
            if Finding(**_finding_fields(fault)).size < Finding(**_finding_fields(kept)).size:
                self.faults[fault_id] = {**fault, "count": kept["count"],
                                         "quarantined": kept["quarantined"]}
        return fault_id

    def _keep_smallest(self, finding: Finding) -> None:
        kept = self.findings.get(finding.key)
        if kept is None:
            self.findings[finding.key] = finding
            return
        kept.count += 1
        if not kept.shrunk and finding.size < kept.size:
            finding.count = kept.count
            self.findings[finding.key] = finding

    def load_merged(self, document: dict) -> None:
        """Become the merge of several workers' results (see `merge`)."""
        self._merged = document
        self.errors = document["errors"]
        self.deviation_counts = defaultdict(
            Counter, {key: Counter(counts) for key, counts in document["deviation_counts"].items()})

    def to_json(self) -> dict:
        if self._merged is not None:
            return self._merged
        return with_dtype_gaps({
            "outcomes": {f"{op}|{concern}": dict(c) for (op, concern), c in self.outcomes.items()},
            "matrix": {f"{op}|{feature}": dict(c) for (op, feature), c in self.matrix.items()},
            "coverage": dict(self.coverage),
            "coverage_by_op": dict(self.coverage_by_op),
            "findings": [vars(finding) for finding in self.findings.values()],
            "unsupported": self.unsupported,
            "errors": self.errors,
            "deviation_counts": {key: dict(c) for key, c in self.deviation_counts.items()},
            "deviation_cases": {key: sorted(c) for key, c in self.deviation_cases.items()},
            "validity": {op: dict(c) for op, c in self.validity.items()},
            "validity_examples": self.validity_examples,
            "known_by_op": {op: sorted(ids) for op, ids in self.known_by_op.items()},
            "faults": list(self.faults.values()),
            "not_run": self.not_run,
            "quarantined_tests": self.quarantined_tests,
            "dtype_cases": {key: dict(c) for key, c in self.dtype_cases.items()},
            "unsupported_by_dtype": {section: dict(c)
                                     for section, c in self.unsupported_by_dtype.items()},
        })

    def stale_after_run(self, registry) -> list:
        """Non-strict deviations whose signature matched cases this run, none of which deviated."""
        return [
            deviation for deviation in registry.deviations
            if not deviation.strict and self.deviation_counts[deviation.id]["agrees"]
            and not self.deviation_counts[deviation.id]["known"]
        ]


def _finding_fields(fault: dict) -> dict:
    return {name: value for name, value in fault.items() if name in Finding.__dataclass_fields__}


def _pass(concern: str) -> str:
    return "gradient" if concern == "gradient" else "forward"


def with_dtype_gaps(document: dict) -> dict:
    """`document` with each case the backend could not run because it lacks the op's dtype
    counted as `unsupported_dtype` instead of `unsupported` (outcomes and matrix), and
    `unsupported_dtypes`: "op|pass" -> the dtypes the backend raised NotImplementedError for
    and computed no valid, non-empty case in, where it computed cases in other dtypes. Idempotent, so merged documents are classified again from their summed counts."""
    ran = defaultdict(set)
    lacking = defaultdict(set)
    for key, counts in document.get("dtype_cases", {}).items():
        op, phase, dtype = key.split("|")
        (ran if counts.get("ran") else lacking)[(op, phase)].add(dtype)
    gaps = {f"{op}|{phase}": sorted(dtypes) for (op, phase), dtypes in lacking.items()
            if ran[(op, phase)]}
    for section in ("outcomes", "matrix"):
        counters = document.get(section, {})
        for counts in counters.values():
            counts["unsupported"] = counts.get("unsupported", 0) + counts.pop("unsupported_dtype", 0)
        for key, count in document.get("unsupported_by_dtype", {}).get(section, {}).items():
            op, name, dtype, phase = key.split("|")
            if dtype not in gaps.get(f"{op}|{phase}", ()):
                continue
            counts = counters[f"{op}|{name}"]
            moved = min(count, counts.get("unsupported", 0))
            counts["unsupported"] -= moved
            counts["unsupported_dtype"] = counts.get("unsupported_dtype", 0) + moved
            if not counts["unsupported"]:
                del counts["unsupported"]
    document["unsupported_dtypes"] = gaps
    return document


def write_atomically(path: str | Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        # mkstemp creates the file readable by its owner alone; a report is as public as any
        # file the user creates (0o666 less the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save(results_json: dict, path: str | Path) -> None:
    write_atomically(path, json.dumps(results_json, indent=1, sort_keys=True, default=str) + "\n")


def merge(documents: list[dict]) -> dict:
    """One results document from several (pytest-xdist workers): counts add up, each finding is
    kept once (Hypothesis' shrunk example over a drawn one, then the smaller), lists concatenate."""
    merged = {"outcomes": {}, "matrix": {}, "coverage": {}, "deviation_counts": {}, "validity": {},
              "validity_examples": {}, "unsupported": {}, "errors": [], "findings": [],
              "known_by_op": {}, "dtype_cases": {},
              "unsupported_by_dtype": {"outcomes": {}, "matrix": {}},
              "faults": [], "not_run": [], "quarantined_tests": []}
    findings, faults = {}, {}
    for document in documents:
        sections = {section: document.get(section, {}) for section in (
            "outcomes", "matrix", "deviation_counts", "validity", "dtype_cases")}
        for section, counts in document.get("unsupported_by_dtype", {}).items():
            target = merged["unsupported_by_dtype"].setdefault(section, {})
            for key, count in counts.items():
                target[key] = target.get(key, 0) + count
        for section, entries in sections.items():
            for key, counts in entries.items():
                target = merged[section].setdefault(key, {})
                for outcome, count in counts.items():
                    target[outcome] = target.get(outcome, 0) + count
        for section in ("coverage", "coverage_by_op"):
            target = merged.setdefault(section, {})
            for key, count in document.get(section, {}).items():
                target[key] = target.get(key, 0) + count
        for section in ("unsupported", "validity_examples"):
            for key, value in document.get(section, {}).items():
                merged[section].setdefault(key, value)
        merged["errors"] += document.get("errors", [])
        merged["not_run"] += document.get("not_run", [])
        merged["quarantined_tests"] += document.get("quarantined_tests", [])
        for fault in document.get("faults", []):
            kept = faults.get(fault["id"])
            if kept is None:
                faults[fault["id"]] = dict(fault)
                continue
            smaller = (Finding(**_finding_fields(fault)).size
                       < Finding(**_finding_fields(kept)).size)
            faults[fault["id"]] = {**(fault if smaller else kept),
                                   "count": kept["count"] + fault["count"],
                                   "quarantined": kept["quarantined"] + fault["quarantined"]}
        for section in ("known_by_op", "deviation_cases"):
            target = merged.setdefault(section, {})
            for key, values in document.get(section, {}).items():
                target[key] = sorted(set(target.get(key, [])) | set(values))
        for finding in document.get("findings", []):
            kept = findings.get(finding["key"])
            if kept is None:
                findings[finding["key"]] = dict(finding)
                continue
            count = kept["count"] + finding["count"]
            better = (finding["shrunk"], -Finding(**finding).size[0]) > (
                kept["shrunk"], -Finding(**kept).size[0])
            findings[finding["key"]] = {**(finding if better else kept), "count": count}
    merged["findings"] = list(findings.values())
    merged["faults"] = list(faults.values())
    return with_dtype_gaps(merged)
