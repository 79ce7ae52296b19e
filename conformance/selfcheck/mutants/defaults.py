"""Mutants whose bug is in a parameter's default: right when the argument is spelled out, wrong
when it is left to the backend (omitted, or None where torch allows it)."""

from __future__ import annotations

from conformance.selfcheck.mutants.machinery import Mutant, Witness
from conformance.selfcheck.mutants.rewrites import SLIDING, with_arguments


def _explicit_or(name: str, default_value):
    """The caller's value where given, `default_value(call)` where left to the default."""
    return lambda c: default_value(c) if c.left_to_default(name) else c.args[name]


stride_default_one = Mutant(
    "stride-default-one",
    "stride omitted or None means 1, not kernel_size (ONNX's MaxPool/AveragePool strides "
    "default to 1 along each axis: a converter that drops torch's stride=None)",
    dict.fromkeys(SLIDING, with_arguments(stride=_explicit_or("stride", lambda c: 1))),
    Witness("max_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2}),
)
count_include_pad_default_false = Mutant(
    "count-include-pad-default-false",
    "count_include_pad omitted means False, as ONNX's AveragePool (count_include_pad=0) and "
    "Keras' AveragePooling default; spelled out it is honoured",
    {"avg_pool": with_arguments(count_include_pad=_explicit_or(
        "count_include_pad", lambda c: False))},
    Witness("avg_pool1d", [[[1, 2, 3, 4]]], {"kernel_size": 2, "padding": 1}),
)
