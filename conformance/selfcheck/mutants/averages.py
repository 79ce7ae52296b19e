"""Mutants that divide an average by the wrong number, or average the wrong adaptive window."""

from __future__ import annotations


import torch

from conformance.selfcheck.mutants.machinery import (
    Call, Implementation, Mutant, Witness,
)
from conformance.selfcheck.mutants.rewrites import (
    AVG_WITH_DIVISOR_OVERRIDE, with_arguments, zero_padded_past_the_overhang,
)


def _adaptive_avg_with_bounds(bounds) -> Implementation:
    """Adaptive average pooling, one axis at a time (a box mean is the mean of axis means),
    window i of an axis of length L pooled to O being range(*bounds(i, L, O))."""

    def implementation(c: Call):
        x = c.x
        for axis, size in enumerate(c.axes("output_size")):
            dim = x.ndim - c.dims + axis
            length = x.shape[dim]
            size = length if size is None else size
            parts = [x.narrow(dim, start, end - start).mean(dim)
                     for start, end in (bounds(i, length, size) for i in range(size))]
            x = torch.stack(parts, dim) if parts else x.narrow(dim, 0, 0)
        return x

    return implementation


def _divisor_counts_overhang(c: Call):
    if not (c.args["ceil_mode"] and c.args["count_include_pad"]):
        return c.torch()
    return c.torch(zero_padded_past_the_overhang(c), padding=0, ceil_mode=False)


# The average's divisor.

avg_divisor_counts_ceil_overhang = Mutant(
    "avg-divisor-counts-ceil-overhang",
    "with count_include_pad, the ceil-mode overhang counted in the divisor (full kernel size): "
    "apple/coremltools#2772 (PR #2844), sonos/tract PR #2851, robertknight/rten PR #1456",
    {"avg_pool": _divisor_counts_overhang},
    Witness("avg_pool1d", [[[1, 2, 3, 4, 5]]], {"kernel_size": 2, "ceil_mode": True}),
)
avg_count_include_pad_inverted = Mutant(
    "avg-count-include-pad-inverted",
    "count_include_pad read with the opposite default/meaning (apache/tvm PR #18487: Relax's "
    "default differs from torch's)",
    {"avg_pool": with_arguments(count_include_pad=lambda c: not c.args["count_include_pad"])},
    Witness("avg_pool1d", [[[1, 2, 3]]], {"kernel_size": 2, "padding": 1}),
)
avg_divisor_override_ignored_without_count_include_pad = Mutant(
    "avg-divisor-override-ignored-without-count-include-pad",
    "divisor_override ignored when count_include_pad=False (pytorch/executorch PR #18616)",
    dict.fromkeys(AVG_WITH_DIVISOR_OVERRIDE, with_arguments(divisor_override=lambda c: (
        c.args["divisor_override"] if c.args["count_include_pad"] else None))),
    Witness("avg_pool2d", [[[[1, 2], [3, 4]]]],
            {"kernel_size": 2, "count_include_pad": False, "divisor_override": 1}),
)
avg_divisor_override_ignored = Mutant(
    "avg-divisor-override-ignored",
    "divisor_override ignored altogether, the window size always divides",
    dict.fromkeys(AVG_WITH_DIVISOR_OVERRIDE, with_arguments(divisor_override=None)),
    Witness("avg_pool2d", [[[[1, 2], [3, 4]]]], {"kernel_size": 2, "divisor_override": 1}),
)
avg_zero_divisor_override_accepted = Mutant(
    "avg-zero-divisor-override-accepted",
    "divisor_override=0 silently means 'no override' (a truthiness test, `if divisor_override:`) "
    "where torch raises 'divisor must be not zero'",
    dict.fromkeys(AVG_WITH_DIVISOR_OVERRIDE,
                  with_arguments(divisor_override=lambda c: c.args["divisor_override"] or None)),
    Witness("avg_pool2d", [[[[1, 2], [3, 4]]]], {"kernel_size": 2, "divisor_override": 0}),
)
avg_int_rounds_to_nearest = Mutant(
    "avg-int-rounds-to-nearest",
    "integer averages rounded to nearest (Paddle's oracle uses np.rint) where torch truncates",
    {"avg_pool": lambda c: c.torch(c.x.double()).round().to(c.x.dtype)
     if not c.x.dtype.is_floating_point else c.torch()},
    Witness("avg_pool1d", [[[1, 2, -3, -4]]], {"kernel_size": 2}, dtype="int64"),
)


# Adaptive window bounds.

adaptive_end_floor = Mutant(
    "adaptive-end-floor",
    "adaptive window end floor((i+1)L/O) instead of ceil, so windows no longer overlap (TVM's "
    "and torch's end_index use ceil)",
    {"adaptive_avg_pool": _adaptive_avg_with_bounds(
        lambda i, n, o: (i * n // o, (i + 1) * n // o))},
    Witness("adaptive_avg_pool1d", [[[1, 2, 3, 4, 5]]], {"output_size": 2}),
)
adaptive_start_rounded = Mutant(
    "adaptive-start-rounded",
    "adaptive window start rounded to nearest instead of floor(iL/O)",
    {"adaptive_avg_pool": _adaptive_avg_with_bounds(
        lambda i, n, o: ((2 * i * n + o) // (2 * o), -(-(i + 1) * n // o)))},
    Witness("adaptive_avg_pool1d", [[[1, 2, 3, 4, 5]]], {"output_size": 3}),
)
adaptive_as_fixed_kernel = Mutant(
    "adaptive-as-fixed-kernel",
    "adaptive pooling lowered to a fixed pool, stride L//O and kernel L-(O-1)*stride, the "
    "exporters' rewrite, exact only when O divides L",
    {"adaptive_avg_pool": _adaptive_avg_with_bounds(
        lambda i, n, o: (i * (n // o), i * (n // o) + n - (o - 1) * (n // o)))},
    Witness("adaptive_avg_pool1d", [[[1, 2, 3, 4, 5]]], {"output_size": 3}),
)
