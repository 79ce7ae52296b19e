"""Hypothesis strategies for pooling cases, composed from small named pieces.

- values.py: dtypes and element values (NaN, infinities, signed zeros, ties, negatives).
- parameters.py: shapes and hyperparameters, per axis.
- valid.py: `cases(op_name)`, a valid case of one op (the oracle accepts it), and
  `gradient_cases(op_name)`, one with an upstream gradient.
- invalid.py: `invalid_cases(op_name)`, a valid case with one argument or the shape broken.

A new op needs its parameters drawn in parameters.py and its family handled in `cases`. Sizes
stay small so the pure-Python oracle stays fast.
"""

from conformance.engine.strategies.invalid import breakages, invalid_cases
from conformance.engine.strategies.parameters import MAX_LENGTH, leading_shapes
from conformance.engine.strategies.valid import cases, gradient_cases, output_shape
from conformance.engine.strategies.values import (
    WIDE_FLOAT_DTYPES, dtypes, element_values, input_arrays,
)

__all__ = ["MAX_LENGTH", "WIDE_FLOAT_DTYPES", "breakages", "cases", "dtypes", "element_values",
           "gradient_cases", "input_arrays", "invalid_cases", "leading_shapes", "output_shape"]
