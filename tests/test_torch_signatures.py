"""The arithmetic the torch-like adapters emulate missing parameters with
(conformance/backends/torch_signatures.py), on answers worked by hand from torch's documented
rules, and its independence from the oracle."""

import subprocess
import sys

import numpy as np
import pytest

from conformance.backends.torch_signatures import (
    adaptive_bounds,
    bind,
    ceil_mode_end_padding,
    explicit_padding,
    pool_adaptively,
    pool_channels_last,
    split_op_name,
)


@pytest.mark.parametrize("length, kernel, stride, padding, dilation, expected", [
    # o = ceil((5 - 2) / 2) + 1 = 3 windows; the last starts at 4 < 5: kept. 4 + 2 - 5 = 1.
    (5, 2, 2, 0, 1, 1),
    # o = ceil((4 + 2 - 3) / 2) + 1 = 3; the last starts at 4 - 1 = 3 < 4. 4 + 3 - 4 - 2 = 1.
    (4, 3, 2, 1, 1, 1),
    # o = ceil((5 + 2 - 2) / 2) + 1 = 4, but (4 - 1) 2 = 6 >= 5 + 1: the last window would start
    # in the right padding and is dropped, so 3 windows, which the padded input already holds.
    (5, 2, 2, 1, 1, 0),
    # span 5: o = ceil((7 - 5) / 2) + 1 = 2, exactly covered: nothing to add.
    (7, 3, 2, 0, 2, 0),
    # span 5: o = ceil((8 - 5) / 2) + 1 = 3; (3 - 1) 2 + 5 - 8 = 1.
    (8, 3, 2, 0, 2, 1),
])
def test_ceil_mode_end_padding(length, kernel, stride, padding, dilation, expected):
    assert ceil_mode_end_padding(length, kernel, stride, padding, dilation) == expected


def test_explicit_padding_adds_the_overhang_after_the_axis_only():
    # Axis 0 as the first case above (1 more at the end), axis 1 as the second.
    assert explicit_padding((5, 4), (2, 3), (2, 2), (0, 1), ceil_mode=True) == ((0, 1), (1, 2))
    assert explicit_padding((5, 4), 2, None, 1) == ((1, 1), (1, 1))


@pytest.mark.parametrize("length, size, expected", [
    # [floor(i 5 / 3), ceil((i + 1) 5 / 3)): [0, 2), [1, 4), [3, 5)
    (5, 3, [(0, 2), (1, 4), (3, 5)]),
    # more windows than positions: [0, 1), [0, 1), [1, 2), [1, 2)
    (2, 4, [(0, 1), (0, 1), (1, 2), (1, 2)]),
    (3, 0, []),
])
def test_adaptive_bounds(length, size, expected):
    assert adaptive_bounds(length, size) == expected


def test_adaptive_bounds_refuse_what_the_formula_cannot_take():
    with pytest.raises(ValueError):
        adaptive_bounds(4, -1)
    with pytest.raises(TypeError):
        adaptive_bounds(4, 1.5)


def test_pool_adaptively_reduces_each_window():
    x = np.arange(5.0).reshape(1, 1, 5)
    mean = pool_adaptively(x, [2], [3], lambda part, axis: part.mean(axis, keepdims=True),
                           lambda parts, axis: np.concatenate(parts, axis))
    # windows [0, 1], [1, 2, 3], [3, 4]
    assert mean.tolist() == [[[0.5, 2.0, 3.5]]]
    assert pool_adaptively(x, [2], [0], None, None).shape == (1, 1, 0)


def test_pool_channels_last_moves_channels_and_adds_a_batch():
    seen = []

    def pool(x):
        seen.append(x.shape)
        return x[..., :1, :]  # keeps the first position of the (last) spatial axis

    x = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # unbatched (C, H, W) for 2-d pooling
    y = pool_channels_last(pool, x, 2, np, add_batch=True)
    assert seen == [(1, 3, 4, 2)]
    assert np.array_equal(y, x[:, :, :1])


def test_bind_fills_torch_defaults_and_rejects_unknown_names():
    assert bind("avg_pool", 2, None, (3,), {"ceil_mode": True}) == {
        "kernel_size": 3, "stride": None, "padding": 0, "ceil_mode": True,
        "count_include_pad": True, "divisor_override": None}
    with pytest.raises(TypeError):
        bind("avg_pool", 1, None, (3,), {"divisor_override": 2})  # not in torch's avg_pool1d
    with pytest.raises(AttributeError):
        split_op_name("min_pool2d", ("max_pool",))


def test_adapter_helpers_need_no_oracle():
    code = ("import sys; sys.modules['reference'] = None; "
            "import conformance.backends.torch_signatures")
    subprocess.run([sys.executable, "-c", code], check=True)
