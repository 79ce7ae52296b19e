"""Standalone repros of findings in the ONNX and TF dialects: the case is already the native
call, so the script is that call (one ONNX node, or one tf.nn function) on the literal input,
printed beside the oracle's answer as a literal, computed when the report is written."""

from __future__ import annotations

import dataclasses

import numpy as np

from conformance.engine.arrays import from_reference, to_reference
from conformance.engine.dialects import oracle_result
from reports.repros.problem import case_of

ONNX_RUNNERS = {
    "onnxruntime-native": [
        "import onnxruntime",
        "session = onnxruntime.InferenceSession(model.SerializeToString(), "
        "providers=['CPUExecutionProvider'])",
        "actual = session.run(None, {'X': x})",
    ],
    "onnx-reference-native": [
        "from onnx.reference import ReferenceEvaluator",
        "actual = ReferenceEvaluator(model).run(None, {'X': x})",
    ],
}
TF_BACKENDS = ("tensorflow-native",)


def _expected(case) -> str:
    try:
        result = oracle_result(case, to_reference(case.input))
    except (TypeError, ValueError) as error:
        return repr(f"the call is invalid, and must raise: {error}")
    parts = result if isinstance(result, tuple) else (result,)
    arrays = [from_reference(part).astype(np.float64 if part.dtype != "int64" else np.int64)
              for part in parts]
    text = ", ".join(np.array2string(a, separator=", ", threshold=10**6) for a in arrays)
    return text if len(arrays) == 1 else f"({text})"


def _input_lines(case, dtype_expression) -> list[str]:
    return [f"x = np.array({case.input_literal()}, dtype={dtype_expression})"
            f".reshape({tuple(case.input.shape)})"]


def dialect_repro(finding: dict, spec: str) -> str | None:
    """The repro script of a non-torch finding on a backend this module knows; else None."""
    if finding.get("dialect", "torch") == "torch":
        return None
    case = dataclasses.replace(case_of(finding), dialect=finding["dialect"])
    dtype_expression = ("ml_dtypes.bfloat16" if case.dtype == "bfloat16" else f"np.{case.dtype}")
    header = ["import ml_dtypes, numpy as np"] + _input_lines(case, dtype_expression)
    if finding["dialect"] == "onnx" and spec in ONNX_RUNNERS:
        kwargs = dict(case.kwargs)
        indices = bool(kwargs.pop("return_indices", False))
        opset = kwargs.pop("opset", None) or 22
        outputs = ["Y", "Indices"] if indices else ["Y"]
        body = [
            "import onnx",
            "from onnx import TensorProto, helper",
            f"node = helper.make_node({case.op_name!r}, ['X'], {outputs!r}"
            + "".join(f", {k}={v!r}" for k, v in kwargs.items()) + ")",
            "element = helper.np_dtype_to_tensor_dtype(x.dtype)",
            "graph = helper.make_graph([node], 'repro', [helper.make_tensor_value_info('X', "
            "element, list(x.shape))], [helper.make_tensor_value_info('Y', element, None)]"
            + (" + [helper.make_tensor_value_info('Indices', TensorProto.INT64, None)]"
               if indices else "") + ")",
            f"opset = helper.make_opsetid('', {opset})",
            "model = helper.make_model(graph, opset_imports=[opset], "
            "ir_version=helper.find_min_ir_version_for([opset]))",
            *ONNX_RUNNERS[spec],
        ]
    elif finding["dialect"] == "tf" and spec in TF_BACKENDS:
        arguments = "".join(f", {k}={v!r}" for k, v in case.kwargs.items())
        body = ["import tensorflow as tf",
                f"actual = tf.nn.{case.op_name}(tf.constant(x){arguments}).numpy()"]
    else:
        return None
    return "\n".join(["```python", *header, *body, "print('actual:  ', actual)",
                      f"print('expected:', {_expected(case)!r})", "```"])
