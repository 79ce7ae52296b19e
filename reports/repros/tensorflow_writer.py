"""Repros in TensorFlow's own terms, as the adapter calls it: `tf.nn.pool` on a channels-last,
explicitly padded input (TF has no torch-style padding or ceil mode), `tf.reduce_mean` for global
averages, a float64 sum over each window's `tf.gather` per axis for adaptive averages (and
`reduce_max` for adaptive max), and for indices `tf.nn.max_pool_with_argmax` over each window's
elements laid out in a row of their own (TF's argmax takes no torch-style padding either)."""

from __future__ import annotations

import math

from reports.repros import geometry
from reports.repros.literals import numpy_tensor
from reports.repros.problem import Problem, batched
from reports.repros.script import Writer, numpy_assert_close


class TensorFlowWriter(Writer):
    framework = "tensorflow"
    needs = "tensorflow (with its numpy and ml_dtypes)"
    imports = ("import ml_dtypes  # tensorflow's own dependency", "import numpy as np",
               "import tensorflow as tf")

    tensor = staticmethod(numpy_tensor)
    assert_close = staticmethod(numpy_assert_close)

    def prepare(self, problem: Problem) -> Problem:
        return batched(problem)  # tf.nn pools batched inputs only

    def forward(self, problem: Problem) -> list[str]:
        case = problem.case
        family, dims = case.op.family, case.op.spatial_dims
        if case.kwargs.get("return_indices"):
            return self._with_argmax(problem)
        if family == "global_avg_pool":
            return [f"actual = tf.reduce_mean(x, axis={list(range(2, 2 + dims))}, keepdims=True)"]
        if family in ("adaptive_avg_pool", "adaptive_max_pool"):
            reduce = "tf.reduce_sum" if family == "adaptive_avg_pool" else "tf.reduce_max"
            lines = [f"windows = {geometry.adaptive_bounds(case)!r}  # per spatial axis, each "
                     f"output position's [start, stop): torch's adaptive windows",
                     "y = tf.cast(x, tf.float64)" if family == "adaptive_avg_pool"
                     else "y = tf.constant(x)",
                     "for axis, bounds in enumerate(windows, start=2):",
                     f"    y = tf.stack([{reduce}(tf.gather(y, list(range(start, stop)), axis=axis), "
                     "axis=axis) for start, stop in bounds], axis=axis)"]
            if family == "adaptive_avg_pool":
                sizes = [[b - a for a, b in axis] for axis in geometry.adaptive_bounds(case)]
                counts = " * ".join(f"np.array({s}).reshape({tuple(-1 if i == k else 1 for i in range(dims))})"
                                    for k, s in enumerate(sizes))
                lines.append(f"y = tf.cast(y / ({counts}), x.dtype)  # each window's sum / its size")
            return lines + ["actual = y.numpy()"]
        if family == "max_pool":
            return self._max_pool(problem)
        raise NotImplementedError(f"no TensorFlow idiom written for {case.op_name}")

    def _max_pool(self, problem: Problem) -> list[str]:
        case = problem.case
        dims = case.op.spatial_dims
        kernel, strides, dilations = geometry.kernel_and_strides(case)
        dilated = any(d > 1 for d in dilations)
        lowest = ("-np.inf" if not case.dtype.startswith(("int", "uint"))
                  else "np.iinfo(x.dtype).min")
        to_last, to_first = [0, *range(2, 2 + dims), 1], [0, dims + 1, *range(1, dims + 1)]
        lines = [f"y = tf.transpose(x, {to_last})  # channels last, as tf.nn pools",
                 f"y = tf.pad(y, {[[0, 0], *map(list, geometry.explicit_padding(case)), [0, 0]]}, "
                 f"constant_values={lowest})  # torch's padding and ceil-mode overhang, explicit",
                 f"y = tf.nn.pool(y, {list(kernel)}, 'MAX', strides={[1] * dims if dilated else list(strides)}, "
                 f"padding='VALID', dilations={list(dilations)})"]
        if dilated:  # tf.nn.pool takes dilation at stride 1 only
            lines.append(f"y = y[:, {', '.join(f'::{s}' for s in strides)}, :]")
        return lines + [f"actual = tf.transpose(y, {to_first}).numpy()"]

    def _with_argmax(self, problem: Problem) -> list[str]:
        case = problem.case
        table = geometry.window_table(case)
        planes, plane = math.prod(case.input.shape[:2]), problem.plane_size
        outputs, width = len(table), len(table[0]) if table else 0
        lowest = ("-np.inf" if not case.dtype.startswith(("int", "uint"))
                  else "np.iinfo(x.dtype).min")
        return [
            f"table = np.array({table!r})  # for each output element of a plane, the flat plane "
            f"positions its window reads (-1: padding or overhang)",
            f"rows = np.concatenate([x.reshape({planes}, {plane}), np.full(({planes}, 1), "
            f"{lowest}, x.dtype)], axis=1)  # position {plane}: what padding reads",
            f"slots = np.take(rows, np.where(table < 0, {plane}, table), axis=1)  # each window "
            f"in a row of its own",
            f"values, argmax = tf.nn.max_pool_with_argmax(slots.reshape({planes}, {outputs}, "
            f"{width}, 1), ksize=(1, {width}), strides=(1, {width}), padding='VALID')",
            f"actual = values.numpy().reshape({tuple(problem.expected.shape)})",
            f"indices = table.reshape(-1)[argmax.numpy()].reshape({tuple(problem.expected.shape)})"
            "  # back to plane positions",
        ]


WRITERS = {"tensorflow": TensorFlowWriter()}
