"""Repros in TensorFlow's own terms, each the calls the adapter (conformance/backends/
tensorflow_backend.py) makes, on the channels-last input it makes: TF has no torch-style padding or
ceil mode, so torch's padding and ceil-mode overhang are explicit pads. A repro that computes the
same result some other way would reproduce a different bug, or none."""

from __future__ import annotations

import math

import numpy as np

from reports.repros import geometry
from reports.repros.literals import numpy_tensor
from reports.repros.problem import Problem, batched
from reports.repros.script import Writer, numpy_assert_close


# As the adapter: channels last by moving axis 1, for any rank (TF judges a rank of its own).
CHANNELS_LAST = "y = tf.constant(np.moveaxis(x, 1, -1))  # channels last, as the adapter hands TF"


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
            return [CHANNELS_LAST,
                    f"y = tf.reduce_mean(y, axis={list(range(1, 1 + dims))}, keepdims=True)",
                    "actual = np.moveaxis(y.numpy(), -1, 1)"]
        if family in ("adaptive_avg_pool", "adaptive_max_pool"):
            return self._adaptive_pool(problem)
        if family == "max_pool":
            return self._max_pool(problem)
        if family == "avg_pool":
            return self._avg_pool(problem)
        raise NotImplementedError(f"no TensorFlow idiom written for {case.op_name}")

    def _adaptive_pool(self, problem: Problem) -> list[str]:
        """As the adapter (torch_signatures.pool_adaptively): axis by axis, each window sliced,
        reduced keeping the axis, the windows joined with `tf.concat`; an integer average sums in
        its dtype, then divides once, truncating, by each window's size."""
        case = problem.case
        integer = case.dtype.startswith(("int", "uint"))
        average = case.op.family == "adaptive_avg_pool"
        reduce = ("tf.reduce_sum" if integer else "tf.reduce_mean") if average else "tf.reduce_max"
        windows = geometry.adaptive_bounds(case)
        lines = [CHANNELS_LAST,
                 f"windows = {windows!r}  # per spatial axis, each output position's "
                 f"[start, stop): torch's adaptive windows",
                 "for axis, bounds in enumerate(windows, start=1):",
                 "    lead = (slice(None),) * axis",
                 f"    y = tf.concat([{reduce}(y[lead + (slice(start, stop),)], axis=axis, "
                 "keepdims=True) for start, stop in bounds], axis=axis) if bounds else "
                 "y[lead + (slice(0, 0),)]"]
        if average and integer:
            counts = np.ones((), np.int64)
            for axis in windows:
                counts = np.multiply.outer(counts, [stop - start for start, stop in axis])
            lines.append(f"y = tf.truncatediv(y, tf.constant(np.array({counts.tolist()!r})"
                         f"[..., np.newaxis], y.dtype))  # each window's sum // its size")
        return lines + ["actual = np.moveaxis(y.numpy(), -1, 1)"]

    def _max_pool(self, problem: Problem) -> list[str]:
        """As the adapter: `tf.nn.max_pool1d`/`2d` with explicit padding; 3-d over the input
        padded with the lowest value; dilated through `tf.nn.pool` at stride 1 (the only
        stride it takes with dilation), every stride-th window kept."""
        case = problem.case
        dims = case.op.spatial_dims
        kernel, strides, dilations = geometry.kernel_and_strides(case)
        pads = [[0, 0], *map(list, geometry.explicit_padding(case)), [0, 0]]
        dilated = any(d > 1 for d in dilations)
        lowest = ("-np.inf" if not case.dtype.startswith(("int", "uint"))
                  else "np.iinfo(x.dtype).min")
        lines = [CHANNELS_LAST]
        padded = (f"tf.pad(y, {pads}, constant_values={lowest})  # torch's padding and ceil-mode "
                  f"overhang, explicit")
        if dilated:
            lines += [f"y = {padded}",
                      f"y = tf.nn.pool(y, {list(kernel)}, 'MAX', padding='VALID', "
                      f"dilations={list(dilations)})",
                      f"y = y[:, {', '.join(f'::{s}' for s in strides)}, :]"]
        elif dims == 3:
            lines += [f"y = {padded}",
                      f"y = tf.nn.max_pool3d(y, {list(kernel)}, {list(strides)}, 'VALID')"]
        else:
            lines.append(f"y = tf.nn.max_pool{dims}d(y, {list(kernel)}, {list(strides)}, {pads})"
                         f"  # torch's padding and ceil-mode overhang, explicit")
        return lines + ["actual = np.moveaxis(y.numpy(), -1, 1)"]

    def _avg_pool(self, problem: Problem) -> list[str]:
        """As the adapter: the average over the zero-padded input, then torch's divisor (the
        override, or what torch counts: the input, with count_include_pad its declared padding,
        never ceil mode's overhang) from the same pool over a mask."""
        case = problem.case
        dims, arguments = case.op.spatial_dims, case.kwargs
        kernel, strides, _ = geometry.kernel_and_strides(case)
        pads = [list(p) for p in geometry.explicit_padding(case)]
        pool = f"tf.nn.avg_pool{dims}d"
        lines = [CHANNELS_LAST,
                 f"pads = {[[0, 0], *pads, [0, 0]]}  # torch's padding and ceil-mode overhang, "
                 f"explicit",
                 f"average = {pool}(tf.pad(y, pads), {list(kernel)}, {list(strides)}, 'VALID')"]
        divisor = arguments.get("divisor_override")
        if divisor is not None:
            lines.append(f"average = average * tf.constant({math.prod(kernel)}, y.dtype) / "
                         f"tf.constant({divisor!r}, y.dtype)  # the window's size / the override")
        elif arguments.get("ceil_mode", False) or not arguments.get("count_include_pad", True):
            if arguments.get("count_include_pad", True):
                declared = [[0, 0], *([lo, lo] for lo, _ in pads), [0, 0]]
                rest = [[0, 0], *([0, hi - lo] for lo, hi in pads), [0, 0]]
                lines.append(f"mask = tf.pad(tf.pad(tf.ones_like(y), {declared}, "
                             f"constant_values=1), {rest})  # 1 on the input and its declared "
                             f"padding, 0 on ceil mode's overhang")
            else:
                lines.append("mask = tf.pad(tf.ones_like(y), pads)  # 1 on the input only")
            lines.append(f"average = average / {pool}(mask, {list(kernel)}, {list(strides)}, "
                         f"'VALID')  # / what torch counts in each window")
        return lines + ["actual = np.moveaxis(average.numpy(), -1, 1)"]

    def _with_argmax(self, problem: Problem) -> list[str]:
        """As the adapter: max_pool_with_argmax (2-d, undilated) over the input padded with the
        lowest value, its flat channels-last argmax turned back into positions of the unpadded
        plane (-1 where the maximum is padding); a 1-d pool as a 2-d one of height 1."""
        case = problem.case
        dims = case.op.spatial_dims
        kernel, strides, _ = geometry.kernel_and_strides(case)
        pads = [list(p) for p in geometry.explicit_padding(case)]
        spatial = list(case.input.shape[-dims:])
        if dims == 1:
            kernel, strides, pads, spatial = [1, *kernel], [1, *strides], [[0, 0], *pads], \
                [1, *spatial]
        (top, _), (left, _) = pads
        height, width = spatial
        lowest = ("-np.inf" if not case.dtype.startswith(("int", "uint"))
                  else "np.iinfo(x.dtype).min")
        lines = [CHANNELS_LAST]
        if dims == 1:
            lines.append("y = y[:, tf.newaxis]  # a 1-d pool as a 2-d one of height 1")
        lines += [
            f"y = tf.pad(y, {[[0, 0], *pads, [0, 0]]}, constant_values={lowest})  # torch's "
            f"padding and ceil-mode overhang, explicit",
            f"values, argmax = tf.nn.max_pool_with_argmax(y, {kernel}, {strides}, 'VALID', "
            f"include_batch_in_index=False)",
            f"row, column = np.divmod(argmax.numpy() // y.shape[-1], {width + left + pads[1][1]})"
            f"  # flat (row, column, channel) of the padded plane",
            f"row, column = row - {top}, column - {left}",
            f"inside = (row >= 0) & (row < {height}) & (column >= 0) & (column < {width})",
            f"indices = np.where(inside, row * {width} + column, -1)",
        ]
        if dims == 1:
            lines.append("values, indices = values[:, 0], indices[:, 0]")
        return lines + ["actual = np.moveaxis(values.numpy(), -1, 1)",
                        "indices = np.moveaxis(indices, -1, 1)"]


WRITERS = {"tensorflow": TensorFlowWriter()}
