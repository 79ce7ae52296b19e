"""Regions decided by a case's shape and arguments alone: ceil overhang, dropped windows, padding,
dilation, how far the kernel reaches past the input, adaptive sizes."""

from __future__ import annotations

import itertools
import math

import numpy as np

from conformance.engine.cases import Case
from conformance.engine.regions.catalogue import LARGE_WINDOW
from conformance.engine.regions.windows import axis_arguments
from reference import parameters
from reference.pooling import op_arguments
from reference.windows import INPUT, OVERHANG, ceil_mode_extra_window, full_windows


def shape_features(case: Case) -> dict:
    shape, spatial_dims = case.input.shape, case.op.spatial_dims
    output_size = case.kwargs.get("output_size")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * spatial_dims
    lengths = shape[-spatial_dims:] if len(shape) >= spatial_dims else ()
    resolved = [length if size is None else size for size, length in zip(sizes, lengths)]
    features = {"adaptive_output_one": output_size is not None and resolved == [1] * spatial_dims}
    if output_size is not None:
        features.update(adaptive_size_features(lengths, resolved))
    if len(shape) not in (spatial_dims + 1, spatial_dims + 2):
        return {**features, "wrong_rank": True, "rank_too_high": len(shape) > spatial_dims + 2,
                "spatial_axes_only": len(shape) == spatial_dims}
    return {
        **features,
        "empty_channels": shape[-spatial_dims - 1] == 0,
        "empty_spatial": 0 in shape[-spatial_dims:],
    }


def sliding_features(case, windows) -> dict:
    axes = axis_arguments(case)
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


def spelling_features(case: Case) -> dict:
    """How the arguments are written, beyond what they mean: computed for invalid arguments
    too. (Frameworks and exporters that expand an int to every axis may not expand a one-entry
    tuple.)"""
    return {"one_entry_window_tuple": case.op.spatial_dims > 1 and any(
        isinstance(value, (tuple, list)) and len(value) == 1
        for value in (case.kwargs.get(name) for name in ("kernel_size", "stride", "dilation")))}


def kernel_reach_features(case: Case) -> dict:
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
    kernel_entries = case.kwargs["kernel_size"]
    kernel_entries = kernel_entries if isinstance(kernel_entries, (tuple, list)) else (
        kernel_entries,)
    non_integer = {"non_integer_kernel": any(isinstance(k, float) for k in kernel_entries)}
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
        return non_integer
    features = {
        **non_integer,
        "unit_stride_and_dilation": all(s == 1 and d == 1 for s, d in zip(strides, dilations)),
        "uneven_padding": len(set(pads)) > 1,
        "negative_padding": any(p < 0 for p in pads),
        "dilation": any(d > 1 for d in dilations),  # for invalid arguments too
        "padding_crops_past_the_input": len(case.input.shape) >= spatial_dims and any(
            length + 2 * p < 0 for length, p in zip(case.input.shape[-spatial_dims:], pads)),
        "zero_divisor": type(arguments.get("divisor_override")) is int
        and arguments["divisor_override"] == 0,
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


def overhang_features(case: Case, windows) -> dict:
    values = case.input
    features = {"constant_input": bool(values.size) and bool(np.all(values == values.flat[0]))}
    if "kernel_size" in case.kwargs:
        features["overhang_at_least_two"] = any(
            w.kinds.count(OVERHANG) >= 2 for axis_windows in windows for w in axis_windows)
    return features


def adaptive_size_features(lengths, outputs) -> dict:
    """From the output size as given (None resolved to the input's length), not from windows:
    an invalid call (0 channels, say) takes a different lowering by these too (torch.compile's
    adaptive max pool delegates an evenly divided one to max_pool2d_with_indices)."""
    if len(outputs) != len(lengths) or not all(type(size) is int for size in outputs):
        return {}
    return {
        "adaptive_nondividing": any(size > 0 and n % size for n, size in zip(lengths, outputs)),
        "adaptive_output_larger": any(size > n for n, size in zip(lengths, outputs)),
    }


def window_volume_features(windows) -> dict:
    """Whether the largest window, counting every position it spans (input, padding and
    overhang), reaches LARGE_WINDOW."""
    volume = math.prod(max((len(w.positions) for w in axis), default=0) for axis in windows)
    return {"large_window": volume >= LARGE_WINDOW}
