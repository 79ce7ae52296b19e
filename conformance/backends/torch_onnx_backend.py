"""torch.onnx export run on ONNX Runtime as a backend
(`conformance.backends.torch_onnx_backend:dynamo`, and `:torchscript` for the legacy exporter):
each op is a `torch.nn.Module` calling `torch.nn.functional` (the module `torch-export` exports),
exported with `torch.onnx.export` on the case's input, and the ONNX model is run on ONNX
Runtime's CPU provider, single-threaded, as the `onnxruntime` backend runs its own graphs.

`torch-onnx` is the exporter torch 2.13 uses by default (`dynamo=True`: `torch.export`, then
onnxscript's torchlib translates each ATen op; it needs the `onnxscript` package).
`torch-onnx-torchscript` is the legacy exporter (`dynamo=False`: TorchScript tracing and the
`symbolic_opset*` functions; deprecated since torch 2.9 but still shipped). They are different
translations of the same ATen ops, so each has its own report.

Every torch parameter is passed to torch unchanged (N): the exporter decides how to express it in
ONNX (`MaxPool`/`AveragePool` attributes, extra nodes for indices or divisors, or an error), and
ONNX Runtime runs what it wrote. As in the `torch` adapter, torch has no min pooling (absent, so
unsupported) and global average pooling is the idiom `x.mean(spatial dims, keepdim=True)`.

| torch parameter | how | with |
|---|---|---|
| every parameter of max / avg / adaptive pooling | N | `torch.nn.functional`, exported |
| global avg pool | N | `Tensor.mean` over the spatial dims, keepdim, exported |
| min pool | - | absent: torch has none |
| backward pass | - | none: an ONNX model is inference only |

Nothing is validated here: what the exporter raises while exporting (torch's own checks run on
fake tensors, then the translation's) and what ONNX Runtime raises loading or running the model is
the result. Where the exporter itself says it has no ONNX translation for a case (the legacy
exporter's `UnsupportedOperatorError` or "Unsupported: ...", as for adaptive pooling to an output
size that does not divide the input's; the dynamo exporter's "No ONNX function found for ...",
as for `aten.adaptive_max_pool2d` in that case), the case is unsupported. Where ONNX Runtime has no kernel for a dtype (its NOT_IMPLEMENTED status, e.g.
float64 `AveragePool`) or its Python API cannot pass the dtype (bfloat16), the case is
unsupported (NotImplementedError), as in the `onnxruntime` backend; so is a dtype torch itself
has no kernel for while exporting, as in `torch-export`.

Models are exported with static shapes (one per op, arguments, dtype and input shape), as
`torch.onnx.export` does by default, and cached. The dynamo exporter rebuilds its whole
translation registry on every call (`ONNXRegistry.from_torchlib`), about 2 s of a 2-3 s export
on a loaded 2-core machine; the legacy exporter takes about 0.05 s. Both run the `compile`
profile.
"""

from __future__ import annotations

import io
import logging
import re
import warnings

import numpy as np
import onnx
import torch

from conformance.backends.onnxruntime_backend import OnnxRuntimeBackend
from conformance.backends.torch_backend import to_torch
from conformance.backends.torch_export_backend import Pooling, _without_a_kernel_unsupported
from conformance.backends.torch_signatures import TorchLikeBackend

# Each export logs that torchvision's ops are skipped, and fake tensors log a traceback for each
# argument torch rejects (which is raised to the suite anyway).
for _logger in ("torch.onnx._internal.exporter._registration", "torch._subclasses.fake_tensor"):
    logging.getLogger(_logger).setLevel(logging.CRITICAL)


# The exporters' own words for "this case has no ONNX translation": the legacy symbolic
# functions' "Unsupported: ONNX export of operator adaptive_max_pool2d, output size that are not
# factor of input size", and the dynamo exporter's dispatcher's "No ONNX function found for
# <OpOverload(op='aten.adaptive_max_pool2d', ...)>" (the cause of its ConversionError).
_NO_TRANSLATION = re.compile(r"^Unsupported: |^No ONNX function found for ")


def _exporter_cannot_express(error: BaseException) -> str | None:
    """The exporter's message where it says it cannot express the case in ONNX, else None."""
    while error is not None:
        if isinstance(error, torch.onnx.errors.UnsupportedOperatorError) or (
                _NO_TRANSLATION.search(str(error))):
            return str(error).split("  [Caused by", 1)[0].splitlines()[0]
        error = error.__cause__
    return None


class TorchOnnxBackend(TorchLikeBackend):
    """Each op exported with torch.onnx.export and run on ONNX Runtime."""

    families = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                "global_avg_pool")
    vjp = None  # an ONNX model is inference only: gradients are unsupported

    def __init__(self, name: str, dynamo: bool):
        self.name, self.dynamo = name, dynamo
        self.version = torch.__version__
        self._runtime = OnnxRuntimeBackend()
        self._sessions: dict = {}

    def run(self, family, dims, input, arguments):
        session = _without_a_kernel_unsupported(
            lambda: self._session(family, dims, arguments, input))
        outputs = session(input)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _session(self, family: str, dims: int, arguments: dict, input: np.ndarray):
        # repr, not the values: 2 == 2.0 == True, but torch accepts or rejects them differently.
        key = (family, dims, repr(sorted(arguments.items())), input.dtype.str, input.shape)
        if key not in self._sessions:
            self._sessions[key] = self._runtime.compile(
                self._export(Pooling(family, dims, arguments).eval(), to_torch(input)))
        return self._sessions[key]

    def _export(self, module: torch.nn.Module, example: torch.Tensor) -> onnx.ModelProto:
        try:
            return self._exported(module, example)
        except torch.onnx.errors.OnnxExporterError as error:
            cannot = _exporter_cannot_express(error)
            if cannot:
                raise NotImplementedError(cannot) from error
            raise

    def _exported(self, module: torch.nn.Module, example: torch.Tensor) -> onnx.ModelProto:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation and tracer warnings, once per export
            if self.dynamo:
                return torch.onnx.export(module, (example,), input_names=["x"], dynamo=True,
                                         verbose=False).model_proto
            buffer = io.BytesIO()
            torch.onnx.export(module, (example,), buffer, input_names=["x"], dynamo=False)
        return onnx.load_from_string(buffer.getvalue())


def dynamo() -> TorchOnnxBackend:
    return TorchOnnxBackend("torch-onnx", dynamo=True)


def torchscript() -> TorchOnnxBackend:
    return TorchOnnxBackend("torch-onnx-torchscript", dynamo=False)
