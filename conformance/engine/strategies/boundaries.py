"""Validation boundaries: for each rejection rule of reference.parameters, a case just inside the
rule and one just outside it, on one drawn axis, with every other parameter that enters the rule
drawn as the valid cases draw it (dilation, ceil mode, stride, padding per axis, batched or
unbatched input; the properties run every spatial rank). The oracle says which side a case is
on; where both the oracle and the backend accept it, the values must agree too.

Each rule is one small function `(draw, case) -> Case` that moves one argument (or the input's
shape) to the edge of its rule; `BOUNDARY_RULES` names them per op family.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.engine.cases import Case
from conformance.engine.ops import ADAPTIVE_FAMILIES, OPS, SLIDING_FAMILIES
from conformance.engine.strategies.valid import cases
from conformance.engine.strategies.values import WIDE_FLOAT_DTYPES, input_arrays


def _per_axis(case: Case, name: str, default) -> list:
    """An int-or-tuple argument of `case` as one entry per spatial axis (stride=None or omitted:
    the kernel)."""
    n = case.op.spatial_dims
    value = case.kwargs.get(name, default)
    if name == "stride" and value is None:
        value = case.kwargs["kernel_size"]
    entries = list(value) if isinstance(value, (tuple, list)) else [value]
    return entries * n if len(entries) == 1 else entries


def _with_axis(draw, case: Case, name: str, values, default) -> Case:
    """`case` with one drawn axis of `name` set to one of `values` (a tuple for every axis)."""
    entries = _per_axis(case, name, default)
    axis = draw(st.integers(0, len(entries) - 1))
    entries[axis] = draw(st.sampled_from(values(entries[axis], case, axis)))
    return Case(case.op_name, case.input, {**case.kwargs, name: tuple(entries)})


def _with_axis_length(draw, case: Case, axis: int, length: int, kwargs: dict) -> Case:
    """`case` with `kwargs` and a freshly drawn input whose spatial `axis` is `length` long."""
    shape = list(case.input.shape)
    shape[case.input.ndim - case.op.spatial_dims + axis] = length
    return Case(case.op_name, draw(input_arrays(tuple(shape), case.dtype)), kwargs)


def _positive(name: str, default: int | None = 1):
    """kernel_size, stride, dilation: 1 is valid, 0 and -1 are not."""
    def rule(draw, case: Case) -> Case:
        if name == "kernel_size":
            # A kernel of 1 allows no padding: that is the padding rule's boundary, not this one.
            case = Case(case.op_name, case.input, {**case.kwargs, "padding": 0})
        return _with_axis(draw, case, name, lambda *_: [1, 0, -1], default)
    return rule


def _padding_non_negative(draw, case: Case) -> Case:
    return _with_axis(draw, case, "padding", lambda *_: [0, -1], 0)


def _padding_at_half_kernel(draw, case: Case) -> Case:
    """The bound is on kernel_size, not the dilated span: k // 2 is valid, k // 2 + 1 is not.
    Where the op dilates, the axis's dilation is drawn from 3 down (with 3, k // 2 + 1 <= span // 2
    for every k, so a bound taken on the dilated span is told apart from the one on the kernel)
    and its input made as long as the span, so that no other rule decides the case. The
    outside side is drawn first: Hypothesis starts from the first choice."""
    n = case.op.spatial_dims
    kernels, paddings = _per_axis(case, "kernel_size", None), _per_axis(case, "padding", 0)
    axis = draw(st.integers(0, n - 1))
    paddings[axis] = kernels[axis] // 2 + draw(st.sampled_from([1, 0]))
    kwargs = {**case.kwargs, "padding": tuple(paddings)}
    if "dilation" not in case.op.parameters:
        return Case(case.op_name, case.input, kwargs)
    dilations = _per_axis(case, "dilation", 1)
    dilations[axis] = draw(st.sampled_from([3, 2, 1]))
    kwargs["dilation"] = tuple(dilations)
    span = dilations[axis] * (kernels[axis] - 1) + 1
    if case.input.shape[case.input.ndim - n + axis] < span:
        return _with_axis_length(draw, case, axis, span, kwargs)
    return Case(case.op_name, case.input, kwargs)


def _window_fits_padded_input(draw, case: Case) -> Case:
    """The input's length on one axis set so that the dilated kernel overshoots the padded input
    by e: floor mode keeps a window for e <= 0, ceil mode for e < stride (its one window starts
    at the first position); e is drawn on both sides of both edges, ceil mode drawn too."""
    n = case.op.spatial_dims
    kernels, strides = _per_axis(case, "kernel_size", None), _per_axis(case, "stride", None)
    paddings, dilations = _per_axis(case, "padding", 0), _per_axis(case, "dilation", 1)
    axis = draw(st.integers(0, n - 1))
    span = dilations[axis] * (kernels[axis] - 1) + 1
    overshoot = draw(st.sampled_from(sorted({-1, 0, 1, strides[axis] - 1, strides[axis]})))
    if span - overshoot - 2 * paddings[axis] < 1:
        paddings[axis] = 0
    length = max(1, span - overshoot - 2 * paddings[axis])
    kwargs = {**case.kwargs, "padding": tuple(paddings), "ceil_mode": draw(st.booleans())}
    return _with_axis_length(draw, case, axis, length, kwargs)


def _divisor_override_non_zero(draw, case: Case) -> Case:
    return Case(case.op_name, case.input,
                {**case.kwargs, "divisor_override": draw(st.sampled_from([1, 0, -1]))})


def _output_size_non_negative(draw, case: Case) -> Case:
    return _with_axis(draw, case, "output_size", lambda *_: [0, -1], None)


def _output_size_none(draw, case: Case) -> Case:
    """None keeps the axis's size in 2-d and 3-d; torch's 1-d ops reject it."""
    return _with_axis(draw, case, "output_size", lambda *_: [None], None)


def _per_axis_entries(name: str):
    """One entry per spatial axis is valid, one more or one fewer is not. (A one-entry tuple is
    valid for the sliding ops; torch's adaptive ops reject one that the oracle's per_axis takes,
    an undocumented spelling either way, so it is not drawn for output_size.)"""
    def rule(draw, case: Case) -> Case:
        n = case.op.spatial_dims
        entries = _per_axis(case, name, None)
        # A one-entry kernel_size, valid for every rank, is a spelling some exporters miss.
        counts = {n, n + 1} | ({n - 1} if n > 2 else set()) | ({1} if name == "kernel_size"
                                                                else set())
        count = draw(st.sampled_from(sorted(c for c in counts if c >= 1)))
        return Case(case.op_name, case.input,
                    {**case.kwargs, name: tuple((entries * 2)[:count])})
    return rule


def _input_rank(draw, case: Case) -> Case:
    """(C, *spatial) and (N, C, *spatial) are valid; one axis fewer or more is not."""
    n = case.op.spatial_dims
    spatial = case.input.shape[-n:]
    leading = draw(st.sampled_from([(2,), (1, 2), (), (1, 1, 2)]))
    shape = leading + spatial
    return Case(case.op_name, draw(input_arrays(tuple(shape), case.dtype)), case.kwargs)


def _empty_dimension(draw, case: Case) -> Case:
    """Only the batch may be empty: an unbatched input's first axis is its channels."""
    shape = list(case.input.shape)
    shape[draw(st.integers(0, len(shape) - 1))] = 0
    return Case(case.op_name, np.zeros(shape, case.input.dtype), case.kwargs)


SHAPE_RULES = {"input rank": _input_rank, "empty dimension": _empty_dimension}
BOUNDARY_RULES = {
    "sliding": {
        "kernel_size >= 1": _positive("kernel_size"),
        "stride >= 1": _positive("stride", None),
        "dilation >= 1": _positive("dilation"),
        "padding >= 0": _padding_non_negative,
        "padding <= kernel_size // 2": _padding_at_half_kernel,
        "a window fits the padded input": _window_fits_padded_input,
        "divisor_override != 0": _divisor_override_non_zero,
        "kernel_size entries": _per_axis_entries("kernel_size"),
        **SHAPE_RULES,
    },
    "adaptive": {
        "output_size >= 0": _output_size_non_negative,
        "output_size None": _output_size_none,
        "output_size entries": _per_axis_entries("output_size"),
        **SHAPE_RULES,
    },
    "global": SHAPE_RULES,
}


def boundary_rules(op) -> dict:
    kind = ("sliding" if op.family in SLIDING_FAMILIES else
            "adaptive" if op.family in ADAPTIVE_FAMILIES else "global")
    parameter_of_rule = {"dilation >= 1": "dilation", "divisor_override != 0": "divisor_override"}
    return {name: rule for name, rule in BOUNDARY_RULES[kind].items()
            if parameter_of_rule.get(name, "input") in op.parameters + ("input",)}


@st.composite
def boundary_cases(draw, op_name: str) -> tuple[Case, str]:
    """(case, rule): a valid case of `op_name` moved to one side of one rule's boundary."""
    rules = boundary_rules(OPS[op_name])
    name = draw(st.sampled_from(sorted(rules)))
    case = draw(cases(op_name, dtype_strategy=WIDE_FLOAT_DTYPES))
    return rules[name](draw, case), name
