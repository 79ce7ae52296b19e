"""Mutants that accept what torch rejects, or reject what it accepts."""

from __future__ import annotations



from conformance.selfcheck.mutants.machinery import (
    Call, Mutant, Witness,
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
