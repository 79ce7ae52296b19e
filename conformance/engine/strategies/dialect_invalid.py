"""Invalid arguments in the ONNX, TF and Keras dialects: a valid case (strategies.dialects)
with one thing broken that the dialect's own spec forbids (reference.dialects raises there)."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

from conformance.engine.cases import Case
from conformance.engine.strategies.dialects import dialect_cases
from reference.dialects import onnx


def _onnx_breakages(case: Case) -> list[str]:
    if case.op_name.startswith("Global"):
        return ["rank 2 input"]
    breakages = ["pads with auto_pad", "negative pads", "kernel_shape of the wrong length",
                 "stride 0", "auto_pad SAME"]
    since = onnx.ATTRIBUTE_SINCE.get((case.op_name, "dilations"), 0)
    if case.kwargs["opset"] < since:
        breakages.append("dilations before their opset")
    if case.op_name == "MaxPool":
        breakages.append("storage_order 2")
    return breakages


def _break_onnx(draw, case: Case, breakage: str) -> Case:
    kwargs = dict(case.kwargs)
    x = case.input
    dims = x.ndim - 2
    if breakage == "rank 2 input":
        x = x.reshape(x.shape[0], -1)
    elif breakage == "pads with auto_pad":
        kwargs["auto_pad"] = draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]))
        kwargs["pads"] = [draw(st.integers(0, 1)) for _ in range(2 * dims)]
    elif breakage == "negative pads":
        kwargs.pop("auto_pad", None)
        kwargs["pads"] = [0] * (2 * dims - 1) + [-1]
    elif breakage == "kernel_shape of the wrong length":
        kwargs["kernel_shape"] = list(kwargs["kernel_shape"]) + [1]
    elif breakage == "stride 0":
        kwargs["strides"] = [0] * dims
    elif breakage == "auto_pad SAME":
        kwargs.pop("pads", None)
        kwargs["auto_pad"] = "SAME"  # TF's word; ONNX has SAME_UPPER and SAME_LOWER
    elif breakage == "dilations before their opset":
        kwargs["dilations"] = [2] * dims
    elif breakage == "storage_order 2":
        kwargs["storage_order"] = 2
    return dataclasses.replace(case, input=x, kwargs=kwargs)


def _tf_breakages(case: Case) -> list[str]:
    breakages = ["lowercase padding", "data_format of another rank"]
    if case.op_name == "pool":
        breakages.append("dilations with strides")
    else:
        breakages.append("ksize over the batch")
    if case.op_name == "avg_pool":
        breakages.append("explicit padding in avg_pool")
    return breakages


def _tf_channels_last(case: Case) -> bool:
    return case.kwargs.get("data_format") in (None, "NWC", "NHWC", "NDHWC")


def _break_tf(draw, case: Case, breakage: str) -> Case:
    kwargs = dict(case.kwargs)
    dims = case.input.ndim - 2
    last = _tf_channels_last(case)
    if breakage == "lowercase padding":
        kwargs["padding"] = kwargs["padding"].lower()
    elif breakage == "data_format of another rank":
        kwargs["data_format"] = {1: "NHWC", 2: "NDHWC", 3: "NWC"}[dims]
    elif breakage == "dilations with strides":
        kwargs["dilations"] = [2] * dims
        kwargs["strides"] = [2] * dims
    elif breakage == "ksize over the batch":
        kernel = kwargs["ksize"]
        spatial = [kernel] * dims if isinstance(kernel, int) else list(kernel)[-dims:] if len(
            kernel) == dims else (list(kernel)[1:-1] if last else list(kernel)[2:])
        kwargs["ksize"] = [2, *spatial, 1] if last else [2, 1, *spatial]
    elif breakage == "explicit padding in avg_pool":
        pairs = [[0, 0]] + [[1, 0]] * dims + [[0, 0]]
        kwargs["padding"] = pairs
    return dataclasses.replace(case, kwargs=kwargs)


def _keras_breakages(case: Case) -> list[str]:
    if case.op_name.startswith("Global"):
        return ["data_format NHWC", "input without a batch"]
    return ["padding full", "data_format NHWC", "pool_size 0", "input without a batch"]


def _break_keras(draw, case: Case, breakage: str) -> Case:
    kwargs, x = dict(case.kwargs), case.input
    if breakage == "padding full":
        kwargs["padding"] = "full"
    elif breakage == "data_format NHWC":
        kwargs["data_format"] = "NHWC"  # TF's word; Keras says channels_last
    elif breakage == "pool_size 0":
        kwargs["pool_size"] = 0
    elif breakage == "input without a batch":
        x = np.ascontiguousarray(x[0])
    return dataclasses.replace(case, input=x, kwargs=kwargs)


BREAKAGES = {"onnx": (_onnx_breakages, _break_onnx), "tf": (_tf_breakages, _break_tf),
             "keras": (_keras_breakages, _break_keras)}


@st.composite
def dialect_invalid_cases(draw, dialect: str, op: str) -> tuple[Case, str]:
    """(case, breakage): a valid case of the dialect's op in float32 or float64 (the dtype is
    not the point), one thing broken."""
    case = draw(dialect_cases(dialect, op).filter(
        lambda c: c.dtype in ("float32", "float64")))
    names, breaker = BREAKAGES[dialect]
    breakage = draw(st.sampled_from(names(case)))
    return breaker(draw, case, breakage), breakage
