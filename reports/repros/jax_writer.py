"""Repros in JAX's own terms. JAX has no pooling layer: max, min and average pooling are
`lax.reduce_window` over the explicitly padded input (averages divided by the same sums of ones),
adaptive pooling a reduction of each window sliced per axis, global average `jnp.mean`, as the
adapter (conformance/backends/jax_backend.py) builds them; the backward pass is `jax.vjp` of
that function."""

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

    def _average(self, problem: Problem) -> list[str]:
        """As the adapter (Flax's avg_pool on torch's layout): the window sums by
        `reduce_window(add)` in the input's dtype, over the same sums of ones padded as torch
        counts them (or the override), divided in the dtype (integers by `lax.div`)."""
        case = problem.case
        arguments = case.kwargs
        kernel, strides, _ = geometry.kernel_and_strides(case)
        lead = case.input.ndim - case.op.spatial_dims
        window, steps = (1,) * lead + tuple(kernel), (1,) * lead + tuple(strides)
        pads = [(0, 0)] * lead + [tuple(p) for p in geometry.explicit_padding(case)]
        divide = ("lax.div(total, jnp.broadcast_to(jnp.asarray({}, x.dtype), total.shape))"
                  if case.dtype.startswith(("int", "uint")) else "total / jnp.asarray({}, x.dtype)")
        lines = ["def pool(x):",
                 "    zero = jnp.array(0, x.dtype)",
                 f"    total = lax.reduce_window(x, zero, lax.add, {window}, {steps}, {pads})"
                 f"  # torch's padding and ceil-mode overhang, explicit"]
        divisor = arguments.get("divisor_override")
        if divisor is not None:
            return lines + [f"    return ({divide.format(repr(divisor))}).astype(x.dtype)"]
        if arguments.get("count_include_pad", True):
            declared = [(lo, lo) for lo, _ in pads]
            counted = [(0, hi - lo) for lo, hi in pads]
            lines.append(f"    ones = jnp.pad(jnp.ones(x.shape, x.dtype), {declared}, "
                         f"constant_values=1)  # the declared padding counts, the overhang not")
        else:
            counted = pads
            lines.append("    ones = jnp.ones(x.shape, x.dtype)  # the input alone counts")
        lines.append(f"    count = lax.reduce_window(ones, zero, lax.add, {window}, {steps}, "
                     f"{counted})")
        return lines + [f"    return ({divide.format('count')}).astype(x.dtype)"]

    def _adaptive(self, problem: Problem) -> list[str]:
        """As the adapter (torch_signatures.pool_adaptively): axis by axis, each window's
        `jnp.mean` / `jnp.max` (integer averages: `jnp.sum`, then one `lax.div` by the window's
        size), joined by `jnp.concatenate`."""
        case = problem.case
        integer = case.dtype.startswith(("int", "uint"))
        average = case.op.family == "adaptive_avg_pool"
        reduce = ("jnp.sum" if integer else "jnp.mean") if average else "jnp.max"
        windows = geometry.adaptive_bounds(case)
        lines = [f"windows = {windows!r}  # per spatial axis, each output position's "
                 f"[start, stop): torch's adaptive windows",
                 "def pool(x):",
                 "    for axis, bounds in enumerate(windows, start=x.ndim - len(windows)):",
                 "        lead = (slice(None),) * axis",
                 f"        x = jnp.concatenate([{reduce}(x[lead + (slice(start, stop),)], "
                 "axis=axis, keepdims=True) for start, stop in bounds], axis=axis)"]
        if not (average and integer):
            return lines + ["    return x"]
        return lines + ["    counts = np.ones((), np.int64)", "    for bounds in windows:",
                        "        counts = np.multiply.outer(counts, [b - a for a, b in bounds])",
                        "    return lax.div(x, jnp.asarray(counts, x.dtype))  # each window's "
                        "sum // its size, truncated"]

    def _with_indices(self, problem: Problem) -> list[str]:
        """As the adapter: one variadic `reduce_window` over (value, flat plane index) pairs,
        whose comparator prefers NaN, then the larger (smaller) value, then the smaller index;
        padding carries an index no element has, returned as -1."""
        case = problem.case
        if case.op.family not in ("max_pool", "min_pool"):
            raise NotImplementedError("JAX has no reduction that gives an adaptive window's "
                                      "position")
        kernel, strides, dilations = geometry.kernel_and_strides(case)
        dims = case.op.spatial_dims
        lead = case.input.ndim - dims
        better = "a_value > b_value" if case.op.family == "max_pool" else "a_value < b_value"
        floats = not case.dtype.startswith(("int", "uint"))
        return [
            "NO_ELEMENT = np.iinfo(np.int64).max  # padding's index",
            "def pick(a, b):",
            "    (a_value, a_index), (b_value, b_index) = a, b",
            "    first = a_index < b_index",
            f"    take_a = ({better}) | ((a_value == b_value) & first)",
            *(["    a_nan, b_nan = a_value != a_value, b_value != b_value",
               "    take_a = jnp.where(a_nan | b_nan, a_nan & (~b_nan | first), take_a)"]
              if floats else []),
            "    return jnp.where(take_a, a_value, b_value), jnp.where(take_a, a_index, b_index)",
            "def pool(x):",
            f"    spatial = x.shape[-{dims}:]",
            "    index = jnp.broadcast_to(jnp.arange(int(np.prod(spatial)), dtype=jnp.int64)"
            ".reshape(spatial), x.shape)  # each element's flat index in its plane",
            f"    values, index = lax.reduce_window((x, index), (jnp.array("
            f"{self._init(problem, 'jnp')}, x.dtype), jnp.array(NO_ELEMENT, jnp.int64)), pick, "
            f"{(1,) * lead + tuple(kernel)}, {(1,) * lead + tuple(strides)}, "
            f"{[(0, 0)] * lead + geometry.explicit_padding(case)}, "
            f"window_dilation={(1,) * lead + tuple(dilations)})",
            "    return values, jnp.where(index == NO_ELEMENT, -1, index)"]

    def forward(self, problem: Problem) -> list[str]:
        if problem.case.kwargs.get("return_indices"):
            return self._function(problem) + ["", "actual, indices = pool(jnp.asarray(x))"]
        return self._function(problem) + ["", "actual = pool(jnp.asarray(x))"]

    def backward(self, problem: Problem) -> list[str]:
        return self._function(problem) + [
            "", "_, pull_back = jax.vjp(pool, jnp.asarray(x))",
            "(actual,) = pull_back(jnp.asarray(g))"]


WRITERS = {"jax": JaxWriter()}
