"""onnx's own `ReferenceEvaluator` as a backend (`onnx-reference`), on the graphs of `onnx_models`.

The evaluator is ONNX's executable specification in NumPy, so where it and ONNX Runtime disagree
on the same graph, one of them departs from the ONNX spec. It is slow (tens of ms per pooling
call on a (8, 16, 32, 32) input); the cache of built evaluators only saves the graph build.
What is native, explicit padding, emulated or unsupported is tabled in `onnx_models`.
"""

from __future__ import annotations

import onnx
from onnx.reference import ReferenceEvaluator

from conformance.backends.onnx_models import OnnxBackend


class OnnxReferenceBackend(OnnxBackend):
    name = "onnx-reference"
    version = onnx.__version__

    def compile(self, model):
        evaluator = ReferenceEvaluator(model)

        def run(x):
            return list(evaluator.run(None, {"x": x}))

        return run
