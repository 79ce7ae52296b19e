"""What a case exercises: the features that deviation signatures and coverage counts speak of.

Window facts come from the oracle's own enumeration (`reference.pooling.op_windows`), so a region
such as "ceil overhang" means exactly what the oracle means by it.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

from conformance.cases import Case
from conformance.tolerance import average_bound
from reference import parameters
from reference.dtypes import FLOAT_FORMATS, store
from reference.pooling import op_arguments, op_windows
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
    "window_lane_sum_rounds_in_dtype":
        "a 16-bit float window summed in 8 SIMD lanes in its dtype misses the tolerance",
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
        windows = op_windows(case.op_name, case.input.shape, **case.kwargs)
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
    features.update(_value_features(case, windows))
    features.update(_window_value_features(case, windows))
    features.update(_overhang_features(case, windows))
    return features


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


def _value_features(case, windows) -> dict:
    values = case.input
    floating = values.dtype.kind == "f" or values.dtype.name == "bfloat16"
    wide = values.astype(np.float64) if floating else values
    features = {
        "nan": bool(floating and np.isnan(wide).any()),
        "infinity": bool(floating and np.isinf(wide).any()),
        "negative_zero": bool(floating and np.any((wide == 0) & np.signbit(wide))),
    }
    if values.size == 0:
        return features
    spatial_dims = case.op.spatial_dims
    planes = wide.reshape((-1,) + values.shape[-spatial_dims:]).astype(np.float64)
    largest = FLOAT_FORMATS[case.dtype].max_finite if floating else np.inf
    nan_counts, ties, overflows = [], False, False
    for axis_windows in itertools.product(*windows):
        inputs = [[p for p, kind in zip(w.positions, w.kinds) if kind == INPUT] for w in axis_windows]
        if not all(inputs):
            continue
        block = planes[(slice(None),) + np.ix_(*inputs)].reshape(planes.shape[0], -1)
        finite = np.where(np.isfinite(block), np.abs(block), 0)
        overflows = overflows or bool(np.any(finite.sum(axis=1) > largest))
        nan_counts.append(np.isnan(block).sum(axis=1).max() if floating else 0)
        best = np.max(block, axis=1) if case.op.family != "min_pool" else np.min(block, axis=1)
        ties = ties or bool(np.any((block == best[:, None]).sum(axis=1) > 1))
    features["window_sum_overflows"] = overflows
    if not case.op.chooses:
        return features
    features["nan_in_window"] = bool(nan_counts) and max(nan_counts) >= 1
    features["several_nan_in_window"] = bool(nan_counts) and max(nan_counts) >= 2
    features["tie_in_window"] = ties
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


def _window_value_features(case: Case, windows) -> dict:
    """Window facts that depend on the order of a window's elements, on the ends of the value
    range (infinities, subnormal numbers), and on the value each window's result takes."""
    values = case.input
    if values.dtype.kind != "f" and values.dtype.name != "bfloat16":
        return {}
    smallest_normal = math.ldexp(1, FLOAT_FORMATS[case.dtype].min_exponent)
    wide = values.astype(np.float64)
    if values.size == 0:
        return {}
    spatial_dims = case.op.spatial_dims
    planes = wide.reshape((-1,) + values.shape[-spatial_dims:])
    chooses, minimum = case.op.chooses, case.op.family == "min_pool"
    lowest = np.inf if minimum else -np.inf
    override = case.kwargs.get("divisor_override")
    include_pad = bool(case.kwargs.get("count_include_pad", True))
    nan_late = all_lowest = subnormal_result = rounds_in_dtype = subnormal_decides = False
    lane_rounds_in_dtype = False
    kernel_mean_subnormal = False
    all_nan = mixed = summable = False
    narrow = None if chooses or case.dtype not in ("float16", "bfloat16") else values.dtype.type
    window_size = math.prod(max((len(w.positions) for w in axis), default=0) for axis in windows)
    for axis_windows in itertools.product(*windows):
        inputs = [[p for p, kind in zip(w.positions, w.kinds) if kind == INPUT]
                  for w in axis_windows]
        if not all(inputs):
            continue
        block = planes[(slice(None),) + np.ix_(*inputs)].reshape(planes.shape[0], -1)
        nans = np.isnan(block)
        mixed_rows = nans.any(axis=1) & ~nans.all(axis=1)
        mixed = mixed or bool(np.any(mixed_rows))
        both_infinities = np.any(block == np.inf, axis=1) & np.any(block == -np.inf, axis=1)
        summable = summable or bool(np.any(mixed_rows & ~both_infinities))
        if chooses:
            nan_late = nan_late or bool(np.any(nans.any(axis=1) & ~nans[:, 0]))
            all_lowest = all_lowest or bool(np.any((block == lowest).all(axis=1)))
            all_nan = all_nan or bool(np.any(nans.all(axis=1)))
            best = np.where(nans.any(axis=1), np.nan,
                            np.min(block, axis=1) if minimum else np.max(block, axis=1))
            with np.errstate(invalid="ignore"):
                tiny = (np.abs(best) > 0) & (np.abs(best) < smallest_normal)
            subnormal_result = subnormal_result or bool(np.any(tiny))
            if not subnormal_decides:
                plain = block[~nans.any(axis=1)]
                flushed = np.where(np.abs(plain) < smallest_normal, 0.0, plain)
                pick = np.argmin if minimum else np.argmax  # the first extreme, as the oracle
                subnormal_decides = bool(np.any(pick(plain, axis=1) != pick(flushed, axis=1)))
            continue
        inside = math.prod(sum(kind != OVERHANG for kind in w.kinds) for w in axis_windows)
        elements = block.shape[1]
        divisor = override if override is not None else (inside if include_pad else elements)
        if narrow is not None and not rounds_in_dtype:
            rounds_in_dtype = _sum_rounds_in_dtype(block, narrow, divisor, window_size, case.dtype)
        if narrow is not None and not lane_rounds_in_dtype:
            lane_rounds_in_dtype = _sum_rounds_in_dtype(block, narrow, divisor, window_size,
                                                        case.dtype, lanes=8)
        if subnormal_result and kernel_mean_subnormal:
            continue
        volume = math.prod(len(w.positions) for w in axis_windows)
        for row in block[np.isfinite(block).all(axis=1)]:
            try:
                total = math.fsum(row)  # correctly rounded: 0 only where the exact sum is 0
            except OverflowError:
                continue  # a sum past float64's range has no subnormal mean
            if total == 0:
                continue
            exact = None
            for by in (divisor, volume):
                if abs(total / by) < 2 * smallest_normal:
                    if exact is None:
                        exact = Fraction(sum(map(Fraction, row.tolist())))
                    stored = store(exact / by, case.dtype)
                    if 0 < abs(stored) < smallest_normal:
                        if by == divisor:
                            subnormal_result = True
                        if by == volume:
                            kernel_mean_subnormal = True
    features = {"subnormal_result": subnormal_result}
    features["subnormal_kernel_mean"] = kernel_mean_subnormal
    features["window_sum_rounds_in_dtype"] = rounds_in_dtype
    features["window_lane_sum_rounds_in_dtype"] = lane_rounds_in_dtype
    features["nan_beside_number_in_window"] = mixed
    features["nan_beside_non_nan_sum"] = summable
    if chooses:
        features["nan_not_first_in_window"] = nan_late
        features["window_all_lowest"] = all_lowest
        features["subnormal_decides_choice"] = subnormal_decides
        features["window_all_nan"] = all_nan
    return features


def _sum_rounds_in_dtype(block, narrow, divisor: int, window_size: int, dtype: str,
                         lanes: int = 1) -> bool:
    """Whether a mean accumulated and divided in the 16-bit dtype itself lands further from a
    window's exact mean than an average's tolerance allows. With one lane the sum runs element
    by element in window order; with `lanes`, as a SIMD reduction does: element i goes to lane
    i % lanes while whole vectors remain, the rest to a scalar sum, and the lanes are added up
    in float32 and rounded once before joining the scalar sum."""
    for row in block[np.isfinite(block).all(axis=1)]:
        running = _narrow_sum(row.astype(narrow), narrow, lanes)
        if not np.isfinite(running):
            return True
        exact = Fraction(sum(map(Fraction, row.tolist())))
        expected = np.array(float(store(exact / divisor, dtype)))
        mean_abs = np.array(float(sum(map(Fraction, np.abs(row).tolist())) / abs(divisor)))
        bound = average_bound(expected, mean_abs, window_size, dtype)
        with np.errstate(over="ignore"):
            mean = narrow(np.float32(running) / np.float32(divisor))  # divided in the dtype too
        if abs(float(mean) - float(expected)) > float(bound):
            return True
    return False


def _overhang_features(case: Case, windows) -> dict:
    values = case.input
    features = {"constant_input": bool(values.size) and bool(np.all(values == values.flat[0]))}
    if "kernel_size" in case.kwargs:
        features["overhang_at_least_two"] = any(
            w.kinds.count(OVERHANG) >= 2 for axis_windows in windows for w in axis_windows)
    return features


def _narrow_sum(values, narrow, lanes: int):
    with np.errstate(over="ignore", invalid="ignore"):
        vectorised = (len(values) // lanes) * lanes if lanes > 1 else 0
        lane_sums = [narrow(0)] * lanes
        for start in range(0, vectorised, lanes):
            lane_sums = [narrow(total + value)
                         for total, value in zip(lane_sums, values[start:start + lanes])]
        scalar = narrow(0)
        for value in values[vectorised:]:
            scalar = narrow(scalar + value)
        if not vectorised:
            return scalar
        across = np.float32(0)
        for total in lane_sums:
            across = np.float32(across + np.float32(total))
        return narrow(np.float32(scalar) + np.float32(narrow(across)))
