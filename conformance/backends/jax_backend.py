"""JAX as a backend (`conformance.backends.jax_backend:JaxBackend`): `jax.lax.reduce_window` and
`jax.numpy`, run through one `jax.jit` per op, static parameters, input shape and dtype.

JAX has no pooling API of its own (Flax's lacks dilation, ceil mode, indices and adaptive
pooling), so every op is built here from `lax` primitives. How each torch parameter maps:

| torch parameter | how | with |
|---|---|---|
| max/min pool, kernel_size, stride | N | `reduce_window(lax.max / lax.min)`, init -inf/+inf (integer min/max) |
| padding (max/min) | P | explicit `(lo, hi)` padding, filled with the init value |
| dilation | N | `window_dilation` |
| ceil_mode | P | extra `hi` padding, sized from the oracle's window rule (`reference.windows`) |
| avg pool | E | `reduce_window(lax.add)` over the zero-padded input / per-window count |
| count_include_pad | E | the count is the window sum of a 0/1 mask (input, or input + padding; 0 on the ceil overhang), computed per axis at trace time since it is data-independent |
| divisor_override | E | window sum / the given divisor |
| adaptive avg pool | E | per axis, gather each window's positions (`jnp.take`), sum them (`where` drops the repeats that fill out short windows), then / window size; not a product with averaging matrices, where 0 x inf or 0 x NaN outside a window would give NaN |
| adaptive max pool | E | windows grouped by length per axis; each group gathered whole (every position once) and reduced by one `jnp.max` over all its window axes, then put back in output order |
| global avg pool | N (floats), E (integers) | `jnp.mean` over the spatial axes; for integers an int64 sum / count, since `jnp.mean` of integers is a float |
| return_indices (max/min, adaptive max) | E | variadic `reduce_window` / `lax.reduce` over (value, flat index) with a comparator that encodes the oracle's tie and NaN rules |
| unsupported | - | nothing in the contract; dtypes are float16, bfloat16, float32, float64, int8, uint8, int16, int32, int64 |

Choices that shape what the suite can observe:
- Parameters are normalised and checked with the oracle's own `reference.parameters` (the same
  checks, in the same order, as the oracle). `lax.reduce_window` accepts almost anything (a
  padding larger than half the kernel, for one) and no JAX call takes torch's parameters, so
  the suite cannot observe JAX's own validation through this adapter: every invalid-parameter
  verdict is the oracle's.
- Averages accumulate float16/bfloat16 in float32 (the rule `jnp.mean` applies itself), float32
  and float64 in their own dtype, and integers in int64, divided with truncation toward zero
  (`lax.div`) and wrapped back into the input dtype. An int64 window sum past int64 wraps.
- Max/min values without indices come from XLA's own max/min reductions, so their treatment of
  NaN and signed zeros is JAX's; with `return_indices` the values are those the comparator
  picked.
- An index that names no element (a max window with no input element) comes back as -1, as
  from the reference backend.

The backward pass (`vjp`) is JAX's own autodiff: `jax.vjp` of exactly the function the forward
runs (the same builder and static parameters, jitted the same way), never a hand-written rule.
`return_indices` is ignored, so max, min and adaptive max pooling differentiate their values-only
path: for max/min pooling `reduce_window(lax.max / lax.min)`, whose VJP JAX defines through
`select_and_scatter_add` (`jax/_src/lax/windowed_reductions.py`); for adaptive max pooling
`jnp.max` over each whole window (`reduce_max`'s JVP rule); averages through `reduce_window(add)`,
`take`, `where`, `sum` and the division; global average through `jnp.mean`. The variadic
(value, index) reductions are never differentiated. Where JAX itself refuses (its max/min
pooling VJP has no rule for window dilation > 1: "VJP not implemented for select_and_gather
(MaxPool) with window dilation") the case raises NotImplementedError and is unsupported.
An integer input raises TypeError, as `jax.grad` refuses integer inputs.
"""

from __future__ import annotations

import functools
import inspect
import math

import jax
import numpy as np

# Without x64, JAX silently turns float64 and int64 inputs into float32 and int32 (and could
# not return int64 indices): that would approximate two dtypes instead of testing them. The
# setting is process-wide, so other JAX code in the same process sees it too.
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

import reference  # noqa: E402
from reference import parameters  # noqa: E402
from reference.windows import INPUT, OVERHANG, adaptive_windows, sliding_windows  # noqa: E402

_INDEX_DTYPE = np.dtype(np.int64)
# Padding enters the variadic reduction with this index; it loses every tie (smaller index
# wins), so an input element equal to the init value is still the one chosen.
_NO_ELEMENT = np.iinfo(np.int64).max
_HALF_FLOATS = ("float16", "bfloat16")
_CACHE_SIZE = 512


def _is_integer(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.integer)


def _extreme_init(dtype: np.dtype, take_max: bool):
    """The oracle's value for a window with no input element, which is also the padding."""
    if _is_integer(dtype):
        info = np.iinfo(dtype)
        return np.array(info.min if take_max else info.max, dtype)
    return np.array(-np.inf if take_max else np.inf, dtype)


def _accumulator(dtype: np.dtype) -> np.dtype:
    # Half floats follow jnp.mean's own upcast, so that avg, adaptive avg and global avg (which
    # is jnp.mean) round alike; integers need room for the exact window sum before truncating.
    if _is_integer(dtype):
        return np.dtype(np.int64)
    if dtype.name in _HALF_FLOATS:
        return np.dtype(np.float32)
    return dtype


def _divide(total, divisor, dtype: np.dtype):
    """Window sum / divisor in the accumulator, stored in the input's dtype."""
    if _is_integer(dtype):
        # lax.div truncates toward zero, like the oracle's int(Fraction(...)); the narrowing
        # convert wraps, like the oracle's `store`.
        divisor = jnp.broadcast_to(jnp.asarray(divisor, total.dtype), total.shape)
        return lax.div(total, divisor).astype(dtype)
    return (total / jnp.asarray(divisor, total.dtype)).astype(dtype)


def _pick_first_best(take_max: bool, is_float: bool):
    """The comparator of the (value, index) reductions: the oracle's `extreme_of_window` as a
    total order, so the result does not depend on the order XLA combines elements in.

    NaN beats every number and the smallest index wins among NaNs; otherwise the larger
    (smaller, for min) value wins and equal values (-0.0 == 0.0 too) go to the smaller index.
    """

    def pick(a, b):
        a_value, a_index = a
        b_value, b_index = b
        first = a_index < b_index
        better = (a_value > b_value) if take_max else (a_value < b_value)
        take_a = better | ((a_value == b_value) & first)
        if is_float:
            a_nan, b_nan = a_value != a_value, b_value != b_value
            take_a = jnp.where(a_nan | b_nan, a_nan & (~b_nan | first), take_a)
        return jnp.where(take_a, a_value, b_value), jnp.where(take_a, a_index, b_index)

    return pick


def _plane_indices(shape: tuple[int, ...], spatial_dims: int):
    """Each element's flat index within its (n, c) plane, broadcast to the input's shape."""
    spatial = shape[-spatial_dims:]
    flat = lax.broadcasted_iota(_INDEX_DTYPE, spatial, 0)
    for axis in range(1, spatial_dims):
        flat = flat * spatial[axis] + lax.broadcasted_iota(_INDEX_DTYPE, spatial, axis)
    return jnp.broadcast_to(flat, shape)


def _named_indices(index):
    return jnp.where(index == _NO_ELEMENT, -1, index)


@functools.lru_cache(maxsize=4096)
def _sliding_axis(length, kernel, stride, padding, dilation, ceil_mode):
    """Window count, (lo, hi) padding and per-window counts along one axis.

    JAX has no ceil mode: the oracle's window rule says how many windows there are, and `hi`
    is the padding that makes reduce_window's floor rule produce exactly that many. It may be
    less than `padding` (floor mode leaving a remainder), never negative.
    """
    windows = sliding_windows(length, kernel, stride, padding, dilation, ceil_mode)
    count = len(windows)
    span = dilation * (kernel - 1) + 1
    hi = max((count - 1) * stride + span - padding - length, 0) if count else padding
    with_padding = tuple(sum(kind != OVERHANG for kind in w.kinds) for w in windows)
    input_only = tuple(sum(kind == INPUT for kind in w.kinds) for w in windows)
    return count, (padding, hi), with_padding, input_only


@functools.lru_cache(maxsize=4096)
def _adaptive_axis(length, output_size):
    """Along one axis: an (output_size, widest window) table of the positions each window
    reads, short windows padded by repeating their last position, the mask of the positions
    that are not repeats, and each window's length."""
    windows = adaptive_windows(length, output_size)
    width = max((len(w.positions) for w in windows), default=1)
    positions = np.array([[w.positions[min(t, len(w.positions) - 1)] for t in range(width)]
                          for w in windows], dtype=np.int64).reshape(output_size, width)
    lengths = np.array([len(w.positions) for w in windows], dtype=np.int64)
    return positions, np.arange(width) < lengths[:, None], tuple(lengths.tolist())


def _window_geometry(rank, spatial_dims, kernel, strides, pads, dilations):
    lead = (1,) * (rank - spatial_dims)
    return (lead + kernel, lead + strides, ((0, 0),) * (rank - spatial_dims) + pads,
            lead + dilations)


def _extreme_fn(shape, dtype, spatial_dims, take_max, return_indices, kernel, strides, pads,
                dilations):
    window, strides, padding, dilation = _window_geometry(
        len(shape), spatial_dims, kernel, strides, pads, dilations)
    init = _extreme_init(dtype, take_max)

    if not return_indices:
        def run(x):
            return lax.reduce_window(x, init, lax.max if take_max else lax.min, window, strides,
                                     padding, window_dilation=dilation)
        return run

    pick = _pick_first_best(take_max, not _is_integer(dtype))

    def run_with_indices(x):
        values, index = lax.reduce_window(
            (x, _plane_indices(shape, spatial_dims)), (init, np.array(_NO_ELEMENT, _INDEX_DTYPE)),
            pick, window, strides, padding, window_dilation=dilation)
        return values, _named_indices(index)

    return run_with_indices


def _outer_product(per_axis_counts):
    product = np.ones((), np.float64)
    for counts in per_axis_counts:
        product = np.multiply.outer(product, np.asarray(counts, np.float64))
    return product


def _avg_fn(shape, dtype, spatial_dims, kernel, strides, pads, per_axis_counts, divisor_override):
    """`per_axis_counts`: each window's count along each axis; a count of the N-d window is
    their product (a position is counted only if it is counted on every axis)."""
    window, strides, padding, dilation = _window_geometry(
        len(shape), spatial_dims, kernel, strides, pads, (1,) * spatial_dims)
    accumulator = _accumulator(dtype)
    divisor = _outer_product(per_axis_counts) if divisor_override is None else divisor_override

    def run(x):
        total = lax.reduce_window(x.astype(accumulator), np.array(0, accumulator), lax.add,
                                  window, strides, padding, window_dilation=dilation)
        return _divide(total, divisor, dtype)

    return run


def _windows_along(x, axis, positions):
    """Axis `axis` of `x` replaced by two: the window, and the position within it."""
    gathered = jnp.take(x, positions.reshape(-1), axis=axis, mode="clip")
    return gathered.reshape(x.shape[:axis] + positions.shape + x.shape[axis + 1:])


def _adaptive_fn(shape, dtype, spatial_dims, sizes, take_max, return_indices):
    """Adaptive windows differ in length, so reduce_window cannot express them: each axis
    gathers its windows (a repeated position fills out a short one) and reduces them, one
    axis at a time, which the product structure of the N-d window allows."""
    axes = range(len(shape) - spatial_dims, len(shape))
    tables = [_adaptive_axis(shape[axis], size) for axis, size in zip(axes, sizes)]

    if not take_max:
        accumulator = _accumulator(dtype)
        divisor = _outer_product(lengths for _, _, lengths in tables)
        zero = np.array(0, accumulator)

        def run_avg(x):
            total = x.astype(accumulator)
            for axis, (positions, real, _) in zip(axes, tables):
                # A repeat must not add to the sum, nor a NaN or infinity outside the window
                # (which a product with a 0/1 averaging matrix would let through as NaN).
                real = real.reshape(real.shape + (1,) * (len(shape) - 1 - axis))
                total = jnp.where(real, _windows_along(total, axis, positions), zero).sum(axis + 1)
            return _divide(total, divisor, dtype)

        return run_avg

    if not return_indices:
        groups = [_adaptive_length_groups(shape[axis], size) for axis, size in zip(axes, sizes)]
        if not all(groups):
            # An empty output or input axis: no element is read, nothing to choose between.
            def run_max_empty(x):
                for axis, (positions, _, _) in zip(axes, tables):
                    x = jnp.max(_windows_along(x, axis, positions), axis=axis + 1)
                return x

            return run_max_empty
        return _whole_window_max(len(shape) - spatial_dims, groups)

    init = _extreme_init(dtype, True)
    no_element = np.array(_NO_ELEMENT, _INDEX_DTYPE)
    pick = _pick_first_best(True, not _is_integer(dtype))

    def run_max_with_indices(x):
        # The best element of a product window is the best of its per-row bests, because the
        # comparator is a total order whose ties fall to the smaller flat index; a repeated
        # position is the same (value, index) pair, so it changes nothing.
        index = _plane_indices(shape, spatial_dims)
        for axis, (positions, _, _) in zip(axes, tables):
            x, index = lax.reduce(
                (_windows_along(x, axis, positions), _windows_along(index, axis, positions)),
                (init, no_element), pick, (axis + 1,))
        return x, _named_indices(index)

    return run_max_with_indices


def _global_avg_fn(shape, dtype, spatial_dims):
    axes = tuple(range(len(shape) - spatial_dims, len(shape)))
    count = math.prod(shape[-spatial_dims:])

    if _is_integer(dtype):
        # jnp.mean of integers is a float; the oracle truncates the exact integer quotient.
        def run_integer(x):
            total = jnp.sum(x.astype(np.int64), axis=axes, keepdims=True)
            return _divide(total, count, dtype)

        return run_integer

    return lambda x: jnp.mean(x, axis=axes, keepdims=True)


@functools.lru_cache(maxsize=4096)
def _adaptive_length_groups(length, output_size):
    """Along one axis, the adaptive windows grouped by length: for each length, the windows'
    output positions and an (n, length) table of the positions they read; then the order that
    puts the groups' outputs back in output order. None where an axis reads nothing."""
    windows = adaptive_windows(length, output_size)
    if not windows or not all(w.positions for w in windows):
        return None
    by_length = {}
    for number, window in enumerate(windows):
        by_length.setdefault(len(window.positions), []).append(number)
    groups = tuple(
        (np.array([windows[n].positions for n in members], np.int64).reshape(len(members), size))
        for size, members in sorted(by_length.items()))
    members = np.concatenate([np.array(m, np.int64) for _, m in sorted(by_length.items())])
    return groups, np.argsort(members, kind="stable")


def _whole_window_max(lead, groups):
    """Adaptive max pooling without indices: for each combination of per-axis window lengths,
    gather the windows whole (every position once, no repeats) and take one `jnp.max` over all
    their positions; then put the outputs back in order. One reduction per window, each element
    read once: `jnp.max` sees exactly the window, as a user's own `max` over it would."""
    spatial_dims = len(groups)

    def block(x, combination):
        for k, group in enumerate(combination):
            positions = groups[k][0][group]
            x = _windows_along(x, lead + k, positions)  # axis lead+k: windows, lead+k+1: position
            x = jnp.moveaxis(x, lead + k + 1, -1)
        return jnp.max(x, axis=tuple(range(-spatial_dims, 0)))

    def assemble(x, k, combination):
        if k == spatial_dims:
            return block(x, combination)
        parts = [assemble(x, k + 1, combination + (g,)) for g in range(len(groups[k][0]))]
        joined = parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=lead + k)
        order = groups[k][1]
        if np.array_equal(order, np.arange(len(order))):
            return joined
        return jnp.take(joined, order, axis=lead + k)

    return lambda x: assemble(x, 0, ())


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _forward(builder, key):
    """The op's forward for one set of static parameters (a builder and its arguments), jitted."""
    return jax.jit(builder(*key))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _backward(builder, key):
    """The vector-Jacobian product of that same forward, by JAX's autodiff (`jax.vjp`), jitted:
    no rule of this adapter's own, only the transposes JAX defines for the primitives the forward
    is built from."""
    forward = builder(*key)

    def pull_back(x, grad_output):
        _, pullback = jax.vjp(forward, x)
        (gradient,) = pullback(grad_output)
        return gradient

    return jax.jit(pull_back)


def _to_numpy(result):
    # np.asarray of a JAX array is a read-only view; a copy behaves like every other backend's.
    if isinstance(result, tuple):
        return tuple(np.array(part) for part in result)
    return np.array(result)


class JaxBackend:
    name = "jax"
    version = jax.__version__

    def __getattr__(self, op_name: str):
        if op_name not in reference.OP_NAMES:
            raise AttributeError(op_name)
        signature = inspect.signature(getattr(reference, op_name))

        def op(*args, **kwargs):
            builder, key, array = self._plan(op_name, signature, args, kwargs)
            return _to_numpy(_forward(builder, key)(array))

        op.__name__ = op_name
        op.__signature__ = signature
        # Later lookups find the attribute and skip __getattr__ and the signature work.
        setattr(self, op_name, op)
        return op

    def vjp(self, op_name: str, input, grad_output, *args, **kwargs):
        """The gradient of `sum(op(input) * grad_output)` with respect to `input`: `jax.vjp` of
        the forward the op itself runs, on its values-only path (`return_indices` is ignored)."""
        if op_name not in reference.OP_NAMES:
            raise AttributeError(op_name)
        signature = inspect.signature(getattr(reference, op_name))
        builder, key, array = self._plan(op_name, signature, (input, *args), kwargs,
                                         values_only=True)
        if _is_integer(array.dtype):
            # jax.grad refuses integer inputs ("grad requires real- or complex-valued inputs");
            # jax.vjp would return float0 zeros, which is no gradient either.
            raise TypeError(f"{op_name}: an integer input ({array.dtype}) has no gradient")
        try:
            gradient = _backward(builder, key)(array, np.asarray(grad_output))
        except NotImplementedError as error:
            raise NotImplementedError(
                f"JAX cannot differentiate {op_name} here: {error}") from error
        return _to_numpy(gradient)

    def _plan(self, op_name, signature, args, kwargs, values_only=False):
        """The builder of the op's forward, its static key, and the input as NumPy; with
        `values_only`, the forward without indices whatever `return_indices` says."""
        family, spatial_dims = op_name[:-2], int(op_name[-2])
        bound = signature.bind(*args, **kwargs)  # TypeError for an argument torch's op lacks
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if values_only and "return_indices" in arguments:
            arguments["return_indices"] = False
        array = np.asarray(arguments.pop("input"))
        implementation = getattr(self, f"_{family}")
        builder, key = implementation(op_name, spatial_dims, array, **arguments)
        return builder, key, array

    @staticmethod
    def _sliding(op_name, spatial_dims, x, kernel_size, stride, padding, dilation, ceil_mode):
        parameters.check_input_shape(op_name, spatial_dims, x.shape)
        kernel, strides, pads, dilations = parameters.sliding_parameters(
            op_name, spatial_dims, kernel_size, stride, padding, dilation)
        axes = [_sliding_axis(length, k, s, p, d, bool(ceil_mode)) for length, k, s, p, d
                in zip(x.shape[-spatial_dims:], kernel, strides, pads, dilations)]
        parameters.check_windows_exist(op_name, x.shape[-spatial_dims:], [a[0] for a in axes])
        return kernel, strides, tuple(a[1] for a in axes), dilations, axes

    def _extreme_pool(self, take_max, op_name, spatial_dims, x, kernel_size, stride, padding,
                      dilation, ceil_mode, return_indices):
        kernel, strides, pads, dilations, _ = self._sliding(
            op_name, spatial_dims, x, kernel_size, stride, padding, dilation, ceil_mode)
        return _extreme_fn, (x.shape, x.dtype, spatial_dims, take_max, bool(return_indices),
                             kernel, strides, pads, dilations)

    def _max_pool(self, *args, **kwargs):
        return self._extreme_pool(True, *args, **kwargs)

    def _min_pool(self, *args, **kwargs):
        return self._extreme_pool(False, *args, **kwargs)

    def _avg_pool(self, op_name, spatial_dims, x, kernel_size, stride=None, padding=0,
                  ceil_mode=False, count_include_pad=True, divisor_override=None):
        parameters.check_divisor_override(op_name, divisor_override)
        kernel, strides, pads, _, axes = self._sliding(
            op_name, spatial_dims, x, kernel_size, stride, padding, 1, ceil_mode)
        if divisor_override is not None:
            if _is_integer(x.dtype) and abs(divisor_override) > np.iinfo(np.int64).max:
                raise NotImplementedError("an integer divisor outside int64")
            divisor_override = int(divisor_override)
        per_axis_counts = tuple(axis[2] if count_include_pad else axis[3] for axis in axes)
        return _avg_fn, (x.shape, x.dtype, spatial_dims, kernel, strides, pads, per_axis_counts,
                         divisor_override)

    def _adaptive_pool(self, take_max, op_name, spatial_dims, x, output_size, return_indices):
        parameters.check_input_shape(op_name, spatial_dims, x.shape)
        sizes = parameters.adaptive_output_size(
            op_name, spatial_dims, output_size, x.shape[-spatial_dims:])
        return _adaptive_fn, (x.shape, x.dtype, spatial_dims, sizes, take_max,
                              bool(return_indices))

    def _adaptive_avg_pool(self, op_name, spatial_dims, x, output_size):
        return self._adaptive_pool(False, op_name, spatial_dims, x, output_size, False)

    def _adaptive_max_pool(self, op_name, spatial_dims, x, output_size, return_indices=False):
        return self._adaptive_pool(True, op_name, spatial_dims, x, output_size,
                                   bool(return_indices))

    def _global_avg_pool(self, op_name, spatial_dims, x):
        parameters.check_input_shape(op_name, spatial_dims, x.shape)
        return _global_avg_fn, (x.shape, x.dtype, spatial_dims)
