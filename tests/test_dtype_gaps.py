"""`unsupported_dtype`: a dtype the backend cannot run is its own outcome, apart from `known`,
in the results JSON (after merging workers too) and in the report's verdicts."""

import numpy as np

from conformance.engine.cases import Case
from conformance.engine.regions import case_features
from conformance.runner.results import Results, merge, worst


def _results(*cases, length=4):
    """Results of (dtype, outcome) cases of max_pool1d on the values concern."""
    results = Results()
    for dtype, outcome in cases:
        case = Case("max_pool1d", np.arange(length, dtype=dtype).reshape(1, 1, length)[:0]
                    if length == 0 else np.arange(length, dtype=dtype).reshape(1, length),
                    {"kernel_size": 2})
        results.record("values[max_pool1d]", case, "values", outcome, case_features(case),
                       note="not implemented for 'Char'" if outcome == "unsupported" else "")
    return results.to_json()


def test_a_dtype_no_case_of_which_ran_is_unsupported_dtype_not_hidden_by_known():
    document = _results(("float32", "known"), ("float32", "conforms"), ("int8", "unsupported"),
                        ("int8", "unsupported"))
    assert document["outcomes"]["max_pool1d|values"] == {
        "known": 1, "conforms": 1, "unsupported_dtype": 2}
    assert document["matrix"]["max_pool1d|integers"] == {"unsupported_dtype": 2}
    assert document["unsupported_dtypes"] == {"max_pool1d|forward": ["int8"]}
    assert worst(document["matrix"]["max_pool1d|integers"]) == "unsupported_dtype"


def test_an_empty_input_answered_in_the_dtype_does_not_hide_the_gap():
    gap = _results(("float32", "conforms"), ("int8", "unsupported"))
    empty = _results(("int8", "conforms"), length=0)  # a (0, 1, 0) input: no kernel needed
    assert merge([gap, empty])["unsupported_dtypes"] == {"max_pool1d|forward": ["int8"]}


def test_an_op_that_never_ran_stays_unsupported():
    document = _results(("int8", "unsupported"), ("float32", "unsupported"))
    assert document["outcomes"]["max_pool1d|values"] == {"unsupported": 2}
    assert document["unsupported_dtypes"] == {}


def test_merging_workers_judges_the_dtype_on_every_worker_s_cases():
    # Worker one saw int8 only as NotImplementedError; worker two ran an int8 case: no gap.
    one = _results(("float32", "conforms"), ("int8", "unsupported"))
    two = _results(("int8", "conforms"))
    assert one["unsupported_dtypes"] == {"max_pool1d|forward": ["int8"]}
    merged = merge([one, two])
    assert merged["unsupported_dtypes"] == {}
    assert merged["outcomes"]["max_pool1d|values"] == {"conforms": 2, "unsupported": 1}


def test_the_summary_names_the_missing_dtypes_beside_the_worst_verdict():
    from reports.markdown import _summary, _split

    document = _results(("float32", "known"), ("int8", "unsupported"), ("uint8", "unsupported"))
    document["errors"] = []
    row = next(line for line in _summary(document, _split(document["outcomes"])).splitlines()
               if line.startswith("| max_pool1d "))
    assert "deviates (known); no int8, uint8" in row
