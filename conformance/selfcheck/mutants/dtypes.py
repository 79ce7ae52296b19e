"""Mutants that lose precision or change the dtype."""

from __future__ import annotations


import torch

from conformance.selfcheck.mutants.machinery import (
    Call, Mutant, Witness,
)
from conformance.selfcheck.mutants.rewrites import (
    ALL, on_values, only_for,
)


def _global_avg_summed_in_input_dtype(c: Call):
    if c.x.dtype not in (torch.float16, torch.bfloat16):
        return c.torch()
    taps = c.x.flatten(-c.dims)
    total = torch.zeros_like(taps[..., 0])
    for tap in taps.unbind(-1):
        total = total + tap  # each partial sum rounded to the input dtype
    return (total / taps.shape[-1]).reshape(*total.shape, *(1,) * c.dims)


# Precision and dtypes.

global_avg_low_precision_accumulation = Mutant(
    "global-avg-low-precision-accumulation",
    "float16/bfloat16 means summed in the input dtype, overflowing where a float accumulator "
    "does not (torch's test_adaptive_avg_pooling_overflow)",
    {"global_avg_pool": _global_avg_summed_in_input_dtype},
    Witness("global_avg_pool1d", [[[60000, 60000]]], dtype="float16"),
)
float16_returned_as_float32 = Mutant(
    "float16-returned-as-float32",
    "float16 results returned in the float32 they were computed in (a missing cast back)",
    dict.fromkeys(ALL, lambda c: on_values(
        c.torch(), lambda v: v.float() if v.dtype == torch.float16 else v)),
    Witness("max_pool1d", [[[1, 2]]], {"kernel_size": 2}, dtype="float16"),
)
bfloat16_computed_in_float16 = Mutant(
    "bfloat16-computed-in-float16",
    "bfloat16 computed through float16 (a kernel without bfloat16), losing bfloat16's range",
    dict.fromkeys(ALL, only_for(torch.bfloat16, lambda c: on_values(
        c.torch(c.x.half()), lambda v: v.bfloat16()))),
    Witness("max_pool1d", [[[70000, 1]]], {"kernel_size": 2}, dtype="bfloat16"),
)
