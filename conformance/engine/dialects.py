"""Dialects on the engine's side: which dialects a backend speaks, and a case's oracle result,
windows and index range in its own dialect (reference.dialects translates the parameters).

A backend declares `dialects = ("onnx",)` (any of reference.dialects.DIALECTS); without the
attribute it speaks torch. For each dialect it speaks it exposes that dialect's op names
(reference.dialects.op_names), taking the input array and the op's parameters by the dialect's
own names: `backend.MaxPool(x, kernel_shape=[2, 2], auto_pad="SAME_UPPER")`.
"""

from __future__ import annotations

import math

from reference import dialects
from reference.dialects.plan import PLANE_ROW_MAJOR
from reference.pooling import op_windows

from conformance.engine.cases import Case


def dialects_of(backend) -> tuple[str, ...]:
    """The dialects a backend speaks; ("torch",) without a `dialects` attribute."""
    spoken = getattr(backend, "dialects", None)
    if spoken is None:
        return (dialects.DEFAULT_DIALECT,)
    spoken = (spoken,) if isinstance(spoken, str) else tuple(spoken)
    unknown = [d for d in spoken if d not in dialects.DIALECTS]
    if unknown:
        raise ValueError(f"backend declares unknown dialects {unknown}; "
                         f"known: {', '.join(dialects.DIALECTS)}")
    return spoken


def oracle_result(case: Case, array):
    """The oracle's result for the case on `array` (a reference.Array): Array or tuple."""
    return dialects.evaluate(case.dialect, case.op_name, array, **case.kwargs)


def case_plan(case: Case):
    """The Plan of a non-torch case (TypeError / ValueError for invalid parameters)."""
    return dialects.plan(case.dialect, case.op_name, case.input.shape, **case.kwargs)


def axis_windows(case: Case):
    """The per-axis windows the case reads, channels-first spatial order."""
    if case.dialect == "torch":
        return op_windows(case.op_name, case.input.shape, **case.kwargs)
    return [list(axis) for axis in case_plan(case).windows]


def spatial_index(case: Case, out_index: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial part of an output index, in channels-first order."""
    dims = case.op.spatial_dims
    if len(out_index) < case.input.ndim and case.dialect != "torch":
        return (0,) * dims  # a global pool without its spatial axes (Keras keepdims=False)
    if case.dialect != "torch" and case_plan(case).channels_last:
        return tuple(out_index[1:1 + dims])
    return tuple(out_index[-dims:])


def index_count(case: Case) -> int:
    """How many elements an index may name: the (n, c) plane's (torch), or the whole
    tensor's where the dialect numbers indices over it (ONNX)."""
    plane = math.prod(case.input.shape[-case.op.spatial_dims:])
    if case.dialect == "torch" or case_plan(case).indices == PLANE_ROW_MAJOR:
        return plane
    return case.input.size
