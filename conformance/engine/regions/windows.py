"""A case's windows as the oracle enumerates them, cached, and gathered into NumPy blocks.

The value features (values.py, precision.py) read every window of a case at once: `gather_windows`
yields, chunk by chunk, each window's input elements for every (n, c) plane in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from conformance.engine.cases import Case
from reference import parameters
from reference.pooling import op_windows
from reference.windows import INPUT, OVERHANG


# Window enumerations and gather tables by (op, input shape, arguments): Hypothesis draws the
# same geometry for many cases (and shrinking replays it), and the oracle's enumeration is pure.
_WINDOW_CACHE: dict = {}
_CACHE_SIZE = 512
# Windows gathered at once: planes x windows x window slots, in float64.
_GATHER_ELEMENTS = 1 << 21


def axis_arguments(case: Case):
    """Per-axis (length, kernel, stride, padding, dilation) of a sliding-window case."""
    kwargs = case.kwargs
    spatial_dims = case.op.spatial_dims
    kernel, strides, pads, dilations = parameters.sliding_parameters(
        case.op_name, spatial_dims, kwargs["kernel_size"], kwargs.get("stride"),
        kwargs.get("padding", 0), kwargs.get("dilation", 1),
    )
    lengths = case.input.shape[-spatial_dims:]
    return list(zip(lengths, kernel, strides, pads, dilations))


def cache_key(case: Case):
    try:
        return (case.op_name, case.input.shape, repr(sorted(case.kwargs.items())))
    except TypeError:
        return None


def cached(key, build):
    if key is None:
        return build()
    try:
        return _WINDOW_CACHE[key]
    except KeyError:
        pass
    value = build()
    if len(_WINDOW_CACHE) >= _CACHE_SIZE:
        _WINDOW_CACHE.pop(next(iter(_WINDOW_CACHE)))
    _WINDOW_CACHE[key] = value
    return value


def case_windows(case: Case):
    """The oracle's windows for the case (a ValueError or TypeError for invalid arguments)."""
    key = cache_key(case)

    def build():
        try:
            return op_windows(case.op_name, case.input.shape, **case.kwargs)
        except (TypeError, ValueError) as error:
            return error

    windows = cached(None if key is None else ("windows",) + key, build)
    if isinstance(windows, Exception):
        raise windows
    return windows


@dataclass(frozen=True)
class _Table:
    """The N-d windows that hold input on every axis, in window order: for each, the flat plane
    positions of its input elements (slots past them are padding: `valid` is False there)."""

    positions: np.ndarray  # (W, K) int
    valid: np.ndarray  # (W, K) bool
    first: np.ndarray  # (W,) the slot of each window's first input element
    inside: np.ndarray  # (W,) positions that are input or padding (not ceil overhang)
    volume: np.ndarray  # (W,) positions in the window
    window_size: int  # the largest window's volume


def _table(case: Case, windows) -> _Table:
    def build():
        spatial = case.input.shape[-case.op.spatial_dims:]
        axes = []
        for axis_windows, length in zip(windows, spatial):
            kept = [w for w in axis_windows if INPUT in w.kinds]
            width = max((w.kinds.count(INPUT) for w in kept), default=0)
            positions = np.zeros((len(kept), width), dtype=np.int64)
            valid = np.zeros((len(kept), width), dtype=bool)
            for row, w in enumerate(kept):
                inputs = [p for p, kind in zip(w.positions, w.kinds) if kind == INPUT]
                positions[row, :len(inputs)] = inputs
                valid[row, :len(inputs)] = True
            inside = np.array([sum(k != OVERHANG for k in w.kinds) for w in kept], np.int64)
            volume = np.array([len(w.positions) for w in kept], np.int64)
            axes.append((positions, valid, inside, volume, length))
        positions = np.zeros((1, 1), np.int64)
        valid = np.ones((1, 1), bool)
        inside = volume = np.ones(1, np.int64)
        for axis_positions, axis_valid, axis_inside, axis_volume, length in axes:
            # Window index and slot index both run over (earlier axes, this axis) in C order,
            # which is np.ix_'s order of a window's elements.
            positions = (positions[:, None, :, None] * length
                         + axis_positions[None, :, None, :])
            valid = valid[:, None, :, None] & axis_valid[None, :, None, :]
            count, width = positions.shape[0] * positions.shape[1], math.prod(positions.shape[2:])
            positions = positions.reshape(count, width)
            valid = valid.reshape(count, width)
            inside = (inside[:, None] * axis_inside[None, :]).reshape(-1)
            volume = (volume[:, None] * axis_volume[None, :]).reshape(-1)
        window_size = math.prod(
            max((len(w.positions) for w in axis), default=0) for axis in windows)
        first = np.argmax(valid, axis=-1) if valid.size else np.zeros(len(valid), np.int64)
        return _Table(positions, valid, first, inside, volume, window_size)

    key = cache_key(case)
    return cached(None if key is None else ("table",) + key, build)


@dataclass
class GatheredWindows:
    """Some windows' elements for every (n, c) plane, in float64: block[plane, window, slot]."""

    block: np.ndarray
    valid: np.ndarray
    first: np.ndarray
    divisor: np.ndarray  # each window's average divisor (averages only)
    volume: np.ndarray
    window_size: int
    best: np.ndarray | None = None  # each window's max (min), NaN where it holds a NaN


def gather_windows(case: Case, windows):
    """The case's windows with input, gathered in chunks that bound the memory used."""
    values = case.input
    if values.size == 0:
        return
    table = _table(case, windows)
    if not len(table.positions):
        return
    spatial_dims = case.op.spatial_dims
    planes = values.astype(np.float64).reshape((-1, math.prod(values.shape[-spatial_dims:])))
    chooses, minimum = case.op.chooses, case.op.family == "min_pool"
    override = case.kwargs.get("divisor_override")
    include_pad = bool(case.kwargs.get("count_include_pad", True))
    step = max(1, _GATHER_ELEMENTS // max(1, planes.shape[0] * table.positions.shape[1]))
    for start in range(0, len(table.positions), step):
        part = slice(start, start + step)
        valid = table.valid[part]
        block = np.where(valid, planes[:, table.positions[part]], 0.0)
        if override is not None:
            divisor = np.full(len(valid), float(override))
        else:
            divisor = (table.inside[part] if include_pad else valid.sum(axis=-1)).astype(float)
        gathered = GatheredWindows(block, valid, table.first[part], divisor,
                             table.volume[part].astype(float), table.window_size)
        if chooses:
            fill = np.inf if minimum else -np.inf
            with np.errstate(invalid="ignore"):
                reduce = np.min if minimum else np.max
                gathered.best = reduce(np.where(valid, block, fill), axis=-1)
        yield gathered


def is_floating(values: np.ndarray) -> bool:
    return values.dtype.kind == "f" or values.dtype.name == "bfloat16"
