"""Hypothesis strategies for pooling cases, composed from small named pieces.

Every case drawn here is valid by construction (the oracle accepts it). Sizes stay small so the
pure-Python oracle stays fast, and draws lean toward the regions where implementations differ:
ceil-mode overhang and dropped last windows, windows mostly in the padding, dilation, strides
larger than the kernel, adaptive sizes that do not divide the input or exceed it, and values with
NaN, infinities, signed zeros, ties and negatives next to padding.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from conformance.arrays import NUMPY_DTYPES
from conformance.cases import Case
from conformance.ops import ADAPTIVE_FAMILIES, OPS, SLIDING_FAMILIES
from reference.dtypes import FLOAT_FORMATS, INTEGER_RANGES

FLOAT_DTYPES = tuple(FLOAT_FORMATS)
INTEGER_DTYPES = tuple(INTEGER_RANGES)
# float32 first: Hypothesis shrinks toward the first choice, and float32 is what a reader expects.
FLOAT_DTYPES_FIRST = ("float32", "float64", "float16", "bfloat16")
ALL_DTYPES = FLOAT_DTYPES_FIRST + INTEGER_DTYPES

# Largest spatial extent per number of spatial dims: keeps a 3-d oracle call near a millisecond.
MAX_LENGTH = {1: 12, 2: 7, 3: 5}

# float32 and float64 alone, for cases whose point is not the dtype.
WIDE_FLOAT_DTYPES = st.sampled_from(("float32", "float64"))


def dtypes(allow_integers: bool = True) -> st.SearchStrategy[str]:
    """Float dtypes at least half the time: integer kernels are the ones backends most often lack."""
    floats = st.sampled_from(FLOAT_DTYPES_FIRST)
    return st.one_of(floats, st.sampled_from(ALL_DTYPES)) if allow_integers else floats


@st.composite
def leading_shapes(draw) -> tuple[int, ...]:
    """(N, C) for a batched input or (C,) for an unbatched one; N = 0 (an empty batch) is valid."""
    channels = draw(st.integers(1, 2))
    if draw(st.booleans()):
        return (channels,)
    return (draw(st.sampled_from([1, 2, 1, 0])), channels)


@st.composite
def sliding_axes(draw, spatial_dims: int, allow_dilation: bool):
    """Per axis: (length, kernel, stride, padding, dilation), with at least one full window."""
    axes = []
    for _ in range(spatial_dims):
        longest = MAX_LENGTH[spatial_dims]
        dilation = draw(st.sampled_from([1, 2, 1, 3])) if allow_dilation else 1
        kernel = draw(st.integers(1, min(4, (longest - 1) // dilation + 1)))
        # The largest padding often: with dilation it leaves windows of padding alone.
        padding = draw(st.one_of(st.integers(0, kernel // 2), st.just(kernel // 2)))
        stride = draw(st.one_of(st.integers(1, kernel + 2), st.just(kernel), st.integers(2, 3)))
        span = dilation * (kernel - 1) + 1
        shortest = max(1, span - 2 * padding)
        length = draw(st.one_of(st.integers(shortest, max(shortest, longest)), st.just(shortest)))
        if draw(st.booleans()):
            # Leave a remainder after the last full window: ceil mode then overhangs or drops.
            full_windows_end = span + ((length + 2 * padding - span) // stride) * stride
            remainder = length + 2 * padding - full_windows_end
            if remainder == 0 and stride > 1 and length + 1 <= longest:
                length += 1
        axes.append((length, kernel, stride, padding, dilation))
    return axes


@st.composite
def per_axis_argument(draw, values: tuple[int, ...]):
    """An int when every axis agrees (sometimes), else a tuple: both spellings are torch's."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


@st.composite
def sliding_kwargs(draw, op, axes) -> dict:
    """kernel_size, stride, padding, ... for max/min/avg pooling; defaults sometimes omitted."""
    lengths, kernels, strides, paddings, dilations = zip(*axes)
    kwargs = {"kernel_size": draw(per_axis_argument(kernels))}
    if strides != kernels or draw(st.booleans()):
        kwargs["stride"] = draw(per_axis_argument(strides))
    if any(paddings) or draw(st.booleans()):
        kwargs["padding"] = draw(per_axis_argument(paddings))
    if "dilation" in op.parameters and (any(d > 1 for d in dilations) or draw(st.booleans())):
        kwargs["dilation"] = draw(per_axis_argument(dilations))
    ceil_mode = draw(st.one_of(st.just(True), st.booleans()))  # ceil mode is where bugs live
    if ceil_mode or draw(st.booleans()):
        kwargs["ceil_mode"] = ceil_mode
    if op.family == "avg_pool":
        kwargs["count_include_pad"] = draw(st.booleans())
        if "divisor_override" in op.parameters and draw(st.integers(0, 3)) == 0:
            kwargs["divisor_override"] = draw(st.sampled_from([1, 2, 3, 7, -2]))
    if op.has_indices:
        kwargs["return_indices"] = draw(st.booleans())
    return kwargs


@st.composite
def adaptive_output_sizes(draw, lengths: tuple[int, ...]):
    """Per axis: a size that may not divide the input, may exceed it, or None (keep the input's;
    2-d and 3-d only, as torch documents)."""
    sizes = []
    for length in lengths:
        size = draw(st.one_of(
            st.integers(1, length + 3),
            st.sampled_from([length, 1]),
            st.none() if len(lengths) > 1 else st.nothing(),
        ))
        sizes.append(size)
    if len(set(sizes)) == 1 and sizes[0] is not None and draw(st.booleans()):
        return sizes[0]
    return tuple(sizes)


def finite_float_bound(dtype: str) -> float:
    """Large magnitudes, but with room for sums of a few dozen elements before overflow."""
    return FLOAT_FORMATS[dtype].max_finite / 64


def element_values(dtype: str, profile: str) -> st.SearchStrategy:
    """Element values for one array; `profile` chooses which hazards to stress."""
    if dtype in INTEGER_RANGES:
        low, high = INTEGER_RANGES[dtype]
        # Sums of a window must fit in int64, where torch's integer averages accumulate.
        low, high = max(low, -(2**40)), min(high, 2**40)
        if profile == "ties":
            return st.sampled_from([low, -1, 0, 1, 2, high]).filter(lambda v: low <= v <= high)
        if profile == "all_negative":
            return st.integers(low, -1) if low < 0 else st.integers(low, high)
        return st.integers(low, high)
    bound = finite_float_bound(dtype)
    width = 16 if dtype == "float16" else 32 if dtype in ("float32", "bfloat16") else 64
    finite = st.floats(-bound, bound, width=width)
    small_ties = st.sampled_from([-2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0])
    special = st.sampled_from([math.nan, math.inf, -math.inf, -0.0])
    if profile == "ties":
        return small_ties
    if profile == "all_negative":
        return st.floats(-bound, -2.0**-10, width=width)
    if profile == "special":
        return st.one_of(small_ties, special, finite)
    return st.one_of(finite, small_ties)


@st.composite
def input_arrays(draw, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Arrays mostly of one repeated value with a few others (Hypothesis' fill: ties, cheap),
    or, in the "distinct" profile, every element drawn: sums that round at every step."""
    profile = draw(st.sampled_from(["mixed", "ties", "all_negative", "special", "distinct"]))
    wide = np.int64 if dtype in INTEGER_RANGES else np.float64
    elements = element_values(dtype, "mixed" if profile == "distinct" else profile)
    fill = st.nothing() if profile == "distinct" else None
    values = draw(npst.arrays(wide, shape, elements=elements, fill=fill))
    return values.astype(NUMPY_DTYPES[dtype])


@st.composite
def cases(draw, op_name: str, dtype_strategy=None, return_indices=None) -> Case:
    """A valid case of `op_name`: shape, parameters, dtype and values.

    `return_indices` forces that argument of ops that have it (None: drawn).
    """
    op = OPS[op_name]
    dtype = draw(dtype_strategy if dtype_strategy is not None else dtypes())
    leading = draw(leading_shapes())
    if op.family in SLIDING_FAMILIES:
        axes = draw(sliding_axes(op.spatial_dims, allow_dilation="dilation" in op.parameters))
        lengths = tuple(axis[0] for axis in axes)
        kwargs = draw(sliding_kwargs(op, axes))
    else:
        lengths = tuple(
            draw(st.integers(1, MAX_LENGTH[op.spatial_dims])) for _ in range(op.spatial_dims)
        )
        kwargs = {}
        if op.family in ADAPTIVE_FAMILIES:
            kwargs["output_size"] = draw(adaptive_output_sizes(lengths))
        if op.has_indices:
            kwargs["return_indices"] = draw(st.booleans())
    if return_indices is not None and op.has_indices:
        kwargs["return_indices"] = return_indices
    array = draw(input_arrays(leading + lengths, dtype))
    return Case(op_name, array, kwargs)


# Invalid arguments: a valid case with one thing broken. Each breakage names what it breaks;
# the oracle decides whether the result must raise (a few are valid edge cases on purpose).


def _break_sliding(draw, case: Case, breakage: str) -> Case:
    kwargs = dict(case.kwargs)
    kernel = kwargs["kernel_size"]
    first_kernel = kernel if isinstance(kernel, int) else kernel[0]
    if breakage == "kernel_size <= 0":
        kwargs["kernel_size"] = draw(st.integers(-2, 0))
    elif breakage == "stride <= 0":
        kwargs["stride"] = draw(st.integers(-2, 0))
    elif breakage == "padding < 0":
        kwargs["padding"] = draw(st.integers(-2, -1))
    elif breakage == "padding > kernel_size / 2":
        kwargs["padding"] = first_kernel // 2 + draw(st.integers(1, 2))
    elif breakage == "dilation <= 0":
        kwargs["dilation"] = draw(st.integers(-1, 0))
    elif breakage == "kernel beyond the padded input":
        kwargs["padding"], kwargs["dilation"] = 0, 1
        kwargs["kernel_size"] = max(case.input.shape[-case.op.spatial_dims:]) + draw(st.integers(1, 3))
        kwargs["stride"] = draw(st.integers(1, 4))
    elif breakage == "divisor_override = 0":
        kwargs["divisor_override"] = 0
    elif breakage == "kernel_size not an int":
        kwargs["kernel_size"] = float(first_kernel) + draw(st.sampled_from([0.0, 0.5]))
    return Case(case.op_name, case.input, kwargs)


def _break_adaptive(draw, case: Case, breakage: str) -> Case:
    kwargs = dict(case.kwargs)
    dims = case.op.spatial_dims
    if breakage == "output_size < 0":
        kwargs["output_size"] = draw(st.integers(-3, -1))
    elif breakage == "output_size = 0":
        kwargs["output_size"] = 0
    elif breakage == "output_size not an int":
        kwargs["output_size"] = draw(st.sampled_from([1.5, 2.0]))
    elif breakage == "output_size of the wrong length":
        kwargs["output_size"] = (1,) * (dims + 1)
    elif breakage == "output_size None in 1-d":
        kwargs["output_size"] = (None,)
    return Case(case.op_name, case.input, kwargs)


def _break_shape(draw, case: Case, breakage: str) -> Case:
    x = case.input
    if breakage == "wrong rank":
        x = x.reshape((1,) * draw(st.integers(1, 2)) + x.shape) if draw(st.booleans()) else x.reshape(-1)
    elif breakage == "empty channel or spatial dimension":
        shape = list(x.shape)
        batched = x.ndim == case.op.spatial_dims + 2
        shape[draw(st.integers(1 if batched else 0, len(shape) - 1))] = 0
        x = np.zeros(shape, x.dtype)
    return Case(case.op_name, x, case.kwargs)


SHAPE_BREAKAGES = ("wrong rank", "empty channel or spatial dimension")


def breakages(op) -> tuple[str, ...]:
    if op.family in SLIDING_FAMILIES:
        own = ["kernel_size <= 0", "stride <= 0", "padding < 0", "padding > kernel_size / 2",
               "kernel beyond the padded input", "kernel_size not an int"]
        if "dilation" in op.parameters:
            own.append("dilation <= 0")
        if "divisor_override" in op.parameters:
            own.append("divisor_override = 0")
    elif op.family in ADAPTIVE_FAMILIES:
        own = ["output_size < 0", "output_size = 0", "output_size not an int",
               "output_size of the wrong length"]
        if op.spatial_dims == 1:
            own.append("output_size None in 1-d")
    else:
        own = []
    return tuple(own) + SHAPE_BREAKAGES


@st.composite
def invalid_cases(draw, op_name: str) -> tuple[Case, str]:
    """(case, breakage): a valid case of `op_name` with one argument or the shape broken."""
    op = OPS[op_name]
    case = draw(cases(op_name, dtype_strategy=WIDE_FLOAT_DTYPES))
    breakage = draw(st.sampled_from(breakages(op)))
    if breakage in SHAPE_BREAKAGES:
        return _break_shape(draw, case, breakage), breakage
    if op.family in SLIDING_FAMILIES:
        return _break_sliding(draw, case, breakage), breakage
    return _break_adaptive(draw, case, breakage), breakage
