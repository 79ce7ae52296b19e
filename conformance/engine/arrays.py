"""Moving arrays between NumPy and the oracle's plain-Python `reference.Array`."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from reference import Array
from reference.dtypes import is_integer

NUMPY_DTYPES = {
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
    "int16": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
}
DTYPE_NAMES = {numpy_dtype: name for name, numpy_dtype in NUMPY_DTYPES.items()}


def dtype_name(dtype) -> str | None:
    """The suite's name for a NumPy dtype, or None for a dtype outside the suite."""
    return DTYPE_NAMES.get(np.dtype(dtype))


def to_reference(array: np.ndarray) -> Array:
    name = dtype_name(array.dtype)
    if name is None:
        raise TypeError(f"the oracle has no dtype for NumPy's {array.dtype}")
    wide = array.astype(np.int64 if is_integer(name) else np.float64)
    return Array(tuple(array.shape), tuple(wide.ravel().tolist()), name)


def from_reference(array: Array) -> np.ndarray:
    data = [-1 if value is None else value for value in array.data]
    wide = np.array(data, dtype=np.int64 if is_integer(array.dtype) else np.float64)
    return wide.astype(NUMPY_DTYPES[array.dtype]).reshape(array.shape)
