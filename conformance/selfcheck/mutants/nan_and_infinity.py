"""Mutants that mishandle NaN and infinities."""

from __future__ import annotations


import torch

from conformance.selfcheck.mutants.machinery import (
    Call, Mutant, Witness,
)
from conformance.selfcheck.mutants.rewrites import (
    INF, MAX, NAN, indices_remapped, nan_replaced_by, ravel, unravel,
)


# NaN and infinities.

max_drops_nan = Mutant(
    "max-drops-nan",
    "NaN skipped by max (fmax semantics), as ONNX's reference pool() does (anchors (e))",
    dict.fromkeys(MAX, nan_replaced_by(-INF)),
    Witness("max_pool1d", [[[1, NAN, 2, 3]]], {"kernel_size": 2}),
)
avg_nan_as_zero = Mutant(
    "avg-nan-as-zero",
    "NaN read as 0 by average pooling instead of propagating (torch gh-36977 NaN regression)",
    dict.fromkeys(("avg_pool", "adaptive_avg_pool", "global_avg_pool"), nan_replaced_by(0.0)),
    Witness("avg_pool1d", [[[1, NAN, 2, 3]]], {"kernel_size": 2}),
)
max_neg_inf_index_unset = Mutant(
    "max-neg-inf-index-unset",
    "a window of only -inf reports index -1: the running max starts at -inf with no index and "
    "updates on '>' only (torch's _test_maxpool_indices: '-Infinity is handled correctly')",
    dict.fromkeys(MAX, indices_remapped(lambda c, v, i: torch.where(v == -INF, -1, i))),
    Witness("max_pool1d", [[[-INF, -INF, 1, 2]]], {"kernel_size": 2, "return_indices": True}),
)


def _nan_index_of_a_transposed_scan(c: Call):
    """Where a window holds NaN, the index torch's rule (the last NaN wins) gives when the window
    is scanned with its axes in reverse order (column-major in 2-d): the values are the same."""
    if c.dims == 1 or not c.args["return_indices"]:
        return c.torch()
    values, indices = c.torch()
    order = list(range(c.x.ndim - c.dims)) + list(range(c.x.ndim - 1, c.x.ndim - c.dims - 1, -1))
    reverse = {name: c.axes(name)[::-1] for name in ("kernel_size", "stride", "padding",
                                                      "dilation")}
    _, transposed = c.torch(c.x.permute(order).contiguous(), **reverse)
    transposed = transposed.permute(order)
    coordinates = unravel(transposed, c.spatial[::-1])[::-1]
    return values, torch.where(values.isnan(), ravel(coordinates, c.spatial), indices)


max_nan_index_of_a_transposed_scan = Mutant(
    "max-nan-index-of-a-transposed-scan",
    "of several NaNs in a 2-d or 3-d max window, the index names the last NaN in column-major "
    "order (a kernel looping over the axes in reverse order): neither the oracle's first NaN "
    "nor torch's last NaN in row-major window order",
    {"max_pool2d": _nan_index_of_a_transposed_scan, "max_pool3d": _nan_index_of_a_transposed_scan},
    Witness("max_pool2d", [[[[NAN, NAN], [NAN, 1]]]], {"kernel_size": 2, "return_indices": True},
            between_conventions=True),
)
