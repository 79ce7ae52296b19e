"""Regions decided by the input's values, window by window: NaN, infinities, ties, window order,
and (through precision.py) subnormal and inexact averages."""

from __future__ import annotations

import math

import numpy as np

from conformance.engine.cases import Case
from conformance.engine.regions.precision import narrow_sum_features, subnormal_mean_features
from conformance.engine.regions.windows import is_floating
from reference.dtypes import FLOAT_FORMATS


def input_value_features(case) -> dict:
    values = case.input
    floating = is_floating(values)
    wide = values.astype(np.float64) if floating else values
    return {
        "nan": bool(floating and np.isnan(wide).any()),
        "infinity": bool(floating and np.isinf(wide).any()),
        "negative_zero": bool(floating and np.any((wide == 0) & np.signbit(wide))),
    }


def value_features(case, gathered) -> dict:
    floating = is_floating(case.input)
    block, valid = gathered.block, gathered.valid
    # Integers too: a sum in the input's dtype wraps past its largest value.
    largest = (FLOAT_FORMATS[case.dtype].max_finite if floating
               else np.iinfo(case.input.dtype).max)
    features = {}
    with np.errstate(invalid="ignore", over="ignore"):
        # In float64: abs of the integer minimum overflows in its own dtype.
        wide = block.astype(np.float64)
        finite = np.where(valid & np.isfinite(wide), np.abs(wide), 0)
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


def window_value_features(case: Case, gathered) -> dict:
    """Window facts that depend on the order of a window's elements, on the ends of the value
    range (infinities, subnormal numbers), and on the value each window's result takes."""
    if gathered is None:
        return {}
    if not is_floating(case.input):
        return integer_window_value_features(case, gathered)
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
    features.update(subnormal_mean_features(case, gathered, finite_rows, smallest_normal))
    if case.dtype in ("float16", "bfloat16"):
        features.update(narrow_sum_features(case, gathered, finite_rows))
    return features


def integer_window_value_features(case: Case, gathered) -> dict:
    """An integer max (min) window whose elements are all the dtype's minimum (maximum): a
    kernel that starts from that value, or pads with it, ties with every element."""
    if not case.op.chooses:
        return {}
    limits = np.iinfo(case.input.dtype)
    lowest = limits.max if case.op.family == "min_pool" else limits.min
    block, valid = gathered.block, gathered.valid
    return {"window_all_lowest": bool(np.any(((block == lowest) | ~valid).all(axis=-1)))}
