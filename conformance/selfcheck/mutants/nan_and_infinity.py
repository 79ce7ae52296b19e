"""Mutants that mishandle NaN and infinities."""

from __future__ import annotations


import torch

from conformance.selfcheck.mutants.machinery import (
    Mutant, Witness,
)
from conformance.selfcheck.mutants.rewrites import (
    INF, MAX, NAN, indices_remapped, nan_replaced_by,
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
