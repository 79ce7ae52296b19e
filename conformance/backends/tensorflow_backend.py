"""TensorFlow as a backend (`conformance.backends.tensorflow_backend:TensorFlowBackend`): the
`tf.nn` pooling ops, run eagerly on the CPU, on a channels-last copy of the input.

tf.nn pools (N, *spatial, C) tensors with "VALID"/"SAME" padding (explicit padding in
`max_pool1d`/`max_pool2d` only), without ceil mode, count_include_pad, divisor_override, min or
adaptive pooling, with dilation only in `tf.nn.pool` at stride 1, and indices only from the 2-d
`max_pool_with_argmax`. Every value goes to TF as torch received it (TF alone accepts or rejects
it). How each torch parameter maps (N native, E emulated with the TF ops named, - unsupported):

| torch parameter | how | with |
|---|---|---|
| layout | E | `tf.transpose` to channels-last and back; an unbatched input gets a batch axis of 1 |
| max pool, kernel_size, stride | N | `tf.nn.max_pool(ksize, strides)`; stride None is the kernel, as in torch |
| padding (max 1-d / 2-d) | N | explicit padding `[[0, 0], [p, p + extra], ..., [0, 0]]` |
| padding (max 3-d, dilated max, argmax) | E | `tf.pad` with the dtype's lowest value (-inf), then VALID |
| ceil_mode | E | `extra` end padding from torch's documented output size (`torch_signatures.ceil_mode_end_padding`) |
| dilation | E | `tf.nn.pool(pooling_type="MAX", dilations=...)` at stride 1, then every stride-th window (`[::s]`): tf.nn.pool refuses dilation > 1 with stride > 1 |
| avg pool | N | `tf.nn.avg_pool` (VALID) over the input zero-padded with `tf.pad` |
| count_include_pad=False, ceil_mode | E | `avg_pool(x padded) / avg_pool(mask padded)`, the mask 1 on what torch counts (the input; with count_include_pad the declared padding too), 0 elsewhere, in the input's dtype |
| divisor_override | E | `avg_pool(x padded) * K / divisor`, in the input's dtype |
| adaptive avg / max pool | E | per axis, each window sliced, reduced with `tf.reduce_mean` / `tf.reduce_max` (keepdims), joined with `tf.concat` (`torch_signatures.pool_adaptively`); integer averages: `tf.reduce_sum` per axis (in the input's dtype, as TF sums), then one `tf.truncatediv` by the window's size |
| global avg pool | N | `tf.reduce_mean` over the spatial axes |
| return_indices (max 1-d / 2-d, no dilation) | N | `tf.nn.max_pool_with_argmax` (VALID, `include_batch_in_index=False`) over the padded input; TF's `(y * W + x) * C + c` turned into torch's `h * W + w` in unpadded coordinates; a padding cell, which is no element, as -1 |
| return_indices (3-d, dilation, adaptive max) | - | NotImplementedError: TF has no argmax pooling for them |
| min pool | - | absent: TF has no min pooling |

No backward pass: the adapter binds no `vjp` (TF's `tf.GradientTape` is not wired here), so the
gradient properties report TF unsupported. Dtypes are what TF has CPU kernels for; a missing kernel raises NotImplementedError. Every
emulation computes in the input's dtype, with TF's ops: the adapter adds no wider accumulation.
Intra- and inter-op parallelism are set to 1 at import, before any op, so timings are
single-threaded; if TF already ran an op in this process, its thread pools stay as they are.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ info logs swamp test output

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from conformance.backends.torch_signatures import (  # noqa: E402
    TorchLikeBackend, adaptive_sizes, adaptive_window_counts, ceil_mode_end_padding, is_one, owned, per_axis,
    pool_adaptively,
)


def _single_threaded() -> None:
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TF already ran an op in this process; its thread pools can no longer change


_single_threaded()


def _run(function, *args, **kwargs):
    """Call TF; a dtype it has no CPU kernel for is unsupported, not a failure."""
    try:
        return function(*args, **kwargs)
    except tf.errors.NotFoundError as error:  # the op allows the dtype, no CPU kernel has it
        raise NotImplementedError(f"TensorFlow has no CPU kernel for this dtype: {error}") from error
    except tf.errors.InvalidArgumentError as error:
        if "Value for attr 'T'" in str(error):  # the op's definition excludes the dtype
            raise NotImplementedError(f"TensorFlow's op excludes this dtype: {error}") from error
        raise


def _lowest(dtype):
    return dtype.min if dtype.is_integer else -np.inf


def _window(dims, kernel_size, stride):
    kernel = per_axis(kernel_size, dims)
    return list(kernel), list(kernel if stride is None or stride in ((), []) else
                              per_axis(stride, dims))


def _pads(x, dims, kernel, strides, padding, dilation, ceil_mode):
    """[[lo, hi], ...] per spatial axis of a channels-last x: torch's padding, plus ceil mode's
    extra end padding."""
    spatial = x.shape[1:1 + dims]
    pads = per_axis(padding, dims)
    dilations = per_axis(dilation, dims)
    return [[p, p + (ceil_mode_end_padding(length, k, s, p, d) if ceil_mode else 0)]
            for length, k, s, p, d in zip(spatial, kernel, strides, pads, dilations, strict=True)]


def _padded(x, pads, value):
    return tf.pad(x, [[0, 0], *pads, [0, 0]], constant_values=value)


def _max_pool(x, dims, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    kernel, strides = _window(dims, kernel_size, stride)
    pads = _pads(x, dims, kernel, strides, padding, dilation, ceil_mode)
    if return_indices:
        if dims == 3 or not is_one(dilation):
            raise NotImplementedError("TensorFlow's only argmax pooling, max_pool_with_argmax, is "
                                      "2-d and undilated")
        return _argmax_pool(x, dims, kernel, strides, pads)
    if not is_one(dilation):
        if not all(type(stride) is int and stride > 0 for stride in strides):
            # The emulation keeps every stride-th window: a slice step must be a positive int.
            raise ValueError(f"the dilation emulation needs positive integer strides, not "
                             f"{strides}")
        y = _run(tf.nn.pool, _padded(x, pads, _lowest(x.dtype)), kernel, "MAX",
                 padding="VALID", dilations=list(per_axis(dilation, dims)))
        return y[(slice(None), *(slice(None, None, s) for s in strides))]
    if dims == 3:
        return _run(tf.nn.max_pool3d, _padded(x, pads, _lowest(x.dtype)), kernel, strides, "VALID")
    pool = tf.nn.max_pool1d if dims == 1 else tf.nn.max_pool2d
    return _run(pool, x, kernel, strides, [[0, 0], *pads, [0, 0]])


def _argmax_pool(x, dims, kernel, strides, pads):
    """max_pool_with_argmax over the padded input (1-d as a 2-d pool of height 1)."""
    padded = _padded(x, pads, _lowest(x.dtype))
    if dims == 1:
        padded, kernel, strides, pads = padded[:, tf.newaxis], [1, *kernel], [1, *strides], \
            [[0, 0], *pads]
    values, argmax = _run(tf.nn.max_pool_with_argmax, padded, kernel, strides, "VALID",
                          include_batch_in_index=False)
    channels, padded_width = padded.shape[-1], padded.shape[2]
    row, column = np.divmod(argmax.numpy() // channels, padded_width)
    row, column = row - pads[0][0], column - pads[1][0]
    height, width = padded.shape[1] - sum(pads[0]), padded_width - sum(pads[1])
    inside = (row >= 0) & (row < height) & (column >= 0) & (column < width)
    index = tf.constant(np.where(inside, row * width + column, -1).astype(np.int64))
    if dims == 1:
        values, index = values[:, 0], index[:, 0]
    return values, index


def _avg_pool(x, dims, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override=None):
    kernel, strides = _window(dims, kernel_size, stride)
    pads = _pads(x, dims, kernel, strides, padding, 1, ceil_mode)
    pool = {1: tf.nn.avg_pool1d, 2: tf.nn.avg_pool2d, 3: tf.nn.avg_pool3d}[dims]
    average = _run(pool, _padded(x, pads, 0), kernel, strides, "VALID")
    if divisor_override is not None:
        # A TF division: a divisor of 0 gives what TF gives (inf, NaN), not a Python error.
        return average * tf.constant(math.prod(kernel), x.dtype) / tf.constant(
            divisor_override, x.dtype)
    if not ceil_mode and count_include_pad:
        return average
    # What torch counts: the input, and with count_include_pad its declared padding, never
    # ceil mode's extra.
    mask = tf.ones_like(x)
    if count_include_pad:
        mask = _padded(mask, [[lo, lo] for lo, _ in pads], 1)
        pads = [[0, hi - lo] for lo, hi in pads]
    return average / _run(pool, _padded(mask, pads, 0), kernel, strides, "VALID")


def _adaptive_pool(reduce):
    def pool(x, dims, output_size, return_indices=False):
        if return_indices:
            raise NotImplementedError("TensorFlow has no adaptive pooling, nor indices for its "
                                      "emulation")
        axes = range(1, 1 + dims)
        sizes = adaptive_sizes(output_size, tuple(x.shape[a] for a in axes))
        # Integers: window sums one axis at a time, then one truncating division by the window's
        # size (a mean of truncated per-axis means would truncate twice).
        integer_average = reduce is tf.reduce_mean and x.dtype.is_integer
        y = pool_adaptively(
            x, axes, sizes,
            lambda part, axis: _run(tf.reduce_sum if integer_average else reduce, part,
                                    axis=axis, keepdims=True),
            lambda parts, axis: tf.concat(parts, axis=axis))
        if not integer_average:
            return y
        counts = adaptive_window_counts(x.shape, axes, sizes)
        return tf.truncatediv(y, tf.constant(counts[..., np.newaxis], x.dtype))

    return pool


def _global_avg_pool(x, dims):
    return _run(tf.reduce_mean, x, axis=list(range(1, 1 + dims)), keepdims=True)


_FAMILIES = {
    "max_pool": _max_pool,
    "avg_pool": _avg_pool,
    "adaptive_avg_pool": _adaptive_pool(tf.reduce_mean),
    "adaptive_max_pool": _adaptive_pool(tf.reduce_max),
    "global_avg_pool": _global_avg_pool,
}


def _numpy(tensor) -> np.ndarray:
    result = tensor.numpy()
    if tensor.dtype == tf.bfloat16 and result.dtype != ml_dtypes.bfloat16:
        result = result.view(ml_dtypes.bfloat16)
    return result


def _channels_first(tensor, unbatched: bool) -> np.ndarray:
    array = np.moveaxis(_numpy(tensor), -1, 1)
    return owned(array[0] if unbatched else array)


class TensorFlowBackend(TorchLikeBackend):
    """tf.nn's pooling ops, eager, on the CPU."""

    name = "tensorflow"
    version = tf.__version__
    families = tuple(_FAMILIES)
    vjp = None  # no backward pass bound: gradients are unsupported, not failures

    def run(self, family, dims, input, arguments):
        array = np.asarray(input)
        unbatched = array.ndim == dims + 1
        if unbatched:
            array = array[np.newaxis]
        # Channels-last for any rank: TF judges a rank other than dims + 2 itself.
        x = tf.constant(np.moveaxis(array, 1, -1) if array.ndim > 1 else array)
        result = _FAMILIES[family](x, dims, **arguments)
        if isinstance(result, tuple):
            return tuple(_channels_first(part, unbatched) for part in result)
        return _channels_first(result, unbatched)
