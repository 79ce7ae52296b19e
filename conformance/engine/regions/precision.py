"""Regions at the ends of a dtype's range: subnormal results and gradients, and 16-bit float
sums that round or overflow when accumulated in their own dtype."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from conformance.engine.arrays import to_reference
from conformance.engine.cases import Case
from conformance.engine.ops import AVERAGING_FAMILIES
from conformance.engine.regions.windows import case_windows
from conformance.engine.tolerance import average_bound, unit_in_last_place
from reference.dtypes import FLOAT_FORMATS, store
from reference.gradients import vjp
from reference.pooling import average_divisor, op_arguments, plane_windows


# The float64 sum of n terms is within n * 2**-52 * (sum of their magnitudes) of the exact sum.
_GAMMA_FACTOR = 2.0 ** -52


def subnormal_gradient(case: Case) -> bool:
    """Whether the oracle's backward pass goes through a subnormal number: an element of its
    gradient, or a share that a window sends (the upstream gradient itself for max and min,
    divided by the window's divisor for averages). A backend that flushes subnormals to zero
    (denormals-are-zero, as XLA on CPU does) differs exactly there."""
    if case.grad_output is None or case.dtype not in FLOAT_FORMATS:
        return False
    smallest_normal = math.ldexp(1, FLOAT_FORMATS[case.dtype].min_exponent)
    try:
        gradient = vjp(case.op_name, to_reference(case.input), to_reference(case.grad_output),
                       **case.kwargs)
        windows = case_windows(case)
    except (TypeError, ValueError):
        return False
    shares = np.abs(case.grad_output.astype(np.float64)).reshape(-1, math.prod(map(len, windows)))
    if case.op.family in AVERAGING_FAMILIES:
        arguments = op_arguments(case.op_name, **case.kwargs)
        plane = to_reference(np.zeros(case.input.shape[-case.op.spatial_dims:], case.input.dtype))
        divisors = [abs(average_divisor(window, arguments.get("count_include_pad", True),
                                        arguments.get("divisor_override")))
                    for _, window in plane_windows(plane, windows)]
        shares = shares / np.maximum(divisors, 1)
    elements = np.abs(np.array([value for value in gradient.data], dtype=np.float64))
    return bool(((shares > 0) & (shares < smallest_normal)).any()
                or ((elements > 0) & (elements < smallest_normal)).any())


def subnormal_mean_features(case, gathered, finite_rows, smallest_normal) -> dict:
    """subnormal_result (the average) and subnormal_kernel_mean (the sum over the kernel
    volume), decided exactly: a float64 sum with its error bound rules out most windows, and
    the rest are summed as fractions."""
    block, valid = gathered.block, gathered.valid
    divisor, volume = gathered.divisor, gathered.volume
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.where(valid, block, 0).sum(axis=-1)
        magnitude = np.where(valid, np.abs(block), 0).sum(axis=-1)
    error = _GAMMA_FACTOR * gathered.valid.sum(axis=-1) * magnitude
    near = np.maximum(np.abs(divisor), volume) * 2 * smallest_normal
    with np.errstate(invalid="ignore"):
        candidates = finite_rows & ((np.abs(total) - error < near) | ~np.isfinite(magnitude))
    subnormal_result = kernel_mean_subnormal = False
    for plane, window in zip(*np.nonzero(candidates)):
        row = block[plane, window][valid[window]]
        try:
            total = math.fsum(row)  # correctly rounded: 0 only where the exact sum is 0
        except OverflowError:
            continue  # a sum past float64's range has no subnormal mean
        if total == 0:
            continue
        exact = None
        for by, is_divisor in ((divisor[window], True), (volume[window], False)):
            if abs(total / by) < 2 * smallest_normal:
                if exact is None:
                    exact = Fraction(sum(map(Fraction, row.tolist())))
                stored = store(exact / int(by), case.dtype)
                if 0 < abs(stored) < smallest_normal:
                    if is_divisor:
                        subnormal_result = True
                    else:
                        kernel_mean_subnormal = True
        if subnormal_result and kernel_mean_subnormal:
            break
    return {"subnormal_result": subnormal_result, "subnormal_kernel_mean": kernel_mean_subnormal}


def narrow_sum_features(case, gathered, finite_rows) -> dict:
    """For 16-bit float averages: window_sum_rounds_in_dtype (a running sum in the dtype, in
    window order, misses the tolerance) and window_sum_inexact_in_dtype (a sum in the dtype, in
    some order, may round or overflow)."""
    block, valid, divisor = gathered.block, gathered.valid, gathered.divisor
    dtype, window_size = case.dtype, gathered.window_size
    fmt = FLOAT_FORMATS[dtype]
    narrow = case.input.dtype.type
    rows = finite_rows & valid.any(axis=-1)
    count = valid.sum(axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):
        magnitude = np.where(valid, np.abs(block), 0).sum(axis=-1)
        total = np.where(valid, block, 0).sum(axis=-1)
        # Every partial sum, in any order, is a multiple of the finest quantum among the
        # elements and at most the sum of magnitudes: exact while that is below 2**precision
        # quanta.
        quantum = np.where(valid & (block != 0), _quantum(block), np.inf).min(axis=-1)
        inexact = rows & (count >= 2) & (
            (magnitude > fmt.max_finite) | (magnitude >= math.ldexp(1, fmt.precision) * quantum))
        # The running sum in the dtype, in window order (padding slots add 0: no change).
        running = np.zeros(block.shape[:-1], dtype=narrow)
        for slot in range(block.shape[-1]):
            running = (running + np.where(valid[:, slot], block[..., slot], 0).astype(narrow)
                       ).astype(narrow)
        mean = (running.astype(np.float32) / divisor.astype(np.float32)).astype(narrow)
        # The exact mean, stored, and its tolerance: float64 computes them exactly where the
        # sums are exact (below 2**53 quanta) and the float64 quotient is not a midpoint of the
        # dtype (where rounding it again could differ from rounding the exact quotient once).
        quotient = total / divisor
        expected = quotient.astype(narrow).astype(np.float64)
        half = unit_in_last_place(quotient, dtype) / 2
        via_float32 = quotient.astype(np.float32).astype(np.float64)  # how some casts round
        midpoint = (np.abs(quotient - expected) == half) | (np.abs(via_float32 - expected) == half)
        exact = (magnitude < math.ldexp(1, 53) * quantum) & ~midpoint & np.isfinite(expected)
        bound = average_bound(expected, magnitude / np.abs(divisor), window_size, dtype)
        miss = np.abs(mean.astype(np.float64) - expected) > bound
    overflowed = rows & ~np.isfinite(running)
    rounds = bool(np.any(overflowed | (rows & exact & miss)))
    if not rounds:
        for plane, window in zip(*np.nonzero(rows & ~overflowed & ~exact)):
            row = block[plane, window][valid[window]]
            if _sum_rounds_in_dtype(row, narrow, int(divisor[window]), window_size, dtype):
                rounds = True
                break
    return {"window_sum_rounds_in_dtype": rounds,
            "window_sum_inexact_in_dtype": bool(np.any(inexact)) or rounds}


def _quantum(values: np.ndarray) -> np.ndarray:
    """The largest power of two dividing each (finite, nonzero) value: its last significant
    bit."""
    mantissa, exponent = np.frexp(values)
    units = np.abs(mantissa * 2.0**53).astype(np.int64)
    lowest = units & -units
    return np.ldexp(lowest.astype(np.float64), exponent - 53)


def _sum_rounds_in_dtype(row, narrow, divisor: int, window_size: int, dtype: str) -> bool:
    """Whether a mean accumulated and divided in the 16-bit dtype itself, element by element
    in window order, lands further from the window's exact mean than an average's tolerance
    allows."""
    with np.errstate(over="ignore", invalid="ignore"):
        running = narrow(0)
        for value in row.astype(narrow):
            running = narrow(running + value)
    if not np.isfinite(running):
        return True
    exact = Fraction(sum(map(Fraction, row.tolist())))
    expected = np.array(float(store(exact / divisor, dtype)))
    mean_abs = np.array(float(sum(map(Fraction, np.abs(row).tolist())) / abs(divisor)))
    bound = average_bound(expected, mean_abs, window_size, dtype)
    with np.errstate(over="ignore"):
        mean = narrow(np.float32(running) / np.float32(divisor))  # divided in the dtype too
    return abs(float(mean) - float(expected)) > float(bound)
