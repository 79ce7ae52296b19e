"""Repros in NumPy's own terms, and the array-module idioms JAX's writer shares.

NumPy has no pooling: its backend is an implementation over `sliding_window_view`, so a repro
states the op the same way (the explicitly padded input's windows, reduced), adaptive pooling
as a reduction over each window's `take` per axis, global average as `mean`. A NumPy finding is
therefore a bug of that implementation, not of NumPy.
"""

from __future__ import annotations

from reports.repros import geometry
from reports.repros.literals import numpy_tensor
from reports.repros.problem import Problem
from reports.repros.script import Writer, numpy_assert_close


class NumpyWriter(Writer):
    framework = "numpy"
    needs = "numpy (and ml_dtypes for bfloat16)"
    imports = ("import ml_dtypes  # bfloat16", "import numpy as np")
    xp = "np"  # the array module the script's idioms call

    tensor = staticmethod(numpy_tensor)
    assert_close = staticmethod(numpy_assert_close)

    def _function(self, problem: Problem) -> list[str]:
        case, xp = problem.case, self.xp
        family, dims = case.op.family, case.op.spatial_dims
        # A backward pass differentiates the values alone, as the adapters' vjp does.
        if case.kwargs.get("return_indices") and not problem.gradient:
            return self._with_indices(problem)
        if family == "global_avg_pool":
            return ["def pool(x):",
                    f"    return {xp}.mean(x, axis={tuple(range(-dims, 0))}, keepdims=True)"]
        if family in ("adaptive_avg_pool", "adaptive_max_pool"):
            return self._adaptive(problem)
        if family in ("max_pool", "min_pool"):
            return self._extreme(problem)
        if family == "avg_pool":
            return self._average(problem)
        raise NotImplementedError(f"no {self.framework} idiom written for {case.op_name}")

    def _with_indices(self, problem: Problem) -> list[str]:
        """A `pool` returning (values, indices)."""
        raise NotImplementedError(f"{self.framework} has no pooling with indices to call")

    def _average(self, problem: Problem) -> list[str]:
        raise NotImplementedError(f"no {self.framework} idiom written for {problem.case.op_name}")

    def _adaptive(self, problem: Problem) -> list[str]:
        case, xp = problem.case, self.xp
        average = case.op.family == "adaptive_avg_pool"
        lines = [f"windows = {geometry.adaptive_bounds(case)!r}  # per spatial axis, each output "
                 f"position's [start, stop): torch's adaptive windows",
                 "def pool(x):",
                 "    for axis, bounds in enumerate(windows, start=x.ndim - len(windows)):",
                 f"        x = {xp}.stack([{xp}.{'sum' if average else 'max'}({xp}.take(x, "
                 f"np.arange(start, stop), axis=axis), axis=axis) for start, stop in bounds], "
                 f"axis=axis)"]
        if not average:
            return lines + ["    return x"]
        return lines + ["    counts = np.ones(())", "    for bounds in windows:",
                        "        counts = np.multiply.outer(counts, [b - a for a, b in bounds])",
                        "    return x / counts.astype(x.dtype)  # each window's sum / its size"]

    @staticmethod
    def _init(problem: Problem, xp: str) -> str:
        case = problem.case
        largest = case.op.family == "min_pool"
        if case.dtype.startswith(("int", "uint")):
            return f"{xp}.iinfo(x.dtype).{'max' if largest else 'min'}"
        return f"{'' if largest else '-'}{xp}.inf"

    def _extreme(self, problem: Problem) -> list[str]:
        case = problem.case
        kernel, strides, dilations = geometry.kernel_and_strides(case)
        dims, lead = case.op.spatial_dims, case.input.ndim - case.op.spatial_dims
        spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations))
        steps = ", ".join([":"] * lead + [f"::{s}" for s in strides] + [f"::{d}" for d in dilations])
        reduce = "max" if case.op.family == "max_pool" else "min"
        return ["def pool(x):",
                f"    padded = np.pad(x, {[(0, 0)] * lead + geometry.explicit_padding(case)}, "
                f"constant_values={self._init(problem, 'np')})  # torch's padding and ceil-mode "
                f"overhang, explicit",
                f"    windows = np.lib.stride_tricks.sliding_window_view(padded, {spans}, "
                f"axis={tuple(range(lead, lead + dims))})[{steps}]  # strides, then dilation",
                f"    return windows.{reduce}(axis={tuple(range(-dims, 0))})"]

    def forward(self, problem: Problem) -> list[str]:
        return self._function(problem) + ["", "actual = pool(x)"]


WRITERS = {"numpy": NumpyWriter()}
