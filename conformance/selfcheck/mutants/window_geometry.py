"""Mutants that misplace windows: the padding's value or side, a window of padding only, per-axis parameters swapped or collapsed, dilation dropped."""

from __future__ import annotations


import torch

from conformance.selfcheck.mutants.machinery import (
    Call, Mutant, Witness,
)
from conformance.selfcheck.mutants.rewrites import (
    INF, SLIDING, lowest_value, on_values, padded_by_hand, swapped, with_arguments,
)


def _empty_windows_zero(c: Call):
    # A window with no input element is the one a float pool of ones leaves at -inf.
    empty = c.torch(torch.ones_like(c.x, dtype=torch.float32), return_indices=False) == -INF
    return on_values(c.torch(), lambda v: v.masked_fill(empty, 0))


# Padding.

max_pad_value_zero = Mutant(
    "max-pad-value-zero",
    "max pooling pads with 0 instead of -inf, so padding beats negative inputs (TVM's oracle; "
    "webmachinelearning/webnn#935: TFLite 0 vs CoreML -inf)",
    {"max_pool": padded_by_hand(lambda dtype: 0, keep_shape=True)},
    Witness("max_pool1d", [[[-1, -2, -3, -4]]], {"kernel_size": 2, "padding": 1}),
)
max_padding_left_only = Mutant(
    "max-padding-left-only",
    "padding applied at the start of each axis only, a SAME-split confusion (anchors (d) 11)",
    {"max_pool": padded_by_hand(lowest_value, right_side=False)},
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "padding": 1}),
)
max_empty_window_zero = Mutant(
    "max-empty-window-zero",
    "a max window holding only padding (dilation) gives 0, not -inf (webmachinelearning/"
    "webnn#935, TFLite; torch's test_max_pool1d_corner_cases)",
    {"max_pool": _empty_windows_zero},
    Witness("max_pool1d", [[[1]]], {"kernel_size": 2, "padding": 1, "dilation": 2}),
)


# Per-axis parameters.

stride_axis0_for_all_axes = Mutant(
    "stride-axis0-for-all-axes",
    "the first axis's stride used on every axis (a per-axis tuple read as one int)",
    dict.fromkeys(SLIDING, with_arguments(stride=lambda c: c.axes("stride")[0])),
    Witness("max_pool2d", [[[[1, 2, 3, 4], [5, 6, 7, 8]]]], {"kernel_size": 1, "stride": (1, 2)}),
)
stride_hw_swapped = Mutant(
    "stride-hw-swapped",
    "stride tuple applied in reversed axis order (W, H), an NHWC/NCHW attribute mix-up",
    dict.fromkeys(SLIDING, swapped("stride")),
    Witness("max_pool2d", [[[[1, 2, 3, 4], [5, 6, 7, 8]]]], {"kernel_size": 1, "stride": (1, 2)}),
)
padding_hw_swapped = Mutant(
    "padding-hw-swapped",
    "padding tuple applied in reversed axis order (W, H)",
    dict.fromkeys(SLIDING, swapped("padding")),
    Witness("max_pool2d", [[[[1, 2], [3, 4]]]], {"kernel_size": 2, "padding": (0, 1)}),
)
kernel_hw_swapped = Mutant(
    "kernel-hw-swapped",
    "kernel_size tuple applied in reversed axis order (W, H)",
    dict.fromkeys(SLIDING, swapped("kernel_size")),
    Witness("max_pool2d", [[[[1, 2, 3], [4, 5, 6]]]], {"kernel_size": (1, 2), "stride": 1}),
)
dilation_ignored = Mutant(
    "dilation-ignored",
    "dilation dropped: windows of adjacent elements (JAX's reduce_window oracle has no window "
    "dilation)",
    {"max_pool": with_arguments(dilation=1)},
    Witness("max_pool1d", [[[1, 5, 2, 3, 0]]], {"kernel_size": 2, "dilation": 2}),
)
