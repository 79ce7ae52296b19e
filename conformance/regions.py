"""What a case exercises: the features that deviation signatures and coverage counts speak of.

Window facts come from the oracle's own enumeration (`reference.pooling.op_windows`), so a region
such as "ceil overhang" means exactly what the oracle means by it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from conformance.arrays import to_reference
from conformance.cases import Case
from conformance.ops import AVERAGING_FAMILIES
from conformance.tolerance import average_bound, unit_in_last_place
from reference import parameters
from reference.dtypes import FLOAT_FORMATS, store
from reference.gradients import vjp
from reference.pooling import average_divisor, op_arguments, op_windows, plane_windows
from reference.windows import INPUT, OVERHANG, ceil_mode_extra_window, full_windows

# Regions listed in the report's coverage table, each with what it means.
REGIONS = {
    "ceil_overhang": "a window runs past the padded input (ceil mode)",
    "dropped_last_window": "ceil mode's extra window starts in the right padding and is dropped",
    "window_without_input": "a window holds no input element (all padding, with dilation)",
    "mostly_padding_window": "a window holds more padding or overhang than input",
    "padding": "padding > 0 on some axis",
    "dilation": "dilation > 1 on some axis",
    "stride_gt_kernel": "stride > kernel on some axis (gaps between windows)",
    "input_shorter_than_kernel": "the unpadded input is shorter than the kernel on some axis",
    "adaptive_nondividing": "adaptive output size does not divide the input on some axis",
    "adaptive_output_larger": "adaptive output larger than the input on some axis",
    "adaptive_output_one": "adaptive output size 1 on every axis (a global pool)",
    "nan": "the input holds a NaN",
    "infinity": "the input holds an infinity",
    "negative_zero": "the input holds -0.0",
    "nan_in_window": "a window holds a NaN",
    "several_nan_in_window": "a window holds two or more NaNs",
    "tie_in_window": "a window's max (or min) is held by two or more elements",
    "window_sum_overflows": "the sum of |x| over a window exceeds the dtype's largest value",
    "no_full_window": "ceil mode, and no full window fits the padded input on some axis",
    "invalid_arguments": "the oracle rejects the arguments (invalid-argument properties)",
    "wrong_rank": "the input is neither (C, *spatial) nor (N, C, *spatial)",
    "rank_too_high": "the input has more dimensions than (N, C, *spatial)",
    "empty_channels": "the channel dimension is 0",
    "empty_spatial": "a spatial dimension is 0",
    "unbatched": "the input has no batch dimension",
    "empty_batch": "the batch dimension is 0",
    "nan_not_first_in_window": "a window holds a NaN but does not start with one (window order)",
    "window_all_lowest": "a window's input elements are all -inf (all +inf for min pooling)",
    "subnormal_result": "an output element is subnormal (a window's max, min or mean)",
    "subnormal_kernel_mean": "a window's sum divided by the kernel volume is subnormal",
    "span_exceeds_padded_input": "the dilated kernel is longer than the padded input on some axis",
    "span_exceeds_padded_input_by_stride":
        "the dilated kernel is longer than the padded input by a stride or more on some axis",
    "span_exceeds_padded_input_by_two_strides":
        "the dilated kernel is longer than the padded input by two strides or more on some axis",
    "kernel_covers_input":
        "kernel = input size, stride 1, no padding or dilation on every axis (one whole window)",
    "unit_stride_and_dilation": "stride 1 and dilation 1 on every axis",
    "window_all_nan": "a max (min) window's input elements are all NaN",
    "overhang_at_least_two": "a window runs two or more positions past the padded input",
    "constant_input": "every element of the input is the same number",
    "nan_beside_number_in_window": "a window holds both a NaN and a number (any op)",
    "nan_beside_non_nan_sum": "a window holds a NaN and numbers whose sum is not NaN",
    "uneven_padding": "the padding differs between spatial axes",
    "padding_above_half_kernel": "padding > kernel_size / 2 on some axis",
    "padding_at_least_kernel": "padding >= kernel_size on some axis",
    "adaptive_output_zero": "adaptive output size 0 on some axis (an empty output)",
    "subnormal_decides_choice":
        "reading subnormal numbers as zero changes which element a max (min) window chooses",
    "window_sum_inexact_in_dtype":
        "a 16-bit float window's sum may round or overflow when accumulated in its dtype",
    "subnormal_gradient":
        "a gradient case's share of an upstream gradient, or an element of the gradient, is "
        "subnormal",
    "window_sum_rounds_in_dtype":
        "a 16-bit float window summed in its dtype, in window order, misses the tolerance",
}


def _axis_arguments(case: Case):
    """Per-axis (length, kernel, stride, padding, dilation) of a sliding-window case."""
    kwargs = case.kwargs
    spatial_dims = case.op.spatial_dims
    kernel, strides, pads, dilations = parameters.sliding_parameters(
        case.op_name, spatial_dims, kwargs["kernel_size"], kwargs.get("stride"),
        kwargs.get("padding", 0), kwargs.get("dilation", 1),
    )
    lengths = case.input.shape[-spatial_dims:]
    return list(zip(lengths, kernel, strides, pads, dilations))


def case_features(case: Case) -> dict:
    """Everything a signature may test: op, dtype, parameters, and region flags."""
    key = _cache_key(case)
    if key is not None:
        digest = hashlib.blake2b(case.input.tobytes(), digest_size=16).digest()
        key = ("features", case.dtype, digest) + key
    features = dict(_cached(key, lambda: _case_features(case)))
    # Outside the cache, whose key is the forward case: it depends on the upstream gradient.
    features["subnormal_gradient"] = _subnormal_gradient(case)
    return features


def _subnormal_gradient(case: Case) -> bool:
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
        windows = _op_windows(case)
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


def _case_features(case: Case) -> dict:
    op = case.op
    features = {
        "op": case.op_name,
        "family": op.family,
        "spatial_dims": op.spatial_dims,
        "dtype": case.dtype,
        "unbatched": case.input.ndim == op.spatial_dims + 1,
        "empty_batch": case.input.ndim == op.spatial_dims + 2 and case.input.shape[0] == 0,
        "ceil_mode": bool(case.kwargs.get("ceil_mode", False)),
        "count_include_pad": bool(case.kwargs.get("count_include_pad", True)),
        "divisor_override": case.kwargs.get("divisor_override") is not None,
        "return_indices": bool(case.kwargs.get("return_indices", False)),
    }
    features.update({region: False for region in REGIONS if region not in features})
    features.update(_shape_features(case))
    features.update(_kernel_reach_features(case))
    try:
        windows = _op_windows(case)
        parameters.check_divisor_override(case.op_name, case.kwargs.get("divisor_override"))
    except (TypeError, ValueError):
        features["invalid_arguments"] = True
        return features
    if "kernel_size" in case.kwargs:
        features.update(_sliding_features(case, windows))
    if "output_size" in case.kwargs:
        lengths = case.input.shape[-op.spatial_dims:]
        outputs = [len(axis) for axis in windows]
        features["adaptive_nondividing"] = any(size and n % size for n, size in zip(lengths, outputs))
        features["adaptive_output_larger"] = any(size > n for n, size in zip(lengths, outputs))
    features.update(_input_value_features(case))
    for gathered in _gather(case, windows):
        for name, value in itertools.chain(_value_features(case, gathered).items(),
                                           _window_value_features(case, gathered).items()):
            features[name] = features[name] or value
    features.update(_overhang_features(case, windows))
    return features


# Window enumerations and gather tables by (op, input shape, arguments): Hypothesis draws the
# same geometry for many cases (and shrinking replays it), and the oracle's enumeration is pure.
_WINDOW_CACHE: dict = {}
_CACHE_SIZE = 512
# The float64 sum of n terms is within n * 2**-52 * (sum of their magnitudes) of the exact sum.
_GAMMA_FACTOR = 2.0 ** -52
# Windows gathered at once: planes x windows x window slots, in float64.
_GATHER_ELEMENTS = 1 << 21


def _cache_key(case: Case):
    try:
        return (case.op_name, case.input.shape, repr(sorted(case.kwargs.items())))
    except TypeError:
        return None


def _cached(key, build):
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


def _op_windows(case: Case):
    """The oracle's windows for the case (a ValueError or TypeError for invalid arguments)."""
    key = _cache_key(case)

    def build():
        try:
            return op_windows(case.op_name, case.input.shape, **case.kwargs)
        except (TypeError, ValueError) as error:
            return error

    windows = _cached(None if key is None else ("windows",) + key, build)
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

    key = _cache_key(case)
    return _cached(None if key is None else ("table",) + key, build)


@dataclass
class _Gathered:
    """Some windows' elements for every (n, c) plane, in float64: block[plane, window, slot]."""

    block: np.ndarray
    valid: np.ndarray
    first: np.ndarray
    divisor: np.ndarray  # each window's average divisor (averages only)
    volume: np.ndarray
    window_size: int
    best: np.ndarray | None = None  # each window's max (min), NaN where it holds a NaN


def _gather(case: Case, windows):
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
        gathered = _Gathered(block, valid, table.first[part], divisor,
                             table.volume[part].astype(float), table.window_size)
        if chooses:
            fill = np.inf if minimum else -np.inf
            with np.errstate(invalid="ignore"):
                reduce = np.min if minimum else np.max
                gathered.best = reduce(np.where(valid, block, fill), axis=-1)
        yield gathered


def _floating(values: np.ndarray) -> bool:
    return values.dtype.kind == "f" or values.dtype.name == "bfloat16"


def _shape_features(case: Case) -> dict:
    shape, spatial_dims = case.input.shape, case.op.spatial_dims
    output_size = case.kwargs.get("output_size")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * spatial_dims
    lengths = shape[-spatial_dims:] if len(shape) >= spatial_dims else ()
    resolved = [length if size is None else size for size, length in zip(sizes, lengths)]
    features = {"adaptive_output_one": output_size is not None and resolved == [1] * spatial_dims}
    if len(shape) not in (spatial_dims + 1, spatial_dims + 2):
        return {**features, "wrong_rank": True, "rank_too_high": len(shape) > spatial_dims + 2}
    return {
        **features,
        "empty_channels": shape[-spatial_dims - 1] == 0,
        "empty_spatial": 0 in shape[-spatial_dims:],
    }


def _sliding_features(case, windows) -> dict:
    axes = _axis_arguments(case)
    ceil_mode = bool(case.kwargs.get("ceil_mode", False))
    dropped = ceil_mode and any(
        extra is not None and not taken
        for extra, taken in (
            ceil_mode_extra_window(full_windows(*axis), *axis) for axis in axes
        )
    )
    input_counts = [[w.kinds.count(INPUT) for w in axis] for axis in windows]
    window_sizes = [len(axis[0].positions) for axis in windows]
    return {
        "ceil_overhang": any(OVERHANG in w.kinds for axis in windows for w in axis),
        "dropped_last_window": dropped,
        "no_full_window": ceil_mode and any(not full_windows(*axis) for axis in axes),
        "window_without_input": any(0 in counts for counts in input_counts),
        "mostly_padding_window": any(
            2 * math.prod(counts) < math.prod(window_sizes)
            for counts in itertools.product(*input_counts)
        ),
        "padding": any(axis[3] > 0 for axis in axes),
        "dilation": any(axis[4] > 1 for axis in axes),
        "stride_gt_kernel": any(axis[2] > axis[1] for axis in axes),
        "input_shorter_than_kernel": any(axis[0] < axis[1] for axis in axes),
    }


def _input_value_features(case) -> dict:
    values = case.input
    floating = _floating(values)
    wide = values.astype(np.float64) if floating else values
    return {
        "nan": bool(floating and np.isnan(wide).any()),
        "infinity": bool(floating and np.isinf(wide).any()),
        "negative_zero": bool(floating and np.any((wide == 0) & np.signbit(wide))),
    }


def _value_features(case, gathered) -> dict:
    floating = _floating(case.input)
    block, valid = gathered.block, gathered.valid
    largest = FLOAT_FORMATS[case.dtype].max_finite if floating else np.inf
    features = {}
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.where(valid & np.isfinite(block), np.abs(block), 0)
        features["window_sum_overflows"] = bool(np.any(finite.sum(axis=-1) > largest))
    if not case.op.chooses:
        return features
    nan_counts = (np.isnan(block) & valid).sum(axis=-1) if floating else np.zeros(1)
    best = gathered.best
    ties = ((block == best[..., None]) & valid).sum(axis=-1) > 1
    features["nan_in_window"] = bool(np.any(nan_counts >= 1))
    features["several_nan_in_window"] = bool(np.any(nan_counts >= 2))
    features["tie_in_window"] = bool(np.any(ties))
    return features


# --- Features for finer signatures: window order, limits of the value range, kernel reach -------


def _kernel_reach_features(case: Case) -> dict:
    """How far the kernel reaches past the padded input, and how the padding compares with the
    kernel, from the arguments alone: computed for invalid arguments too, where the oracle's
    window enumeration refuses them. (And whether an adaptive output size is 0.)"""
    if "output_size" in case.kwargs:
        sizes = case.kwargs["output_size"]
        sizes = sizes if isinstance(sizes, (tuple, list)) else (sizes,)
        return {"adaptive_output_zero": any(size == 0 and size is not False for size in sizes)}
    if "kernel_size" not in case.kwargs:
        return {}
    spatial_dims = case.op.spatial_dims
    try:
        arguments = op_arguments(case.op_name, **case.kwargs)
        kernel = parameters.per_axis(case.op_name, "kernel_size", arguments["kernel_size"],
                                     spatial_dims)
        stride = arguments["stride"]
        strides = kernel if stride is None or stride == () or stride == [] else (
            parameters.per_axis(case.op_name, "stride", stride, spatial_dims))
        pads = parameters.per_axis(case.op_name, "padding", arguments["padding"], spatial_dims)
        dilations = parameters.per_axis(case.op_name, "dilation", arguments.get("dilation", 1),
                                        spatial_dims)
    except (TypeError, ValueError):
        return {}
    features = {
        "unit_stride_and_dilation": all(s == 1 and d == 1 for s, d in zip(strides, dilations)),
        "uneven_padding": len(set(pads)) > 1,
    }
    if all(k > 0 for k in kernel) and all(p >= 0 for p in pads):
        features["padding_above_half_kernel"] = any(p > k // 2 for p, k in zip(pads, kernel))
        features["padding_at_least_kernel"] = any(p >= k for p, k in zip(pads, kernel))
    if len(case.input.shape) < spatial_dims or not all(
            value > 0 for value in kernel + strides + dilations) or any(p < 0 for p in pads):
        return features
    lengths = case.input.shape[-spatial_dims:]
    # How far the dilated kernel runs past the padded input when it starts at -padding.
    excess = [d * (k - 1) + 1 - (length + 2 * p)
              for length, k, p, d in zip(lengths, kernel, pads, dilations)]
    features["span_exceeds_padded_input"] = any(e > 0 for e in excess)
    features["span_exceeds_padded_input_by_stride"] = any(
        e >= s for e, s in zip(excess, strides))
    features["span_exceeds_padded_input_by_two_strides"] = any(
        e >= 2 * s for e, s in zip(excess, strides))
    features["kernel_covers_input"] = all(
        k == length and s == 1 and p == 0 and d == 1
        for length, k, s, p, d in zip(lengths, kernel, strides, pads, dilations))
    return features


def _window_value_features(case: Case, gathered) -> dict:
    """Window facts that depend on the order of a window's elements, on the ends of the value
    range (infinities, subnormal numbers), and on the value each window's result takes."""
    if gathered is None or not _floating(case.input):
        return {}
    block, valid = gathered.block, gathered.valid
    smallest_normal = math.ldexp(1, FLOAT_FORMATS[case.dtype].min_exponent)
    chooses, minimum = case.op.chooses, case.op.family == "min_pool"
    nans = np.isnan(block) & valid
    any_nan = nans.any(axis=-1)
    all_nan = (nans | ~valid).all(axis=-1)
    mixed_rows = any_nan & ~all_nan
    both_infinities = ((block == np.inf) & valid).any(axis=-1) & (
        (block == -np.inf) & valid).any(axis=-1)
    features = {
        "nan_beside_number_in_window": bool(np.any(mixed_rows)),
        "nan_beside_non_nan_sum": bool(np.any(mixed_rows & ~both_infinities)),
    }
    if chooses:
        lowest = np.inf if minimum else -np.inf
        best = gathered.best
        with np.errstate(invalid="ignore"):
            tiny = (np.abs(best) > 0) & (np.abs(best) < smallest_normal)
        # The first element in window order is each window's first valid slot.
        first = np.take_along_axis(block, gathered.first[None, :, None], axis=-1)[..., 0]
        plain = np.where(valid, block, lowest)
        flushed = np.where(np.abs(plain) < smallest_normal, 0.0, plain)
        pick = np.argmin if minimum else np.argmax  # the first extreme, as the oracle
        decides = (pick(plain, axis=-1) != pick(flushed, axis=-1)) & ~any_nan
        features.update({
            "subnormal_result": bool(np.any(tiny)),
            "nan_not_first_in_window": bool(np.any(any_nan & ~np.isnan(first))),
            "window_all_lowest": bool(np.any(((block == lowest) | ~valid).all(axis=-1))),
            "subnormal_decides_choice": bool(np.any(decides)),
            "window_all_nan": bool(np.any(all_nan)),
        })
        return features
    finite_rows = (np.isfinite(block) | ~valid).all(axis=-1)
    features.update(_subnormal_mean_features(case, gathered, finite_rows, smallest_normal))
    if case.dtype in ("float16", "bfloat16"):
        features.update(_narrow_sum_features(case, gathered, finite_rows))
    return features


def _subnormal_mean_features(case, gathered, finite_rows, smallest_normal) -> dict:
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


def _narrow_sum_features(case, gathered, finite_rows) -> dict:
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


def _overhang_features(case: Case, windows) -> dict:
    values = case.input
    features = {"constant_input": bool(values.size) and bool(np.all(values == values.flat[0]))}
    if "kernel_size" in case.kwargs:
        features["overhang_at_least_two"] = any(
            w.kinds.count(OVERHANG) >= 2 for axis_windows in windows for w in axis_windows)
    return features
