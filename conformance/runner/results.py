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
# case of the cell ran at all. crash ... wrong_result_type: faults (the call did not answer);
# quarantined, not_run: cases not called (after a fault, past the budget); unsupported_dtype:
# the backend cannot run that dtype.
OUTCOMES = ("new", "crash", "hang", "out_of_memory", "wrong_result_type", "stale", "error",
            "known", "quarantined", "not_run", "conforms", "unsupported_dtype", "unsupported")
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
    findings: dict = field(default_factory=dict)
    unsupported: dict = field(default_factory=dict)  # op -> reason
    errors: list = field(default_factory=list)  # test-level errors outside any case
    deviation_counts: dict = field(default_factory=lambda: defaultdict(Counter))  # id -> Counter
    validity: dict = field(default_factory=lambda: defaultdict(Counter))  # op -> classification
    validity_examples: dict = field(default_factory=dict)  # (op, classification) -> message
    known_by_op: dict = field(default_factory=dict)  # op -> ids of deviations it showed
    _seen: set = field(default_factory=set)
    _merged: dict | None = None

    def record(self, property_name: str, case: Case, concern: str, outcome: str, features: dict,
               mismatch=None, deviations=(), note: str = "") -> None:
        for deviation in deviations:
            self.deviation_counts[deviation.id][outcome] += 1
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
        if outcome == "unsupported":
            self.unsupported.setdefault(case.op_name, note)
        if concern == "validity" and outcome != "unsupported":
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
        return {
            "outcomes": {f"{op}|{concern}": dict(c) for (op, concern), c in self.outcomes.items()},
            "matrix": {f"{op}|{feature}": dict(c) for (op, feature), c in self.matrix.items()},
            "coverage": dict(self.coverage),
            "findings": [vars(finding) for finding in self.findings.values()],
            "unsupported": self.unsupported,
            "errors": self.errors,
            "deviation_counts": {key: dict(c) for key, c in self.deviation_counts.items()},
            "validity": {op: dict(c) for op, c in self.validity.items()},
            "validity_examples": self.validity_examples,
            "known_by_op": {op: sorted(ids) for op, ids in self.known_by_op.items()},
        }

    def stale_after_run(self, registry) -> list:
        """Non-strict deviations whose signature matched cases this run, none of which deviated."""
        return [
            deviation for deviation in registry.deviations
            if not deviation.strict and self.deviation_counts[deviation.id]["agrees"]
            and not self.deviation_counts[deviation.id]["known"]
        ]


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
              "known_by_op": {}}
    findings = {}
    for document in documents:
        for section in ("outcomes", "matrix", "deviation_counts", "validity"):
            for key, counts in document.get(section, {}).items():
                target = merged[section].setdefault(key, {})
                for outcome, count in counts.items():
                    target[outcome] = target.get(outcome, 0) + count
        for key, count in document.get("coverage", {}).items():
            merged["coverage"][key] = merged["coverage"].get(key, 0) + count
        for section in ("unsupported", "validity_examples"):
            for key, value in document.get(section, {}).items():
                merged[section].setdefault(key, value)
        merged["errors"] += document.get("errors", [])
        for op, ids in document.get("known_by_op", {}).items():
            merged["known_by_op"][op] = sorted(set(merged["known_by_op"].get(op, [])) | set(ids))
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
    return merged
