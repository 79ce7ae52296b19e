"""What a case exercises: the features that deviation signatures and coverage counts speak of.

Window facts come from the oracle's own enumeration (`reference.pooling.op_windows`), so a region
such as "ceil overhang" means exactly what the oracle means by it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from conformance.cases import Case
from reference import parameters
from reference.dtypes import FLOAT_FORMATS
from reference.pooling import op_windows
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
    "nan": "the input holds a NaN",
    "infinity": "the input holds an infinity",
    "negative_zero": "the input holds -0.0",
    "nan_in_window": "a window holds a NaN",
    "several_nan_in_window": "a window holds two or more NaNs",
    "tie_in_window": "a window's max (or min) is held by two or more elements",
    "window_sum_overflows": "the sum of |x| over a window exceeds the dtype's largest value",
    "unbatched": "the input has no batch dimension",
    "empty_batch": "the batch dimension is 0",
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
    windows = op_windows(case.op_name, case.input.shape, **case.kwargs)
    if "kernel_size" in case.kwargs:
        features.update(_sliding_features(case, windows))
    if "output_size" in case.kwargs:
        lengths = case.input.shape[-op.spatial_dims:]
        outputs = [len(axis) for axis in windows]
        features["adaptive_nondividing"] = any(size and n % size for n, size in zip(lengths, outputs))
        features["adaptive_output_larger"] = any(size > n for n, size in zip(lengths, outputs))
    features.update(_value_features(case, windows))
    return features


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
