"""tinygrad as a backend (`conformance.backends.tinygrad_backend:TinygradBackend`): `Tensor`'s
pooling methods on tinygrad's CPU device, on torch's (N, C, *spatial) layout.

`Tensor.max_pool2d` and `Tensor.avg_pool2d` pool as many trailing axes as `kernel_size` has
entries ("unlike PyTorch, this implementation is not limited to only 2d pooling"), so 1-d and 3-d
pooling call them with a 1- or 3-entry kernel. How each torch parameter maps (N native, P
explicit padding, E emulated, - unsupported):

| torch parameter | how | with |
|---|---|---|
| max pool: kernel_size, stride, padding, dilation, ceil_mode | N | `Tensor.max_pool2d` |
| return_indices (max pool) | N | `max_pool2d(return_indices=True)`; its int32 indices (flat per plane, unpadded) as int64 |
| avg pool: kernel_size, stride, padding, ceil_mode, count_include_pad | N | `Tensor.avg_pool2d` |
| divisor_override | E | `avg_pool2d` over explicit padding `(p, p + overhang)` with count_include_pad (the mean over the whole kernel, sum / K), x (K / divisor), a Python number (a zero divisor raises ZeroDivisionError); the overhang from torch's documented ceil-mode rule (`torch_signatures.explicit_padding`) |
| adaptive avg / max pool | E | per axis, each window sliced, reduced with `Tensor.mean` / `Tensor.max` (keepdim), joined with `Tensor.cat`; windows by torch's start/end formula (`torch_signatures.adaptive_bounds`) |
| return_indices (adaptive max) | - | NotImplementedError: tinygrad has no adaptive pooling, nor indices for the emulation |
| global avg pool | N | `Tensor.mean` over the trailing spatial axes, keepdim |
| min pool | - | absent: tinygrad has no min pooling (as in the torch adapter) |

Everything else is tinygrad's: its dtypes (integer averages come back as tinygrad's mean makes
them), its validation (arguments go through as torch received them, so what tinygrad accepts or
rejects is the result), its accumulation. The backward pass (`vjp`) is tinygrad's own autograd
(`Tensor.gradient` of the output with respect to the input, given the
upstream gradient) through exactly the forward's computation.

tinygrad's CPU device compiles every kernel with the `clang` binary (`CC` overrides it); without
one tinygrad raises "no usable devices", and loading this backend raises BackendError saying it
is unavailable and why. Clang before 15 has no `__bf16` on x86-64, so there tinygrad cannot build
bfloat16 kernels ("error: __bf16 is not supported on this target"): NotImplementedError, reported
as a dtype the backend cannot run. Each new shape compiles new kernels (about half a second each on this
project's CI machine), so the backend runs the `compile` profile. The device is opened in the
process that first calls an op: the suite's isolation worker is forked from a process that has
not started tinygrad's CPU worker threads.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import shutil
import subprocess

import ml_dtypes
import numpy as np
from tinygrad import Tensor, dtypes

from conformance.backends.errors import BackendError
from conformance.backends.torch_signatures import (
    TorchLikeBackend,
    adaptive_sizes,
    explicit_padding,
    owned,
    per_axis,
    pool_adaptively,
)

DEVICE = "CPU"


def _max_pool(x, dims, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    return x.max_pool2d(per_axis(kernel_size, dims), stride=stride, dilation=dilation,
                        padding=padding, ceil_mode=ceil_mode, return_indices=return_indices)


def _avg_pool(x, dims, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override=None):
    kernel = per_axis(kernel_size, dims)
    if divisor_override is None:
        return x.avg_pool2d(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                            count_include_pad=count_include_pad)
    # tinygrad's explicit padding is flat, (lo, hi) per axis, last axis first (`flat_to_grouped`).
    pads = explicit_padding(x.shape[-dims:], kernel, stride, padding, ceil_mode=ceil_mode)
    flat = [side for pair in reversed(pads) for side in pair]
    mean = x.avg_pool2d(kernel, stride=stride, padding=flat, count_include_pad=True)
    # K / divisor as a Python number: a zero divisor raises ZeroDivisionError.
    return mean * (math.prod(kernel) / divisor_override)


def _spatial_axes(x, dims):
    return range(x.ndim - dims, x.ndim)


def _adaptive(reduce):
    def pool(x, dims, output_size, return_indices=False):
        if return_indices:
            raise NotImplementedError("tinygrad has no adaptive max pooling, so no indices for it")
        axes = _spatial_axes(x, dims)
        sizes = adaptive_sizes(output_size, tuple(x.shape[axis] for axis in axes))
        return pool_adaptively(x, axes, sizes, reduce,
                               lambda parts, axis: parts[0].cat(*parts[1:], dim=axis))
    return pool


def _global_avg_pool(x, dims):
    return x.mean(axis=tuple(range(-dims, 0)), keepdim=True)


_POOLS = {
    "max_pool": _max_pool,
    "avg_pool": _avg_pool,
    "adaptive_avg_pool": _adaptive(lambda part, axis: part.mean(axis, keepdim=True)),
    "adaptive_max_pool": _adaptive(lambda part, axis: part.max(axis, keepdim=True)),
    "global_avg_pool": _global_avg_pool,
}


def _tensor(array: np.ndarray):
    """The array on tinygrad's CPU device; bfloat16 through float32 (exact), as tinygrad's
    buffers cannot take NumPy's bfloat16 ("cannot include dtype 'E' in a buffer")."""
    if array.dtype == ml_dtypes.bfloat16:
        return Tensor(array.astype(np.float32), device=DEVICE).cast(dtypes.bfloat16)
    return Tensor(array, device=DEVICE)


def _numpy(tensor, input_dtype: np.dtype) -> np.ndarray:
    """The realised tensor, bfloat16 through float32 as in `_tensor`. Where the compiler cannot build a bfloat16 kernel (clang before 15
    has no `__bf16` on x86-64: "error: __bf16 is not supported on this target"), tinygrad cannot
    run that dtype here, which NotImplementedError says."""
    try:
        if tensor.dtype == dtypes.bfloat16:
            return owned(tensor.cast(dtypes.float32).numpy().astype(ml_dtypes.bfloat16))
        return owned(tensor.numpy())
    except subprocess.CalledProcessError as error:
        if input_dtype != ml_dtypes.bfloat16:
            raise
        raise NotImplementedError(
            f"tinygrad's CPU device could not compile a bfloat16 kernel: {error.cmd[0]} exited "
            f"{error.returncode} (clang before 15 has no __bf16 on x86-64)") from error


def _require_a_compiler() -> None:
    compiler = os.environ.get("CC", "clang")
    if shutil.which(compiler) is None:
        raise BackendError(
            f"backend 'tinygrad' is unavailable: needs clang (tinygrad's CPU device compiles "
            f"every kernel with `{compiler}`, which is not on PATH, and says 'no usable "
            f"devices'); install it (Debian/Ubuntu: apt-get install clang) or set CC to a "
            f"clang binary"
        )


class TinygradBackend(TorchLikeBackend):
    """tinygrad's pooling on its CPU device."""

    name = "tinygrad"
    families = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                "global_avg_pool")

    def __init__(self):
        _require_a_compiler()
        self.version = importlib.metadata.version("tinygrad")

    def run(self, family, dims, input, arguments):
        result = _POOLS[family](_tensor(input), dims, **arguments)
        if isinstance(result, tuple):
            values, indices = result
            return _numpy(values, input.dtype), _numpy(indices, input.dtype).astype(np.int64)
        return _numpy(result, input.dtype)

    def gradient(self, family, dims, input, grad_output, arguments):
        """tinygrad's autograd: the gradient of the forward's values given `grad_output`."""
        x = _tensor(input)
        output = _POOLS[family](x, dims, **arguments)
        (gradient,) = output.gradient(x, gradient=_tensor(grad_output))
        return _numpy(gradient, input.dtype)
