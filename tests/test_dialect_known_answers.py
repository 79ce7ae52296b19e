"""Known answers for the dialects' translations (reference.dialects), each worked by hand: the
comment shows the windows, never the oracle's output."""

import math

import pytest

from reference import Array
from reference.dialects import evaluate, plan, signature
from reference.dialects.padding import same_padding

INF = math.inf


def onnx(op, nested, **attributes):
    return evaluate("onnx", op, Array.from_nested(nested, "float32"), **attributes)


def nested(result):
    return tuple(part.to_nested() for part in result) if isinstance(result, tuple) else (
        result.to_nested())


def test_same_upper_and_same_lower_put_the_odd_padding_at_opposite_ends():
    # L=5, k=2, s=2: ceil(5/2) = 3 windows, total padding (3-1)*2 + 2 - 5 = 1.
    # SAME_UPPER pads (0, 1): [1,5] [2,4] [3,pad] -> 5 (index 1), 4 (3), 3 (4).
    # SAME_LOWER pads (1, 0): [pad,1] [5,2] [4,3] -> 1 (0), 5 (1), 4 (3).
    x = [[[1, 5, 2, 4, 3]]]
    upper = onnx("MaxPool", x, kernel_shape=[2], strides=[2], auto_pad="SAME_UPPER",
                 return_indices=True)
    lower = onnx("MaxPool", x, kernel_shape=[2], strides=[2], auto_pad="SAME_LOWER",
                 return_indices=True)
    assert nested(upper) == ([[[5, 4, 3]]], [[[1, 3, 4]]])
    assert nested(lower) == ([[[1, 5, 4]]], [[[0, 1, 3]]])
    # The average divides by real elements (count_include_pad=0): SAME_LOWER gives 1, 3.5, 3.5.
    assert nested(onnx("AveragePool", x, kernel_shape=[2], strides=[2],
                       auto_pad="SAME_LOWER")) == [[[1, 3.5, 3.5]]]


def test_same_with_stride_above_kernel_pads_nothing():
    # L=5, k=1, s=3: ceil(5/3) = 2 windows; (2-1)*3 + 1 - 5 = -1 -> no padding: x[0], x[3].
    assert same_padding(5, 1, 3) == (0, 0)
    assert nested(onnx("MaxPool", [[[1, 5, 2, 4, 3]]], kernel_shape=[1], strides=[3],
                       auto_pad="SAME_UPPER")) == [[[1, 4]]]


def test_same_uses_the_dilated_kernel():
    # L=4, k=2, d=2 (span 3), s=1: 4 windows, total (4-1)*1 + 3 - 4 = 2, SAME_UPPER (1, 1):
    # taps [-1,1] [0,2] [1,3] [2,4] over [1,2,3,4] (-1 and 4 are padding) -> 2, 3, 4, 3.
    # Without the dilation the total would be (4-1) + 2 - 4 = 1.
    assert same_padding(4, 2, 1, 2) == (1, 1)
    assert same_padding(4, 2, 1, 1) == (0, 1)
    assert nested(onnx("MaxPool", [[[1, 2, 3, 4]]], kernel_shape=[2], dilations=[2],
                       auto_pad="SAME_UPPER")) == [[[2, 3, 4, 3]]]


def test_asymmetric_pads_and_count_include_pad():
    # pads [1, 0] (1 before, 0 after), k=2, s=1 over [1,5,2]: [pad,1] [1,5] [5,2].
    x = [[[1, 5, 2]]]
    assert nested(onnx("MaxPool", x, kernel_shape=[2], pads=[1, 0])) == [[[1, 5, 5]]]
    # count_include_pad=1 counts the pad: (0+1)/2, (1+5)/2, (5+2)/2; =0 does not: 1, 3, 3.5.
    assert nested(onnx("AveragePool", x, kernel_shape=[2], pads=[1, 0],
                       count_include_pad=1)) == [[[0.5, 3, 3.5]]]
    assert nested(onnx("AveragePool", x, kernel_shape=[2], pads=[1, 0])) == [[[1, 3, 3.5]]]


def test_pads_as_large_as_the_kernel_give_windows_of_padding_alone():
    # pads [2, 0], k=1 over [3, 4]: windows at -2, -1 (padding: -inf, no index), 0, 1.
    values, indices = onnx("MaxPool", [[[3, 4]]], kernel_shape=[1], pads=[2, 0],
                           return_indices=True)
    assert values.to_nested() == [[[-INF, -INF, 3, 4]]]
    assert indices.data == (None, None, 0, 1)


def test_valid_with_ceil_mode_adds_no_window_but_explicit_zero_pads_do():
    # L=5, k=2, s=2. VALID: ceil((5 - 2 + 1) / 2) = 2 windows, [1,5] [2,4].
    # NOTSET, pads 0, ceil_mode: ceil((5 - 2) / 2 + 1) = 3: the third, [3, overhang], starts in
    # the input and is kept.
    x = [[[1, 5, 2, 4, 3]]]
    assert nested(onnx("MaxPool", x, kernel_shape=[2], strides=[2], auto_pad="VALID",
                       ceil_mode=1)) == [[[5, 4]]]
    assert nested(onnx("MaxPool", x, kernel_shape=[2], strides=[2], ceil_mode=1)) == [[[5, 4, 3]]]


def test_ceil_mode_ignores_every_window_that_starts_in_the_right_padding():
    # L=1, k=1, s=1, pads [0, 2]: windows start at 0, 1, 2 (1 and 2 are right padding).
    # Floor mode keeps all three (-inf for the padding ones); ceil mode ignores the two that
    # start in the right padding: ceil((1 + 2 - 1) / 1 + 1) = 3 counted, 1 left.
    assert nested(onnx("MaxPool", [[[7]]], kernel_shape=[1], pads=[0, 2])) == [[[7, -INF, -INF]]]
    assert nested(onnx("MaxPool", [[[7]]], kernel_shape=[1], pads=[0, 2], ceil_mode=1)) == [[[7]]]


def test_onnx_indices_are_flat_over_the_tensor_and_storage_order_1_is_column_major():
    # N=1, C=2, each plane 2 x 3; kernel (2, 3) covers the plane. Plane 0's max 9 is at (1, 1):
    # row-major 1*3 + 1 = 4, column-major 1 + 1*2 = 3. Plane 1's max 8 is at (0, 2): row-major
    # 6 + 2 = 8, column-major 6 + 0 + 2*2 = 10.
    x = [[[[1, 2, 3], [4, 9, 6]], [[1, 2, 8], [4, 5, 6]]]]
    _, rows = onnx("MaxPool", x, kernel_shape=[2, 3], return_indices=True)
    _, columns = onnx("MaxPool", x, kernel_shape=[2, 3], storage_order=1, return_indices=True)
    assert rows.data == (4, 8)
    assert columns.data == (3, 10)


def test_lp_pool_is_the_lp_norm_of_the_window():
    # [3, 4] with k=2: p=2 -> 5, p=1 -> 7; zero padding adds nothing: pads [1, 0], p=2 -> 3, 5.
    assert nested(onnx("LpPool", [[[3, 4]]], kernel_shape=[2])) == [[[5]]]
    assert nested(onnx("LpPool", [[[3, 4]]], kernel_shape=[2], p=1)) == [[[7]]]
    assert nested(onnx("LpPool", [[[3, 4]]], kernel_shape=[2], pads=[1, 0])) == [[[3, 5]]]


def test_global_max_pool_keeps_spatial_axes_of_size_one():
    # Planes [[1, 7], [3, 2]] and [[0, -1], [-5, -2]]: maxima 7 and 0, shape (1, 2, 1, 1).
    result = onnx("GlobalMaxPool", [[[[1, 7], [3, 2]], [[0, -1], [-5, -2]]]])
    assert result.shape == (1, 2, 1, 1) and result.data == (7, 0)


@pytest.mark.parametrize("attributes, error", [
    ({"kernel_shape": [2], "auto_pad": "SAME_UPPER", "pads": [0, 1]}, ValueError),
    ({"kernel_shape": [2], "pads": [-1, 0]}, ValueError),
    ({"kernel_shape": [2], "auto_pad": "SAME"}, ValueError),
    ({"kernel_shape": [2, 2]}, ValueError),  # one spatial axis, two kernel entries
    ({"kernel_shape": [2], "dilations": [2], "opset": 11}, TypeError),  # dilations from 19
    ({"kernel_shape": [4]}, ValueError),  # no window: k=4 > L=3, no padding
])
def test_onnx_invalid_attributes(attributes, error):
    with pytest.raises(error):
        plan("onnx", "AveragePool", (1, 1, 3), **attributes)


def test_tf_avg_pool_same_excludes_padding_channels_last():
    # TF's notes on padding: [[1,2],[3,4]] (NHWC, one channel), ksize 2, stride 1, SAME:
    # pads (0, 1) per axis -> means of {1,2,3,4}, {2,4}, {3,4}, {4} = 2.5, 3, 3.5, 4.
    x = Array.from_nested([[[[1], [2]], [[3], [4]]]], "float32")
    result = evaluate("tf", "avg_pool", x, ksize=2, strides=1, padding="SAME")
    assert result.shape == (1, 2, 2, 1) and result.data == (2.5, 3, 3.5, 4)
    # The same values channels first (NCHW), and tf.nn.pool's AVG agrees.
    x_first = Array.from_nested([[[[1, 2], [3, 4]]]], "float32")
    first = evaluate("tf", "avg_pool", x_first, ksize=[1, 1, 2, 2], strides=1, padding="SAME",
                     data_format="NCHW")
    assert first.shape == (1, 1, 2, 2) and first.data == (2.5, 3, 3.5, 4)
    assert evaluate("tf", "pool", x, window_shape=[2, 2], pooling_type="AVG",
                    padding="SAME").data == (2.5, 3, 3.5, 4)


@pytest.mark.parametrize("op, params", [
    ("pool", {"window_shape": [2], "pooling_type": "MAX", "strides": [2], "dilations": [2]}),
    ("max_pool", {"ksize": [2, 2, 1], "strides": 1, "padding": "VALID"}),  # pools the batch
    ("avg_pool", {"ksize": 2, "strides": 1, "padding": [[0, 0], [1, 0], [0, 0]]}),
    ("max_pool", {"ksize": 2, "strides": 1, "padding": "same"}),  # tf.nn spells it SAME
])
def test_tf_invalid_parameters(op, params):
    with pytest.raises((TypeError, ValueError)):
        plan("tf", op, (1, 4, 1), **params)


def test_keras_same_and_global_layers():
    # MaxPooling1D(pool_size=3, strides=2, padding="same") over L=4: 2 windows, total
    # (2-1)*2 + 3 - 4 = 1 -> (0, 1): [1,7,3] [3,5,pad] -> 7, 5 (channels last: shape (1, 2, 1)).
    x = Array.from_nested([[[1], [7], [3], [5]]], "float32")
    result = evaluate("keras", "MaxPooling1D", x, pool_size=3, strides=2, padding="same")
    assert result.shape == (1, 2, 1) and result.data == (7, 5)
    # "SAME" is accepted too: Keras' padding is case-insensitive.
    assert evaluate("keras", "MaxPooling1D", x, pool_size=3, strides=2, padding="SAME") == result
    # GlobalAveragePooling1D over the 4 steps: 16 / 4 = 4, shape (1, 1), or (1, 1, 1) kept.
    assert evaluate("keras", "GlobalAveragePooling1D", x).to_nested() == [[4]]
    assert evaluate("keras", "GlobalAveragePooling1D", x, keepdims=True).shape == (1, 1, 1)
    # channels_first: (1, 1, 4) reads the same steps.
    x_first = Array.from_nested([[[1, 7, 3, 5]]], "float32")
    assert evaluate("keras", "MaxPooling1D", x_first, pool_size=3, strides=2, padding="same",
                    data_format="channels_first").data == (7, 5)


def test_dialect_signatures_carry_the_documented_defaults():
    onnx_max = signature("onnx", "MaxPool").parameters
    assert onnx_max["auto_pad"].default == "NOTSET" and onnx_max["strides"].default is None
    assert signature("onnx", "AveragePool").parameters["count_include_pad"].default == 0
    assert signature("keras", "MaxPooling2D").parameters["pool_size"].default == (2, 2)
    assert signature("keras", "AveragePooling1D").parameters["padding"].default == "valid"


def test_versions_table_matches_the_installed_onnx_schemas():
    defs = pytest.importorskip("onnx.defs")
    from reference.dialects.onnx import VERSIONS
    for op, versions in VERSIONS.items():
        changes = {defs.get_schema(op, max_inclusive_version=v).since_version
                   for v in range(versions[0], defs.onnx_opset_version() + 1)}
        assert sorted(changes)[:len(versions)] == list(versions), op
