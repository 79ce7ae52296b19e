"""NumPy as a backend (`conformance.backends.numpy_backend:NumpyBackend`), a second oracle.

NumPy has no pooling API, so this module is an implementation of its own: the definition of each
op (torch's documentation, as docs/backend-interface.md states it; one rounding of every average)
written independently of `reference`, vectorised, so that it can check shapes the oracle is too
slow for, and so that a bug in the oracle's code shows up as a disagreement instead of being
shared. It imports nothing from `reference` (tests/test_adapters_independent.py), validation
included: `_checked_*` below are its own statement of which arguments the ops take. Every
parameter is native here (there is no framework to lack one).

Every op reduces a *window array* shaped `(taps, *leading, *output_spatial)`: tap t of the
window of each output element, taps in row-major window order, which is the order the tie and
NaN rules speak of. Taps come first because NumPy reduces over a leading axis element-wise, far
faster than over a short trailing one. Sliding ops (max, min, avg) build it with
`sliding_window_view` over a padded input; adaptive ops gather it with per-axis position tables.
Alongside, each spatial axis has an `_AxisTaps` table saying what each tap of each window reads;
masks, flat indices and divisors are outer products of those tables over the axes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import ml_dtypes
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from conformance.backends.torch_signatures import FAMILIES, bind, split_op_name

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = tuple(np.dtype(name) for name in (
    "float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64")) + (BFLOAT16,)


# --- Arguments ---------------------------------------------------------------------------------
# Which calls the ops take, from torch's documentation of the pooling modules (nn.MaxPool2d,
# nn.AvgPool2d, nn.AdaptiveAvgPool2d) and the definition: a window needs a positive size, step
# and spacing; padding is at most half the kernel (torch's documented bound); every output
# element needs a window.


def _checked_shape(op_name, spatial_dims, shape) -> None:
    """(N, C, *spatial) or (C, *spatial); only the batch may be empty."""
    rank_ok = len(shape) in (spatial_dims + 1, spatial_dims + 2)
    if not rank_ok or 0 in shape[len(shape) - spatial_dims - 1:]:
        raise ValueError(f"{op_name}: expected a ({spatial_dims + 1})-d or "
                         f"({spatial_dims + 2})-d input, only the batch empty; got {shape}")


def _checked_ints(op_name, name, value, spatial_dims, allow_none=False) -> tuple:
    entries = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    for entry in entries:
        if not (entry is None and allow_none) and (
                isinstance(entry, (bool, np.bool_)) or not isinstance(entry, (int, np.integer))):
            raise TypeError(f"{op_name}: {name} takes ints, not {type(entry).__name__}")
    if len(entries) == 1:
        entries *= spatial_dims
    if len(entries) != spatial_dims:
        raise ValueError(f"{op_name}: {name} needs 1 or {spatial_dims} entries, got {value!r}")
    return tuple(None if entry is None else int(entry) for entry in entries)


def _checked_sliding(op_name, spatial_dims, kernel_size, stride, padding, dilation):
    kernels = _checked_ints(op_name, "kernel_size", kernel_size, spatial_dims)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    strides = kernels if no_stride else _checked_ints(op_name, "stride", stride, spatial_dims)
    pads = _checked_ints(op_name, "padding", padding, spatial_dims)
    dilations = _checked_ints(op_name, "dilation", dilation, spatial_dims)
    if min(kernels + strides + dilations) <= 0:
        raise ValueError(f"{op_name}: kernel {kernels}, stride {strides} and dilation "
                         f"{dilations} must be positive")
    if any(p < 0 or p > k // 2 for p, k in zip(pads, kernels)):
        raise ValueError(f"{op_name}: padding {pads} must lie in [0, kernel_size / 2], "
                         f"kernel_size {kernels}")
    return kernels, strides, pads, dilations


def _checked_divisor(op_name, divisor_override) -> None:
    if divisor_override is None:
        return
    if isinstance(divisor_override, (bool, np.bool_)) or not isinstance(
            divisor_override, (int, np.integer)):
        raise TypeError(f"{op_name}: divisor_override takes an int or None")
    if divisor_override == 0:
        raise ValueError(f"{op_name}: divisor_override must not be zero")


def _checked_output_size(op_name, spatial_dims, output_size, spatial_shape) -> tuple:
    """torch documents None ("the size of the input") for 2-d and 3-d adaptive pooling only."""
    sizes = _checked_ints(op_name, "output_size", output_size, spatial_dims,
                          allow_none=spatial_dims > 1)
    sizes = tuple(length if size is None else size for size, length in zip(sizes, spatial_shape))
    if min(sizes) < 0:
        raise ValueError(f"{op_name}: output_size {sizes} must be >= 0")
    return sizes


# --- Windows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AxisTaps:
    """Along one spatial axis: tap t of window o reads unpadded position `positions[o, t]`."""

    positions: np.ndarray  # (windows, taps) int64
    is_input: np.ndarray  # (windows, taps) bool: the tap reads an input element
    is_counted: np.ndarray  # (windows, taps) bool: input or declared padding, never ceil overhang


def _sliding_taps(length, kernel, stride, padding, dilation, ceil_mode) -> _AxisTaps:
    """The windows of sliding pooling along one axis, counted in closed form.

    Window i starts at i * stride - padding and takes `kernel` positions `dilation` apart.
    Full windows lie inside the padded input. Ceil mode adds the next window when the full ones
    leave part of the padded input uncovered and it starts before the right padding (torch's
    ceil_mode note: "sliding windows that would start in the right padded region are ignored");
    with no full window at all, that is the window at -padding.
    """
    span = dilation * (kernel - 1) + 1
    padded_end = length + padding
    full_windows = max(0, (length + 2 * padding - span) // stride + 1)
    window_count = full_windows
    if ceil_mode:
        next_start = -padding + full_windows * stride
        covered_end = next_start - stride + span if full_windows else -padding
        if covered_end < padded_end and next_start < length:
            window_count += 1
    starts = -padding + stride * np.arange(window_count, dtype=np.int64)
    positions = starts[:, None] + dilation * np.arange(kernel, dtype=np.int64)
    return _AxisTaps(
        positions=positions,
        is_input=(positions >= 0) & (positions < length),
        is_counted=positions < padded_end,  # no tap lies before -padding
    )


def _adaptive_taps(length, output_size) -> _AxisTaps:
    """Window i covers [floor(i*L/O), ceil((i+1)*L/O)), torch's `start_index` /
    `end_index` (aten/src/ATen/native/AdaptivePooling.h).

    Windows differ in length, so each gets as many taps as the longest; the surplus taps read no
    input and point at the window's start, so that gathering them stays in bounds.
    """
    window = np.arange(output_size, dtype=np.int64)
    starts = window * length // output_size
    ends = -(-(window + 1) * length // output_size)
    widths = ends - starts
    taps = np.arange(int(widths.max()) if output_size else 1, dtype=np.int64)
    is_input = taps < widths[:, None]
    positions = np.where(is_input, starts[:, None] + taps, starts[:, None])
    return _AxisTaps(positions=positions, is_input=is_input, is_counted=is_input)


def _place(per_axis: list[np.ndarray]) -> list[np.ndarray]:
    """Each axis's (windows, taps) table as `(*taps per axis, *windows per axis)` broadcastable."""
    rank = len(per_axis)
    placed = []
    for axis, table in enumerate(per_axis):
        shape = [1] * (2 * rank)
        shape[axis], shape[rank + axis] = table.shape[1], table.shape[0]
        placed.append(table.T.reshape(shape))
    return placed


def _taps_first(array: np.ndarray, rank: int) -> np.ndarray:
    """`(*taps per axis, *rest)` as `(taps, *rest)`, taps flattened in row-major window order."""
    return array.reshape((math.prod(array.shape[:rank]),) + array.shape[rank:])


def _tap_table(axes: list[_AxisTaps], per_axis: list[np.ndarray], combine) -> np.ndarray:
    """`(taps, *output_spatial)`: an N-d window is the product of its axis windows, so each
    N-d tap's entry `combine`s its axis taps' entries."""
    combined = functools.reduce(combine, _place(per_axis))
    taps = tuple(t.positions.shape[1] for t in axes)
    windows = tuple(t.positions.shape[0] for t in axes)
    return _taps_first(np.broadcast_to(combined, taps + windows), len(axes))


def _input_mask(axes: list[_AxisTaps]) -> np.ndarray:
    """A tap reads input only if it reads input along every axis."""
    return _tap_table(axes, [t.is_input for t in axes], np.logical_and)


def _flat_indices(axes: list[_AxisTaps], spatial_shape) -> np.ndarray:
    """Each tap's flat index in its (n, c) plane, unpadded; -1 where it reads no input."""
    plane_strides = [math.prod(spatial_shape[axis + 1:]) for axis in range(len(axes))]
    flat = _tap_table(axes, [t.positions * s for t, s in zip(axes, plane_strides)], np.add)
    return np.where(_input_mask(axes), flat, -1)


def _tap_counts(axes: list[_AxisTaps], include_padding: bool) -> np.ndarray:
    """Per output element, how many taps the average divides by (torch's divisor).

    A tap is counted when it is counted along every axis (a tap in the overhang along any axis
    is overhang), so the N-d count is the product of the per-axis counts.
    """
    counts = [(t.is_counted if include_padding else t.is_input).sum(axis=1) for t in axes]
    return functools.reduce(np.multiply.outer, counts)


def _against(table: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """A `(taps, *output_spatial)` table shaped to broadcast against a window array."""
    leading_rank = windows.ndim - table.ndim
    return table.reshape(table.shape[:1] + (1,) * leading_rank + table.shape[1:])


def _sliding_window_array(array, axes: list[_AxisTaps], spans, strides, dilations, fill):
    """The window array of a sliding op; positions outside the input read `fill`."""
    rank = len(axes)
    leading = array.ndim - rank
    pad_widths = [(0, 0)] * leading + [
        (-int(t.positions[0, 0]), max(0, int(t.positions[-1, -1]) + 1 - length))
        for t, length in zip(axes, array.shape[leading:])
    ]
    padded = np.pad(array, pad_widths, constant_values=fill)
    view = sliding_window_view(padded, spans, axis=tuple(range(leading, leading + rank)))
    window_counts = [t.positions.shape[0] for t in axes]
    starts = tuple(slice(0, (count - 1) * stride + 1, stride)
                   for count, stride in zip(window_counts, strides))
    dilated_taps = tuple(slice(None, None, dilation) for dilation in dilations)
    view = view[(Ellipsis,) + starts + dilated_taps]  # (*leading, *windows, *taps)
    tap_axes = range(leading + rank, leading + 2 * rank)
    return _taps_first(np.moveaxis(view, tuple(tap_axes), tuple(range(rank))), rank)


def _adaptive_window_array(array, axes: list[_AxisTaps], fill):
    """The window array of an adaptive op; surplus taps read `fill`."""
    rank = len(axes)
    leading = array.ndim - rank
    # (*leading, *taps, *windows)
    gathered = array[(Ellipsis, *_place([t.positions for t in axes]))]
    tap_axes = range(leading, leading + rank)
    windows = _taps_first(np.moveaxis(gathered, tuple(tap_axes), tuple(range(rank))), rank)
    return np.where(_against(_input_mask(axes), windows), windows, fill)


# --- Dtypes ------------------------------------------------------------------------------------


def _checked_array(input) -> np.ndarray:
    array = np.asarray(input)
    if array.dtype not in DTYPES:
        raise TypeError(f"no pooling for NumPy's {array.dtype}: the contract's dtypes are "
                        f"{', '.join(d.name for d in DTYPES)}")
    return array


def _is_integer(dtype) -> bool:
    return np.issubdtype(dtype, np.integer)


def _selection_dtype(dtype) -> np.dtype:
    """Where max/min compare: NumPy's float16 is slow and bfloat16 incomplete, and widening is
    exact, so both are compared as float64."""
    return np.dtype(np.float64) if dtype in (np.float16, BFLOAT16) else np.dtype(dtype)


def _averaging_dtype(dtype) -> np.dtype:
    """Averages sum in int64 (exactly, see `_integer_average`) or float64 (see `_float_average`)."""
    return np.dtype(np.int64 if _is_integer(dtype) else np.float64)


def _lowest(dtype):
    """What max pads with and what a max window with no input gives."""
    return np.iinfo(dtype).min if _is_integer(dtype) else -np.inf


def _highest(dtype):
    return np.iinfo(dtype).max if _is_integer(dtype) else np.inf


def _store_float(values: np.ndarray, dtype) -> np.ndarray:
    """Round float64 results to `dtype` once (round to nearest, ties to even).

    ml_dtypes converts float64 to bfloat16 through float32, rounding twice (1 + 2**-8 + 2**-30
    becomes 1.0). Rounding to float32 with round-to-odd first makes the second rounding exact,
    since float32 has more than bfloat16's precision plus two bits.
    """
    with np.errstate(over="ignore"):  # overflow to infinity is the rounding's result
        if dtype != BFLOAT16:
            return values.astype(dtype)
        nearest = values.astype(np.float32)
    inexact = np.isfinite(values) & (nearest.astype(np.float64) != values)
    even = (nearest.view(np.uint32) & 1) == 0
    toward_value = np.where(values > nearest, np.float32(np.inf), np.float32(-np.inf))
    odd = np.where(inexact & even, np.nextafter(nearest, toward_value), nearest)
    return odd.astype(BFLOAT16)


# --- Max and min -------------------------------------------------------------------------------


def _choose_extreme(windows, is_input, flat_indices, prefer_max: bool, dtype):
    """Max or min of each window and its index: NaN wins (the first NaN), else the first
    element holding the extreme, in row-major window order.

    Taps that read no input hold the fill (-inf, or the integer minimum, for max), which never
    beats an input element, so the extreme over all taps is the extreme over the input. The
    chosen tap is the first input tap equal to it, or the first NaN (the extreme is then NaN,
    which NumPy's max and min propagate); its value is read back from the window, so of -0.0 and
    0.0 the first one wins. A window with no input gives the fill and index -1.
    """
    extreme = (np.max if prefer_max else np.min)(windows, axis=0)
    candidates = windows == extreme
    if not _is_integer(windows.dtype):
        candidates |= np.isnan(windows)
    candidates &= _against(is_input, windows)
    # The first candidate, as a weighted max: far faster than argmax over a leading axis.
    tap_count = windows.shape[0]
    weight_dtype = np.min_scalar_type(tap_count) if tap_count < 2**15 else np.int64
    reversed_taps = np.arange(tap_count, 0, -1, dtype=weight_dtype).reshape(
        (tap_count,) + (1,) * (windows.ndim - 1))
    first_weight = (candidates * reversed_taps).max(axis=0)
    found = first_weight > 0
    chosen_tap = tap_count - np.where(found, first_weight, tap_count).astype(np.int64)
    values = np.where(found, _at_tap(windows, chosen_tap),
                      _lowest(dtype) if prefer_max else _highest(dtype))
    indices = np.where(found, _at_tap(flat_indices, chosen_tap), -1)
    if _is_integer(dtype):
        return values.astype(dtype), indices
    return _store_float(values, dtype), indices


def _at_tap(table: np.ndarray, tap: np.ndarray) -> np.ndarray:
    """`table[tap[i], i]` for every output element i; `table` is a window array or a
    `(taps, *output_spatial)` table, `tap` shaped like the output."""
    cells = math.prod(table.shape[1:])
    cell = np.arange(cells).reshape(table.shape[1:])  # broadcasts over leading dims if absent
    return table.reshape(-1)[tap * cells + cell]


# --- Averages ----------------------------------------------------------------------------------
#
# Floats: a fast double-double path (an unevaluated float64 pair `high + low`, about 106 bits)
# whose one rounding into the input's dtype is the correctly rounded one the oracle's exact
# fractions give, unless the pair's error, tracked alongside, could change that rounding (Ziv's
# rounding test). Those windows (sums cancelling to nearly nothing, float64 overflow, subnormal
# float64 results) are recomputed with exact fractions. Plain float64 would round twice:
# `[1e30, 1, -1e30]` sums to 0, and float32 results near a tie round the wrong way.


def _two_sum(a, b):
    """Knuth's TwoSum: `a + b == total + error` exactly, `total` the rounded sum."""
    total = a + b
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def _two_product(a, b):
    """Dekker's TwoProduct (Veltkamp splitting): `a * b == product + error` exactly."""
    def split(x):
        scaled = 134217729.0 * x  # 2**27 + 1
        high = scaled - (scaled - x)
        return high, x - high

    product = a * b
    a_high, a_low = split(a)
    b_high, b_low = split(b)
    error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    return product, error


def _add_sums(a, b):
    """Two sums `(high, low, slack)` added: exactly, but for the rounding of the `low` parts,
    which goes into the slack."""
    high, error = _two_sum(a[0], b[0])
    low, low_error = _two_sum(a[1], b[1])
    low, error_error = _two_sum(low, error)
    return high, low, a[2] + b[2] + np.abs(low_error) + np.abs(error_error)


def _compensated_sum(terms: np.ndarray):
    """Sum over the taps (axis 0) as `high + low`, within `slack`, pairwise.

    Every rounding error of the pairwise sum goes exactly into `low`; `slack` totals the
    rounding errors of adding those up, so it is 0 when `high + low` is exact.
    """
    zeros = np.broadcast_to(0.0, terms.shape)
    sums = (terms, zeros, zeros)
    while len(sums[0]) > 1:
        half = len(sums[0]) // 2
        paired = _add_sums([part[:half] for part in sums], [part[half:2 * half] for part in sums])
        if len(sums[0]) % 2:  # the unpaired last tap joins the first pair
            first = _add_sums([part[0] for part in paired], [part[-1] for part in sums])
            for part, value in zip(paired, first):
                part[0] = value
        sums = paired
    high, low, slack = (part[0] for part in sums)
    return (*_two_sum(high, low), slack)


def _float_divisor(divisor):
    """The divisor as float64, a power-of-two exponent, and whether that is exact (it is below
    2**53; only a `divisor_override` can be larger)."""
    if isinstance(divisor, int):
        exponent = max(0, abs(divisor).bit_length() - 53)
        mantissa = divisor / 2**exponent
        return np.float64(mantissa), exponent, Fraction(mantissa) * 2**exponent == divisor
    return divisor.astype(np.float64), 0, True


def _divide(high, low, divisor):
    """Double-double `(high + low) / divisor` for a float64 divisor: the quotient as a pair,
    and the residual `high + low - divisor * quotient` (up to one rounding; 0 when exact)."""
    quotient = high / divisor
    product, product_error = _two_product(quotient, divisor)
    # The remainder of a rounded division is a float64, so this is exact.
    remainder = (high - product) - product_error
    remainder, remainder_error = _two_sum(remainder, low)
    quotient_low = remainder / divisor
    product, product_error = _two_product(quotient_low, divisor)
    residual = ((remainder - product) - product_error) + remainder_error
    return (*_two_sum(quotient, quotient_low), residual)


def _round_to_odd(high, low):
    """`high + low` (with `high` its nearest float64) rounded to odd: if inexact, whichever of
    the two float64 numbers around it has an odd last bit.

    Rounding that once more to a format with at least two bits less precision gives the
    correctly rounded result, which rounding to nearest first would not.
    """
    needs_odd = (low != 0) & ((np.asarray(high).view(np.int64) & 1) == 0)
    return np.where(needs_odd, np.nextafter(high, np.copysign(np.inf, low)), high)


def _before_store(high, low, exponent, dtype):
    """`(high + low) * 2**exponent` as the float64 that `_store_float` rounds correctly."""
    value = high if dtype == np.float64 else _round_to_odd(high, low)
    return np.ldexp(value, exponent)  # exact, but for float64 results in the subnormal range


def _fast_average(terms: np.ndarray, divisor, dtype):
    """Averages of finite float64 terms, ready for `_store_float`, and where they may be wrong."""
    sum_high, sum_low, slack = _compensated_sum(terms)
    # Dividing a mantissa in [0.5, 1) keeps the arithmetic clear of overflow and underflow.
    mantissa, exponent = np.frexp(sum_high)
    scaled_low, scaled_slack = np.ldexp(sum_low, -exponent), np.ldexp(slack, -exponent)
    low_lost = np.ldexp(scaled_low, exponent) != sum_low  # underflow, by under 2**-1074
    float_divisor, divisor_exponent, divisor_exact = _float_divisor(divisor)
    high, low, residual = _divide(mantissa, scaled_low, float_divisor)
    exponent = exponent - divisor_exponent
    # An upper bound on |(high + low) - exact quotient|, made generous (a relative factor, and
    # a few of the smallest subnormals) to cover the roundings in computing it. Adding
    # 2**-50 * |low| makes sure that `low + bound` differs from `low`.
    inexact = (slack > 0) | low_lost | (residual != 0)
    error = (scaled_slack + np.abs(residual) + inexact * 2.0**-1072) / np.abs(float_divisor)
    error = error * (1 + 2.0**-40) + 2.0**-1072
    bound = np.where(inexact, error + 2.0**-50 * np.abs(low), 0.0)
    nearest, below, above = (
        _before_store(*_two_sum(high, low + shift), exponent, dtype) for shift in (0, -bound, bound)
    )
    stored_bits = [_store_float(value, dtype).view(f"u{np.dtype(dtype).itemsize}")
                   for value in (below, above)]
    hard = (stored_bits[0] != stored_bits[1]) | ~np.isfinite(nearest) | (not divisor_exact)
    if dtype == np.float64:  # the subnormal range, zero included, rounds in `ldexp` again
        hard |= (sum_high != 0) & (np.abs(nearest) < np.finfo(np.float64).tiny)
    return np.where(sum_high == 0, 0.0, nearest), hard


def _exact_average(values: list[float], divisor: int, dtype) -> float:
    """One window's average from exact fractions, as the float64 `_store_float` rounds right."""
    exact = sum(map(Fraction, values), Fraction(0)) / divisor
    if exact == 0:
        return 0.0
    try:
        nearest = float(exact)  # correctly rounded: Python divides integers exactly rounded
    except OverflowError:
        return math.copysign(math.inf, exact)
    if dtype == np.float64 or Fraction(nearest) == exact:
        return nearest
    return float(_round_to_odd(np.float64(nearest), float(exact - Fraction(nearest))))


def _float_average(windows: np.ndarray, divisor, dtype) -> np.ndarray:
    """The average of each window for floats, from float64 windows (padding = 0).

    NaN, or both infinities, give NaN; one infinity gives that infinity times the divisor's
    sign; otherwise the exact sum divided by the divisor, rounded once. An exact zero sum gives
    +0.0 (an exact zero); a nonzero quotient keeps its sign if it underflows.
    """
    finite = np.isfinite(windows)
    all_finite = finite.all(axis=0)
    terms = windows if all_finite.all() else np.where(finite, windows, 0.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        quotient, hard = _fast_average(terms, divisor, dtype)
    hard &= all_finite
    divisors = np.broadcast_to(np.asarray(divisor, dtype=object), hard.shape)
    for window in zip(*np.nonzero(hard)):
        taps = windows[(slice(None),) + window].tolist()
        quotient[window] = _exact_average(taps, int(divisors[window]), dtype)
    if not all_finite.all():
        has_nan = np.isnan(windows).any(axis=0)
        has_positive_infinity = (windows == np.inf).any(axis=0)
        has_negative_infinity = (windows == -np.inf).any(axis=0)
        divisor_sign = np.where(divisor < 0, -1, 1)
        infinity = np.where(has_positive_infinity, np.inf, -np.inf) * divisor_sign
        quotient = np.where(has_positive_infinity | has_negative_infinity, infinity, quotient)
        both_infinities = has_positive_infinity & has_negative_infinity
        quotient = np.where(has_nan | both_infinities, np.nan, quotient)
    return _store_float(quotient, dtype)


def _integer_average(windows: np.ndarray, divisor, dtype) -> np.ndarray:
    """The window sum divided by the divisor, truncated toward zero, wrapped into `dtype`.

    Exact: int64 when no sum or divisor can come near its range, Python ints otherwise.
    """
    largest_term = max(abs(int(windows.max())), abs(int(windows.min()))) if windows.size else 0
    largest_divisor = abs(divisor) if isinstance(divisor, int) else int(divisor.max(initial=1))
    if largest_term * len(windows) >= 2**62 or largest_divisor >= 2**62:
        windows = windows.astype(object)
        divisor = np.asarray(divisor).astype(object)
    total = windows.sum(axis=0)
    magnitude = np.abs(total) // np.abs(divisor)
    quotient = np.where((total < 0) != (divisor < 0), -magnitude, magnitude)
    if quotient.dtype == object:
        low, span = int(np.iinfo(dtype).min), 2 ** (8 * np.dtype(dtype).itemsize)
        quotient = (quotient - low) % span + low
    return np.asarray(quotient).astype(dtype)  # int64 -> narrower wraps modulo 2**bits


def _average(windows: np.ndarray, divisor, dtype) -> np.ndarray:
    """`windows` in `_averaging_dtype(dtype)`, zero where a tap reads no input; `divisor` an int
    or an int array over the output's spatial shape."""
    if _is_integer(dtype):
        return _integer_average(windows, divisor, dtype)
    return _float_average(windows, divisor, dtype)


# --- Op families, each for any number of spatial dimensions -----------------------------------


def _sliding_setup(op_name, spatial_dims, shape, kernel_size, stride, padding, dilation,
                   ceil_mode):
    """Checked per-axis parameters and taps."""
    _checked_shape(op_name, spatial_dims, shape)
    kernels, strides, pads, dilations = _checked_sliding(
        op_name, spatial_dims, kernel_size, stride, padding, dilation)
    spatial_shape = shape[-spatial_dims:]
    axes = [
        _sliding_taps(length, k, s, p, d, bool(ceil_mode))
        for length, k, s, p, d in zip(spatial_shape, kernels, strides, pads, dilations)
    ]
    if any(t.positions.shape[0] == 0 for t in axes):
        raise ValueError(f"{op_name}: no window fits the input {spatial_shape} (kernel "
                         f"{kernels}, padding {pads}, dilation {dilations}): output size 0")
    spans = [d * (k - 1) + 1 for k, d in zip(kernels, dilations)]
    return axes, spans, strides, dilations


def _adaptive_setup(op_name, spatial_dims, shape, output_size) -> list[_AxisTaps]:
    _checked_shape(op_name, spatial_dims, shape)
    spatial_shape = shape[-spatial_dims:]
    sizes = _checked_output_size(op_name, spatial_dims, output_size, spatial_shape)
    return [_adaptive_taps(length, size) for length, size in zip(spatial_shape, sizes)]


def _extreme_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                  return_indices=False, *, prefer_max, spatial_dims, op_name):
    array = _checked_array(input)
    axes, spans, strides, dilations = _sliding_setup(
        op_name, spatial_dims, array.shape, kernel_size, stride, padding, dilation, ceil_mode
    )
    fill = _lowest(array.dtype) if prefer_max else _highest(array.dtype)
    compared = array.astype(_selection_dtype(array.dtype), copy=False)
    windows = _sliding_window_array(compared, axes, spans, strides, dilations, fill)
    values, indices = _choose_extreme(
        windows, _input_mask(axes), _flat_indices(axes, array.shape[-spatial_dims:]),
        prefer_max, array.dtype,
    )
    return (values, indices) if return_indices else values


def _avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True, divisor_override=None, *, spatial_dims, op_name):
    """torch's AvgPool has no dilation."""
    _checked_divisor(op_name, divisor_override)
    array = _checked_array(input)
    axes, spans, strides, dilations = _sliding_setup(
        op_name, spatial_dims, array.shape, kernel_size, stride, padding, 1, ceil_mode
    )
    summed = array.astype(_averaging_dtype(array.dtype), copy=False)
    windows = _sliding_window_array(summed, axes, spans, strides, dilations, 0)
    divisor = (int(divisor_override) if divisor_override is not None
               else _tap_counts(axes, include_padding=bool(count_include_pad)))
    return _average(windows, divisor, array.dtype)


def _adaptive_avg_pool(input, output_size, *, spatial_dims, op_name):
    array = _checked_array(input)
    axes = _adaptive_setup(op_name, spatial_dims, array.shape, output_size)
    summed = array.astype(_averaging_dtype(array.dtype), copy=False)
    windows = _adaptive_window_array(summed, axes, 0)
    return _average(windows, _tap_counts(axes, include_padding=False), array.dtype)


def _adaptive_max_pool(input, output_size, return_indices=False, *, spatial_dims, op_name):
    array = _checked_array(input)
    axes = _adaptive_setup(op_name, spatial_dims, array.shape, output_size)
    compared = array.astype(_selection_dtype(array.dtype), copy=False)
    windows = _adaptive_window_array(compared, axes, _lowest(array.dtype))
    values, indices = _choose_extreme(
        windows, _input_mask(axes), _flat_indices(axes, array.shape[-spatial_dims:]),
        True, array.dtype,
    )
    return (values, indices) if return_indices else values


def _global_avg_pool(input, *, spatial_dims, op_name):
    """One window per (n, c) plane holding the whole plane."""
    array = _checked_array(input)
    _checked_shape(op_name, spatial_dims, array.shape)
    leading = array.shape[:-spatial_dims]
    plane_size = math.prod(array.shape[-spatial_dims:])
    summed = array.astype(_averaging_dtype(array.dtype), copy=False)
    planes = summed.reshape(leading + (plane_size,))
    windows = np.moveaxis(planes, -1, 0).reshape((plane_size,) + leading + (1,) * spatial_dims)
    return _average(windows, plane_size, array.dtype)


_FAMILIES = {
    "max_pool": functools.partial(_extreme_pool, prefer_max=True),
    "min_pool": functools.partial(_extreme_pool, prefer_max=False),
    "avg_pool": _avg_pool,
    "adaptive_avg_pool": _adaptive_avg_pool,
    "adaptive_max_pool": _adaptive_max_pool,
    "global_avg_pool": _global_avg_pool,
}


def _op(op_name: str):
    """The op under torch's name and signature (`torch_signatures.bind`)."""
    family, spatial_dims = split_op_name(op_name, FAMILIES)

    def op(input, *args, **kwargs):
        arguments = bind(family, spatial_dims, input, args, kwargs)  # TypeError as from torch
        result = _FAMILIES[family](input, **arguments, spatial_dims=spatial_dims,
                                   op_name=op_name)
        # Window tables come back as strided or broadcast views; the contract hands the caller
        # arrays it owns: C-contiguous and writable.
        if isinstance(result, tuple):
            return tuple(np.require(part, requirements="CW") for part in result)
        return np.require(result, requirements="CW")

    op.__name__ = op.__qualname__ = op_name
    return staticmethod(op)


class NumpyBackend:
    name = "numpy"
    version = np.__version__


for _family in FAMILIES:
    for _dims in (1, 2, 3):
        setattr(NumpyBackend, f"{_family}{_dims}d", _op(f"{_family}{_dims}d"))
del _family, _dims
