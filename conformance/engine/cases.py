"""A case: one op applied to one input with one set of parameters, and how to reproduce it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from conformance.engine.arrays import dtype_name
from conformance.engine.ops import Op, op_of


@dataclass(frozen=True, eq=False)
class Case:
    op_name: str  # the op's name in its dialect: max_pool2d (torch), MaxPool (onnx), ...
    input: np.ndarray
    kwargs: dict = field(default_factory=dict)
    grad_output: np.ndarray | None = None  # the upstream gradient, for a backward-pass case
    # The parameter language of op_name and kwargs (reference.dialects): a backend declares
    # the dialects it speaks; torch's is the default, and every torch case is written in it.
    dialect: str = "torch"

    @property
    def op(self) -> Op:
        return op_of(self.dialect, self.op_name, self.input.ndim, self.kwargs)

    @property
    def dtype(self) -> str:
        return dtype_name(self.input.dtype)

    def call_text(self, array_name: str = "x") -> str:
        arguments = [array_name] + [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"{self.op_name}({', '.join(arguments)})"

    def describe(self) -> str:
        """One line naming everything that decides the result but the input's values."""
        prefix = "" if self.dialect == "torch" else f"{self.dialect} "
        return (f"{prefix}{self.call_text()} with x of shape {tuple(self.input.shape)} and "
                f"dtype {self.dtype}")

    def input_literal(self, array: np.ndarray | None = None) -> str:
        """The input (or `array`) as a Python literal that rebuilds it exactly (NaN and
        infinities included)."""
        array = self.input if array is None else array
        values = array.tolist() if self.dtype == "int64" else array.astype(np.float64).tolist()
        return repr(values).replace("nan", "float('nan')").replace("inf", "float('inf')")

    def __repr__(self) -> str:
        # What Hypothesis prints for a falsifying example: enough to rebuild the case.
        grad_output = ("" if self.grad_output is None else
                       f", grad_output=np.array({self.input_literal(self.grad_output)}, "
                       f"dtype={self.dtype!r})")
        dialect = "" if self.dialect == "torch" else f", dialect={self.dialect!r}"
        return (f"Case({self.op_name!r}, np.array({self.input_literal()}, dtype={self.dtype!r}), "
                f"{self.kwargs!r}{grad_output}{dialect})")

    def key(self) -> tuple:
        """Identifies the case for counting distinct cases."""
        grad_output = None if self.grad_output is None else self.grad_output.tobytes()
        return (self.dialect, self.op_name, self.dtype, self.input.shape, self.input.tobytes(),
                tuple(sorted((key, repr(value)) for key, value in self.kwargs.items())),
                grad_output)
