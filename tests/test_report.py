"""The report command end to end: a broken rule is named with a shrunk case and a repro that
reproduces it; a registered deviation that no longer deviates is flagged."""

import json
import re
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
TORCH_DEVIATIONS = str(REPOSITORY / "conformance" / "deviations" / "torch.toml")


def write_report(directory, backend, select, deviations=TORCH_DEVIATIONS):
    directory.mkdir(exist_ok=True)
    output = directory / "report.md"
    completed = subprocess.run(
        [sys.executable, "-m", "reports.cli", "report", "--backend", backend, "-o", str(output),
         "--deviations", deviations, "--select", select],
        capture_output=True, text=True, cwd=REPOSITORY, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return output.read_text(), json.loads(output.with_suffix(".json").read_text())


def test_a_broken_rule_is_reported_with_its_region_a_shrunk_case_and_a_working_repro(tmp_path):
    markdown, results = write_report(
        tmp_path, "conformance.selfcheck.mutants:avg_divisor_counts_ceil_overhang", "test_values and avg_pool1d")
    new = [f for f in results["findings"] if f["status"] == "new"]
    assert new and new[0]["shrunk"], results["findings"]
    assert "ceil_overhang" in new[0]["regions"]
    assert "Hypothesis' shrunk counterexample" in markdown
    assert re.search(r"Regions: .*ceil_overhang", markdown)
    assert max(new[0]["input_shape"]) <= 4, new[0]  # shrunk: no bigger than the bug needs
    assert_first_repro_shows_a_difference(markdown)


def assert_first_repro_shows_a_difference(markdown: str) -> str:
    snippet = re.search(r"```python\n(.*?)```", markdown, re.S).group(1)
    printed = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                             cwd=REPOSITORY, timeout=120)
    assert printed.returncode == 0, printed.stderr
    backend_line, oracle_line = printed.stdout.strip().split("\noracle:", 1)
    assert backend_line.split(":", 1)[1].split() != oracle_line.split(), printed.stdout
    return snippet


def test_a_backward_bug_gets_a_gradient_row_and_a_repro_that_computes_the_gradient(tmp_path):
    markdown, results = write_report(
        tmp_path, "conformance.selfcheck.mutants:avg_backward_divisor_counts_ceil_overhang",
        "gradient and avg_pool1d")
    new = [f for f in results["findings"] if f["status"] == "new"]
    assert new and new[0]["concern"] == "gradient" and new[0]["grad_output_literal"], new
    gradients = markdown.split("## Gradients", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"\| avg_pool1d +\| \*\*deviates \(new\)\*\*", gradients), gradients
    assert "vjp('avg_pool1d', x, g" in assert_first_repro_shows_a_difference(markdown)


def test_a_registered_deviation_that_no_longer_deviates_is_flagged(tmp_path):
    registry = tmp_path / "wrong.toml"
    registry.write_text(
        '[[deviation]]\nid = "imaginary-ceil-bug"\nconcern = "values"\nkind = "bug"\n'
        'what = "torch never had this bug"\nwhy = "a test of staleness"\n'
        '[deviation.match]\nop = "max_pool1d"\nceil_mode = true\n'
    )
    markdown, results = write_report(tmp_path, "torch", "test_values and max_pool1d", str(registry))
    stale = [f for f in results["findings"] if f["status"] == "stale"]
    assert [f["key"] for f in stale] == ["imaginary-ceil-bug"], results["findings"]
    assert "imaginary-ceil-bug (stale" in markdown


def test_two_ci_runs_write_the_same_report_apart_from_the_wall_times(tmp_path):
    """The `ci` profile is derandomised: a rerun of one commit must not move a single byte of
    the report (cases, counts, shrunk counterexamples, repros) except the run's duration."""
    select = "max_pool3d and (test_indices or test_invalid)"
    first = write_report(tmp_path / "first", "torch", select)
    second = write_report(tmp_path / "second", "torch", select)
    wall_time = re.compile(r"^\| (wall|report)_seconds .*$", re.M)
    assert wall_time.sub("", first[0]) == wall_time.sub("", second[0])
    for results in (first[1], second[1]):
        results["metadata"].pop("wall_seconds")
        results["metadata"].pop("report_seconds")
    assert first[1] == second[1]
    assert any(f["status"] == "known" and f["shrunk"] for f in first[1]["findings"]), (
        "the selection must hold a shrunk deviation, or the comparison misses the shrinker")


def test_a_report_is_written_with_the_permissions_of_any_new_file(tmp_path):
    import os

    from conformance.runner.results import write_atomically

    umask = os.umask(0o022)
    try:
        write_atomically(tmp_path / "r.md", "text\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "r.md").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]  # no temporary file left behind


def test_a_compiling_backend_is_reported_with_its_own_profile_and_call_timeout(monkeypatch):
    """`report --backend torch-compile` as typed: the `compile` profile and a call timeout that
    leaves room for a compile, as `matrix` gives it; any other backend `ci` and 10 s; an
    explicit option wins."""
    import reports.cli

    runs = []

    def record_the_run(backend, deviations, profile, partial, select, isolate, call_timeout,
                       *limits):
        runs.append((backend, profile, call_timeout))
        return 1  # writes no results: report stops there

    monkeypatch.setattr(reports.cli, "run_properties", record_the_run)
    for argv in (["--backend", "torch-compile"], ["--backend", "torch"],
                 ["--backend", "torch-compile", "--profile", "dev", "--call-timeout", "30"]):
        assert reports.cli.main(["report", *argv, "-o", "/nonexistent/r.md"]) == 1
    assert runs == [("torch-compile", "compile", 120.0), ("torch", "ci", 10.0),
                    ("torch-compile", "dev", 30.0)]
