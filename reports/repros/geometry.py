"""A case's windows as plain numbers, for writers whose framework lacks torch's parameters.

TensorFlow and JAX pool only over explicitly padded inputs (no ceil mode, no torch-style
padding) and have no adaptive pooling; their adapters build those from the framework's own
primitives. The repro does the same with these numbers as literals, so that what it runs is the
framework's pooling or reduction on known windows: the explicit padding is the adapters' own
arithmetic; the adaptive bounds and argmax tables are the definition's windows.
"""

from __future__ import annotations

import itertools
import math

from conformance.backends.torch_signatures import explicit_padding as adapter_padding
from reference.pooling import op_windows
from reference.windows import INPUT


def _windows(case):
    return op_windows(case.op_name, case.input.shape, **case.kwargs)


def explicit_padding(case) -> list[tuple[int, int]]:
    """(before, after) per spatial axis as the adapters pad before a VALID pool
    (torch_signatures.explicit_padding: torch's padding, then ceil mode's overhang by torch's
    documented rule), so that the repro hands the framework what the adapter did, also for a
    case the definition rejects (an accepted invalid call has no windows to read pads from)."""
    arguments = case.kwargs
    stride = arguments.get("stride")
    return list(adapter_padding(
        case.input.shape[-case.op.spatial_dims:], arguments["kernel_size"],
        None if stride in ((), []) else stride, arguments.get("padding", 0),
        arguments.get("dilation", 1), arguments.get("ceil_mode", False)))


def adaptive_bounds(case) -> list[list[tuple[int, int]]]:
    """Per spatial axis, each output position's window as [start, stop)."""
    return [[(w.positions[0], w.positions[-1] + 1) for w in axis] for axis in _windows(case)]


def window_table(case) -> list[list[int]]:
    """For each output element of a plane (row-major), the flat plane positions its window
    reads in window order; -1 for a position that is no input element (padding, overhang)."""
    spatial = case.input.shape[-case.op.spatial_dims:]
    strides = [math.prod(spatial[axis + 1:]) for axis in range(len(spatial))]
    table = []
    for combination in itertools.product(*_windows(case)):
        row = []
        for taps in itertools.product(*(zip(w.positions, w.kinds) for w in combination)):
            inside = all(kind == INPUT for _, kind in taps)
            row.append(sum(p * s for (p, _), s in zip(taps, strides)) if inside else -1)
        table.append(row)
    return table


def kernel_and_strides(case):
    """Per spatial axis: kernel, stride, dilation as the case states them (ints expanded)."""
    dims = case.op.spatial_dims
    arguments = case.kwargs

    def per_axis(value, default):
        value = default if value is None or value == () else value
        value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        return value * dims if len(value) == 1 else value

    kernel = per_axis(arguments["kernel_size"], None)
    return kernel, per_axis(arguments.get("stride"), kernel), per_axis(arguments.get("dilation"), 1)
