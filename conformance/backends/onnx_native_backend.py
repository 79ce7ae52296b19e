"""ONNX in its own dialect (`onnxruntime-native`, `onnx-reference-native`): each call is a model
of one node of the ONNX operator itself, `MaxPool`, `AveragePool`, `LpPool`, `GlobalMaxPool` or
`GlobalAveragePool`, with the case's attributes passed through unchanged (absent ones take the
runtime's defaults) at the case's opset, run on ONNX Runtime's CPU provider or on
`onnx.reference.ReferenceEvaluator`.

Nothing is translated: the attributes are ONNX's (reference.dialects.onnx states their meaning).
`return_indices` asks for the optional output `Indices`; `opset` is the model's opset import
(None: the newest the installed onnx knows; the properties draw each version where the
operator's definition changed). An element type that the operator's schema at that opset does
not list (onnx.defs) is unsupported, and so is a kernel ONNX Runtime lacks (its own
NOT_IMPLEMENTED status) and bfloat16 on ONNX Runtime (its Python API has no NumPy bfloat16).
Any other error building or running the model is the runtime rejecting the call.

`inferred_shape(op, X, **attributes)` is `onnx.shape_inference.infer_shapes(model,
strict_mode=True)`'s shape for the node's output Y (None for a dimension it leaves unknown),
which conformance/properties/test_dialects.py compares with the oracle's output shape.
ONNX Runtime sessions are single-threaded with the default graph optimizations.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, shape_inference

OPS = ("MaxPool", "AveragePool", "LpPool", "GlobalMaxPool", "GlobalAveragePool")


def _model(op: str, x: np.ndarray, attributes: dict, return_indices: bool, opset: int | None):
    opset = opset or onnx.defs.onnx_opset_version()
    element = helper.np_dtype_to_tensor_dtype(x.dtype)
    schema = onnx.defs.get_schema(op, max_inclusive_version=opset)
    allowed = next(c.allowed_type_strs for c in schema.type_constraints if c.type_param_str == "T")
    type_name = onnx.helper.tensor_dtype_to_string(element).replace("TensorProto.", "").lower()
    if f"tensor({ {'float32': 'float', 'float64': 'double'}.get(x.dtype.name, type_name)})" \
            not in allowed:
        raise NotImplementedError(f"{op}-{schema.since_version} (opset {opset}) has no "
                                  f"{x.dtype.name} input (type constraint T: {allowed})")
    outputs = ["Y", "Indices"] if return_indices else ["Y"]
    node = helper.make_node(op, ["X"], outputs, **attributes)
    graph = helper.make_graph(
        [node], op, [helper.make_tensor_value_info("X", element, list(x.shape))],
        [helper.make_tensor_value_info("Y", element, None)]
        + ([helper.make_tensor_value_info("Indices", onnx.TensorProto.INT64, None)]
           if return_indices else []))
    opset_id = helper.make_opsetid("", opset)
    return helper.make_model(graph, opset_imports=[opset_id],
                             ir_version=helper.find_min_ir_version_for([opset_id]))


def _owned(result):
    parts = tuple(np.require(part, requirements=["C", "W", "O"]) for part in result)
    return parts if len(parts) > 1 else parts[0]


class OnnxNativeBackend:
    """One runtime; subclasses say how a model runs."""

    dialects = ("onnx",)

    def run(self, model, x: np.ndarray) -> list:
        raise NotImplementedError

    def _call(self, op, x, return_indices=False, opset=None, **attributes):
        model = _model(op, x, attributes, bool(return_indices), opset)
        return _owned(self.run(model, x))

    def inferred_shape(self, op, x, return_indices=False, opset=None, **attributes):
        model = _model(op, x, attributes, bool(return_indices), opset)
        inferred = shape_inference.infer_shapes(model, strict_mode=True)
        output = next(v for v in inferred.graph.output if v.name == "Y")
        if not output.type.tensor_type.HasField("shape"):
            return None
        return tuple(d.dim_value if d.HasField("dim_value") else None
                     for d in output.type.tensor_type.shape.dim)

    def MaxPool(self, X, **attributes):
        return self._call("MaxPool", X, **attributes)

    def AveragePool(self, X, **attributes):
        return self._call("AveragePool", X, **attributes)

    def LpPool(self, X, **attributes):
        return self._call("LpPool", X, **attributes)

    def GlobalMaxPool(self, X, **attributes):
        return self._call("GlobalMaxPool", X, **attributes)

    def GlobalAveragePool(self, X, **attributes):
        return self._call("GlobalAveragePool", X, **attributes)


class OnnxRuntimeNative(OnnxNativeBackend):
    name = "onnxruntime-native"

    def __init__(self):
        import onnxruntime
        from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as Missing

        self._ort, self._missing = onnxruntime, Missing
        self.version = onnxruntime.__version__

    def run(self, model, x):
        if x.dtype.name == "bfloat16":
            raise NotImplementedError(f"onnxruntime {self.version}: its Python API has no "
                                      "NumPy bfloat16 to pass arrays in or out")
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 4  # a rejected model raises; its log lines add nothing
        try:
            session = self._ort.InferenceSession(model.SerializeToString(), options,
                                                 providers=["CPUExecutionProvider"])
            return session.run(None, {"X": x})
        except self._missing as error:
            raise NotImplementedError(f"onnxruntime {self.version}: {error}") from error


class OnnxReferenceNative(OnnxNativeBackend):
    name = "onnx-reference-native"
    version = onnx.__version__

    def run(self, model, x):
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(model).run(None, {"X": x})


def onnxruntime_native() -> OnnxRuntimeNative:
    return OnnxRuntimeNative()


def onnx_reference_native() -> OnnxReferenceNative:
    return OnnxReferenceNative()
