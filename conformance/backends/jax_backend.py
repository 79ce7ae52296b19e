"""JAX as a backend (`conformance.backends.jax_backend:JaxBackend`): pooling as JAX users write
it, with `jax.lax.reduce_window` the way Flax's pooling (`flax.linen.pooling.pool`) uses it, one
`jax.jit` per op, static parameters, input shape and dtype.

JAX has no pooling functions of its own; Flax's `pool` is `lax.reduce_window(x, init, op, window,
strides, padding)` with `init` the reduction's identity, and `avg_pool` is that window sum divided
by the pooled count of ones. This adapter writes the same calls on torch's (N, C, *spatial)
layout (a window of 1 over the leading axes), adds `window_dilation`, and passes every value as
torch received it: JAX alone accepts or rejects it. How each torch parameter maps (N native,
E emulated with the arithmetic named, - unsupported):

| torch parameter | how | with |
|---|---|---|
| max / min pool | N | `reduce_window(x, identity, lax.max / lax.min)`: identity -inf / +inf (the integer min / max) |
| kernel_size, stride, dilation | N | `window_dimensions`, `window_strides` (None: the kernel, as in torch), `window_dilation` |
| padding | N | `padding=((p, p), ...)`, read as the identity by reduce_window |
| ceil_mode | E | `(p, p + extra)`: the extra end padding from torch's documented output size (`torch_signatures.ceil_mode_end_padding`) |
| avg pool | N | `reduce_window(x, 0, lax.add)` in the input's dtype (as Flax sums), / divisor |
| count_include_pad | E | the divisor as Flax computes it: the same `reduce_window(add)` over ones (in the input's dtype), padded with ones (True) or zeros (False) for the declared padding and zeros for ceil mode's extra |
| divisor_override | E | the window sum / the given divisor |
| integer averages | E | `lax.div` (truncates toward zero, as C and torch do) of the window sum, which reduce_window adds in the input's dtype (and so wraps) |
| adaptive avg / max pool | E | per axis, each window sliced, reduced with `jnp.mean` / `jnp.max` (keepdims) and joined with `jnp.concatenate` (`torch_signatures.pool_adaptively`); integer averages: `jnp.sum` per axis, then one `lax.div` by the window's size |
| global avg pool | N (floats), E (integers) | `jnp.mean` over the spatial axes; integers `jnp.sum` then `lax.div` by the count |
| return_indices (max / min) | E | one variadic `reduce_window` over (value, flat index) pairs; its comparator: NaN beats every number (as lax.max propagates it), else the larger (smaller) value, ties to the smaller index; padding has an index no element has, returned as -1 |
| return_indices (adaptive max) | - | NotImplementedError: no JAX reduction gives a position |

What JAX does to half-precision sums (XLA may compute a float16 reduce_window in float32) is
JAX's; the adapter adds no widening of its own. `jnp.mean` computes half floats in float32
itself: that is JAX's user-facing behaviour, not the adapter's.

The backward pass (`vjp`) is JAX's own autodiff: `jax.vjp` of exactly the function the forward
runs (values only), jitted the same way. Where JAX refuses ("VJP not implemented for
select_and_gather (MaxPool) with window dilation") the case raises NotImplementedError and is
unsupported; an integer input raises TypeError, as `jax.grad` refuses integer inputs.
"""

from __future__ import annotations

import math

import jax
import numpy as np

# Without x64, JAX silently turns float64 and int64 inputs into float32 and int32 (and could
# not return int64 indices): that would approximate two dtypes instead of testing them. The
# setting is process-wide, so other JAX code in the same process sees it too.
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

from conformance.backends.torch_signatures import (  # noqa: E402
    FAMILIES, adaptive_sizes, adaptive_window_counts, bind, ceil_mode_end_padding, owned, per_axis, pool_adaptively, split_op_name,
)

_INDEX_DTYPE = np.dtype(np.int64)
# The index padding enters the variadic reduction with; it loses every tie (the smaller index
# wins), so an input element equal to the identity is still the one chosen.
_NO_ELEMENT = np.iinfo(np.int64).max
_CACHE_SIZE = 512


def _is_integer(dtype) -> bool:
    return np.issubdtype(dtype, np.integer)


def _identity(dtype: np.dtype, take_max: bool):
    """lax.max's (lax.min's) identity: what Flax's max_pool inits reduce_window with."""
    if _is_integer(dtype):
        info = np.iinfo(dtype)
        return np.array(info.min if take_max else info.max, dtype)
    return np.array(-np.inf if take_max else np.inf, dtype)


def _geometry(shape, dims, kernel_size, stride, padding, dilation, ceil_mode):
    """reduce_window's window, strides, padding and dilation over every axis of `shape`: the
    leading (batch, channel) axes get a window of 1. Values go through as given."""
    lead = len(shape) - dims
    kernel = per_axis(kernel_size, dims)
    strides = kernel if stride is None or stride in ((), []) else per_axis(stride, dims)
    pads = per_axis(padding, dims)
    dilations = per_axis(dilation, dims)
    if ceil_mode:
        pads = tuple((p, p + ceil_mode_end_padding(length, k, s, p, d)) for length, k, s, p, d
                     in zip(shape[lead:], kernel, strides, pads, dilations, strict=True))
    else:
        pads = tuple((p, p) for p in pads)
    return ((1,) * lead + kernel, (1,) * lead + strides, ((0, 0),) * lead + pads,
            (1,) * lead + dilations)


def _pick_first_best(take_max: bool, is_float: bool):
    """The comparator of the (value, index) reduction; a total order, so the result does not
    depend on the order XLA combines elements in."""

    def pick(a, b):
        (a_value, a_index), (b_value, b_index) = a, b
        first = a_index < b_index
        better = (a_value > b_value) if take_max else (a_value < b_value)
        take_a = better | ((a_value == b_value) & first)
        if is_float:
            a_nan, b_nan = a_value != a_value, b_value != b_value
            take_a = jnp.where(a_nan | b_nan, a_nan & (~b_nan | first), take_a)
        return jnp.where(take_a, a_value, b_value), jnp.where(take_a, a_index, b_index)

    return pick


def _plane_indices(shape, dims):
    """Each element's flat index within its (n, c) plane, broadcast to the input's shape."""
    spatial = shape[-dims:]
    flat = lax.broadcasted_iota(_INDEX_DTYPE, spatial, 0)
    for axis in range(1, dims):
        flat = flat * spatial[axis] + lax.broadcasted_iota(_INDEX_DTYPE, spatial, axis)
    return jnp.broadcast_to(flat, shape)


def _extreme_pool(take_max):
    def build(shape, dtype, dims, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
        window, strides, pads, dilations = _geometry(shape, dims, kernel_size, stride, padding,
                                                     dilation, ceil_mode)
        init = _identity(dtype, take_max)
        if not return_indices:
            return lambda x: lax.reduce_window(x, init, lax.max if take_max else lax.min,
                                               window, strides, pads, window_dilation=dilations)
        pick = _pick_first_best(take_max, not _is_integer(dtype))

        def with_indices(x):
            values, index = lax.reduce_window(
                (x, _plane_indices(shape, dims)), (init, np.array(_NO_ELEMENT, _INDEX_DTYPE)),
                pick, window, strides, pads, window_dilation=dilations)
            return values, jnp.where(index == _NO_ELEMENT, -1, index)

        return with_indices

    return build


def _divide(total, divisor, dtype):
    """Window sums / divisor in the input's dtype; integers truncate toward zero (`lax.div`)."""
    divisor = jnp.broadcast_to(jnp.asarray(divisor, total.dtype), total.shape)
    return (lax.div(total, divisor) if _is_integer(dtype) else total / divisor).astype(dtype)


def _avg_pool(shape, dtype, dims, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override=None):
    window, strides, pads, _ = _geometry(shape, dims, kernel_size, stride, padding, 1,
                                         ceil_mode)
    zero = np.array(0, dtype)

    def pool(x):
        total = lax.reduce_window(x, zero, lax.add, window, strides, pads)
        if divisor_override is not None:
            return _divide(total, divisor_override, dtype)
        ones = jnp.ones(shape, dtype)
        if count_include_pad:
            # The declared padding counts, ceil mode's extra does not (torch's divisor).
            declared = [(lo, lo) for lo, _ in pads]
            ones = jnp.pad(ones, declared, constant_values=1)
            counted = [(0, hi - lo) for lo, hi in pads]
        else:
            counted = pads
        return _divide(total, lax.reduce_window(ones, zero, lax.add, window, strides, counted),
                       dtype)

    return pool


def _integer_mean(x, axes):
    """jnp.sum (which sums small integers in the default int, int64) divided by the count."""
    count = math.prod(x.shape[a] for a in axes)
    return _divide(jnp.sum(x, axis=axes, keepdims=True), count, x.dtype)


def _adaptive_pool(take_max):
    def build(shape, dtype, dims, output_size, return_indices=False):
        if return_indices:
            raise NotImplementedError("JAX has no reduction that gives an adaptive window's "
                                      "position")
        integer_average = not take_max and _is_integer(dtype)
        # Floats: the mean of each window, one axis at a time; integers: the window sums, one
        # axis at a time, divided once by the window's size (a mean of truncated means would
        # truncate twice).
        reduce = jnp.max if take_max else jnp.sum if integer_average else jnp.mean

        def pool(x):
            if x.ndim < dims:
                raise ValueError(f"the adaptive emulation slices {dims} trailing axes; the input "
                                 f"has {x.ndim}")
            axes = range(x.ndim - dims, x.ndim)
            sizes = adaptive_sizes(output_size, tuple(x.shape[a] for a in axes))
            y = pool_adaptively(x, axes, sizes,
                                lambda part, axis: reduce(part, axis=axis, keepdims=True),
                                lambda parts, axis: jnp.concatenate(parts, axis=axis))
            if not integer_average:
                return y
            counts = adaptive_window_counts(x.shape, axes, sizes)
            return _divide(y, counts, dtype)

        return pool

    return build


def _global_avg_pool(shape, dtype, dims):
    axes = tuple(range(len(shape) - dims, len(shape)))
    if _is_integer(dtype):
        return lambda x: _integer_mean(x, axes)
    return lambda x: jnp.mean(x, axis=axes, keepdims=True)


_BUILDERS = {
    "max_pool": _extreme_pool(True),
    "min_pool": _extreme_pool(False),
    "avg_pool": _avg_pool,
    "adaptive_avg_pool": _adaptive_pool(False),
    "adaptive_max_pool": _adaptive_pool(True),
    "global_avg_pool": _global_avg_pool,
}


def _forward(family, dims, shape, dtype, arguments):
    return _BUILDERS[family](shape, dtype, dims, **arguments)


def _backward(family, dims, shape, dtype, arguments):
    """jax.vjp of that same forward: only the transposes JAX defines for its primitives, no rule
    of the adapter's own."""
    forward = _forward(family, dims, shape, dtype, arguments)

    def pull_back(x, grad_output):
        _, pullback = jax.vjp(forward, x)
        (gradient,) = pullback(grad_output)
        return gradient

    return pull_back


def _on_cpu(array):
    # Looked up at the call, not at import: JAX's CPU client starts threads, and a process forked
    # after that (the suite's isolation worker) hangs in its first JAX call.
    return jax.device_put(np.asarray(array), jax.devices("cpu")[0])


def _owned(result):
    return tuple(owned(part) for part in result) if isinstance(result, tuple) else owned(result)


class JaxBackend:
    name = "jax"
    version = jax.__version__

    def __init__(self):
        self._compiled: dict = {}

    def __getattr__(self, op_name: str):
        if op_name.startswith("_"):
            raise AttributeError(op_name)
        family, dims = split_op_name(op_name, FAMILIES)

        def op(input, *args, **kwargs):
            arguments = bind(family, dims, input, args, kwargs)
            x = np.asarray(input)
            return _owned(self._jitted(_forward, family, dims, x, arguments)(_on_cpu(x)))

        op.__name__ = op_name
        setattr(self, op_name, op)  # later lookups skip __getattr__
        return op

    def vjp(self, op_name: str, input, grad_output, *args, **kwargs):
        """The gradient of `sum(op(input) * grad_output)` with respect to `input`: `jax.vjp` of
        the forward the op itself runs, values only (`return_indices` is ignored)."""
        family, dims = split_op_name(op_name, FAMILIES)
        arguments = bind(family, dims, input, args, kwargs)
        if "return_indices" in arguments:
            arguments["return_indices"] = False
        x = np.asarray(input)
        if _is_integer(x.dtype):
            # jax.grad refuses integer inputs ("grad requires real- or complex-valued inputs").
            raise TypeError(f"{op_name}: an integer input ({x.dtype}) has no gradient")
        try:
            gradient = self._jitted(_backward, family, dims, x, arguments)(
                _on_cpu(x), _on_cpu(grad_output))
        except NotImplementedError as error:
            raise NotImplementedError(f"JAX cannot differentiate {op_name} here: {error}") from error
        return owned(gradient)

    def _jitted(self, builder, family, dims, x, arguments):
        """`builder`'s function under `jax.jit`, one compile per op, shape, dtype and parameters."""
        # repr, not the values: 2 == 2.0 == True, but JAX treats them differently.
        key = (builder.__name__, family, dims, x.shape, x.dtype, repr(sorted(arguments.items())))
        if key not in self._compiled:
            if len(self._compiled) >= _CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[key] = jax.jit(builder(family, dims, x.shape, x.dtype, arguments))
        return self._compiled[key]
