"""Dialects: the parameter languages in which frameworks state a pooling call.

The oracle defines windows (reference.windows) and what a window reduces to (reference.pooling)
once. A dialect only translates its own parameters into that one enumeration, citing its spec:

- torch (torch.py): torch.nn.functional's names and signatures; the oracle's native language.
- onnx (onnx.py): MaxPool, AveragePool, LpPool, GlobalMaxPool, GlobalAveragePool, with
  auto_pad, asymmetric pads, strides defaulting to 1, storage_order, opset versions.
- tf (tf.py): tf.nn.max_pool, avg_pool and pool with SAME/VALID and data_format.
- keras (keras.py): the Keras 3 layers MaxPooling1D..3D, AveragePooling*, Global*Pooling*.

A dialect op is called with an input's shape and the op's parameters (the framework's own
names and defaults) and returns a `Plan` (plan.py); `evaluate` runs it on an input. SAME
padding, the one rule two dialects share, is in padding.py. Each dialect module has `OPS`
(name -> plan function), `SPATIAL_DIMS` (name -> the number of spatial axes, or None for an
N-d op whose input rank decides) and a family per op (how its values are compared).
"""

from __future__ import annotations

import inspect

import reference
from reference.array import Array
from reference.dialects import keras, onnx, tf
from reference.dialects import torch as torch_dialect
from reference.dialects.plan import Plan, output_shape, run

DIALECTS = {"torch": torch_dialect, "onnx": onnx, "tf": tf, "keras": keras}
DEFAULT_DIALECT = "torch"


def dialect_module(dialect: str):
    try:
        return DIALECTS[dialect]
    except KeyError:
        raise ValueError(f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}") from None


def op_names(dialect: str) -> tuple[str, ...]:
    return tuple(dialect_module(dialect).OPS)


def signature(dialect: str, op: str) -> inspect.Signature:
    """The op's parameters after the input, with the dialect's defaults."""
    function = dialect_module(dialect).OPS[op]
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return inspect.Signature(parameters)


def family(dialect: str, op: str, params: dict | None = None) -> str:
    module = dialect_module(dialect)
    if hasattr(module, "family_of"):
        return module.family_of(op, params or {})
    return module.FAMILIES[op]


def spatial_dims(dialect: str, op: str, input_rank: int) -> int:
    """The op's number of spatial axes; an N-d op's (ONNX, tf.nn) is the input's rank - 2."""
    fixed = dialect_module(dialect).SPATIAL_DIMS[op]
    return fixed if fixed is not None else input_rank - 2


def plan(dialect: str, op: str, input_shape: tuple[int, ...], **params) -> Plan:
    """The plan of a non-torch dialect call: TypeError / ValueError for invalid parameters."""
    if dialect == "torch":
        raise ValueError("the torch dialect is the oracle's own ops (reference.pooling)")
    function = dialect_module(dialect).OPS[op]
    bound = inspect.signature(function).bind(tuple(input_shape), **params)
    return function(*bound.args, **bound.kwargs)


def evaluate(dialect: str, op: str, input: Array, **params):
    """What the dialect's `op` returns for `input`: an Array, or (values, indices)."""
    if dialect == "torch":
        return getattr(reference, op)(input, **params)
    return run(plan(dialect, op, input.shape, **params), input)


__all__ = ["DEFAULT_DIALECT", "DIALECTS", "Plan", "evaluate", "family", "op_names",
           "output_shape", "plan", "signature", "spatial_dims"]
