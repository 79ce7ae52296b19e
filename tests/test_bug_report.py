"""`pooling-conformance diff` (new, fixed, changed; exit 1 on new only) and `bug-report` (the
issue text for a committed finding)."""

import json
import subprocess
import sys
from pathlib import Path

from reports.diff import diff

REPOSITORY = Path(__file__).resolve().parents[1]


def cli(*arguments):
    return subprocess.run([sys.executable, "-m", "reports.cli", *arguments], capture_output=True,
                          text=True, cwd=REPOSITORY, timeout=300)


def finding(key, status="known", literal="[[1.0]]"):
    return {"key": key, "status": status, "concern": "values", "op": "max_pool1d",
            "call": "max_pool1d(x, kernel_size=1)", "input_literal": literal, "dtype": "float32"}


OLD = {"findings": [finding("kept"), finding("fixed-upstream"), finding("moved")]}
NEW = {"findings": [finding("kept"), finding("moved", literal="[[2.0]]"),
                    finding("new:values[max_pool1d]", status="new")],
       "faults": [{"id": "crash:avg_pool2d", "op": "avg_pool2d", "kind": "crash",
                   "detail": "SIGSEGV", "count": 1, "quarantined": 0}]}


def test_diff_lists_new_fixed_and_changed_findings_faults_included():
    changes = diff(OLD, NEW)
    assert [new["key"] for _, new in changes["new"]] == ["crash:avg_pool2d",
                                                        "new:values[max_pool1d]"]
    assert [old["key"] for old, _ in changes["fixed"]] == ["fixed-upstream"]
    assert [old["key"] for old, _ in changes["changed"]] == ["moved"]


def test_the_diff_command_fails_on_new_findings_only(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(OLD))
    new.write_text(json.dumps(NEW))
    with_new = cli("diff", str(old), str(new))
    assert with_new.returncode == 1, with_new.stderr
    assert "new: 2" in with_new.stdout and "fixed: 1" in with_new.stdout
    assert "moved  (another smallest input)" in with_new.stdout
    fewer = tmp_path / "fewer.json"
    fewer.write_text(json.dumps({"findings": OLD["findings"][:1]}))
    only_fixed = cli("diff", str(old), str(fewer))
    assert only_fixed.returncode == 0, only_fixed.stdout
    assert "new: 0" in only_fixed.stdout and "fixed: 2" in only_fixed.stdout
    unreadable = cli("diff", str(old), str(tmp_path / "missing.json"))
    assert unreadable.returncode == 2
    assert unreadable.stderr.count("\n") == 1 and "cannot read" in unreadable.stderr


def test_a_bug_report_has_versions_the_native_repro_the_rule_and_the_other_backends(tmp_path):
    # The committed torch and torch-nn reports, and a third whose finding on the same op and
    # concern is another deviation: which committed backend deviates otherwise changes with
    # every regeneration, so that one is made here.
    for name in ("torch", "torch-nn"):
        (tmp_path / f"{name}.json").write_text((REPOSITORY / "reports" / f"{name}.json").read_text())
    committed = json.loads((tmp_path / "torch.json").read_text())
    finding = next(f for f in committed["findings"] if f["key"] == "max-pool-index-of-last-nan")
    elsewhere = {**committed, "faults": [], "findings": [{**finding, "key": "another-rule"}],
                 "metadata": {**committed["metadata"], "backend": "elsewhere",
                              "backend_spec": "elsewhere", "backend_version": "1.0"}}
    (tmp_path / "elsewhere.json").write_text(json.dumps(elsewhere))
    completed = cli("bug-report", "max-pool-index-of-last-nan", "--backend", "torch",
                    "--reports", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    text = completed.stdout
    # The title names the op the committed report's shrinking ended on, then the entry's rule.
    assert text.startswith(f"# {finding['op']}: With two or more NaNs in one max window")
    assert "- torch 2.13.0+cpu" in text
    repro = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert "import torch" in repro and "import conformance" not in repro
    assert "from conformance" not in repro and "import reference" not in repro
    assert "the first NaN is chosen" in text.split("## What it contradicts", 1)[1]
    others = text.split("## Other backends", 1)[1]
    assert "- torch-nn (torch-nn 2.13.0+cpu): the same deviation" in others
    assert "- elsewhere (elsewhere 1.0): deviates otherwise: `another-rule`" in others


def test_an_unknown_finding_id_is_one_error_line():
    completed = cli("bug-report", "no-such-deviation")
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "no finding 'no-such-deviation'" in \
        completed.stderr
