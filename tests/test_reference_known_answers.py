"""Known answers for the oracle, each worked by hand (the comment shows the working), never
produced by the oracle itself."""

import math

import pytest

import reference
from reference import Array
from reference.dtypes import store

NAN, INF = math.nan, math.inf


def array(nested, dtype="float32"):
    return Array.from_nested(nested, dtype)


def values(result):
    return result.to_nested()


def test_notebook_example_maxpool2d_2_2_on_1x4x4():
    # Blocks of [[0,1,2,3],[4,5,6,7],[8,9,10,11],[12,13,14,15]]: maxima 5, 7, 13, 15.
    x = array([[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]])
    out, indices = reference.max_pool2d(x, 2, 2, return_indices=True)
    assert out.shape == (1, 2, 2)
    assert values(out) == [[[5, 7], [13, 15]]]
    assert values(indices) == [[[5, 7], [13, 15]]]  # h * 4 + w of each maximum


def test_ceil_mode_drops_the_window_that_would_start_in_the_right_padding():
    # gh-45357: L=6, k=1, s=2: windows at 0, 2, 4; ceil would add one at 6 = L + p: dropped.
    # L=7: the window at 6 starts inside the input: kept.
    assert reference.max_pool1d(array([[list(range(6))]]), 1, 2, ceil_mode=True).shape == (1, 1, 3)
    assert values(reference.max_pool1d(array([[list(range(7))]]), 1, 2, ceil_mode=True)) == [[[0, 2, 4, 6]]]


def test_avg_divisor_counts_padding_but_never_the_ceil_overhang():
    # x = [1, 2, 3, 4], k=3, s=2, p=1, ceil: windows [-1,0,1] -> (0+1+2)/3 = 1,
    # [1,2,3] -> (2+3+4)/3 = 3, [3,4,5]: 4 + pad at 4, 5 is overhang -> 4/2 = 2.
    x = array([[[1, 2, 3, 4]]])
    assert values(reference.avg_pool1d(x, 3, 2, 1, ceil_mode=True)) == [[[1, 3, 2]]]
    # count_include_pad=False: (1+2)/2 = 1.5, 9/3 = 3, 4/1 = 4.
    assert values(reference.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)) == [[[1.5, 3, 4]]]


def test_divisor_override_replaces_the_divisor_even_when_negative():
    # 2x2 window of ones sums to 4; divided by -2 gives -2; by 3 gives 4/3.
    x = array([[[[1, 1], [1, 1]]]])
    assert values(reference.avg_pool2d(x, 2, divisor_override=-2)) == [[[[-2.0]]]]
    assert values(reference.avg_pool2d(x, 2, divisor_override=3, count_include_pad=False)) == [[[[store(4 / 3, "float32")]]]]


def test_max_padding_never_wins_over_negative_inputs():
    # [-3, -5] with k=2, p=1: windows [pad, -3], [-3, -5], [-5, pad]: -3, -3, -5.
    out, indices = reference.max_pool1d(array([[[-3, -5]]]), 2, 1, 1, return_indices=True)
    assert values(out) == [[[-3, -3, -5]]]
    assert values(indices) == [[[0, 0, 1]]]


def test_max_window_without_input_gives_lowest_value_and_no_index():
    # [1], k=2, p=1, d=2: the one window reads positions -1 and 1, both padding.
    out, indices = reference.max_pool1d(array([[[1]]]), 2, padding=1, dilation=2, return_indices=True)
    assert values(out) == [[[-INF]]]
    assert values(indices) == [[[None]]]
    out = reference.max_pool1d(array([[[5]]], "int32"), 2, padding=1, dilation=2)
    assert values(out) == [[[-(2**31)]]]


def test_max_ties_and_nan_choose_the_first_in_window_order():
    out, indices = reference.max_pool1d(array([[[1, 2, 2, 0]]]), 4, return_indices=True)
    assert (values(out), values(indices)) == ([[[2]]], [[[1]]])
    out, indices = reference.max_pool1d(array([[[NAN, 1, NAN, 2]]]), 4, return_indices=True)
    assert math.isnan(values(out)[0][0][0]) and values(indices) == [[[0]]]
    out, indices = reference.max_pool1d(array([[[-INF, -INF]]]), 2, return_indices=True)
    assert (values(out), values(indices)) == ([[[-INF]]], [[[0]]])


def test_min_pool_mirrors_max_pool():
    out, indices = reference.min_pool1d(array([[[3, 1, 1, 4]]]), 2, 1, return_indices=True)
    assert (values(out), values(indices)) == ([[[1, 1, 1]]], [[[1, 1, 2]]])


def test_average_of_infinities_and_nan():
    x = array([[[INF, 1, -INF, INF]]])
    out = values(reference.avg_pool1d(x, 2))  # [inf, 1] -> inf; [-inf, inf] -> nan
    assert out[0][0][0] == INF and math.isnan(out[0][0][1])


def test_integer_average_truncates_toward_zero():
    # (-7 + 0 + 0) / 3 = -2.33 -> -2 (not floor's -3); (7 + 0) / 2 = 3.5 -> 3.
    assert values(reference.avg_pool1d(array([[[-7, 0, 0]]], "int64"), 3)) == [[[-2]]]
    assert values(reference.avg_pool1d(array([[[7, 0]]], "int64"), 2)) == [[[3]]]


def test_adaptive_windows_overlap_when_output_does_not_divide_input():
    # L=5, O=3: [floor(0), ceil(5/3)) = [0,2), [1, 4), [3, 5): maxima of [1,5], [5,2,4], [4,3].
    out = reference.adaptive_max_pool1d(array([[[1, 5, 2, 4, 3]]]), 3)
    assert values(out) == [[[5, 5, 4]]]
    # L=3, O=5: windows [0,1), [0,2), [1,2), [1,3), [2,3): means 1, 1.5, 2, 2.5, 3.
    assert values(reference.adaptive_avg_pool1d(array([[[1, 2, 3]]]), 5)) == [[[1, 1.5, 2, 2.5, 3]]]


def test_adaptive_output_size_none_keeps_the_input_size():
    assert reference.adaptive_avg_pool2d(array([[[1, 2, 3], [4, 5, 6]]]), (1, None)).shape == (1, 1, 3)


def test_global_average_pool_is_the_plane_mean():
    assert values(reference.global_avg_pool2d(array([[[1, 2], [3, 6]]]))) == [[[3.0]]]


def test_unbatched_and_empty_batch_shapes():
    assert reference.max_pool2d(array([[[1, 2], [3, 4]]]), 2).shape == (1, 1, 1)
    empty = Array((0, 1, 2, 2), (), "float32")
    assert reference.max_pool2d(empty, 2).shape == (0, 1, 1, 1)


def test_store_rounds_to_nearest_even_and_overflows_to_infinity():
    assert store(1 + 2**-11, "float16") == 1.0  # halfway between 1 and 1 + 2**-10: to even
    assert store(1 + 3 * 2**-11, "float16") == 1 + 2**-9  # halfway, rounds up to even
    assert store(65519.0, "float16") == 65504.0
    assert store(65520.0, "float16") == INF  # the midpoint to 2**16 rounds away: infinity
    assert store(1 + 2**-8, "bfloat16") == 1.0
    assert store(2**-24, "float16") == 2**-24  # the smallest subnormal
    assert store(300, "uint8") == 44  # wraps modulo 256


@pytest.mark.parametrize("call, message", [
    (lambda x: reference.max_pool2d(x, 0), "kernel_size must be greater than zero"),
    (lambda x: reference.max_pool2d(x, 2, 0), "stride must be greater than zero"),
    (lambda x: reference.max_pool2d(x, 2, dilation=0), "dilation must be greater than zero"),
    (lambda x: reference.max_pool2d(x, 2, padding=-1), "pad must be non-negative"),
    (lambda x: reference.max_pool2d(x, 2, padding=2), "pad should be at most half of kernel size"),
    (lambda x: reference.max_pool2d(x, 5), "Output size is too small"),
    (lambda x: reference.avg_pool2d(x, 2, divisor_override=0), "divisor must be not zero"),
    (lambda x: reference.adaptive_avg_pool2d(x, -1), "greater than or equal to 0"),
    (lambda x: reference.max_pool2d(Array((4, 4), (0.0,) * 16, "float32"), 2), "Expected 3D or 4D"),
    (lambda x: reference.max_pool2d(Array((1, 0, 4, 4), (), "float32"), 2), "Expected 3D or 4D"),
])
def test_invalid_arguments_raise_with_torchs_wording(call, message):
    x = Array((1, 1, 4, 4), (0.0,) * 16, "float32")
    with pytest.raises(ValueError, match=message):
        call(x)


def test_wrongly_typed_arguments_raise_type_error():
    x = Array((1, 1, 4, 4), (0.0,) * 16, "float32")
    with pytest.raises(TypeError):
        reference.max_pool2d(x, 2.0)
    with pytest.raises(TypeError):
        reference.avg_pool1d(Array((1, 4), (0.0,) * 4, "float32"), 2, divisor_override=2)
    with pytest.raises(TypeError):
        reference.adaptive_avg_pool1d(Array((1, 4), (0.0,) * 4, "float32"), (None,))
