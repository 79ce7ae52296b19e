"""Rewrites the mutants share: torch-tensor helpers, and ways to turn torch's correct call into a
buggy one (an argument changed, the input padded by hand, NaN replaced, indices remapped)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from conformance.selfcheck.mutants.machinery import Call, Implementation, on_parts

# Op families a mutant's ops often name together.
SLIDING = ("max_pool", "avg_pool")
MAX = ("max_pool", "adaptive_max_pool")
ALL = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "global_avg_pool")
AVG_WITH_DIVISOR_OVERRIDE = ("avg_pool2d", "avg_pool3d")  # torch's avg_pool1d has none
NAN, INF = math.nan, math.inf


def values_of(result):
    return result[0] if isinstance(result, tuple) else result


def on_values(result, change):
    return (change(result[0]), *result[1:]) if isinstance(result, tuple) else change(result)


def lowest_value(dtype: torch.dtype):
    return -INF if dtype.is_floating_point else torch.iinfo(dtype).min


def pad_spec(left, right) -> list[int]:
    # F.pad lists the last axis first.
    return [size for pair in reversed(list(zip(left, right))) for size in pair]


def resized(tensor, shape, fill):
    """`tensor` cut or extended (with `fill`) at the high end of its trailing axes to `shape`."""
    old = tensor.shape[-len(shape):]
    return F.pad(tensor, pad_spec([0] * len(shape), [n - o for n, o in zip(shape, old)]),
                 value=fill)


def unravel(flat, shape):
    coordinates = []
    for size in reversed(shape):
        coordinates.append(flat % size)
        flat = flat // size
    return coordinates[::-1]


def ravel(coordinates, shape):
    flat = torch.zeros_like(coordinates[0])
    for coordinate, size in zip(coordinates, shape):
        flat = flat * size + coordinate
    return flat


def reindexed(indices, from_shape, to_shape, shift):
    coordinates = [c + s for c, s in zip(unravel(indices, from_shape), shift)]
    return ravel(coordinates, to_shape)


def output_sizes(c: Call, formula) -> tuple[int, ...]:
    return tuple(formula(*axis) for axis in zip(c.spatial, c.axes("kernel_size"), c.axes("stride"),
                                                 c.axes("padding"), c.axes("dilation")))


def reach_past_input(c: Call, output_shape) -> tuple[int, ...]:
    """Per axis, how far the last window ends past the input's end (padding and overhang)."""
    return tuple((o - 1) * s + d * (k - 1) + 1 - p - n for o, n, k, s, p, d in zip(
        output_shape, c.spatial, c.axes("kernel_size"), c.axes("stride"), c.axes("padding"),
        c.axes("dilation")))


def with_arguments(**changes) -> Implementation:
    """The correct op with some arguments replaced; a callable replacement receives the Call."""
    return lambda c: c.torch(**{k: v(c) if callable(v) else v for k, v in changes.items()})


def swapped(argument: str) -> Implementation:
    return with_arguments(**{argument: lambda c: c.axes(argument)[::-1]})


def nan_replaced_by(value) -> Implementation:
    return lambda c: c.torch(torch.where(c.x.isnan(), torch.tensor(value, dtype=c.x.dtype), c.x))


def padded_by_hand(fill, right_side=True, keep_shape=False) -> Implementation:
    """Pad the input beforehand and pool with padding=0, as adapters for libraries without a
    padding argument do. The hand padding is ordinary input to the pool, so (unless `keep_shape`
    crops to torch's shape) a ceil-mode window starting in it is kept."""

    def implementation(c: Call):
        left = c.axes("padding")
        right = left if right_side else (0,) * c.dims
        x = F.pad(c.x, pad_spec(left, right), value=fill(c.x.dtype))
        result = c.torch(x, padding=0)
        if isinstance(result, tuple):
            shift = [-p for p in left]
            result = result[0], reindexed(result[1], x.shape[-c.dims:], c.spatial, shift)
        if keep_shape:
            shape = values_of(c.torch()).shape[-c.dims:]
            result = on_parts(result, lambda t: resized(t, shape, -1))
        return result

    return implementation


def indices_remapped(remap) -> Implementation:
    """Values as torch's; indices = remap(call, values, indices)."""

    def implementation(c: Call):
        result = c.torch()
        if not isinstance(result, tuple):
            return result
        return result[0], remap(c, *result)

    return implementation


def only_for(dtype, implementation) -> Implementation:
    return lambda c: implementation(c) if c.x.dtype == dtype else c.torch()


def zero_padded_past_the_overhang(c: Call) -> torch.Tensor:
    """The input zero-padded by hand, on the right far enough that the ceil window is whole:
    pooled with padding=0 in floor mode, every window then divides by the kernel size."""
    pads = c.axes("padding")
    reach = reach_past_input(c, c.torch().shape[-c.dims:])
    right = [max(p, r) for p, r in zip(pads, reach)]
    return F.pad(c.x, pad_spec(pads, right), value=0)
