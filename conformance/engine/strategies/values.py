"""Dtypes and element values: which dtypes a case has, and values that stress each hazard (NaN,
infinities, signed zeros, ties, all-negative windows, sums that round at every step)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from conformance.engine.arrays import NUMPY_DTYPES
from reference.dtypes import FLOAT_FORMATS, INTEGER_RANGES

FLOAT_DTYPES = tuple(FLOAT_FORMATS)
INTEGER_DTYPES = tuple(INTEGER_RANGES)
# float32 first: Hypothesis shrinks toward the first choice, and float32 is what a reader expects.
FLOAT_DTYPES_FIRST = ("float32", "float64", "float16", "bfloat16")
ALL_DTYPES = FLOAT_DTYPES_FIRST + INTEGER_DTYPES


# float32 and float64 alone, for cases whose point is not the dtype.
WIDE_FLOAT_DTYPES = st.sampled_from(("float32", "float64"))


def dtypes(allow_integers: bool = True) -> st.SearchStrategy[str]:
    """Float dtypes at least half the time: integer kernels are the ones backends most often lack."""
    floats = st.sampled_from(FLOAT_DTYPES_FIRST)
    return st.one_of(floats, st.sampled_from(ALL_DTYPES)) if allow_integers else floats


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
    # The smallest subnormal beside zeros: a max (min) window then chooses differently where
    # subnormals read as zero (region subnormal_decides_choice).
    tiny = FLOAT_FORMATS[dtype].smallest_subnormal
    special = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, tiny, -tiny])
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
