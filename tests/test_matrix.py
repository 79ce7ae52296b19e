"""The cross-backend matrix, rendered from results JSONs alone: every verdict has its own cell
text, each deviation a short id linking to its section in the backend's report, one narrow
table per op family, a summary line per backend, and a heatmap."""

import pytest

from reports.matrix import anchor, render_matrix, write_heatmap


def results(outcomes, findings=(), unsupported=None, faults=(), known_by_op=None):
    return {"outcomes": outcomes, "findings": list(findings), "unsupported": unsupported or {},
            "faults": list(faults), "errors": [], "known_by_op": known_by_op or {},
            "metadata": {"backend": "b", "backend_version": "1.0", "hypothesis_profile": "ci",
                         "suite_commit": "abc1234", "wall_seconds": 1.0, "report_seconds": 2}}


def finding(key, op, concern, status="known"):
    return {"key": key, "op": op, "concern": concern, "status": status,
            "message": f"{op} {concern} differs; case: ...", "call": f"{op}(x)"}


RUNS = {
    "alpha": results(
        {"max_pool1d|values": {"conforms": 3, "known": 2}, "max_pool2d|values": {"conforms": 4},
         "max_pool1d|gradient": {"conforms": 2}, "avg_pool1d|values": {"conforms": 1,
                                                                         "unsupported": 2}},
        [finding("nan-rule", "max_pool1d", "values")], known_by_op={"max_pool1d": ["nan-rule"]}),
    "beta": results(
        {"max_pool1d|values": {"new": 1}, "max_pool3d|values": {"not_run": 5}},
        [finding("new:values[max_pool1d]", "max_pool1d", "values", status="new")],
        unsupported={"avg_pool1d": "the backend has no avg_pool1d", "vjp": "no vjp"},
        faults=[{"id": "crash:max_pool2d", "op": "max_pool2d", "kind": "crash",
                 "detail": "SIGSEGV", "count": 1, "quarantined": 3}]),
    "gamma": "needs 'gamma', which is not installed",
}


def rows_of(markdown, family):
    table = markdown.split(f"### {family}\n\n", 1)[1].split("\n\n", 1)[0]
    return {line.split(" | ")[0].strip("| "): line.strip("|").split(" | ")
            for line in table.splitlines()[2:]}


def test_cells_name_the_verdict_and_link_each_deviation_to_its_report_section():
    markdown = render_matrix(RUNS)
    max_pool = rows_of(markdown, "max_pool")
    # columns: backend, 1d, 2d, 3d, 1d grad, 2d grad, 3d grad
    assert max_pool["alpha"][1] == "known [D1](alpha.md#nan-rule-known-values)"
    assert max_pool["alpha"][2] == "✓"
    assert max_pool["alpha"][4] == "✓"
    assert max_pool["beta"][1] == "**NEW** [D3](beta.md#newvaluesmax_pool1d-new-values)"
    assert max_pool["beta"][2] == "**CRASH** [D2](beta.md#crashmax_pool2d-crash)"
    assert max_pool["beta"][3] == "not run"
    assert max_pool["beta"][4] == "—"  # no vjp: gradients unsupported
    avg_pool = rows_of(markdown, "avg_pool")
    assert avg_pool["alpha"][1] == "✓ (some —)"  # conforms where it ran, some cases unsupported
    assert avg_pool["beta"][1] == "—"
    assert avg_pool["alpha"][2] == "·"  # nothing drawn
    assert "- gamma: not run (needs 'gamma', which is not installed)" in markdown


def test_each_backend_has_a_summary_line_counting_its_verdicts_and_tables_stay_narrow():
    markdown = render_matrix(RUNS)
    alpha = next(line for line in markdown.splitlines() if line.startswith("- **[alpha]"))
    assert "1 known, 2 pass, 1 pass (some unsupported), 32 not drawn (of 36 cells" in alpha
    assert "deviations D1." in alpha
    assert "**D1** `nan-rule` (known, values)" in markdown
    headers = [line for line in markdown.splitlines() if line.startswith("| backend |")]
    assert len(headers) == 6 and all(line.count(" | ") == 6 for line in headers)
    assert "![op x backend verdicts](matrix.svg)" in markdown


def test_anchor_follows_githubs_heading_rule():
    # Lower case, punctuation but hyphens dropped, spaces to hyphens (worked by hand).
    assert anchor("max-pool-index-of-last-nan (known, indices)") == \
        "max-pool-index-of-last-nan-known-indices"
    assert anchor("new:values[avg_pool1d] (new, values)") == "newvaluesavg_pool1d-new-values"


def test_the_heatmap_is_written_as_svg_and_png_and_is_reproducible(tmp_path):
    pytest.importorskip("matplotlib", reason="the heatmap needs the `pictures` extra")
    first = write_heatmap(RUNS, tmp_path / "one")
    second = write_heatmap(RUNS, tmp_path / "two")
    assert [p.suffix for p in first] == [".svg", ".png"]
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
