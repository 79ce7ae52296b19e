"""The report's opening dialect summary, on a hand-made results document."""

from reports.dialect_summary import dialect_summary, report_ops


def results(findings, outcomes, dialects="onnx"):
    return {"metadata": {"backend": "demo", "dialects": dialects}, "findings": findings,
            "outcomes": outcomes, "unsupported": {}}


def test_names_each_deviation_of_each_dialect_with_its_ops():
    document = results(
        [{"key": "pads-rejected", "status": "known", "op": "MaxPool", "dialect": "onnx"},
         {"key": "pads-rejected", "status": "known", "op": "LpPool", "dialect": "onnx"},
         {"key": "new:values[AveragePool]", "status": "new", "op": "AveragePool",
          "dialect": "onnx"}],
        {"MaxPool|values": {"known": 3, "conforms": 5}, "LpPool|values": {"conforms": 2}})
    summary = dialect_summary(document)
    assert summary == ("- **demo** matches the onnx dialect except: `new:values[AveragePool]` "
                       "(new; AveragePool), `pads-rejected` (known; LpPool, MaxPool).")


def test_a_dialect_without_findings_matches_and_one_never_drawn_says_so():
    document = results([], {"max_pool|values": {"conforms": 4}}, dialects="tf, keras")
    document["outcomes"] = {"max_pool|values": {"conforms": 4},
                            "MaxPooling2D|values": {"unsupported": 4}}
    lines = dialect_summary(document).splitlines()
    assert lines[0] == "- **demo** matches the tf dialect on every drawn case (1 ops)."
    assert "speaks the keras dialect, but no case of it ran" in lines[1]


def test_report_ops_puts_torch_first_then_the_drawn_dialect_ops():
    ops = report_ops(results([], {"MaxPool|shape": {"conforms": 1}}))
    assert ops[0] == "max_pool1d" and ops[-1] == "MaxPool" and "AveragePool" not in ops
