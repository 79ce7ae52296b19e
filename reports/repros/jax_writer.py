"""Repros in JAX's own terms. JAX has no pooling layer: max and min pooling are
`lax.reduce_window` over the explicitly padded input, adaptive pooling a reduction over each
window's `jnp.take` per axis, global average `jnp.mean`, as the adapter builds them; the backward
pass is `jax.vjp` of that function."""

from __future__ import annotations

from reports.repros import geometry
from reports.repros.numpy_writer import NumpyWriter
from reports.repros.problem import Problem


class JaxWriter(NumpyWriter):
    framework = "jax"
    needs = "jax (with its numpy and ml_dtypes)"
    imports = ("import jax", "import jax.numpy as jnp", "import ml_dtypes  # jax's own dependency",
               "import numpy as np", "from jax import lax", "",
               "jax.config.update('jax_enable_x64', True)  # float64 stays float64")
    xp = "jnp"

    def _extreme(self, problem: Problem) -> list[str]:
        case = problem.case
        kernel, strides, dilations = geometry.kernel_and_strides(case)
        lead = case.input.ndim - case.op.spatial_dims
        reduce = "lax.max" if case.op.family == "max_pool" else "lax.min"
        return ["def pool(x):",
                f"    return lax.reduce_window(x, jnp.array({self._init(problem, 'jnp')}, x.dtype), "
                f"{reduce}, {(1,) * lead + tuple(kernel)}, {(1,) * lead + tuple(strides)}, "
                f"{[(0, 0)] * lead + geometry.explicit_padding(case)}, "
                f"window_dilation={(1,) * lead + tuple(dilations)})"]

    def forward(self, problem: Problem) -> list[str]:
        return self._function(problem) + ["", "actual = pool(jnp.asarray(x))"]

    def backward(self, problem: Problem) -> list[str]:
        return self._function(problem) + [
            "", "_, pull_back = jax.vjp(pool, jnp.asarray(x))",
            "(actual,) = pull_back(jnp.asarray(g))"]


WRITERS = {"jax": JaxWriter()}
