"""The TF dialect: tf.nn.max_pool, tf.nn.avg_pool and tf.nn.pool (N-d by the input's rank).

Rules from the API docs (https://www.tensorflow.org/api_docs/python/tf/nn/max_pool, .../avg_pool,
.../pool, and the notes on padding, https://www.tensorflow.org/api_docs/python/tf/nn#notes_on_padding_2):

- input is rank N + 2 with N in 1..3; `data_format` "NWC"/"NHWC"/"NDHWC" (the default, channels
  last) or "NCW"/"NCHW"/"NCDHW" (channels first).
- `ksize` and `strides` (max_pool, avg_pool): "An int or list of ints that has length 1, N or
  N+2"; with N + 2 entries, those of the batch and channel axes are 1 (pooling over them is not
  pooling over space; TF's kernels reject it). There is no default stride.
- `padding`: "SAME" or "VALID". SAME pads so that there are ceil(L / stride) windows, the extra
  element at the end (reference.dialects.padding); VALID takes full windows only. max_pool also
  takes explicit padding, a list of N + 2 [before, after] pairs with zeros on batch and channel.
- Max pooling pads with -inf; "avg_pool excludes padding" (the notes on padding, worked example):
  the average divides by the real elements only.
- tf.nn.pool(input, window_shape, pooling_type, strides=None, padding="VALID", data_format=None,
  dilations=None): `window_shape`, `strides` and `dilations` have N entries, strides and
  dilations default to 1, "If any value of dilation_rate is > 1, then all values of strides
  must be 1"; pooling_type is "AVG" or "MAX"; SAME uses the dilated window.
"""

from __future__ import annotations

import numbers

from reference.dialects.padding import same_padding
from reference.dialects.plan import AxisGeometry, Plan
from reference.windows import full_windows

CHANNELS_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
CHANNELS_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def _spatial_dims(op, input_shape):
    dims = len(input_shape) - 2
    if dims not in CHANNELS_LAST:
        raise ValueError(f"{op}: input must be rank 3, 4 or 5, got shape {list(input_shape)}")
    return dims


def channels_last(op, data_format, dims) -> bool:
    if data_format is None or data_format == CHANNELS_LAST[dims]:
        return True
    if data_format == CHANNELS_FIRST[dims]:
        return False
    raise ValueError(f"{op}: data_format must be {CHANNELS_LAST[dims]} or "
                     f"{CHANNELS_FIRST[dims]} for rank {dims + 2} input, got {data_format!r}")


def _int_list(op, name, value):
    entries = list(value) if isinstance(value, (tuple, list)) else [value]
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in entries):
        raise TypeError(f"{op}: {name} must be an int or a list of ints, got {value!r}")
    return [int(v) for v in entries]


def per_axis(op, name, value, dims, last, allow_full=True):
    """An int or a list of 1, N (or, for ksize and strides, N + 2) ints, as N spatial entries."""
    entries = _int_list(op, name, value)
    if len(entries) == 1:
        entries = entries * dims
    elif allow_full and len(entries) == dims + 2:
        outer = (entries[0], entries[-1]) if last else (entries[0], entries[1])
        if outer != (1, 1):
            raise ValueError(f"{op}: {name} must be 1 on the batch and channel axes, got {entries}")
        entries = entries[1:-1] if last else entries[2:]
    if len(entries) != dims:
        raise ValueError(f"{op}: {name} must have 1, {dims}{' or ' + str(dims + 2) if allow_full else ''} "
                         f"entries, got {entries}")
    if any(v < 1 for v in entries):
        raise ValueError(f"{op}: {name} must be positive, got {entries}")
    return entries


def axis_windows(op, lengths, kernel, strides, padding, dilations):
    """Each axis's windows under SAME or VALID (or explicit [before, after] pairs), and its
    geometry: (windows, geometry)."""
    windows, geometry = [], []
    for axis, (length, k, s, d) in enumerate(zip(lengths, kernel, strides, dilations)):
        if padding == "SAME":
            pads = same_padding(length, k, s, d)
        elif padding == "VALID":
            pads = (0, 0)
        else:
            pads = tuple(padding[axis])
        found = full_windows(length, k, s, pads, d)
        if not found:
            raise ValueError(f"{op}: the window (size {k}, dilation {d}) is larger than axis "
                             f"{axis} (length {length}) with padding {padding}")
        windows.append(tuple(found))
        geometry.append(AxisGeometry(length, k, s, *pads, d))
    return tuple(windows), tuple(geometry)


def _explicit_padding(op, padding, dims, last, allow_explicit):
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', got {padding!r}")
        return padding
    if not allow_explicit:
        raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', got {padding!r}")
    pairs = [tuple(_int_list(op, "padding", pair)) for pair in padding]
    if len(pairs) != dims + 2 or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"{op}: explicit padding needs {dims + 2} [before, after] pairs")
    outer = (pairs[0], pairs[-1]) if last else (pairs[0], pairs[1])
    if outer != ((0, 0), (0, 0)) or any(v < 0 for pair in pairs for v in pair):
        raise ValueError(f"{op}: explicit padding must be >= 0 and 0 on batch and channels")
    return pairs[1:-1] if last else pairs[2:]


def _sliding(op, reduction, input_shape, ksize, strides, padding, data_format, allow_explicit):
    dims = _spatial_dims(op, input_shape)
    last = channels_last(op, data_format, dims)
    kernel = per_axis(op, "ksize", ksize, dims, last)
    strides = per_axis(op, "strides", strides, dims, last)
    padding = _explicit_padding(op, padding, dims, last, allow_explicit)
    lengths = input_shape[1:-1] if last else input_shape[2:]
    windows, geometry = axis_windows(op, lengths, kernel, strides, padding, [1] * dims)
    return Plan(family=op, reduction=reduction, windows=windows, channels_last=last,
                count_include_pad=False, geometry=geometry)


def max_pool(input_shape, ksize, strides, padding, data_format=None):
    return _sliding("max_pool", "max", input_shape, ksize, strides, padding, data_format, True)


def avg_pool(input_shape, ksize, strides, padding, data_format=None):
    return _sliding("avg_pool", "average", input_shape, ksize, strides, padding, data_format,
                    False)


def pool(input_shape, window_shape, pooling_type, strides=None, padding="VALID",
         data_format=None, dilations=None):
    op = "pool"
    dims = _spatial_dims(op, input_shape)
    last = channels_last(op, data_format, dims)
    if pooling_type not in ("AVG", "MAX"):
        raise ValueError(f"pool: pooling_type must be 'AVG' or 'MAX', got {pooling_type!r}")
    kernel = per_axis(op, "window_shape", window_shape, dims, last, allow_full=False)
    strides = [1] * dims if strides is None else per_axis(op, "strides", strides, dims, last,
                                                          allow_full=False)
    dilations = [1] * dims if dilations is None else per_axis(op, "dilations", dilations, dims,
                                                              last, allow_full=False)
    if any(d > 1 for d in dilations) and any(s > 1 for s in strides):
        raise ValueError("pool: if any value of dilation_rate is > 1, all strides must be 1")
    padding = _explicit_padding(op, padding, dims, last, False)
    lengths = input_shape[1:-1] if last else input_shape[2:]
    windows, geometry = axis_windows(op, lengths, kernel, strides, padding, dilations)
    family = "max_pool" if pooling_type == "MAX" else "avg_pool"
    return Plan(family=family, reduction="max" if pooling_type == "MAX" else "average",
                windows=windows, channels_last=last, count_include_pad=False,
                geometry=geometry)


OPS = {"max_pool": max_pool, "avg_pool": avg_pool, "pool": pool}
SPATIAL_DIMS = {name: None for name in OPS}


def family_of(op: str, params: dict) -> str:
    """max_pool or avg_pool; tf.nn.pool's is its pooling_type's."""
    if op == "pool":
        return "max_pool" if params.get("pooling_type") == "MAX" else "avg_pool"
    return op
