"""Canonical cases: a few small, fixed cases per op, each packing the hazards where pooling
implementations most often go wrong (per-axis parameters that differ between axes, ceil-mode
overhang, padding beside negative values, dilation, stride above the kernel, parameters left to
the backend's default or stride=None, unbatched inputs, NaN, infinities and ties, 16-bit and
integer dtypes). They are the first examples every property sees, so a wrong backend usually
fails in its first second; Hypothesis' search follows.

They are built from the op's signature and the oracle's validity rules alone, never from any
known bug: a template the oracle rejects for some op is left out for that op.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from conformance.engine.arrays import NUMPY_DTYPES
from conformance.engine.cases import Case
from conformance.engine.ops import ADAPTIVE_FAMILIES, OPS, SLIDING_FAMILIES
from reference import parameters
from reference.pooling import op_windows, pooled_shape

# A different length per axis, so that a parameter or index read on the wrong axis shows.
SPATIAL = {1: (7,), 2: (5, 6), 3: (3, 4, 5)}


def _per_axis(values: tuple, dims: int) -> tuple:
    return tuple(values[:dims])


def _sliding_templates(op) -> list[dict]:
    n = op.spatial_dims
    templates = [
        # Everything left to the backend's defaults.
        {"kernel_size": _per_axis((3, 2, 2), n)},
        # Different kernel, stride and padding on each axis; ceil mode overhangs.
        {"kernel_size": _per_axis((2, 3, 2), n), "stride": _per_axis((2, 1, 3), n),
         "padding": _per_axis((0, 1, 1), n), "ceil_mode": True},
        # stride=None spelled out, one int for every axis, padding at half the kernel.
        {"kernel_size": 2, "stride": None, "padding": 1, "ceil_mode": True},
        # Stride above the kernel: gaps between windows.
        {"kernel_size": 1, "stride": 2},
    ]
    if "dilation" in op.parameters:
        # Dilated windows, some of padding only.
        templates.append({"kernel_size": 2, "stride": _per_axis((1, 2, 1), n), "padding": 1,
                          "dilation": _per_axis((3, 2, 2), n), "ceil_mode": True})
    if op.family == "avg_pool":
        templates.append({"kernel_size": _per_axis((3, 2, 2), n), "stride": 2, "padding": 1,
                          "count_include_pad": False, "ceil_mode": True})
        if "divisor_override" in op.parameters:
            templates.append({"kernel_size": 2, "padding": 1, "divisor_override": 3})
    return templates


def _adaptive_templates(op) -> list[dict]:
    n, lengths = op.spatial_dims, SPATIAL[op.spatial_dims]
    templates = [
        {"output_size": 3},  # does not divide any axis
        {"output_size": tuple(length + 2 for length in lengths)},  # larger than the input
        {"output_size": _per_axis((2, 4, 1), n)},
    ]
    if n > 1:
        templates.append({"output_size": (None,) + _per_axis((2, 3), n - 1)})
    return templates


def _inputs(shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    """Distinct values, mostly negative (padding must not beat them); and the same with NaNs
    (two in a row, so some window holds both), infinities, a signed zero and ties."""
    size = math.prod(shape)
    distinct = np.random.default_rng(size).permutation(size).astype(np.float64) - size + 3.5
    special = distinct.copy()
    for position, value in zip((1, 2, size // 2, size // 2 + 1, size - 2, size - 1),
                               (math.nan, math.nan, -math.inf, -0.0, 1.0, 1.0)):
        special[position % size] = value
    return [("distinct", distinct.reshape(shape)), ("special", special.reshape(shape))]


def _valid(op_name: str, shape: tuple[int, ...], kwargs: dict) -> bool:
    try:
        op_windows(op_name, shape, **kwargs)
        parameters.check_divisor_override(op_name, kwargs.get("divisor_override"))
    except (TypeError, ValueError):
        return False
    return True


@functools.cache
def _canonical(op_name: str) -> tuple[Case, ...]:
    op = OPS[op_name]
    if op.family in SLIDING_FAMILIES:
        templates = _sliding_templates(op)
    elif op.family in ADAPTIVE_FAMILIES:
        templates = _adaptive_templates(op)
    else:
        templates = [{}]
    found = []
    for number, kwargs in enumerate(templates):
        # Batched and unbatched in turn; float32, and every third case another dtype.
        leading = (2, 2) if number % 2 == 0 else (2,)
        shape = leading + SPATIAL[op.spatial_dims]
        if not _valid(op_name, shape, kwargs):
            continue
        for name, values in _inputs(shape):
            found.append(Case(op_name, values.astype(np.float32), dict(kwargs)))
        dtype = ("float16", "int64", "bfloat16")[number % 3]
        finite = np.nan_to_num(_inputs(shape)[0][1])
        found.append(Case(op_name, finite.astype(NUMPY_DTYPES[dtype]), dict(kwargs)))
    return tuple(found)


def canonical_cases(op_name: str, return_indices: bool | None = None) -> list[Case]:
    """The op's canonical cases; `return_indices` forces that argument where the op has it."""
    found = list(_canonical(op_name))
    if return_indices is not None and OPS[op_name].has_indices:
        found = [dataclasses.replace(case, kwargs={**case.kwargs, "return_indices": return_indices})
                 for case in found]
    return found


def canonical_gradient_cases(op_name: str) -> list[Case]:
    """The float canonical cases with an upstream gradient: distinct, nonzero, of both signs."""
    found = []
    for case in _canonical(op_name):
        if case.dtype not in ("float32", "float64"):
            continue
        shape = pooled_shape(case.input.shape, op_windows(op_name, case.input.shape, **case.kwargs))
        size = math.prod(shape)
        upstream = (np.arange(size, dtype=np.float64) % 7 - 3.25).reshape(shape)
        found.append(dataclasses.replace(case, grad_output=upstream.astype(case.input.dtype)))
    return found
