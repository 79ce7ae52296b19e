"""The features of a case in a dialect other than torch: the same regions, decided from the
dialect's plan (reference.dialects: its windows and per-axis geometry), and the regions of the
dialect's own parameters (SAME/VALID, asymmetric pads, storage_order, data_format, ...)."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from conformance.engine.cases import Case
from conformance.engine.dialects import case_plan
from conformance.engine.regions.catalogue import REGIONS
from conformance.engine.regions.values import (
    input_value_features, value_features, window_value_features,
)
from conformance.engine.regions.windows import gather_windows
from reference.dialects import tf
from reference.dtypes import FLOAT_FORMATS
from reference.dialects.plan import TENSOR_PLANE_COLUMN_MAJOR, channels_first_axes
from reference.windows import INPUT, OVERHANG


def dialect_features(case: Case) -> dict:
    kwargs = case.kwargs
    op = case.op
    padding = _padding_word(kwargs)
    features = {region: False for region in REGIONS}
    features.update({
        "op": case.op_name, "family": op.family, "spatial_dims": op.spatial_dims,
        "dtype": case.dtype, "dialect": case.dialect, "opset": kwargs.get("opset"),
        "ceil_mode": bool(kwargs.get("ceil_mode", False)),
        "count_include_pad": bool(kwargs.get("count_include_pad", False)),
        "divisor_override": False,
        "return_indices": bool(kwargs.get("return_indices", False)),
        "same_padding": padding == "SAME",
        "same_lower": kwargs.get("auto_pad") == "SAME_LOWER",
        "valid_padding": padding == "VALID",
        "auto_pad_with_ceil_mode": padding in ("SAME", "VALID") and bool(kwargs.get("ceil_mode")),
        "column_major_indices": kwargs.get("storage_order") == 1,
        "channels_first": kwargs.get("data_format") in ("channels_first", "NCW", "NCHW",
                                                         "NCDHW"),
        "global_keepdims_false": op.family.startswith("global") and case.dialect == "keras"
                                 and not kwargs.get("keepdims", False),
        "empty_batch": case.input.ndim > 0 and case.input.shape[0] == 0,
        "data_format_of_another_rank": _format_of_another_rank(case),
        "window_over_batch_or_channels": _over_batch_or_channels(case),
        "pads_with_auto_pad": kwargs.get("pads") is not None
                              and kwargs.get("auto_pad", "NOTSET") != "NOTSET",
    })
    try:
        plan = case_plan(case)
    except (TypeError, ValueError):
        features["invalid_arguments"] = True
        return features
    features.update(_geometry_features(plan, padding))
    features["dropped_last_window"] = _ceil_formula_counts_more(plan, kwargs, padding)
    features.update(_window_features(plan))
    proxy = _channels_first_proxy(case, plan)
    features.update(input_value_features(proxy))
    for gathered in gather_windows(proxy, [list(axis) for axis in plan.windows]):
        for name, value in itertools.chain(value_features(proxy, gathered).items(),
                                           window_value_features(proxy, gathered).items()):
            features[name] = features[name] or value
        if op.family == "lp_pool":
            features["lp_power_sum_out_of_range"] |= _lp_power_sum_out_of_range(
                gathered, case.dtype, kwargs.get("p", 2))
    return features


def _lp_power_sum_out_of_range(gathered, dtype: str, p) -> bool:
    """Whether some finite window's exact sum of |x|^p is below half the dtype's smallest
    subnormal (it rounds to 0) or above its largest finite number, while its norm, the sum's
    p-th root, is neither. Decided in log2, after scaling by the window's largest |x|, so the test
    itself neither underflows nor overflows."""
    fmt = FLOAT_FORMATS.get(dtype)
    if fmt is None or not isinstance(p, int) or p < 1:
        return False
    magnitude = np.where(gathered.valid, np.abs(gathered.block), 0.0)
    largest = magnitude.max(axis=-1)
    rows = np.isfinite(magnitude).all(axis=-1) & (largest > 0)
    if not rows.any():
        return False
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = ((magnitude / np.where(rows, largest, 1.0)[..., None]) ** p).sum(axis=-1)
        log2_sum = p * np.log2(np.where(rows, largest, 1.0)) + np.log2(np.where(rows, scaled, 1.0))
    low, high = math.log2(fmt.smallest_subnormal) - 1, math.log2(fmt.max_finite)
    representable_norm = (log2_sum / p >= low) & (log2_sum / p <= high)
    return bool(np.any(rows & representable_norm & ((log2_sum < low) | (log2_sum > high))))


def _format_of_another_rank(case: Case) -> bool:
    data_format = case.kwargs.get("data_format")
    if case.dialect != "tf" or data_format is None:
        return False
    layouts = {n: (tf.CHANNELS_LAST[n], tf.CHANNELS_FIRST[n]) for n in tf.CHANNELS_LAST}
    own = layouts.get(case.input.ndim - 2, ())
    return data_format not in own and any(data_format in pair for pair in layouts.values())


def _over_batch_or_channels(case: Case) -> bool:
    if case.dialect != "tf":
        return False
    dims = case.input.ndim - 2
    last = case.kwargs.get("data_format") in (None, *tf.CHANNELS_LAST.values())
    for name in ("ksize", "strides"):
        value = case.kwargs.get(name)
        if isinstance(value, (list, tuple)) and len(value) == dims + 2:
            outer = (value[0], value[-1]) if last else (value[0], value[1])
            if outer != (1, 1):
                return True
    return False


def _padding_word(kwargs) -> str | None:
    """SAME, VALID or None (explicit padding), whatever the dialect spells it."""
    word = kwargs.get("auto_pad", kwargs.get("padding"))
    if not isinstance(word, str):
        return None
    word = word.upper()
    return "SAME" if word.startswith("SAME") else "VALID" if word == "VALID" else None


def _geometry_features(plan, padding) -> dict:
    axes = plan.geometry
    if not axes:
        return {}
    return {
        "padding": any(a.before or a.after for a in axes),
        "asymmetric_padding": any(a.before != a.after for a in axes),
        "same_odd_total_padding": padding == "SAME" and any((a.before + a.after) % 2 for a in axes),
        "padding_at_least_kernel": any(max(a.before, a.after) >= a.kernel for a in axes),
        "padding_above_half_kernel": any(max(a.before, a.after) > a.kernel // 2 for a in axes),
        "uneven_padding": len({(a.before, a.after) for a in axes}) > 1,
        "dilation": any(a.dilation > 1 for a in axes),
        "dilation_with_same": padding == "SAME" and any(a.dilation > 1 for a in axes),
        "same_negative_padding": padding == "SAME" and any(
            (-(-a.length // a.stride) - 1) * a.stride + a.dilation * (a.kernel - 1) + 1
            < a.length for a in axes),
        "stride_gt_kernel": any(a.stride > a.kernel for a in axes),
        "input_shorter_than_kernel": any(a.length < a.kernel for a in axes),
        "span_exceeds_padded_input": any(
            a.dilation * (a.kernel - 1) + 1 > a.length + a.before + a.after for a in axes),
        "unit_stride_and_dilation": all(a.stride == 1 and a.dilation == 1 for a in axes),
        "same_length_not_multiple_of_stride": padding == "SAME" and any(
            a.length % a.stride for a in axes),
    }


def _ceil_formula_counts_more(plan, kwargs, padding) -> bool:
    """ONNX ceil mode with explicit pads: the output-size formula, ceil((L + pads - span) /
    stride + 1), counts a window that starts in the right padding, which is ignored."""
    if padding is not None or not kwargs.get("ceil_mode") or not plan.geometry:
        return False
    for axis, windows in zip(plan.geometry, plan.windows):
        span = axis.dilation * (axis.kernel - 1) + 1
        counted = -(-(axis.length + axis.before + axis.after - span) // axis.stride) + 1
        if counted > len(windows):
            return True
    return False


def _window_features(plan) -> dict:
    input_counts = [[w.kinds.count(INPUT) for w in axis] for axis in plan.windows]
    window_sizes = [len(axis[0].positions) for axis in plan.windows]
    return {
        "ceil_overhang": any(OVERHANG in w.kinds for axis in plan.windows for w in axis),
        "window_without_input": any(0 in counts for counts in input_counts),
        "mostly_padding_window": any(
            2 * math.prod(counts) < math.prod(window_sizes)
            for counts in itertools.product(*input_counts)),
        "column_major_indices": plan.indices == TENSOR_PLANE_COLUMN_MAJOR,
    }


def _channels_first_proxy(case: Case, plan) -> Case:
    """The case's input in (N, C, *spatial) order, with the plan's divisor rule, for the value
    regions' gathering (conformance.engine.regions.windows), which reads planes that way."""
    x = case.input
    if plan.channels_last and x.ndim >= 3:
        x = np.ascontiguousarray(np.transpose(x, channels_first_axes(x.ndim)))
    kwargs = {**case.kwargs, "count_include_pad": plan.count_include_pad}
    return dataclasses.replace(case, input=x, kwargs=kwargs)
