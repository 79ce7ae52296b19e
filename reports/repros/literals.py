"""Arrays as Python literals that rebuild them exactly, in any framework's constructor.

One formatter for every repro writer: a nested list whose floats are their shortest exact repr
(a float32 or bfloat16 value is a float64 too, so the repr round-trips through the dtype), with
NaN and the infinities spelled so that the script needs no import for them.
"""

from __future__ import annotations

import math

import numpy as np


def scalar(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "-float('inf')"
    return repr(value)


def nested(array: np.ndarray) -> str:
    """The array's values as nested lists (integers as ints, everything else as floats)."""
    wide = array.astype(np.int64 if array.dtype.kind in "iub" else np.float64)
    return _nested(wide.tolist())


def _nested(values) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(value) for value in values) + "]"
    return scalar(values)


def constructor(array: np.ndarray, dtype: str, make: str, empty: str) -> str:
    """`make` or `empty` formatted for this array: `make` takes {values} and {dtype}, `empty`
    (for arrays with no element, whose nested list would lose the shape) {shape} and {dtype}."""
    if array.size == 0:
        return empty.format(shape=tuple(array.shape), dtype=dtype)
    return make.format(values=nested(array), dtype=dtype)


def _numpy_dtype(array: np.ndarray) -> str:
    return "ml_dtypes.bfloat16" if array.dtype.name == "bfloat16" else f"np.{array.dtype.name}"


def numpy_tensor(array: np.ndarray) -> str:
    """A NumPy literal (the constructor the ONNX, TensorFlow and JAX writers share)."""
    return constructor(array, _numpy_dtype(array), "np.array({values}, dtype={dtype})",
                       "np.zeros({shape}, dtype={dtype})")
