"""torch's pooling signatures and the arithmetic that torch-like adapters translate them with.

The adapters of frameworks whose pooling APIs resemble torch's (tinygrad, MLX, PaddlePaddle, Flax,
torch.export) share this module. It knows torch's *API* (names, defaults, layouts: the contract
in docs/backend-interface.md) and two formulas from torch's documentation that an adapter needs to
emulate a parameter its framework lacks; it never decides whether arguments are valid (the
framework does) and never imports the oracle (`reference`), so a verdict judges the framework.
"""

from __future__ import annotations

import inspect
import operator

import numpy as np

_SLIDING = ("kernel_size", "stride", "padding")
# Each family's parameters after `input`, with torch.nn.functional's defaults.
_PARAMETERS = {
    "max_pool": (*_SLIDING, "dilation", "ceil_mode", "return_indices"),
    "min_pool": (*_SLIDING, "dilation", "ceil_mode", "return_indices"),
    "avg_pool": (*_SLIDING, "ceil_mode", "count_include_pad", "divisor_override"),
    "adaptive_avg_pool": ("output_size",),
    "adaptive_max_pool": ("output_size", "return_indices"),
    "global_avg_pool": (),
}
_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
             "return_indices": False, "count_include_pad": True, "divisor_override": None}
FAMILIES = tuple(_PARAMETERS)


def split_op_name(op_name: str, families) -> tuple[str, int]:
    """(family, spatial dims) of `max_pool2d` and the like; AttributeError for a name outside
    `families` (the families an adapter offers), so that `getattr` says the op is absent."""
    family, dims = op_name[:-2], op_name[-2:]
    if family not in families or dims not in ("1d", "2d", "3d"):
        raise AttributeError(op_name)
    return family, int(dims[0])


def _signature(family: str, spatial_dims: int) -> inspect.Signature:
    names = _PARAMETERS[family]
    if family == "avg_pool" and spatial_dims == 1:
        names = names[:-1]  # torch's avg_pool1d has no divisor_override
    parameters = [inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                     default=_DEFAULTS.get(name, inspect.Parameter.empty))
                   for name in names]
    return inspect.Signature(parameters)


def bind(family: str, spatial_dims: int, input, args, kwargs) -> dict:
    """Every torch parameter of the op by name, defaults filled in; TypeError, as from torch,
    for arguments its signature does not take. Values are left exactly as given."""
    bound = _signature(family, spatial_dims).bind(input, *args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    del arguments["input"]
    return arguments


def per_axis(value, spatial_dims: int) -> tuple:
    """torch's `int or tuple` parameter as one entry per axis. torch's pooling kernels read a
    one-entry sequence as that entry on every axis, as they read an int, so it is translated the
    same way; a sequence of any other length is kept as given (the framework judges it)."""
    if isinstance(value, (tuple, list)):
        return tuple(value) * spatial_dims if len(value) == 1 else tuple(value)
    return (value,) * spatial_dims


def is_one(value) -> bool:
    """Whether a dilation is 1 on every axis (the only dilation some frameworks have)."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    return all(type(v) is int and v == 1 for v in values)


def ceil_mode_end_padding(length: int, kernel: int, stride: int, padding: int,
                          dilation: int = 1) -> int:
    """The padding to add after an axis so that floor-mode pooling makes ceil mode's windows.

    torch's documented output size (torch.nn.MaxPool1d / AvgPool1d docs) in ceil mode is
    ceil((L + 2p - d(k-1) - 1) / s) + 1, less one when that last window would start in the right
    padding ("sliding windows that would start in the right padded region are ignored"), i.e.
    when (o - 1) s >= L + p. Floor mode over an axis padded (p, hi) makes o windows once
    L + p + hi >= (o - 1) s + d(k-1) + 1. Integer arithmetic throughout: `operator.index`
    raises TypeError for a non-integer parameter, as the framework would.
    """
    length, kernel, stride, padding, dilation = map(
        operator.index, (length, kernel, stride, padding, dilation))
    span = dilation * (kernel - 1) + 1
    count = -((span - length - 2 * padding) // stride) + 1  # ceil((L + 2p - span) / s) + 1
    if (count - 1) * stride >= length + padding:
        count -= 1
    return max((count - 1) * stride + span - length - 2 * padding, 0)


def explicit_padding(spatial_shape, kernel_size, stride, padding, dilation=1,
                     ceil_mode=False) -> tuple[tuple[int, int], ...]:
    """torch's padding as explicit (lo, hi) per axis: hi adds ceil mode's overhang. ValueError
    where a parameter does not give one entry per axis (the emulation needs one)."""
    dims = len(spatial_shape)
    kernel = per_axis(kernel_size, dims)
    axes = (kernel, per_axis(kernel if stride is None else stride, dims),
            per_axis(padding, dims), per_axis(dilation, dims))
    if any(len(values) != dims for values in axes):
        raise ValueError(f"kernel_size, stride, padding and dilation need one entry per spatial "
                         f"axis of the input's {tuple(spatial_shape)}")
    return tuple(
        (p, p + (ceil_mode_end_padding(length, k, s, p, d) if ceil_mode else 0))
        for length, k, s, p, d in zip(spatial_shape, *axes)
    )


def adaptive_bounds(length: int, size: int) -> list[tuple[int, int]]:
    """Adaptive pooling's windows along one axis: window i spans
    [floor(i L / O), ceil((i + 1) L / O)), torch's `start_index` / `end_index`
    (aten/src/ATen/native/AdaptivePooling.h). TypeError for a size that is not an integer and
    ValueError for a negative one, which the formula cannot take (the emulation's own check)."""
    length, size = operator.index(length), operator.index(size)
    if size < 0:
        raise ValueError(f"adaptive pooling's emulation takes output sizes >= 0, not {size}")
    return [(i * length // size, -(-(i + 1) * length // size)) for i in range(size)]


def adaptive_window_counts(shape, axes, sizes) -> np.ndarray:
    """How many elements each adaptive window holds, over `axes` (the divisors of an average
    built from window sums)."""
    counts = np.ones((), np.int64)
    for axis, size in zip(axes, sizes):
        lengths = [end - start for start, end in adaptive_bounds(shape[axis], size)]
        counts = np.multiply.outer(counts, np.array(lengths, np.int64))
    return counts


def adaptive_sizes(output_size, spatial_shape: tuple[int, ...]) -> tuple:
    """torch's output_size per axis: an int for every axis, or a tuple whose None keeps the
    input's size, which torch documents for 2-d and 3-d only (AdaptiveAvgPool1d's output_size is
    "the target output size L_out"; AdaptiveAvgPool2d's "can be either a int, or None which
    means the size will be the same as that of the input"): TypeError for None in 1-d, ValueError
    for a tuple of another length (the emulation needs one size per axis)."""
    sizes = per_axis(output_size, len(spatial_shape))
    if len(sizes) != len(spatial_shape):
        raise ValueError(f"output_size {output_size!r} does not give one size per spatial axis "
                         f"of the input's {spatial_shape}")
    if len(spatial_shape) == 1 and None in sizes:
        raise TypeError(f"1-d adaptive pooling takes an integer output_size, not {output_size!r}")
    return tuple(length if size is None else size for size, length in zip(sizes, spatial_shape))


def pool_adaptively(x, spatial_axes, sizes, reduce, concatenate):
    """Adaptive pooling built from the framework's own slicing, reduction and concatenation.

    Axis by axis, each window `x[..., start:end, ...]` is reduced with `reduce(part, axis)`
    (keeping the axis) and the windows are joined with `concatenate(parts, axis)`. The N-d
    window is the product of its per-axis windows, so reducing one axis at a time gives the max
    exactly and the mean up to rounding (a mean of per-row means, each over equally many
    elements). An output size of 0 is the input sliced to length 0 on that axis.
    """
    for axis, size in zip(spatial_axes, sizes):
        bounds = adaptive_bounds(x.shape[axis], size)
        lead = (slice(None),) * axis
        if not bounds:
            x = x[lead + (slice(0, 0),)]
            continue
        x = concatenate([reduce(x[lead + (slice(start, end),)], axis) for start, end in bounds],
                        axis)
    return x


def numpy_like_forward(xp, framework: str, channels_last: dict, add_batch: bool,
                       family: str, spatial_dims: int, arguments: dict):
    """The op as a function of a torch-layout array, for frameworks whose array namespace `xp`
    spells `mean`, `max`, `concatenate`, `moveaxis`, `expand_dims`, `squeeze` as NumPy does
    (mlx.core, jax.numpy) and whose own pooling is channels-last.

    `channels_last[family](spatial_dims, **arguments)` builds the framework's own pooling of
    (N, *spatial, C) arrays (run through `pool_channels_last`); adaptive pooling is emulated by
    `pool_adaptively` with `xp.mean` / `xp.max` and `xp.concatenate`; global average pooling is
    `xp.mean` over the spatial axes, the idiom.
    """
    if family == "global_avg_pool":
        return lambda x: xp.mean(x, axis=tuple(range(-spatial_dims, 0)), keepdims=True)
    if family in ("adaptive_avg_pool", "adaptive_max_pool"):
        if arguments.get("return_indices"):
            raise NotImplementedError(f"{framework} has no adaptive max pooling, so no indices "
                                      f"for it")
        reduce = xp.mean if family == "adaptive_avg_pool" else xp.max

        def adaptive(x):
            axes = range(x.ndim - spatial_dims, x.ndim)
            sizes = adaptive_sizes(arguments["output_size"], tuple(x.shape[a] for a in axes))
            return pool_adaptively(x, axes, sizes,
                                   lambda part, axis: reduce(part, axis=axis, keepdims=True),
                                   lambda parts, axis: xp.concatenate(parts, axis=axis))

        return adaptive
    pool = channels_last[family](spatial_dims, **arguments)
    return lambda x: pool_channels_last(pool, x, spatial_dims, xp, add_batch)


def pool_channels_last(pool, x, spatial_dims: int, xp, add_batch: bool):
    """`pool`, a function of channels-last arrays (N, *spatial, C) as Flax and MLX pool them,
    applied to torch's (N, C, *spatial) `x` and its result returned in torch's layout.

    `xp` is the framework's array namespace (`moveaxis`, `expand_dims`, `squeeze`), so that the
    transposes are part of the computation its autodiff differentiates. With `add_batch`, an
    unbatched (C, *spatial) input gets a batch axis of 1 for the framework, which pools batched
    inputs only. An input with no axis before the spatial ones goes to `pool` as it is.
    """
    unbatched = add_batch and x.ndim == spatial_dims + 1
    if unbatched:
        x = xp.expand_dims(x, 0)
    axis = x.ndim - spatial_dims - 1
    if axis < 0:
        return pool(x)
    y = xp.moveaxis(pool(xp.moveaxis(x, axis, -1)), -1, axis)
    return xp.squeeze(y, 0) if unbatched else y


class TorchLikeBackend:
    """A backend whose ops are torch.nn.functional's names and signatures, bound by name.

    A subclass lists the `families` it offers and defines `run(family, dims, input, arguments)`
    (the op's NumPy result) and, where the framework differentiates, `gradient(family, dims,
    input, grad_output, arguments)`; `arguments` holds every torch parameter by name, defaults
    filled in, exactly as given (`bind`). Any other name is absent, so the suite reports it
    unsupported.
    """

    families: tuple[str, ...] = ()

    def __getattr__(self, op_name: str):
        family, dims = split_op_name(op_name, type(self).families)

        def op(input: np.ndarray, *args, **kwargs):
            return self.run(family, dims, input, bind(family, dims, input, args, kwargs))

        op.__name__ = op_name
        return op

    def vjp(self, op_name: str, input: np.ndarray, grad_output: np.ndarray, *args, **kwargs):
        """The gradient of the op's values (`return_indices` is ignored)."""
        family, dims = split_op_name(op_name, type(self).families)
        arguments = bind(family, dims, input, args, kwargs)
        if "return_indices" in arguments:
            arguments["return_indices"] = False
        return self.gradient(family, dims, input, grad_output, arguments)


def owned(array) -> np.ndarray:
    """A writable, C-contiguous copy the caller owns (the contract's result)."""
    return np.array(array, copy=True, order="C")
