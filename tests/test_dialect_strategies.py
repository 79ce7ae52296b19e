"""The dialect strategies reach the edges the issue names, each judged by the oracle's own
region decision (conformance.engine.regions.dialect), and draw valid cases only."""

import pytest
from hypothesis import find, given, settings

from conformance.engine.arrays import to_reference
from conformance.engine.dialects import oracle_result
from conformance.engine.regions import case_features
from conformance.engine.strategies.dialect_invalid import dialect_invalid_cases
from conformance.engine.strategies.dialects import dialect_cases

EDGES = [
    ("onnx", "MaxPool", "same_odd_total_padding"),
    ("onnx", "MaxPool", "same_lower"),
    ("onnx", "MaxPool", "column_major_indices"),
    ("onnx", "MaxPool", "padding_at_least_kernel"),
    ("onnx", "AveragePool", "asymmetric_padding"),
    ("onnx", "AveragePool", "input_shorter_than_kernel"),
    ("onnx", "AveragePool", "auto_pad_with_ceil_mode"),
    ("onnx", "LpPool", "dilation_with_same"),
    ("onnx", "MaxPool", "ceil_overhang"),
    ("tf", "max_pool", "same_odd_total_padding"),
    ("tf", "avg_pool", "input_shorter_than_kernel"),
    ("tf", "pool", "dilation_with_same"),
    ("tf", "avg_pool", "channels_first"),
    ("keras", "AveragePooling2D", "same_odd_total_padding"),
    ("keras", "GlobalMaxPooling2D", "global_keepdims_false"),
]


@pytest.mark.parametrize("dialect, op, region", EDGES)
def test_the_strategy_reaches_the_edge(dialect, op, region):
    find(dialect_cases(dialect, op), lambda case: case_features(case)[region],
         settings=settings(max_examples=2000, database=None))


def test_same_with_stride_above_kernel_and_odd_padding_is_drawn():
    def edge(case):
        f = case_features(case)
        return f["same_odd_total_padding"] and f["stride_gt_kernel"]
    find(dialect_cases("onnx", "AveragePool"), edge,
         settings=settings(max_examples=3000, database=None))


@pytest.mark.parametrize("dialect, op", [("onnx", "AveragePool"), ("onnx", "MaxPool"),
                                         ("tf", "pool"), ("keras", "MaxPooling3D")])
def test_valid_cases_are_valid_and_broken_ones_are_not(dialect, op):
    @settings(max_examples=30, database=None, deadline=None)
    @given(case=dialect_cases(dialect, op), broken=dialect_invalid_cases(dialect, op))
    def check(case, broken):
        oracle_result(case, to_reference(case.input))  # raises if the strategy drew it invalid
        assert case_features(broken[0])["invalid_arguments"], broken[1]

    check()
