"""MLX as a backend (`conformance.backends.mlx_backend:MlxBackend`): `mlx.nn`'s pooling layers on
MLX's CPU device (the `mlx[cpu]` build on Linux).

`mlx.nn.MaxPool{1,2,3}d` and `AvgPool{1,2,3}d` take `(kernel_size, stride, padding)` and pool
batched channels-last arrays (N, *spatial, C); padding is symmetric, filled with -inf for max and
0 for average, and always counted by the average. How each torch parameter maps (N native, P
explicit padding, E emulated, - unsupported):

| torch parameter | how | with |
|---|---|---|
| layout | P | (N, C, *spatial) moved to (N, *spatial, C) and back with `mx.moveaxis`; an unbatched (C, *spatial) input gets a batch axis of 1 (`mx.expand_dims`), as MLX pools batched inputs only |
| max / avg pool: kernel_size, stride, padding | N | `nn.MaxPoolNd` / `nn.AvgPoolNd` |
| ceil_mode (max) | P | the end of each axis padded with ceil mode's overhang (torch's documented rule, `torch_signatures.explicit_padding`) by `mx.pad` with -inf, MLX's own padding value, then the layer with torch's padding |
| count_include_pad=False, ceil_mode (avg) | E | `AvgPoolNd` of the input zero-padded to (p, p + overhang), divided by `AvgPoolNd` of a 0/1 mask padded alike (1 on the input, and on the declared padding with count_include_pad; 0 on the overhang): (sum / K) / (count / K) |
| divisor_override | E | `AvgPoolNd` of the zero-padded input (sum / K) x (K / divisor), the factor a Python number (a zero divisor raises ZeroDivisionError) |
| adaptive avg / max pool | E | per axis, each window sliced, reduced with `mx.mean` / `mx.max` (keepdims), joined with `mx.concatenate`; windows by torch's start/end formula (`torch_signatures.adaptive_bounds`) |
| global avg pool | N | `mx.mean` over the spatial axes, keepdims |
| dilation | - | NotImplementedError unless 1: MLX's pooling has none |
| return_indices | - | NotImplementedError: MLX's pooling returns no indices |
| min pool | - | absent: MLX has no min pooling (as in the torch adapter) |

Everything else is MLX's: dtypes (an integer average comes back as `mx.mean` makes it), what it
accepts or rejects (arguments go through as torch received them), its accumulation (the
emulations divide in the input's dtype, as MLX's own layers do). Inputs keep their dtype (`mx.array(x, dtype=...)`:
without it MLX makes float64 float32); bfloat16 enters MLX through float32 (exact) and leaves it
the same way, as NumPy's buffer protocol has no bfloat16.
The backward pass (`vjp`) is `mlx.core.vjp` of exactly the forward's computation, transposes
included.
"""

from __future__ import annotations

import functools
import math

import ml_dtypes
import mlx.core as mx
import mlx.nn as nn
import numpy as np

from conformance.backends.torch_signatures import (
    TorchLikeBackend, explicit_padding, is_one, numpy_like_forward, owned, per_axis,
)


def _layer(kind: str, dims: int, kernel_size, stride, padding=0):
    return getattr(nn, f"{kind}{dims}d")(kernel_size, stride, padding)


def _pad_spatial(x, pads, value):
    """`x` (N, *spatial, C) padded by `pads`, one (lo, hi) per spatial axis, with `value`."""
    return mx.pad(x, [(0, 0), *pads, (0, 0)], constant_values=value)


def _max_pool(dims, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    if not is_one(dilation):
        raise NotImplementedError("MLX's max pooling has no dilation")
    if return_indices:
        raise NotImplementedError("MLX's max pooling returns no indices")
    layer = _layer("MaxPool", dims, kernel_size, stride, padding)

    def pool(x):
        if ceil_mode:
            pads = explicit_padding(x.shape[1:-1], kernel_size, stride, padding, ceil_mode=True)
            x = _pad_spatial(x, [(0, hi - lo) for lo, hi in pads], -float("inf"))
        return layer(x)

    return pool


def _avg_pool(dims, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override=None):
    pads_nothing = all(p == 0 for p in per_axis(padding, dims))
    if divisor_override is None and not ceil_mode and (count_include_pad or pads_nothing):
        return _layer("AvgPool", dims, kernel_size, stride, padding)
    layer = _layer("AvgPool", dims, kernel_size, stride)

    def pool(x):
        pads = explicit_padding(x.shape[1:-1], kernel_size, stride, padding, ceil_mode=ceil_mode)
        mean = layer(_pad_spatial(x, pads, 0))
        if divisor_override is not None:
            # K / divisor as a Python number: a zero divisor raises ZeroDivisionError.
            return mean * (math.prod(per_axis(kernel_size, dims)) / divisor_override)
        mask = mx.ones((1, *x.shape[1:-1], 1), dtype=x.dtype)
        mask = _pad_spatial(mask, [(lo, lo) for lo, _ in pads], 1 if count_include_pad else 0)
        mask = _pad_spatial(mask, [(0, hi - lo) for lo, hi in pads], 0)
        return mean / layer(mask)

    return pool


# Each op as a function of the torch-layout array; the framework's own pooling is channels-last.
_forward = functools.partial(
    numpy_like_forward, mx, "MLX",
    {"max_pool": _max_pool, "avg_pool": _avg_pool},
    True)


def _to_mlx(array: np.ndarray):
    if array.dtype == ml_dtypes.bfloat16:
        return mx.array(array.astype(np.float32)).astype(mx.bfloat16)
    # The dtype by name: `mx.array` of a float64 array would otherwise make float32.
    return mx.array(array, dtype=getattr(mx, array.dtype.name))


def _to_numpy(array) -> np.ndarray:
    if array.dtype == mx.bfloat16:
        return owned(np.array(array.astype(mx.float32)).astype(ml_dtypes.bfloat16))
    return owned(array)


class MlxBackend(TorchLikeBackend):
    """mlx.nn's pooling layers on the CPU."""

    name = "mlx"
    families = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                "global_avg_pool")

    def __init__(self):
        mx.set_default_device(mx.cpu)
        self.version = mx.__version__

    def run(self, family, dims, input, arguments):
        return _to_numpy(_forward(family, dims, arguments)(_to_mlx(input)))

    def gradient(self, family, dims, input, grad_output, arguments):
        """mlx.core.vjp of the forward's values."""
        forward = _forward(family, dims, arguments)
        _, (gradient,) = mx.vjp(forward, [_to_mlx(input)], [_to_mlx(grad_output)])
        return _to_numpy(gradient)
