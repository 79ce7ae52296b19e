"""Flax as a backend (`conformance.backends.flax_backend:FlaxBackend`): `flax.linen`'s pooling
functions (`max_pool`, `avg_pool`, `pool`, and `flax.linen.pooling.min_pool`), each op under
`jax.jit` on JAX's CPU device.

Flax pools channels-last arrays ((batch, *spatial, features); an input without a batch axis gets
one from Flax itself) over `window_shape` with `strides` (default 1, not the window) and
`padding`, 'SAME', 'VALID' or explicit (lo, hi) pairs per axis; `avg_pool` counts the padding or
not (`count_include_pad`). How each torch parameter maps (N native, P explicit padding,
E emulated, - unsupported):

| torch parameter | how | with |
|---|---|---|
| layout | P | (N, C, *spatial) moved to (N, *spatial, C) and back with `jnp.moveaxis` |
| max / min pool: kernel_size, stride | N | `max_pool` / `min_pool(window_shape, strides)`; stride None is the kernel, as in torch |
| padding | P | explicit pairs `((p, p), ...)`, padded with Flax's init (-inf / +inf / 0) |
| ceil_mode | P | `(p, p + overhang)`, the overhang from torch's documented rule (`torch_signatures.explicit_padding`) |
| avg pool, count_include_pad (without ceil mode, or with count_include_pad=False) | N | `avg_pool(count_include_pad=...)`: Flax's divisor, the pooled ones over the padded window, excludes the overhang exactly as torch does when padding is excluded |
| count_include_pad=True with ceil_mode | E | `jnp.pad` with zeros for torch's padding, then `avg_pool(padding=(0, overhang), count_include_pad=False)`: the declared padding counts, the overhang does not |
| divisor_override | E | the window sum, `pool(x, 0., lax.add, ...)` (how Flax's own avg_pool sums), / divisor |
| adaptive avg / max pool | E | per axis, each window sliced, reduced with `jnp.mean` / `jnp.max` (keepdims), joined with `jnp.concatenate`; windows by torch's start/end formula (`torch_signatures.adaptive_bounds`) |
| global avg pool | N | `jnp.mean` over the spatial axes, keepdims |
| dilation | - | NotImplementedError unless 1: Flax's pooling has none |
| return_indices | - | NotImplementedError: Flax's pooling returns no indices |

Everything else is Flax's and JAX's: dtypes (an integer average comes back as Flax's division
makes it), what they accept or reject (arguments go through as torch received them), their
accumulation. The backward pass (`vjp`) is `jax.vjp` of exactly the forward's (jitted)
computation, transposes included.

JAX runs with `jax_enable_x64` (set at import, process-wide), as the JAX adapter does: without
it JAX silently computes float64 and int64 inputs in float32 and int32.
"""

from __future__ import annotations

import functools

import jax

jax.config.update("jax_enable_x64", True)

import flax  # noqa: E402
import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax.linen.pooling import min_pool  # noqa: E402  (not re-exported by flax.linen)
from jax import lax  # noqa: E402

from conformance.backends.torch_signatures import (  # noqa: E402
    TorchLikeBackend, explicit_padding, is_one, numpy_like_forward, owned, per_axis,
)


def _spatial(x, dims):
    """The spatial shape of a channels-last array, with or without its batch axis."""
    return x.shape[-dims - 1:-1]


def _window(dims, kernel_size, stride):
    kernel = per_axis(kernel_size, dims)
    return kernel, per_axis(kernel if stride is None else stride, dims)


def _extreme_pool(flax_pool):
    def build(dims, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
        if not is_one(dilation):
            raise NotImplementedError("Flax's pooling has no dilation")
        if return_indices:
            raise NotImplementedError("Flax's pooling returns no indices")
        window, strides = _window(dims, kernel_size, stride)

        def pool(x):
            pads = explicit_padding(_spatial(x, dims), kernel_size, stride, padding,
                                    ceil_mode=ceil_mode)
            return flax_pool(x, window, strides, pads)

        return pool

    return build


def _avg_pool(dims, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override=None):
    window, strides = _window(dims, kernel_size, stride)

    def pool(x):
        pads = explicit_padding(_spatial(x, dims), kernel_size, stride, padding,
                                ceil_mode=ceil_mode)
        if divisor_override is not None:
            return nn.pool(x, 0.0, lax.add, window, strides, pads) / divisor_override
        if not (ceil_mode and count_include_pad):
            return nn.avg_pool(x, window, strides, pads, count_include_pad=count_include_pad)
        lead = [(0, 0)] * (x.ndim - dims - 1)
        x = jnp.pad(x, lead + [(lo, lo) for lo, _ in pads] + [(0, 0)])
        overhang = tuple((0, hi - lo) for lo, hi in pads)
        return nn.avg_pool(x, window, strides, overhang, count_include_pad=False)

    return pool


# Each op as a function of the torch-layout array; the framework's own pooling is channels-last.
_forward = functools.partial(
    numpy_like_forward, jnp, "Flax",
    {"max_pool": _extreme_pool(nn.max_pool), "min_pool": _extreme_pool(min_pool),
     "avg_pool": _avg_pool},
    False)


def _on_cpu(array: np.ndarray):
    # Looked up at the call, not at import: JAX's CPU client starts threads, and a process forked
    # after that (the suite's isolation worker) hangs in its first JAX call.
    return jax.device_put(array, jax.devices("cpu")[0])


class FlaxBackend(TorchLikeBackend):
    """flax.linen's pooling functions, jitted, on the CPU."""

    name = "flax"
    families = ("max_pool", "min_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool",
                "global_avg_pool")

    def __init__(self):
        self.version = flax.__version__
        self._compiled: dict = {}

    def run(self, family, dims, input, arguments):
        return owned(self._jitted(family, dims, arguments)(_on_cpu(input)))

    def gradient(self, family, dims, input, grad_output, arguments):
        """jax.vjp of the forward's values."""
        _, pullback = jax.vjp(self._jitted(family, dims, arguments), _on_cpu(input))
        (gradient,) = pullback(_on_cpu(grad_output))
        return owned(gradient)

    def _jitted(self, family: str, dims: int, arguments: dict):
        """The forward under `jax.jit`, as Flax models run: one compile per input shape and
        dtype instead of one per primitive (the adaptive emulation has dozens)."""
        # repr, not the values: 2 == 2.0 == True, but the frameworks treat them differently.
        key = (family, dims, repr(sorted(arguments.items())))
        if key not in self._compiled:
            self._compiled[key] = jax.jit(_forward(family, dims, arguments))
        return self._compiled[key]
