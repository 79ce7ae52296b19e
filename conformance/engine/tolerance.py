"""How close a backend's values must be to the oracle's, by op and dtype.

- A choice (max, min, adaptive max) is exact: the backend returns one of its inputs. NaN equals
  NaN. -0.0 equals 0.0: which of two tied zeros a max returns depends on evaluation order, which
  no framework specifies; the indices property checks which element was chosen.
- An average is bounded by its window and the dtype: the oracle's value is the exact mean,
  rounded once to the dtype. A conforming backend may differ by the rounding of its own sum and
  quotient: at most (n + 1) accumulation epsilons of the mean of |x| over the window (n = the
  window's element count), plus one unit in the last place of the output dtype. Accumulation is
  in the dtype or float32, whichever is wider: torch accumulates float16 and bfloat16 in float32
  (its "opmath" type), and a backend that sums in the low dtype itself (TensorFlow's CPU float16
  average pooling does) loses digits the dtype can hold; that is reported, not tolerated.
- Integers are exact. Infinities and NaN must match exactly.
"""

from __future__ import annotations

import numpy as np

from reference.dtypes import FLOAT_FORMATS


def unit_in_last_place(value: np.ndarray, dtype: str) -> np.ndarray:
    fmt = FLOAT_FORMATS[dtype]
    magnitude = np.abs(value.astype(np.float64))
    exponent = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0)))
    exponent = np.maximum(exponent, fmt.min_exponent)
    return np.exp2(exponent - (fmt.precision - 1))


def average_bound(expected: np.ndarray, mean_abs: np.ndarray, window_size: int, dtype: str):
    """The largest allowed |actual - expected| for each element of an average."""
    accumulation = FLOAT_FORMATS[dtype if FLOAT_FORMATS[dtype].precision >= 24 else "float32"]
    return (window_size + 1) * accumulation.epsilon * mean_abs + unit_in_last_place(expected, dtype)


def mismatched_elements(expected: np.ndarray, actual: np.ndarray, bound) -> np.ndarray:
    """Boolean mask of the elements that differ; `bound` None means exact."""
    if expected.dtype.kind in "iu" and actual.dtype.kind in "iu":
        return expected.astype(np.int64) != actual.astype(np.int64)
    expected, actual = expected.astype(np.float64), actual.astype(np.float64)
    both_nan = np.isnan(expected) & np.isnan(actual)
    if bound is None:
        return ~both_nan & (expected != actual)
    nonfinite = ~np.isfinite(expected) | ~np.isfinite(actual)
    with np.errstate(invalid="ignore"):  # inf - inf: decided by the exact comparison instead
        within = (expected == actual) | (~nonfinite & (np.abs(actual - expected) <= bound))
    return ~both_nan & ~within
