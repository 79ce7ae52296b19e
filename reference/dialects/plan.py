"""What a dialect's call reads and computes, in the oracle's own terms: a `Plan`.

A dialect (torch, onnx, tf, keras) only translates its parameters into a plan: which windows
each spatial axis has (reference.windows enumerates them), which reduction (reference.pooling
defines it), the layout of the input, and how indices are numbered. `run` evaluates a plan with
the same reducers the torch ops use, so windows and divisors stay defined in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reference.array import Array
from reference.dtypes import INDEX_DTYPE
from reference.pooling import pooled_shape, reduce_windows
from reference.windows import AxisWindow

# How the indices of a max pool number the chosen element.
PLANE_ROW_MAJOR = "plane row-major"  # torch: flat within the (n, c) plane
TENSOR_ROW_MAJOR = "tensor row-major"  # ONNX storage_order=0: flat over N x C x D1 x ...
TENSOR_PLANE_COLUMN_MAJOR = "tensor, plane column-major"  # ONNX storage_order=1


@dataclass(frozen=True)
class AxisGeometry:
    """One axis of a sliding plan, as the dialect's parameters came to: for describing a case
    (coverage regions, messages); the windows themselves are the plan's `windows`."""

    length: int
    kernel: int
    stride: int
    before: int  # padding before the input
    after: int
    dilation: int


@dataclass(frozen=True)
class Plan:
    family: str  # the engine's name for what is computed: max_pool, avg_pool, lp_pool, ...
    reduction: str  # "max", "min", "average" or "lp" (reference.pooling.reduce_windows)
    windows: tuple[tuple[AxisWindow, ...], ...]  # per spatial axis, in channels-first order
    channels_last: bool = False  # the input is (N, *spatial, C)
    count_include_pad: bool = True
    p: int = 2
    indices: str | None = None  # None: the call returns values only; else the numbering
    keep_spatial: bool = True  # False: a global pool returns (N, C) (Keras keepdims=False)
    geometry: tuple[AxisGeometry, ...] = ()  # per axis, for sliding plans

    @property
    def spatial_dims(self) -> int:
        return len(self.windows)


def transpose(array: Array, axes: tuple[int, ...]) -> Array:
    """`array` with its axes reordered (numpy.transpose's `axes`)."""
    shape = tuple(array.shape[a] for a in axes)
    strides = [math.prod(array.shape[a + 1:]) for a in range(array.ndim)]
    data = []
    for index in _indices(shape):
        data.append(array.data[sum(i * strides[a] for i, a in zip(index, axes))])
    return Array(shape, tuple(data), array.dtype)


def _indices(shape):
    if not shape:
        yield ()
        return
    for head in range(shape[0]):
        for tail in _indices(shape[1:]):
            yield (head, *tail)


def channels_first_axes(rank: int) -> tuple[int, ...]:
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return (0, rank - 1, *range(1, rank - 1))


def channels_last_axes(rank: int) -> tuple[int, ...]:
    """(N, C, *spatial) -> (N, *spatial, C)."""
    return (0, *range(2, rank), 1)


def run(plan: Plan, input: Array):
    """The plan evaluated on `input`: values, or (values, indices) when the plan has indices."""
    x = transpose(input, channels_first_axes(input.ndim)) if plan.channels_last else input
    values, indices = reduce_windows(x, [list(w) for w in plan.windows], plan.reduction,
                                     plan.count_include_pad, plan.p)
    spatial_shape = x.shape[-plan.spatial_dims:]
    if plan.indices is not None:
        indices = _renumber(indices, spatial_shape, plan.indices)
    if plan.channels_last:
        values = transpose(values, channels_last_axes(values.ndim))
        indices = transpose(indices, channels_last_axes(indices.ndim))
    if not plan.keep_spatial:
        squeezed = values.shape[:-plan.spatial_dims] if not plan.channels_last else (
            values.shape[0], values.shape[-1])
        values = Array(squeezed, values.data, values.dtype)
    return values if plan.indices is None else (values, indices)


def _renumber(indices: Array, spatial_shape, numbering: str) -> Array:
    """Plane-flat row-major indices (reference.pooling) in `numbering`. None stays None."""
    if numbering == PLANE_ROW_MAJOR:
        return indices
    plane_size, windows = math.prod(spatial_shape), math.prod(indices.shape[-len(spatial_shape):])
    renumbered = []
    for position, index in enumerate(indices.data):
        if index is None:
            renumbered.append(None)
            continue
        plane = position // windows
        if numbering == TENSOR_PLANE_COLUMN_MAJOR:
            index = _column_major(index, spatial_shape)
        renumbered.append(plane * plane_size + index)
    return Array(indices.shape, tuple(renumbered), INDEX_DTYPE)


def _column_major(flat: int, shape) -> int:
    coordinates = []
    for size in reversed(shape):
        coordinates.append(flat % size)
        flat //= size
    coordinates.reverse()  # row-major coordinates, first axis first
    index = 0
    for coordinate, size in zip(reversed(coordinates), reversed(shape)):
        index = index * size + coordinate
    return index


def output_shape(plan: Plan, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape `run` returns, from counting windows."""
    if plan.channels_last:
        channels_first = tuple(input_shape[a] for a in channels_first_axes(len(input_shape)))
        shape = pooled_shape(channels_first, plan.windows)
        shape = tuple(shape[a] for a in channels_last_axes(len(shape)))
    else:
        shape = pooled_shape(input_shape, plan.windows)
    if not plan.keep_spatial:
        shape = (shape[0], shape[-1]) if plan.channels_last else shape[:-plan.spatial_dims]
    return shape


__all__ = ["AxisGeometry", "PLANE_ROW_MAJOR", "Plan", "TENSOR_PLANE_COLUMN_MAJOR", "TENSOR_ROW_MAJOR",
           "channels_first_axes", "channels_last_axes", "output_shape", "run", "transpose"]
