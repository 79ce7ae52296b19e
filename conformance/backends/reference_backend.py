"""The oracle as a backend (`--backend reference`): NumPy in, NumPy out.

An index that names no element (a max window with no input element) comes back as -1.
"""

from __future__ import annotations

import numpy as np

import reference
from conformance.engine.arrays import from_reference, to_reference
from reference import gradients


class ReferenceBackend:
    name = "reference"
    version = "oracle"

    def __getattr__(self, op_name: str):
        if op_name not in reference.OP_NAMES:
            raise AttributeError(op_name)
        oracle_op = getattr(reference, op_name)

        def op(input: np.ndarray, *args, **kwargs):
            result = oracle_op(to_reference(input), *args, **kwargs)
            if isinstance(result, tuple):
                return tuple(from_reference(part) for part in result)
            return from_reference(result)

        op.__name__ = op_name
        return op

    def vjp(self, op_name: str, input: np.ndarray, grad_output: np.ndarray, *args, **kwargs):
        return from_reference(gradients.vjp(
            op_name, to_reference(input), to_reference(grad_output), *args, **kwargs
        ))
