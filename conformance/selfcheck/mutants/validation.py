"""Mutants that accept what torch rejects, or reject what it accepts."""

from __future__ import annotations

import numpy as np
import torch

from conformance.selfcheck.mutants.machinery import (
    Call, Mutant, Witness, on_parts,
)
from conformance.selfcheck.mutants.rewrites import (
    SLIDING, with_arguments,
)


def _rejects_stride_over_kernel(c: Call):
    if any(s > k for s, k in zip(c.axes("stride"), c.axes("kernel_size"))):
        raise ValueError("stride must not exceed kernel_size")
    return c.torch()


# Parameter validation.

padding_over_half_kernel_clamped = Mutant(
    "padding-over-half-kernel-clamped",
    "padding above kernel_size/2 silently clamped instead of raising (anchors (d) 9)",
    dict.fromkeys(SLIDING, with_arguments(padding=lambda c: tuple(
        min(p, k // 2) for p, k in zip(c.axes("padding"), c.axes("kernel_size"))))),
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "padding": 2}),
)
rejects_stride_greater_than_kernel = Mutant(
    "rejects-stride-greater-than-kernel",
    "stride > kernel_size rejected though valid (gaps between windows; TF's "
    "testKernelSmallerThanStride)",
    dict.fromkeys(SLIDING, _rejects_stride_over_kernel),
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 1, "stride": 2}),
)


def _padding_bound_on_dilated_span(c: Call):
    """Padding up to half the dilated span accepted, and pooled as if at most half the kernel."""
    spans = [d * (k - 1) + 1 for k, d in zip(c.axes("kernel_size"), c.axes("dilation"))]
    if all(p <= s // 2 for p, s in zip(c.axes("padding"), spans)):
        return c.torch(padding=tuple(min(p, k // 2) for p, k in zip(c.axes("padding"),
                                                                      c.axes("kernel_size"))))
    return c.torch()


def _empty_unbatched_channels_as_batch(c: Call):
    """An unbatched input's first axis read as a batch: no channels pass as an empty batch."""
    if c.batched or c.x.shape[0] != 0:
        return c.torch()
    one_channel = c.torch(torch.ones((1,) + c.spatial, dtype=c.x.dtype))
    return on_parts(one_channel, lambda part: part[:0])


padding_bound_on_dilated_span = Mutant(
    "padding-bound-on-dilated-span",
    "padding checked against half the dilated kernel span instead of half kernel_size, so "
    "kernel_size // 2 < padding <= span // 2 is accepted with dilation > 1 (the bound torch "
    "documents is on kernel_size)",
    dict.fromkeys(("max_pool",), _padding_bound_on_dilated_span),
    Witness("max_pool1d", [[[1, 2, 3, 4, 5, 6]]], {"kernel_size": 3, "padding": 2,
                                                   "dilation": 2}),
)
empty_unbatched_channels_accepted = Mutant(
    "empty-unbatched-channels-accepted",
    "an unbatched (C, *spatial) input with C = 0 accepted as an empty batch (the first axis "
    "taken for the batch, where only a batched input's batch may be empty)",
    dict.fromkeys(("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool"),
                  _empty_unbatched_channels_as_batch),
    Witness("avg_pool1d", np.zeros((0, 3)), {"kernel_size": 1}),
)
