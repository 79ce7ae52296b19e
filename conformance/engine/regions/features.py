"""`case_features`: everything a deviation signature may test about one case, in one dict: op,
dtype, parameters, and a flag per region (catalogue.py)."""

from __future__ import annotations

import hashlib
import itertools

from conformance.engine.cases import Case
from conformance.engine.regions.catalogue import REGIONS
from conformance.engine.regions.defaults import default_features
from conformance.engine.regions.dialect import dialect_features
from conformance.engine.regions.geometry import (
    kernel_reach_features, overhang_features, shape_features, sliding_features, spelling_features,
    window_volume_features,
)
from conformance.engine.regions.precision import subnormal_gradient
from conformance.engine.regions.values import (
    input_value_features, value_features, window_value_features,
)
from conformance.engine.regions.windows import cache_key, cached, case_windows, gather_windows
from reference import parameters


def case_features(case: Case) -> dict:
    """Everything a signature may test: op, dtype, parameters, and region flags."""
    key = cache_key(case)
    if key is not None:
        digest = hashlib.blake2b(case.input.tobytes(), digest_size=16).digest()
        key = ("features", case.dtype, digest) + key
    features = dict(cached(key, lambda: _case_features(case)))
    # Outside the cache, whose key is the forward case: it depends on the upstream gradient.
    features["subnormal_gradient"] = subnormal_gradient(case)
    return features


def _case_features(case: Case) -> dict:
    if case.dialect != "torch":
        return dialect_features(case)
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
        "dialect": "torch",
        "opset": None,
    }
    features.update({region: False for region in REGIONS if region not in features})
    features.update(shape_features(case))
    features.update(default_features(case))
    features.update(kernel_reach_features(case))
    features.update(spelling_features(case))
    try:
        windows = case_windows(case)
        parameters.check_divisor_override(case.op_name, case.kwargs.get("divisor_override"))
    except (TypeError, ValueError):
        features["invalid_arguments"] = True
        return features
    features.update(window_volume_features(windows))
    if "kernel_size" in case.kwargs:
        features.update(sliding_features(case, windows))
    features.update(input_value_features(case))
    for gathered in gather_windows(case, windows):
        for name, value in itertools.chain(value_features(case, gathered).items(),
                                           window_value_features(case, gathered).items()):
            features[name] = features[name] or value
    features.update(overhang_features(case, windows))
    return features
