"""Known answers for region decisions that the registry matches on, worked by hand."""

import numpy as np
import pytest

from conformance.engine.cases import Case
from conformance.engine.regions import case_features


@pytest.mark.parametrize("op_name, values, dtype, expected", [
    # kernel 2, stride 2: the second window is [-128, -128], int8's minimum throughout
    ("max_pool1d", [3, 1, -128, -128], np.int8, True),
    ("max_pool1d", [3, 1, -128, -127], np.int8, False),
    # min pooling's lowest is the dtype's maximum
    ("min_pool1d", [5, 2, 127, 127], np.int8, True),
    ("max_pool1d", [5, 2, 127, 127], np.int8, False),
    ("max_pool1d", [0.0, 1.0, -np.inf, -np.inf], np.float32, True),
    ("max_pool1d", [0.0, 1.0, -np.inf, 0.0], np.float32, False),
])
def test_window_all_lowest_names_a_window_of_the_dtypes_lowest_value(op_name, values, dtype,
                                                                      expected):
    case = Case(op_name, np.array([[values]], dtype=dtype), {"kernel_size": 2, "stride": 2})
    assert case_features(case)["window_all_lowest"] is expected


def test_a_padded_window_counts_only_its_input_elements():
    # kernel 2, padding 1: the first window holds the padding and -128 only
    case = Case("max_pool1d", np.array([[[-128, 4, 1]]], dtype=np.int8),
                {"kernel_size": 2, "stride": 2, "padding": 1})
    assert case_features(case)["window_all_lowest"] is True
