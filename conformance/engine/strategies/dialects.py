"""Valid cases in the ONNX, TF and Keras dialects (reference.dialects), each drawn from its own
parameter space and leaning on its edges: SAME with stride > kernel and odd total padding,
SAME_LOWER, asymmetric pads, pads as large as the kernel (ONNX allows any pad >= 0), kernels
larger than the input (padded up to a window), auto_pad with ceil_mode, storage_order=1,
dilations with SAME, channels-first layouts, every opset version where the operator changed."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from conformance.engine.arrays import NUMPY_DTYPES
from conformance.engine.cases import Case
from conformance.engine.strategies.parameters import MAX_LENGTH
from conformance.engine.strategies.values import dtypes, input_arrays
from reference import dialects
from reference.dialects import onnx, tf
from reference.windows import INPUT


@st.composite
def axis_shape(draw, padding: str, dilation: int):
    """(length, kernel, stride, before, after) of one axis for `padding`: "SAME", "VALID" or
    "EXPLICIT" (ONNX pads: any value >= 0, so a window may be padding alone)."""
    dims_longest = draw(st.sampled_from([MAX_LENGTH[1], MAX_LENGTH[2]]))
    kernel = draw(st.integers(1, 4))
    stride = draw(st.one_of(st.integers(1, kernel + 2), st.just(kernel), st.integers(2, 3)))
    span = dilation * (kernel - 1) + 1
    before = after = 0
    if padding == "EXPLICIT":
        before, after = draw(st.integers(0, kernel + 1)), draw(st.integers(0, kernel + 1))
        if draw(st.booleans()):
            after = before + draw(st.sampled_from([0, 1]))  # symmetric, or one apart
    # SAME always pads up to ceil(L / stride) windows; VALID needs the span; explicit pads
    # need the padded input to hold it.
    shortest = {"SAME": 1, "VALID": span}.get(padding, max(1, span - before - after))
    # Often shorter than the kernel: a kernel larger than the input, padded up to a window.
    length = draw(st.one_of(st.integers(shortest, max(shortest, dims_longest)),
                            st.integers(1, max(1, kernel - 1)).filter(lambda n: n >= shortest),
                            st.just(shortest)))
    padded = length + before + after
    if padding == "EXPLICIT" and stride > 1 and (padded - span) % stride == 0 and draw(
            st.booleans()):
        length += 1  # a remainder after the last full window: ceil mode overhangs or drops
    return length, kernel, stride, before, after


def _dilations(draw, dims: int, allowed: bool):
    if not allowed:
        return [1] * dims
    return [draw(st.sampled_from([1, 1, 2, 3])) for _ in range(dims)]


def _onnx_dtype(draw, op: str, opset: int) -> str:
    names = list(onnx.BASE_DTYPES) + [d for d, since in onnx.DTYPES_SINCE.items()
                                      if op in since and opset >= since[op]]
    return draw(st.one_of(st.sampled_from(["float32", "float64"]), st.sampled_from(names)))


def _since(op: str, attribute: str) -> int:
    return onnx.ATTRIBUTE_SINCE.get((op, attribute), 0)


@st.composite
def onnx_sliding_kwargs(draw, op: str, dims: int, opset: int):
    """(spatial lengths, attributes) of MaxPool, AveragePool or LpPool at `opset`."""
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    padding = {"NOTSET": "EXPLICIT", "VALID": "VALID"}.get(auto_pad, "SAME")
    dilations = _dilations(draw, dims, opset >= _since(op, "dilations"))
    axes = [draw(axis_shape(padding, d)) for d in dilations]
    lengths, kernels, strides, befores, afters = map(list, zip(*axes))
    kwargs = {"kernel_shape": kernels}
    if auto_pad != "NOTSET" or draw(st.booleans()):
        kwargs["auto_pad"] = auto_pad
    if any(s != 1 for s in strides) or draw(st.booleans()):
        kwargs["strides"] = strides  # the default is 1 on every axis, not the kernel
    if auto_pad == "NOTSET" and (any(befores + afters) or draw(st.booleans())):
        kwargs["pads"] = befores + afters
    if opset >= _since(op, "dilations") and (any(d > 1 for d in dilations) or draw(st.booleans())):
        kwargs["dilations"] = dilations
    if opset >= _since(op, "ceil_mode"):
        kwargs["ceil_mode"] = draw(st.sampled_from([0, 1, 1]))
    if op == "MaxPool" and opset >= _since(op, "return_indices"):
        kwargs["return_indices"] = draw(st.booleans())
        if kwargs["return_indices"] or draw(st.booleans()):
            kwargs["storage_order"] = draw(st.sampled_from([0, 1]))
    if op == "AveragePool":
        kwargs["count_include_pad"] = draw(st.sampled_from([0, 1]))
    if op == "LpPool" and draw(st.booleans()):
        kwargs["p"] = draw(st.sampled_from([1, 2, 3]))
    return lengths, kwargs


def _moderate_arrays(shape, dtype: str):
    """Values whose p-th powers (p <= 3) and their window sums stay finite in float16: an Lp
    norm overflowing inside a backend is not what LpPool's cases are after."""
    width = 16 if dtype == "float16" else 32 if dtype in ("float32", "bfloat16") else 64
    elements = st.one_of(st.floats(-12, 12, width=width),
                         st.sampled_from([-2.0, -1.0, -0.0, 0.0, 1.0, 3.0, math.nan, math.inf]))
    return npst.arrays(np.float64, shape, elements=elements).map(
        lambda a: a.astype(NUMPY_DTYPES[dtype]))


@st.composite
def onnx_cases(draw, op: str) -> Case:
    opset = draw(st.sampled_from(onnx.VERSIONS[op]))
    dims = draw(st.integers(1, 3))
    dtype = _onnx_dtype(draw, op, opset)
    leading = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if op.startswith("Global"):
        lengths, kwargs = [draw(st.integers(1, MAX_LENGTH[dims])) for _ in range(dims)], {}
    else:
        lengths, kwargs = draw(onnx_sliding_kwargs(op, dims, opset))
    kwargs["opset"] = opset
    shape = leading + tuple(lengths)
    case = Case(op, np.zeros(shape, NUMPY_DTYPES[dtype]), kwargs, dialect="onnx")
    _assume_defined(case)
    values = _moderate_arrays(shape, dtype) if op == "LpPool" else input_arrays(shape, dtype)
    return Case(op, draw(values), kwargs, dialect="onnx")


def _assume_defined(case: Case) -> None:
    """Rejects an average window that counts nothing (padding alone, count_include_pad=0): no
    spec says what it is (reference.pooling.reduce_windows)."""
    plan = dialects.plan(case.dialect, case.op_name, case.input.shape, **case.kwargs)
    if plan.reduction == "average" and not plan.count_include_pad:
        assume(all(INPUT in w.kinds for axis in plan.windows for w in axis))


def _layout(draw, names_last: str, names_first: str, omit_default: bool):
    """(data_format argument or None, channels_last)."""
    last = draw(st.booleans())
    if last and omit_default and draw(st.booleans()):
        return None, True
    return (names_last if last else names_first), last


def _per_axis_spelling(draw, values: list[int], dims: int, last: bool, full_allowed: bool):
    """An int (when all agree), N entries, or (tf.nn) N + 2 entries with 1 on batch and
    channels."""
    choices = ["list"] + (["int"] if len(set(values)) == 1 else []) + (
        ["full"] if full_allowed else [])
    spelling = draw(st.sampled_from(choices))
    if spelling == "int":
        return values[0]
    if spelling == "full":
        return [1, *values, 1] if last else [1, 1, *values]
    return list(values)


@st.composite
def tf_cases(draw, op: str) -> Case:
    dims = draw(st.integers(1, 3))
    data_format, last = _layout(draw, tf.CHANNELS_LAST[dims], tf.CHANNELS_FIRST[dims], True)
    padding = draw(st.sampled_from(["SAME", "SAME", "VALID"]))
    dilations = [1] * dims
    if op == "pool" and draw(st.booleans()):
        dilations = _dilations(draw, dims, True)
    axes = [draw(axis_shape(padding, d)) for d in dilations]
    lengths, kernels, strides, _, _ = map(list, zip(*axes))
    if any(d > 1 for d in dilations):
        strides = [1] * dims  # tf.nn.pool: dilations > 1 need strides of 1
    kwargs = {}
    if op == "pool":
        kwargs["window_shape"] = kernels
        kwargs["pooling_type"] = draw(st.sampled_from(["MAX", "AVG"]))
        if any(s != 1 for s in strides) or draw(st.booleans()):
            kwargs["strides"] = strides
        kwargs["padding"] = padding
        if any(d > 1 for d in dilations) or draw(st.booleans()):
            kwargs["dilations"] = dilations
    else:
        kwargs["ksize"] = _per_axis_spelling(draw, kernels, dims, last, True)
        kwargs["strides"] = _per_axis_spelling(draw, strides, dims, last, True)
        kwargs["padding"] = padding
    if data_format is not None:
        kwargs["data_format"] = data_format
    leading = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    shape = (leading[0], *lengths, leading[1]) if last else (*leading, *lengths)
    averages = op == "avg_pool" or kwargs.get("pooling_type") == "AVG"
    dtype = draw(dtypes(allow_integers=not averages))
    return Case(op, draw(input_arrays(shape, dtype)), kwargs, dialect="tf")


@st.composite
def keras_cases(draw, layer: str) -> Case:
    dims = dialects.spatial_dims("keras", layer, 0)
    data_format, last = _layout(draw, "channels_last", "channels_first", True)
    kwargs = {}
    if layer.startswith("Global"):
        lengths = [draw(st.integers(1, MAX_LENGTH[dims])) for _ in range(dims)]
        if draw(st.booleans()):
            kwargs["keepdims"] = draw(st.booleans())
    else:
        padding = draw(st.sampled_from(["same", "same", "valid"]))
        axes = [draw(axis_shape(padding.upper(), 1)) for _ in range(dims)]
        lengths, kernels, strides, _, _ = map(list, zip(*axes))
        kwargs["pool_size"] = _per_axis_spelling(draw, kernels, dims, last, False)
        if strides != kernels or draw(st.booleans()):
            kwargs["strides"] = _per_axis_spelling(draw, strides, dims, last, False)
        if padding != "valid" or draw(st.booleans()):
            kwargs["padding"] = padding.upper() if draw(st.integers(0, 4)) == 0 else padding
    if data_format is not None:
        kwargs["data_format"] = data_format
    leading = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    shape = (leading[0], *lengths, leading[1]) if last else (*leading, *lengths)
    dtype = draw(dtypes(allow_integers=False))
    return Case(layer, draw(input_arrays(shape, dtype)), kwargs, dialect="keras")


DIALECT_CASES = {"onnx": onnx_cases, "tf": tf_cases, "keras": keras_cases}


def dialect_cases(dialect: str, op: str, return_indices: bool | None = None):
    """A valid case of the dialect's `op`, drawn from that dialect's parameter space.
    `return_indices` (ONNX MaxPool) forces the Indices output where the opset has it."""
    strategy = DIALECT_CASES[dialect](op)
    if return_indices is None:
        return strategy
    return strategy.filter(lambda case: case.kwargs.get("return_indices") == return_indices)
