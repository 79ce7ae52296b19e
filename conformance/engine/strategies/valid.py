"""Valid cases: an op, its parameters, a dtype and values; with an upstream gradient, for the
backward pass."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from conformance.engine.cases import Case
from conformance.engine.ops import ADAPTIVE_FAMILIES, OPS, SLIDING_FAMILIES
from conformance.engine.strategies.parameters import (
    LARGE_AXIS, LARGE_MAX_LENGTH, MAX_LENGTH, adaptive_output_sizes, default_or_explicit,
    large_windows, leading_shapes, sliding_axes, sliding_kwargs,
)
from conformance.engine.strategies.values import dtypes, element_values, input_arrays
from reference.dtypes import FLOAT_FORMATS
from reference.pooling import op_windows, pooled_shape


@st.composite
def cases(draw, op_name: str, dtype_strategy=None, return_indices=None) -> Case:
    """A valid case of `op_name`: shape, parameters, dtype and values.

    `return_indices` forces that argument of ops that have it (None: drawn).
    """
    op = OPS[op_name]
    dtype = draw(dtype_strategy if dtype_strategy is not None else dtypes())
    leading = draw(leading_shapes())
    large = draw(large_windows())
    if op.family in SLIDING_FAMILIES:
        axes = draw(sliding_axes(op.spatial_dims, allow_dilation="dilation" in op.parameters,
                                 large=large))
        lengths = tuple(axis[0] for axis in axes)
        kwargs = draw(sliding_kwargs(op, axes))
    else:
        # Large: inputs whose global window, or adaptive windows of a small output, are large.
        low, longest = ((LARGE_AXIS[op.spatial_dims][0], LARGE_MAX_LENGTH[op.spatial_dims])
                        if large else (1, MAX_LENGTH[op.spatial_dims]))
        lengths = tuple(draw(st.integers(low, longest)) for _ in range(op.spatial_dims))
        kwargs = {}
        if op.family in ADAPTIVE_FAMILIES:
            kwargs["output_size"] = draw(adaptive_output_sizes(lengths))
        if op.has_indices:
            with_indices = draw(st.booleans())
            draw(default_or_explicit(kwargs, "return_indices", with_indices,
                                     not with_indices))
    if return_indices is not None and op.has_indices:
        kwargs["return_indices"] = return_indices
    array = draw(input_arrays(leading + lengths, dtype))
    return Case(op_name, array, kwargs)


def output_shape(case: Case) -> tuple[int, ...]:
    return pooled_shape(case.input.shape, op_windows(case.op_name, case.input.shape, **case.kwargs))


def upstream_values(dtype: str) -> st.SearchStrategy[float]:
    """Finite, at most max/64 of the dtype (`element_values`): an element receives at most 64
    contributions (4 windows per axis hold it, in 3-D), so no exact sum of them overflows. And
    normal, never zero or subnormal: an upstream gradient sent to the wrong element must differ
    from nothing by more than the tolerance, or a misrouting bug would go unseen."""
    smallest_normal = math.ldexp(1, FLOAT_FORMATS[dtype].min_exponent)
    return element_values(dtype, "mixed").map(
        lambda value: value if abs(value) >= smallest_normal else math.copysign(1.0, value))


@st.composite
def gradient_cases(draw, op_name: str) -> Case:
    """A float case of `op_name` with an upstream gradient of its output's shape."""
    case = draw(cases(op_name, dtype_strategy=dtypes(allow_integers=False)))
    upstream = draw(npst.arrays(np.float64, output_shape(case),
                                elements=upstream_values(case.dtype)))
    return dataclasses.replace(case, grad_output=upstream.astype(case.input.dtype))
