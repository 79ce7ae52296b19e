"""TensorFlow as a backend (`conformance.backends.tensorflow_backend:TensorFlowBackend`):
`tf.nn` pooling ops run eagerly on CPU, on a channels-last copy of the input.

tf.nn pools NHWC tensors with "SAME"/"VALID" padding (explicit padding for 1-d/2-d max pooling
only), without ceil mode, count_include_pad, divisor_override or adaptive pooling, with dilation
only at stride 1, and with indices only from the 2-d `max_pool_with_argmax`. How each torch
parameter maps (N native, P TF's explicit padding or a pre-pad, E emulated, - unsupported):

| torch parameter | how | with |
|---|---|---|
| max pool, kernel_size, stride | N | `tf.nn.max_pool1d/2d/3d` |
| padding (max 1-d/2-d) | P | TF's explicit padding |
| padding (max 3-d, dilated max) | P | `tf.pad` with -inf (integer min), then VALID |
| dilation | E | `tf.nn.pool(dilations=...)` at stride 1 on the padded input, then `[::stride]`: tf.nn.pool refuses dilation > 1 with stride > 1 |
| ceil_mode | P | extra end padding, sized from the oracle's window rule (`reference.windows`) |
| avg pool, kernel_size, stride | N | `tf.nn.avg_pool1d/2d/3d` (VALID) over the zero-padded input |
| count_include_pad, ceil_mode (avg) | E | TF's average x K / count: count is the pooled 0/1 mask (input, + padding with count_include_pad, 0 on the ceil overhang), counted exactly per axis as it depends on the shape only. Where count == K everywhere, TF's average is returned as is; otherwise the rescale runs in float64 (one rounding) |
| divisor_override | E | TF's average x K / divisor, in float64 |
| adaptive avg pool | E | per axis, `tf.where(window mask, x, 0)` + `reduce_sum`, in float64, / window size |
| adaptive max pool | E | per axis, `tf.where(window mask, x, lowest)` + `reduce_max` |
| global avg pool | N | `tf.reduce_mean` over the spatial axes |
| return_indices (no padding, no dilation, 1-d/2-d) | P | `max_pool_with_argmax` on the input; the ceil overhang as -inf at the end |
| return_indices (otherwise, 3-d, adaptive max) | E | each window's input cells gathered, in window order, into a 1 x K slot of its own (short windows end in -inf), then `max_pool_with_argmax` with ksize = strides = (1, K) |
| min pool | - | absent: TF has no min pooling (as in the torch adapter) |

Dtypes are what TF has CPU kernels for; a missing kernel raises NotImplementedError. In TF 2.21:
max 1-d/2-d, max_pool_with_argmax and reduce_mean take every dtype of the contract; max_pool3d
and avg_pool3d float32 and bfloat16 only; avg_pool1d/2d floats only. Adaptive average is floats
only, as TF has no integer average pooling to build it from.

Choices that shape what the suite can observe:
- Parameters are normalised and checked with the oracle's own `reference.parameters`. TF only
  ever sees paddings and kernels derived from torch's arguments, so it could not reject torch's
  invalid ones (padding > kernel_size / 2, say) and would name derived values if it did: the
  suite cannot observe TF's own validation through this adapter. Inputs TF itself rejects (an
  empty batch for `max_pool_with_argmax`) still raise TF's error.
- Indices: TF's argmax kernel takes a window's first cell, then only a strictly greater one, and
  skips implicit (SAME) padding. A -inf pre-pad would put a padding cell first and change its
  choice next to the padding (NaN and -inf inputs), hence the per-window slots, which give
  exactly TF's own SAME results wherever TF's SAME geometry equals torch's. A slot cell that is
  no input element (the -inf filler) maps to index -1, which is also what a window without
  input element returns, with the filler as its value.
- With return_indices the values come from MaxPoolWithArgmax, without it from MaxPool; the two
  kernels treat NaN differently, and bfloat16 MaxPool with VALID (oneDNN) and with explicit
  padding (Eigen) differ on windows holding only -inf. Those differences are TF's.
- The emulations work in float64 (adaptive average sums, average divisors) so that, for the
  narrower floats, they add at most one rounding of their own; float64 adaptive averages round
  like any float64 sum (a few ulps, within the suite's tolerance).
- Intra- and inter-op parallelism are set to 1 at import, before any op, so timings are
  single-threaded; if TF already ran an op in this process, its thread pools stay as they are.
"""

from __future__ import annotations

import inspect
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ info logs swamp test output

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import reference  # noqa: E402
from conformance.engine.arrays import dtype_name  # noqa: E402
from reference import parameters  # noqa: E402
from reference.dtypes import is_integer  # noqa: E402
from reference.windows import INPUT, PADDING, adaptive_windows, sliding_windows  # noqa: E402


def _single_threaded() -> None:
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TF already ran an op in this process; its thread pools can no longer change


_single_threaded()

_FAMILIES = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "global_avg_pool")


class TensorFlowBackend:
    name = "tensorflow"
    version = tf.__version__

    def __getattr__(self, op_name: str):
        family, _, dims = op_name.rpartition("_pool")
        family += "_pool"
        if op_name not in reference.OP_NAMES or family not in _FAMILIES:
            raise AttributeError(op_name)
        spatial_dims = int(dims[0])
        signature = inspect.signature(getattr(reference, op_name))
        implementation = getattr(self, f"_{family}")

        def op(input: np.ndarray, *args, **kwargs):
            bound = signature.bind(input, *args, **kwargs)  # TypeError for an unknown argument
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            array = np.asarray(arguments.pop("input"))
            name = dtype_name(array.dtype)
            if name is None:
                raise TypeError(f"{op_name}: dtype {array.dtype} is outside the contract")
            parameters.check_input_shape(op_name, spatial_dims, array.shape)
            batched = array.ndim == spatial_dims + 2
            if not batched:
                array = array[np.newaxis]
            result = implementation(array, name, spatial_dims, op_name, **arguments)
            if not batched:
                result = tuple(r[0] for r in result) if isinstance(result, tuple) else result[0]
            # The contract asks for writable C-contiguous arrays, not views of TF's buffers.
            if isinstance(result, tuple):
                return tuple(_writable_contiguous(r) for r in result)
            return _writable_contiguous(result)

        op.__name__ = op_name
        return op

    # --- max ---------------------------------------------------------------------------------

    def _max_pool(self, array, dtype, spatial_dims, op_name, kernel_size, stride, padding,
                  dilation, ceil_mode, return_indices):
        kernel, strides, pads, dilations = parameters.sliding_parameters(
            op_name, spatial_dims, kernel_size, stride, padding, dilation
        )
        windows = _sliding_windows(op_name, array.shape[2:], kernel, strides, pads, dilations,
                                   ceil_mode)
        if return_indices:
            if all(p == 0 for p in pads) and all(d == 1 for d in dilations) and spatial_dims <= 2:
                return _argmax_unpadded(op_name, array, dtype, kernel, strides, windows)
            return _argmax_of_windows(op_name, array, dtype, windows)
        overhangs = [_overhang(w, length, p) for w, length, p in
                     zip(windows, array.shape[2:], pads)]
        x = _channels_last(array)
        if all(d == 1 for d in dilations) and spatial_dims <= 2:
            explicit = [[0, 0], *([p, p + h] for p, h in zip(pads, overhangs)), [0, 0]]
            pool = tf.nn.max_pool1d if spatial_dims == 1 else tf.nn.max_pool2d
            y = _run(op_name, dtype, pool, x, kernel, strides, explicit)
        else:
            x = tf.pad(x, [[0, 0], *([p, p + h] for p, h in zip(pads, overhangs)), [0, 0]],
                       constant_values=_lowest(dtype))
            if all(d == 1 for d in dilations):
                y = _run(op_name, dtype, tf.nn.max_pool3d, x, kernel, strides, "VALID")
            else:
                # tf.nn.pool refuses dilation > 1 with stride > 1 ("strides must be 1").
                y = _run(op_name, dtype, tf.nn.pool, x, kernel, "MAX", padding="VALID",
                         dilations=dilations)
                y = y[(slice(None), *(slice(None, None, s) for s in strides))]
        return _checked(_channels_first(y), windows)

    # --- average -----------------------------------------------------------------------------

    def _avg_pool(self, array, dtype, spatial_dims, op_name, kernel_size, stride, padding,
                  ceil_mode, count_include_pad, divisor_override=None):
        parameters.check_divisor_override(op_name, divisor_override)
        kernel, strides, pads, _ = parameters.sliding_parameters(
            op_name, spatial_dims, kernel_size, stride, padding, 1
        )
        windows = _sliding_windows(op_name, array.shape[2:], kernel, strides, pads,
                                   (1,) * spatial_dims, ceil_mode)
        overhangs = [_overhang(w, length, p) for w, length, p in
                     zip(windows, array.shape[2:], pads)]
        x = tf.pad(_channels_last(array),
                   [[0, 0], *([p, p + h] for p, h in zip(pads, overhangs)), [0, 0]])
        pool = (tf.nn.avg_pool1d, tf.nn.avg_pool2d, tf.nn.avg_pool3d)[spatial_dims - 1]
        average = _checked(_channels_first(_run(op_name, dtype, pool, x, kernel, strides,
                                                 "VALID")), windows)
        volume = math.prod(kernel)
        if divisor_override is not None:
            scale = np.float64(volume) / divisor_override
        else:
            counted = {INPUT, PADDING} if count_include_pad else {INPUT}
            count = _outer_product([
                np.array([sum(kind in counted for kind in w.kinds) for w in axis], np.float64)
                for axis in windows
            ])
            if np.all(count == volume):
                return average
            scale = volume / count
        return (average.astype(np.float64) * scale).astype(average.dtype)

    def _adaptive_avg_pool(self, array, dtype, spatial_dims, op_name, output_size):
        sizes = parameters.adaptive_output_size(op_name, spatial_dims, output_size,
                                                array.shape[2:])
        if is_integer(dtype):
            raise NotImplementedError(f"{op_name}: TensorFlow has no integer average pooling")
        windows = [adaptive_windows(length, size) for length, size in zip(array.shape[2:], sizes)]
        x = tf.cast(_tensor(array), tf.float64)
        zero = tf.constant(0.0, tf.float64)
        for position, (axis, length) in enumerate(zip(windows, array.shape[2:]), start=2):
            # Selecting, not multiplying by a 0/1 matrix: 0 * inf would make NaN.
            x = tf.reduce_sum(tf.where(_mask(axis, length, array.ndim, position),
                                       tf.expand_dims(x, position), zero), axis=position + 1)
        count = _outer_product([np.array([len(w.positions) for w in axis], np.float64)
                                for axis in windows])
        return (x.numpy() / count).astype(array.dtype)

    def _global_avg_pool(self, array, dtype, spatial_dims, op_name):
        axes = list(range(2, 2 + spatial_dims))
        return _numpy(_run(op_name, dtype, tf.reduce_mean, _tensor(array), axis=axes,
                           keepdims=True))

    # --- adaptive max ------------------------------------------------------------------------

    def _adaptive_max_pool(self, array, dtype, spatial_dims, op_name, output_size,
                           return_indices):
        sizes = parameters.adaptive_output_size(op_name, spatial_dims, output_size,
                                                array.shape[2:])
        windows = [adaptive_windows(length, size) for length, size in zip(array.shape[2:], sizes)]
        if return_indices:
            return _argmax_of_windows(op_name, array, dtype, windows)
        x = _tensor(array)
        fill = tf.constant(_lowest(dtype), dtype=x.dtype)
        for position, (axis, length) in enumerate(zip(windows, array.shape[2:]), start=2):
            # Selecting, not adding a 0/-inf mask: +inf + -inf would make NaN.
            x = tf.reduce_max(tf.where(_mask(axis, length, array.ndim, position),
                                       tf.expand_dims(x, position), fill), axis=position + 1)
        return _numpy(x)


# --- geometry ------------------------------------------------------------------------------------


def _sliding_windows(op_name, spatial_shape, kernel, strides, pads, dilations, ceil_mode):
    windows = [sliding_windows(length, k, s, p, d, bool(ceil_mode))
               for length, k, s, p, d in zip(spatial_shape, kernel, strides, pads, dilations)]
    parameters.check_windows_exist(op_name, spatial_shape, [len(w) for w in windows])
    return windows


def _overhang(axis_windows, length, padding) -> int:
    """How far the last window runs past the padded input: the extra end padding of ceil mode."""
    last = axis_windows[-1]
    return max(0, last.positions[-1] + 1 - (length + padding))


def _membership(axis_windows, length) -> np.ndarray:
    """(windows x length) booleans: which input positions each window reads."""
    member = np.zeros((len(axis_windows), length), dtype=bool)
    for i, window in enumerate(axis_windows):
        member[i, [p for p, kind in zip(window.positions, window.kinds) if kind == INPUT]] = True
    return member


def _mask(axis_windows, length, ndim, position) -> np.ndarray:
    """`_membership` shaped to broadcast against an (ndim + 1)-d tensor whose axis `position`
    was expanded for the windows and whose axis `position + 1` is the input axis."""
    return _membership(axis_windows, length).reshape(
        (len(axis_windows), length) + (1,) * (ndim - position - 1)
    )


def _outer_product(per_axis: list[np.ndarray]) -> np.ndarray:
    result = np.ones((), np.float64)
    for values in per_axis:
        result = np.multiply.outer(result, values)
    return result


def _checked(values: np.ndarray, windows) -> np.ndarray:
    expected = tuple(len(axis) for axis in windows)
    if values.shape[2:] != expected:
        raise AssertionError(f"adapter bug: TF gave {values.shape[2:]} windows, spec {expected}")
    return values


# --- indices -------------------------------------------------------------------------------------


def _argmax_unpadded(op_name, array, dtype, kernel, strides, windows):
    """max_pool_with_argmax on the input itself, the ceil overhang appended as -inf."""
    spatial = array.shape[2:]
    overhangs = [_overhang(w, length, 0) for w, length in zip(windows, spatial)]
    x = _channels_last(array)
    if len(spatial) == 1:
        x, kernel, strides = x[:, tf.newaxis], (1, *kernel), (1, *strides)
        spatial, overhangs = (1, *spatial), (0, *overhangs)
    height, width = spatial
    x = tf.pad(x, [[0, 0], [0, overhangs[0]], [0, overhangs[1]], [0, 0]],
               constant_values=_lowest(dtype))
    values, argmax = _run(op_name, dtype, tf.nn.max_pool_with_argmax, x, list(kernel),
                          list(strides), "VALID", include_batch_in_index=False)
    channels = array.shape[1]
    row, column = np.divmod(argmax.numpy() // channels, width + overhangs[1])
    index = np.where((row < height) & (column < width), row * width + column, -1)
    out_shape = (array.shape[0], *(len(w) for w in windows), channels)
    # reshape, not squeeze: drops a 1-d pool's unit height, and fails on a wrong window count
    values = _channels_first_array(_numpy(values).reshape(out_shape))
    return values, _channels_first_array(index.astype(np.int64).reshape(out_shape))


def _argmax_of_windows(op_name, array, dtype, windows):
    """max_pool_with_argmax over each window's input elements, laid out as one 1 x K slot each."""
    spatial = array.shape[2:]
    batch, channels = array.shape[:2]
    out_spatial = tuple(len(axis) for axis in windows)
    out_shape = (batch, channels, *out_spatial)
    if math.prod(out_spatial) == 0:
        # No window to ask TF about (adaptive output size 0).
        return np.empty(out_shape, array.dtype), np.empty(out_shape, np.int64)
    table = _window_table(windows, spatial)  # (windows, K) plane indices, -1 past the end
    n_windows, slot = table.shape
    plane = math.prod(spatial)
    x = tf.reshape(_channels_last(array), (batch, plane, channels))
    filler = tf.fill((batch, 1, channels), tf.constant(_lowest(dtype), dtype=x.dtype))
    x = tf.concat([x, filler], axis=1)
    gathered = tf.gather(x, np.where(table < 0, plane, table).ravel(), axis=1)
    gathered = tf.reshape(gathered, (batch, 1, n_windows * slot, channels))
    values, argmax = _run(op_name, dtype, tf.nn.max_pool_with_argmax, gathered, [1, slot],
                          [1, slot], "VALID", include_batch_in_index=False)
    column = argmax.numpy().reshape(batch, n_windows, channels) // channels
    own = np.arange(n_windows)[np.newaxis, :, np.newaxis]
    if np.any(column // slot != own):
        raise AssertionError("adapter bug: TF chose a cell outside its window's slot")
    index = table[own, column - own * slot]
    values = _numpy(values).reshape(batch, *out_spatial, channels)
    index = index.astype(np.int64).reshape(batch, *out_spatial, channels)
    return _channels_first_array(values), _channels_first_array(index)


def _window_table(windows, spatial) -> np.ndarray:
    """For each output window (row-major), its input elements' plane indices in window order.

    Row-major over the window's axes, keeping only positions that are input on every axis (the
    oracle's `gather_window`), packed to the front of the row; -1 fills the rest.
    """
    per_axis = []
    for axis in windows:
        width = max(len(w.positions) for w in axis)
        table = np.full((len(axis), width), -1, np.int64)
        for i, window in enumerate(axis):
            inputs = [p for p, kind in zip(window.positions, window.kinds) if kind == INPUT]
            table[i, : len(inputs)] = inputs
        per_axis.append(table)
    dims = len(per_axis)
    strides = [math.prod(spatial[a + 1:]) for a in range(dims)]
    flat = np.zeros((), np.int64)
    valid = np.ones((), bool)
    for a, table in enumerate(per_axis):
        # Axis a's window number goes to dimension a, its tap to dimension dims + a.
        shape = [1] * (2 * dims)
        shape[a], shape[dims + a] = table.shape
        table = table.reshape(shape)
        flat = flat + table * strides[a]
        valid = valid & (table >= 0)
    n_windows = math.prod(len(axis) for axis in windows)
    flat = flat.reshape(n_windows, -1)
    valid = valid.reshape(n_windows, -1)
    order = np.argsort(~valid, axis=1, kind="stable")
    flat = np.where(np.take_along_axis(valid, order, axis=1),
                    np.take_along_axis(flat, order, axis=1), -1)
    width = max(int(valid.sum(axis=1).max()), 1)
    return flat[:, :width]


# --- conversions ---------------------------------------------------------------------------------


def _writable_contiguous(array: np.ndarray) -> np.ndarray:
    if array.flags.c_contiguous and array.flags.writeable:
        return array
    return np.array(array, order="C")  # a copy


def _lowest(dtype: str):
    return np.iinfo(dtype).min if is_integer(dtype) else -np.inf


def _tensor(array: np.ndarray) -> tf.Tensor:
    return tf.constant(array)  # bfloat16 arrays (ml_dtypes) convert to tf.bfloat16 directly


def _channels_last(array: np.ndarray) -> tf.Tensor:
    return tf.constant(np.moveaxis(array, 1, -1))


def _channels_first(tensor: tf.Tensor) -> np.ndarray:
    return _channels_first_array(_numpy(tensor))


def _channels_first_array(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(array, -1, 1))


def _numpy(tensor: tf.Tensor) -> np.ndarray:
    result = tensor.numpy()
    if tensor.dtype == tf.bfloat16 and result.dtype != ml_dtypes.bfloat16:
        result = result.view(ml_dtypes.bfloat16)
    return result


def _run(op_name, dtype, function, *args, **kwargs):
    """Call TF; a dtype it has no CPU kernel for is unsupported, not a failure."""
    try:
        return function(*args, **kwargs)
    except tf.errors.NotFoundError as error:  # the op allows the dtype, no CPU kernel has it
        raise NotImplementedError(f"{op_name}: TensorFlow has no CPU kernel for {dtype}") from error
    except tf.errors.InvalidArgumentError as error:
        if "Value for attr 'T'" in str(error):  # the op's definition excludes the dtype
            raise NotImplementedError(f"{op_name}: TensorFlow's op excludes {dtype}") from error
        raise
