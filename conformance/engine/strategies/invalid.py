"""Invalid arguments: a valid case with one thing broken, and the name of what was broken."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.engine.cases import Case
from conformance.engine.ops import ADAPTIVE_FAMILIES, OPS, SLIDING_FAMILIES
from conformance.engine.strategies.valid import cases
from conformance.engine.strategies.values import WIDE_FLOAT_DTYPES

# Invalid arguments: a valid case with one thing broken. Each breakage names what it breaks;
# the oracle decides whether the result must raise (a few are valid edge cases on purpose).


def _break_sliding(draw, case: Case, breakage: str) -> Case:
    kwargs = dict(case.kwargs)
    kernel = kwargs["kernel_size"]
    first_kernel = kernel if isinstance(kernel, int) else kernel[0]
    if breakage == "kernel_size <= 0":
        kwargs["kernel_size"] = draw(st.integers(-2, 0))
    elif breakage == "stride <= 0":
        kwargs["stride"] = draw(st.integers(-2, 0))
    elif breakage == "padding < 0":
        kwargs["padding"] = draw(st.integers(-2, -1))
    elif breakage == "padding > kernel_size / 2":
        kwargs["padding"] = first_kernel // 2 + draw(st.integers(1, 2))
    elif breakage == "dilation <= 0":
        kwargs["dilation"] = draw(st.integers(-1, 0))
    elif breakage == "kernel beyond the padded input":
        kwargs["padding"], kwargs["dilation"] = 0, 1
        kwargs["kernel_size"] = max(case.input.shape[-case.op.spatial_dims:]) + draw(st.integers(1, 3))
        kwargs["stride"] = draw(st.integers(1, 4))
    elif breakage == "divisor_override = 0":
        kwargs["divisor_override"] = 0
    elif breakage == "kernel_size not an int":
        kwargs["kernel_size"] = float(first_kernel) + draw(st.sampled_from([0.0, 0.5]))
    return Case(case.op_name, case.input, kwargs)


def _break_adaptive(draw, case: Case, breakage: str) -> Case:
    kwargs = dict(case.kwargs)
    dims = case.op.spatial_dims
    if breakage == "output_size < 0":
        kwargs["output_size"] = draw(st.integers(-3, -1))
    elif breakage == "output_size = 0":
        kwargs["output_size"] = 0
    elif breakage == "output_size not an int":
        kwargs["output_size"] = draw(st.sampled_from([1.5, 2.0]))
    elif breakage == "output_size of the wrong length":
        kwargs["output_size"] = (1,) * (dims + 1)
    elif breakage == "output_size None in 1-d":
        kwargs["output_size"] = (None,)
    return Case(case.op_name, case.input, kwargs)


def _break_shape(draw, case: Case, breakage: str) -> Case:
    x = case.input
    if breakage == "wrong rank":
        x = x.reshape((1,) * draw(st.integers(1, 2)) + x.shape) if draw(st.booleans()) else x.reshape(-1)
    elif breakage == "empty channel or spatial dimension":
        shape = list(x.shape)
        batched = x.ndim == case.op.spatial_dims + 2
        shape[draw(st.integers(1 if batched else 0, len(shape) - 1))] = 0
        x = np.zeros(shape, x.dtype)
    return Case(case.op_name, x, case.kwargs)


SHAPE_BREAKAGES = ("wrong rank", "empty channel or spatial dimension")


def breakages(op) -> tuple[str, ...]:
    if op.family in SLIDING_FAMILIES:
        own = ["kernel_size <= 0", "stride <= 0", "padding < 0", "padding > kernel_size / 2",
               "kernel beyond the padded input", "kernel_size not an int"]
        if "dilation" in op.parameters:
            own.append("dilation <= 0")
        if "divisor_override" in op.parameters:
            own.append("divisor_override = 0")
    elif op.family in ADAPTIVE_FAMILIES:
        own = ["output_size < 0", "output_size = 0", "output_size not an int",
               "output_size of the wrong length"]
        if op.spatial_dims == 1:
            own.append("output_size None in 1-d")
    else:
        own = []
    return tuple(own) + SHAPE_BREAKAGES


@st.composite
def invalid_cases(draw, op_name: str) -> tuple[Case, str]:
    """(case, breakage): a valid case of `op_name` with one argument or the shape broken."""
    op = OPS[op_name]
    case = draw(cases(op_name, dtype_strategy=WIDE_FLOAT_DTYPES))
    breakage = draw(st.sampled_from(breakages(op)))
    if breakage in SHAPE_BREAKAGES:
        return _break_shape(draw, case, breakage), breakage
    if op.family in SLIDING_FAMILIES:
        return _break_sliding(draw, case, breakage), breakage
    return _break_adaptive(draw, case, breakage), breakage
