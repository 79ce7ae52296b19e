"""Repros in torch's own terms: `torch.nn.functional`, `torch.nn` modules, `torch.compile`
(Inductor, static shapes) or `torch.export`, on contiguous, channels_last or strided inputs, as
the backend under test calls torch. No numpy: torch's literals and `torch.testing`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reports.repros import literals
from reports.repros.problem import Problem, bfloat16_safe
from reports.repros.script import Writer

_MODULE_CLASS = {"max_pool": "MaxPool", "avg_pool": "AvgPool",
                 "adaptive_avg_pool": "AdaptiveAvgPool", "adaptive_max_pool": "AdaptiveMaxPool"}


@dataclass
class TorchWriter(Writer):
    api: str = "functional"  # functional, module, compile or export
    layout: str = "contiguous"  # contiguous, channels_last or strided

    framework = "torch"
    imports = ("import torch",)

    def tensor(self, array: np.ndarray) -> str:
        dtype = f"torch.{array.dtype.name}"
        return literals.constructor(bfloat16_safe(array), dtype,
                                    "torch.tensor({values}, dtype={dtype})",
                                    "torch.zeros({shape}, dtype={dtype})")

    def _laid_out(self, name: str, array: np.ndarray, problem: Problem) -> list[str]:
        """`name` (holding `array`) rebound in the layout the backend hands torch."""
        dims = problem.case.op.spatial_dims
        if self.layout == "channels_last" and array.ndim == dims + 2 and dims > 1:
            memory_format = "torch.channels_last" + ("_3d" if dims == 3 else "")
            return [f"{name} = {name}.contiguous(memory_format={memory_format})"]
        if self.layout == "strided" and array.size:
            doubled = tuple(2 * size for size in array.shape)
            every_other = ", ".join(["::2"] * array.ndim)
            return [f"{name} = torch.zeros({doubled}, dtype={name}.dtype)[{every_other}]"
                    f".copy_({name})  # a strided view: every other element on each axis"]
        return []

    def _expression(self, problem: Problem) -> str:
        case = problem.case
        family, dims = case.op.family, case.op.spatial_dims
        arguments = ", ".join(f"{key}={value!r}" for key, value in case.kwargs.items())
        if family == "global_avg_pool":
            if self.api == "module":
                return f"torch.nn.AdaptiveAvgPool{dims}d(1)(x)"
            return f"x.mean(dim={tuple(range(-dims, 0))}, keepdim=True)"
        if self.api == "module":
            return f"torch.nn.{_MODULE_CLASS[family]}{dims}d({arguments})(x)"
        return f"torch.nn.functional.{case.op_name}(x, {arguments})"

    def _call(self, problem: Problem) -> list[str]:
        """Lines ending in `result = <the op on x>`, compiled or exported where the backend is."""
        expression = self._expression(problem)
        if self.api == "compile":
            return [f"pool = torch.compile(lambda x: {expression}, fullgraph=True, dynamic=False)",
                    "result = pool(x)"]
        if self.api == "export":
            return ["class Pool(torch.nn.Module):", "    def forward(self, x):",
                    f"        return {expression}", "",
                    "result = torch.export.export(Pool(), (x.detach(),)).module()(x)"]
        return [f"result = {expression}"]

    def forward(self, problem: Problem) -> list[str]:
        lines = self._laid_out("x", problem.case.input, problem) + self._call(problem)
        if problem.case.kwargs.get("return_indices"):
            return lines + ["actual, indices = result"]
        return lines + ["actual = result"]

    def backward(self, problem: Problem) -> list[str]:
        values = "result[0]" if problem.case.kwargs.get("return_indices") else "result"
        case = problem.case
        return (self._laid_out("x", case.input, problem)
                + self._laid_out("g", case.grad_output, problem)
                + ["x.requires_grad_()"] + self._call(problem)
                + [f"(actual,) = torch.autograd.grad({values}, x, g)"])

    def assert_close(self, problem: Problem) -> str:
        return (f"torch.testing.assert_close(actual, expected, rtol={problem.rtol!r}, "
                f"atol={problem.atol!r}, equal_nan=True)")


WRITERS = {
    "torch": TorchWriter(),
    "torch-nn": TorchWriter(api="module"),
    "torch-channels-last": TorchWriter(layout="channels_last"),
    "torch-noncontiguous": TorchWriter(layout="strided"),
    "torch-compile": TorchWriter(api="compile"),
    "torch-compile-channels-last": TorchWriter(api="compile", layout="channels_last"),
    "torch-compile-noncontiguous": TorchWriter(api="compile", layout="strided"),
    "torch-export": TorchWriter(api="export"),
}
