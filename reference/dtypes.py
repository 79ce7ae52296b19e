"""The element types the oracle knows, and how an exact result is stored in each.

The oracle computes with Python ints and floats (IEEE binary64) and exact fractions, then stores
each result in the input's dtype with one rounding, as a correctly rounded implementation would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

INTEGER_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "uint8": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True)
class FloatFormat:
    """An IEEE 754 binary format: `precision` significand bits (the implicit bit included)."""

    precision: int
    min_exponent: int  # exponent of the smallest normal number
    max_exponent: int  # exponent of the largest finite number

    @property
    def max_finite(self) -> float:
        return math.ldexp(2 - math.ldexp(1, 1 - self.precision), self.max_exponent)

    @property
    def epsilon(self) -> float:
        """The gap between 1 and the next larger number."""
        return math.ldexp(1, 1 - self.precision)

    @property
    def smallest_subnormal(self) -> float:
        return math.ldexp(1, self.min_exponent - self.precision + 1)


FLOAT_FORMATS = {
    "float16": FloatFormat(precision=11, min_exponent=-14, max_exponent=15),
    "bfloat16": FloatFormat(precision=8, min_exponent=-126, max_exponent=127),
    "float32": FloatFormat(precision=24, min_exponent=-126, max_exponent=127),
    "float64": FloatFormat(precision=53, min_exponent=-1022, max_exponent=1023),
}

DTYPES = tuple(FLOAT_FORMATS) + tuple(INTEGER_RANGES)
INDEX_DTYPE = "int64"


def is_integer(dtype: str) -> bool:
    return dtype in INTEGER_RANGES


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise TypeError(f"unsupported dtype {dtype!r}; expected one of {', '.join(DTYPES)}")


def lowest(dtype: str) -> float | int:
    """The value a max window with no input element gives: -inf, or the integer minimum.

    torch's kernels start each max at -infinity for floating types and at the type's lowest value
    for integer types (`std::numeric_limits<scalar_t>::lowest()`), so an empty window keeps it.
    """
    return INTEGER_RANGES[dtype][0] if is_integer(dtype) else -math.inf


def highest(dtype: str) -> float | int:
    """The mirror of `lowest`, for min pooling."""
    return INTEGER_RANGES[dtype][1] if is_integer(dtype) else math.inf


def store(value: Fraction | float | int, dtype: str) -> float | int:
    """Store an exact result in a dtype: the one rounding (or wrap-around) every result gets.

    Floats: the nearest value of the dtype, ties to even; a result whose rounded magnitude (with
    an unbounded exponent) exceeds the largest finite number becomes an infinity, as IEEE 754
    says. `value` may be an exact Fraction (averages) or a float (NaN, infinities, zeros).
    Integers wrap around modulo 2**bits, as the C++ conversion in torch's kernels does.
    """
    if is_integer(dtype):
        low, high = INTEGER_RANGES[dtype]
        return (int(value) - low) % (high - low + 1) + low
    if isinstance(value, float) and (value == 0 or not math.isfinite(value)):
        return value
    value = Fraction(value)
    if value == 0:
        return 0.0
    fmt = FLOAT_FORMATS[dtype]
    exponent = _binary_exponent(abs(value))
    ulp_exponent = max(exponent - fmt.precision, fmt.min_exponent - fmt.precision + 1)
    units = round(value / Fraction(2) ** ulp_exponent)  # round() on a Fraction: ties to even
    if abs(units) * Fraction(2) ** ulp_exponent > Fraction(fmt.max_finite):
        return math.inf if value > 0 else -math.inf  # value may be too large to convert
    return math.ldexp(units, ulp_exponent) if units else math.copysign(0.0, value)


def _binary_exponent(magnitude: Fraction) -> int:
    """The e with 2**(e - 1) <= magnitude < 2**e (math.frexp's exponent, for a Fraction)."""
    numerator, denominator = magnitude.numerator, magnitude.denominator
    exponent = numerator.bit_length() - denominator.bit_length() + 1
    if magnitude < Fraction(2) ** (exponent - 1):
        exponent -= 1
    return exponent
