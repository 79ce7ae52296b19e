"""Repros in JAX's own terms. JAX has no pooling layer: max and min pooling are
`lax.reduce_window` over the explicitly padded input, adaptive pooling a sum (or max) over each
window's `lax.slice_in_dim` per axis, global average `jnp.mean`, as the adapter builds them; the
backward pass is `jax.vjp` of that function."""

from __future__ import annotations

from reports.repros import geometry
from reports.repros.literals import numpy_tensor
from reports.repros.problem import Problem
from reports.repros.script import Writer, numpy_assert_close


class JaxWriter(Writer):
    framework = "jax"
    needs = "jax (with its numpy and ml_dtypes)"
    imports = ("import jax", "import jax.numpy as jnp", "import ml_dtypes  # jax's own dependency",
               "import numpy as np", "from jax import lax", "",
               "jax.config.update('jax_enable_x64', True)  # float64 stays float64")

    tensor = staticmethod(numpy_tensor)
    assert_close = staticmethod(numpy_assert_close)

    def _function(self, problem: Problem) -> list[str]:
        case = problem.case
        family, dims = case.op.family, case.op.spatial_dims
        if case.kwargs.get("return_indices"):
            raise NotImplementedError("JAX has no pooling with indices to call")
        if family == "global_avg_pool":
            return ["def pool(x):",
                    f"    return jnp.mean(x, axis={tuple(range(-dims, 0))}, keepdims=True)"]
        if family in ("adaptive_avg_pool", "adaptive_max_pool"):
            reduce = "jnp.sum" if family == "adaptive_avg_pool" else "jnp.max"
            lines = [f"windows = {geometry.adaptive_bounds(case)!r}  # per spatial axis, each "
                     f"output position's [start, stop): torch's adaptive windows",
                     "def pool(x):",
                     "    for axis, bounds in enumerate(windows, start=x.ndim - len(windows)):",
                     f"        x = jnp.stack([{reduce}(lax.slice_in_dim(x, start, stop, axis=axis), "
                     "axis=axis) for start, stop in bounds], axis=axis)"]
            if family == "adaptive_avg_pool":
                lines[-1:] = [lines[-1], "    counts = np.ones(())", "    for bounds in windows:",
                              "        counts = np.multiply.outer(counts, [b - a for a, b in bounds])",
                              "    return x / counts.astype(x.dtype)"]
            else:
                lines.append("    return x")
            return lines
        if family in ("max_pool", "min_pool"):
            kernel, strides, dilations = geometry.kernel_and_strides(case)
            lead = case.input.ndim - dims
            reduce = "lax.max" if family == "max_pool" else "lax.min"
            init = "-jnp.inf" if family == "max_pool" else "jnp.inf"
            if case.dtype.startswith(("int", "uint")):
                init = (f"jnp.iinfo(x.dtype).{'min' if family == 'max_pool' else 'max'}")
            return ["def pool(x):",
                    f"    return lax.reduce_window(x, jnp.array({init}, x.dtype), {reduce}, "
                    f"{(1,) * lead + tuple(kernel)}, {(1,) * lead + tuple(strides)}, "
                    f"{[(0, 0)] * lead + geometry.explicit_padding(case)}, "
                    f"window_dilation={(1,) * lead + tuple(dilations)})"]
        raise NotImplementedError(f"no JAX idiom written for {case.op_name}")

    def forward(self, problem: Problem) -> list[str]:
        return self._function(problem) + ["", "actual = pool(jnp.asarray(x))"]

    def backward(self, problem: Problem) -> list[str]:
        return self._function(problem) + [
            "", "_, pull_back = jax.vjp(pool, jnp.asarray(x))",
            "(actual,) = pull_back(jnp.asarray(g))"]


WRITERS = {"jax": JaxWriter()}
