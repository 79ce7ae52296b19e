"""Known answers for the oracle's backward pass, each worked by hand (the comment shows the
working), never produced by the oracle itself."""

import math

import pytest

from reference import Array
from reference.dtypes import store
from reference.gradients import vjp

NAN, INF = math.nan, math.inf


def array(nested, dtype="float32"):
    return Array.from_nested(nested, dtype)


def gradient(op_name, x, grad_output, *args, **kwargs):
    return vjp(op_name, array(x), array(grad_output), *args, **kwargs).to_nested()


def test_avg_ceil_overhang_is_never_counted_in_the_divisor():
    # x of length 4, k=3, s=2, p=1, ceil: windows [-1,0,1] and [1,2,3] divide by 3; [3,4,5]
    # holds x3, the padding at 4 and the overhang at 5: it divides by 2. Upstream [3, 6, 2]
    # sends 1, 2 and 1 per element: x0 = 1, x1 = 1 + 2, x2 = 2, x3 = 2 + 1.
    assert gradient("avg_pool1d", [[[1, 2, 3, 4]]], [[[3, 6, 2]]], 3, 2, 1,
                    ceil_mode=True) == [[[1, 3, 2, 3]]]
    # count_include_pad=False divides by 2, 3 and 1: upstream [2, 6, 1] sends 1, 2 and 1.
    assert gradient("avg_pool1d", [[[1, 2, 3, 4]]], [[[2, 6, 1]]], 3, 2, 1, ceil_mode=True,
                    count_include_pad=False) == [[[1, 3, 2, 3]]]


def test_overlapping_windows_accumulate():
    # max over [1, 3, 2], k=2, s=1: both windows choose x1, which receives 1 + 10.
    assert gradient("max_pool1d", [[[1, 3, 2]]], [[[1, 10]]], 2, 1) == [[[0, 11, 0]]]
    # avg over 3x3, k=2, s=1, upstream ones: each element receives 1/4 per window holding it:
    # corners 1 window, edges 2, the centre 4.
    assert gradient("avg_pool2d", [[[[0] * 3] * 3]], [[[[1, 1], [1, 1]]]], 2, 1) == [
        [[[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]]]


def test_ties_and_nan_send_the_gradient_to_the_first_in_window_order():
    assert gradient("max_pool1d", [[[2, 2, 1]]], [[[5]]], 3) == [[[5, 0, 0]]]
    assert gradient("max_pool1d", [[[NAN, 1, NAN]]], [[[5]]], 3) == [[[5, 0, 0]]]
    # -0.0 and 0.0 tie: the first (the -0.0) is chosen.
    assert gradient("max_pool1d", [[[-0.0, 0.0]]], [[[5]]], 2) == [[[5, 0]]]
    assert gradient("min_pool1d", [[[1, 0, 0]]], [[[5]]], 3) == [[[0, 5, 0]]]
    # 2-d: the maximum 4 appears at (0, 1) and (1, 0); row-major window order picks (0, 1).
    assert gradient("max_pool2d", [[[[1, 4], [4, 0]]]], [[[[5]]]], 2) == [[[[0, 5], [0, 0]]]]


def test_padding_receives_nothing():
    # avg over [1, 2], k=2, p=1, s=2: windows [-1, 0] and [1, 2] each hold one input element
    # and one padding position, divide by 2: x0 gets 4 / 2, x1 gets 6 / 2.
    assert gradient("avg_pool1d", [[[1, 2]]], [[[4, 6]]], 2, padding=1) == [[[2, 3]]]
    # max over [-3, -5], k=2, s=1, p=1: the padding never wins; x0 is chosen by the windows
    # [pad, -3] and [-3, -5], x1 by [-5, pad].
    assert gradient("max_pool1d", [[[-3, -5]]], [[[1, 2, 4]]], 2, 1, 1) == [[[3, 4]]]


def test_a_max_window_without_input_sends_its_gradient_nowhere():
    # [1], k=2, p=1, d=2: the only window reads positions -1 and 1, both padding.
    assert gradient("max_pool1d", [[[1]]], [[[7]]], 2, padding=1, dilation=2) == [[[0]]]


def test_divisor_override_divides_the_upstream_gradient():
    # 2x2 window, divisor -2: each element receives 6 / -2.
    assert gradient("avg_pool2d", [[[[1, 1], [1, 1]]]], [[[[6]]]], 2,
                    divisor_override=-2) == [[[[-3, -3], [-3, -3]]]]
    # k=2, s=2, p=1 on 2x2: four windows of one input element each, all divided by 3.
    assert gradient("avg_pool2d", [[[[1, 2], [3, 4]]]], [[[[3, 6], [9, 12]]]], 2, padding=1,
                    divisor_override=3) == [[[[1, 2], [3, 4]]]]


def test_adaptive_windows_overlap_and_repeat():
    # L=5, O=3: windows [0, 2), [1, 4), [3, 5). Upstream [2, 3, 4] sends 1, 1 and 2 per element.
    assert gradient("adaptive_avg_pool1d", [[[0] * 5]], [[[2, 3, 4]]], 3) == [[[1, 2, 1, 3, 2]]]
    # L=2, O=3: windows [0, 1), [0, 2), [1, 2); the maxima of [1, 2] are x0, x1, x1.
    assert gradient("adaptive_max_pool1d", [[[1, 2]]], [[[1, 2, 4]]], 3) == [[[1, 6]]]


def test_global_average_spreads_over_the_plane():
    assert gradient("global_avg_pool2d", [[[[1, 2], [3, 4]]]], [[[[8]]]]) == [[[[2, 2], [2, 2]]]]


def test_the_exact_sum_is_stored_in_the_input_dtype():
    # float16, k=3, s=1 over 4 elements: x1 and x2 are in both windows and receive 1/3 + 1/3,
    # the exact 2/3 rounded once to float16.
    third, two_thirds = store(1 / 3, "float16"), store(2 / 3, "float16")
    result = vjp("avg_pool1d", array([[[0, 0, 0, 0]]], "float16"),
                 array([[[1, 1]]], "float16"), 3, 1)
    assert result.dtype == "float16"
    assert result.to_nested() == [[[third, two_thirds, two_thirds, third]]]


def test_infinite_upstream_gradients():
    # Both windows of [1, 3, 2] (k=2, s=1) choose x1: inf + -inf is NaN.
    assert math.isnan(gradient("max_pool1d", [[[1, 3, 2]]], [[[INF, -INF]]], 2, 1)[0][0][1])
    # An infinity divided by a negative divisor changes sign.
    assert gradient("avg_pool2d", [[[[1]]]], [[[[INF]]]], 1,
                    divisor_override=-2) == [[[[-INF]]]]


def test_return_indices_is_ignored():
    assert gradient("max_pool1d", [[[1, 3]]], [[[5]]], 2, return_indices=True) == [[[0, 5]]]


@pytest.mark.parametrize("call, error", [
    (lambda: vjp("max_pool1d", array([[[1, 2]]], "int32"), array([[[1]]], "int32"), 2),
     TypeError),
    (lambda: vjp("max_pool1d", array([[[1, 2]]]), array([[[1, 1]]]), 2), ValueError),
    (lambda: vjp("max_pool1d", array([[[1, 2]]]), array([[[1]]], "float64"), 2), TypeError),
    (lambda: vjp("avg_pool2d", array([[[[1]]]]), array([[[[1]]]]), 1, divisor_override=0),
     ValueError),
    (lambda: vjp("max_pool1d", array([[[1, 2]]]), array([[[1]]]), 2, padding=2), ValueError),
])
def test_what_the_forward_rejects_and_mismatched_upstream_gradients_raise(call, error):
    with pytest.raises(error):
        call()
