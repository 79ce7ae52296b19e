"""ONNX Runtime as a backend (`onnxruntime`): the graphs of `onnx_models` on the CPU provider.

What is native, explicit padding, emulated or unsupported is tabled in `onnx_models`. On top of
the ONNX schema's dtypes, ONNX Runtime's CPU provider lacks some kernels, and a graph needing one
raises NotImplementedError (ORT's own NOT_IMPLEMENTED status, converted) instead of running.
Measured with onnxruntime 1.32.0: no float64 `AveragePool` or `GlobalAveragePool`, no bfloat16
pooling kernel, and no way to pass bfloat16 arrays through the Python API, so bfloat16 is
unsupported throughout.

Sessions run with ORT's default graph optimizations, as users run them; on x86-64 these rewrite
float32 2-d `MaxPool`/`AveragePool` to the NCHWc layout (`ReorderInput`/`ReorderOutput` nodes),
and `graph_optimization_level` selects another level. ORT picks among several pooling kernels
(by dtype, rank, and whether `Indices` is requested), and they treat NaN differently, so one
window can give different results for different dtypes or return_indices. Sessions are
single-threaded, so results and timings do not depend on the machine's cores.
"""

from __future__ import annotations

import onnxruntime
from onnx import TensorProto
from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as OrtNotImplemented

from conformance.backends.onnx_models import OnnxBackend


class OnnxRuntimeBackend(OnnxBackend):
    name = "onnxruntime"
    version = onnxruntime.__version__

    def __init__(self, providers=("CPUExecutionProvider",), threads: int = 1,
                 graph_optimization_level=None, **kwargs):
        super().__init__(**kwargs)
        self.providers = list(providers)
        self.threads = threads
        self.graph_optimization_level = graph_optimization_level

    def compile(self, model):
        if model.graph.input[0].type.tensor_type.elem_type == TensorProto.BFLOAT16:
            # Only the emulated adaptive average could run (in float32); every native pooling
            # kernel lacks bfloat16 too.
            raise NotImplementedError(
                f"onnxruntime {self.version}: its Python API has no NumPy bfloat16 to pass "
                "arrays in or out"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 4  # a rejected model or run raises; its log lines add nothing
        if self.graph_optimization_level is not None:
            options.graph_optimization_level = self.graph_optimization_level
        try:
            session = onnxruntime.InferenceSession(
                model.SerializeToString(), options, providers=self.providers
            )
        except OrtNotImplemented as error:
            raise NotImplementedError(f"onnxruntime {self.version}: {error}") from error
        output_names = [output.name for output in session.get_outputs()]

        def run(x):
            try:
                return session.run(output_names, {"x": x})
            except OrtNotImplemented as error:
                raise NotImplementedError(f"onnxruntime {self.version}: {error}") from error

        return run
